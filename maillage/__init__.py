"""maillage: the partner network of a Convention territoriale globale (CTG)."""

import os

# Piccolo's migration tooling finds its engine through this module (see maillage/piccolo_conf.py).
os.environ.setdefault("PICCOLO_CONF", "maillage.piccolo_conf")

__version__ = "0.1.0"
