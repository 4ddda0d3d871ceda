"""The README stays honest: every setting and every command it must document is there."""

from __future__ import annotations

import re
from pathlib import Path

from maillage.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
SETTINGS = (Path(__file__).resolve().parent.parent / "maillage" / "settings.py").read_text()


def test_every_setting_is_documented():
    variables = set(re.findall(r"\b(MAILLAGE_[A-Z_]+)\b", SETTINGS))
    assert len(variables) >= 10
    for variable in variables:
        assert f"`{variable}`" in README, variable


def test_every_command_is_documented():
    for name in main.commands:
        assert re.search(rf"maillage {name}\b", README), name


def test_the_two_commands_are_given():
    assert "make run" in README and "make test" in README
