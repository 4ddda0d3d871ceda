"""Piccolo's configuration module (``PICCOLO_CONF``).

The engine is not fixed here: ``maillage.db.connect`` chooses it from the settings (or the test
database) at run time, and Piccolo's finder reads ``DB`` through this module's ``__getattr__`` so
its migration machinery always uses the engine maillage is connected to.
"""

from typing import Any

from piccolo.conf.apps import AppRegistry

APP_REGISTRY = AppRegistry(apps=["maillage.piccolo_app"])


def __getattr__(name: str) -> Any:
    if name == "DB":
        from maillage.db import current_engine

        return current_engine()
    raise AttributeError(name)
