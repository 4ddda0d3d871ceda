"""Validation messages in French, shared by the API, the pages and the imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from maillage.messages import translate_message


def test_it_translates_a_type_error_at_its_field():
    message = "Expected `int`, got `str` - at `$.commune`"
    assert translate_message(message, None) == {
        "field": "commune",
        "message": "Type invalide : attendu un nombre entier.",
    }


def test_it_names_the_missing_field_and_falls_back_in_french():
    missing = translate_message("Object missing required field `name`", None)
    assert missing == {"field": "name", "message": "Champ obligatoire manquant."}
    assert translate_message("Something new", "kind") == {
        "field": "kind",
        "message": "Valeur invalide.",
    }


def test_imports_translate_without_loading_the_web_application():
    code = (
        "import sys, maillage.exchange.plan\n"
        "loaded = [m for m in sys.modules if m.startswith(('maillage.web', 'litestar'))]\n"
        "assert not loaded, loaded\n"
    )
    # This checkout first, whatever is installed.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
