"""Run a script against the tree in ``$BASE`` (a `git archive` of an older commit) instead of
the editable install, whose import finder wins over ``PYTHONPATH``:

    BASE=/tmp/base .venv/bin/python bench/run_old_tree.py bench/network_scope.py --runs 3
"""

import os
import runpy
import sys

sys.meta_path = [finder for finder in sys.meta_path if "editable" not in repr(finder).lower()]
for name in [m for m in sys.modules if m == "maillage" or m.startswith("maillage.")]:
    del sys.modules[name]
sys.path.insert(0, os.environ["BASE"])
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
