"""Every module of the package imports: a module removed or renamed (maillage/formatting.py was
folded into maillage/french.py, #17) cannot stay referenced by a command loaded on demand."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import maillage

MODULES = sorted(
    name
    for _finder, name, _is_package in pkgutil.walk_packages(maillage.__path__, "maillage.")
    # piccolo_conf builds the engine from the environment: the tests configure their own.
    if ".migrations." not in name and name not in ("maillage.__main__", "maillage.piccolo_conf")
)


@pytest.mark.parametrize("name", MODULES)
def test_the_module_imports(name):
    importlib.import_module(name)
