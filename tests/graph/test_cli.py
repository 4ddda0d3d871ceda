"""``maillage network report`` run as a separate process, like a person would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLAGE_")}
    env["MAILLAGE_DATA_DIR"] = str(tmp_path_factory.mktemp("network-cli") / "data")
    assert maillage(env, "init").returncode == 0
    return env


def maillage(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "maillage", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_says_the_network_is_empty_in_french(environment):
    result = maillage(environment, "network", "report")
    assert result.returncode == 0, result.stderr
    assert (
        "Le réseau est vide : aucune fiche (organisations) n'est encore enregistrée."
        in result.stdout
    )


def test_it_writes_the_json_contract_to_a_file(environment, tmp_path: Path):
    target = tmp_path / "reseau.json"
    result = maillage(
        environment,
        "network",
        "report",
        "--format",
        "json",
        "--output",
        str(target),
        "--axis",
        "jeunesse",
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(target.read_text(encoding="utf-8"))
    assert set(body) >= {"network", "nodes", "under_connected", "suggestions"}
    assert body["filter"]["description"].startswith("axes n°")


def test_it_refuses_an_unknown_axis_in_french(environment):
    result = maillage(environment, "network", "report", "--axis", "inconnu")
    assert result.returncode == 1
    assert "Axe inconnu « inconnu »" in result.stderr


def test_it_is_listed_in_the_french_help(environment):
    result = maillage(environment, "--help")
    assert "Analyser le réseau : peu reliés, suggestions, dessin." in result.stdout
