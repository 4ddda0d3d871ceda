"""``python -m maillage`` is the ``maillage`` command."""

from maillage.cli import main

main()
