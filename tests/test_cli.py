"""The ``maillage`` command, run as a separate process like a person would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import maillage as maillage_package


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLAGE_")}
    env["MAILLAGE_DATA_DIR"] = str(tmp_path / "data")
    return env


def maillage(
    environment: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "maillage", *args],
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_shows_help_in_french(environment):
    result = maillage(environment, "--help")
    assert result.returncode == 0
    assert "Utilisation :" in result.stdout
    assert "Commandes" in result.stdout
    for command in ("init", "migrate", "serve", "demo", "user", "token"):
        assert command in result.stdout
    assert "Afficher cette aide et quitter." in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("inconnue",), "Erreur : Commande inconnue : « inconnue »."),
        (("mail", "invite"), "Erreur : Argument manquant : 'MEETING_ID'."),
        (("mail", "invite", "abc"), "« abc » n'est pas un nombre valide."),
        (("network", "report", "--bogus"), "Erreur : Option inconnue : « --bogus »."),
        (("network", "report", "--format", "pdf"), "« pdf » n'est pas parmi"),
        (("mail", "invite", "1", "2"), "Erreur : Argument en trop : 2"),
    ],
)
def test_it_reports_usage_errors_in_french(environment, args, expected):
    result = maillage(environment, *args)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Pour l'aide : « " in result.stderr
    for english in ("Error:", "Try '", "No such", "Missing", "is not"):
        assert english not in result.stderr


def test_its_help_notes_defaults_in_french(environment):
    result = maillage(environment, "network", "report", "--help")
    assert "[par défaut :" in result.stdout
    assert "default:" not in result.stdout


def test_it_reports_a_wrong_setting_in_one_french_line(environment):
    environment["MAILLAGE_BASE_URL"] = "ftp://ailleurs"
    result = maillage(environment, "migrate")
    assert result.returncode == 1
    assert result.stderr.startswith("Erreur : MAILLAGE_BASE_URL")
    assert "Traceback" not in result.stderr


def test_it_initialises_idempotently(environment):
    first = maillage(environment, "init")
    assert first.returncode == 0, first.stderr
    migrations = len(list(Path(maillage_package.__file__).parent.glob("migrations/maillage_*.py")))
    assert f"{migrations} migrations appliquées" in first.stdout
    second = maillage(environment, "init")
    assert second.returncode == 0
    assert "0 migration appliquée" in second.stdout


def test_it_creates_users_and_tokens(environment):
    maillage(environment, "init")
    added = maillage(
        environment,
        "user", "add", "Claire.Dupont@mairie.example", "--role", "coordinateur", "--password-stdin",
        stdin="un mot de passe solide\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "claire.dupont@mairie.example (coordinateur)" in added.stdout
    created = maillage(environment, "token", "create", "claire.dupont@mairie.example")
    assert created.returncode == 0
    token = created.stdout.strip()
    assert token.startswith("mlg_") and "\n" not in token
    revoked = maillage(
        environment, "token", "revoke", "claire.dupont@mairie.example", "--token", token
    )
    assert revoked.stdout.strip() == "1 jeton révoqué."
    again = maillage(environment, "token", "revoke", "claire.dupont@mairie.example")
    assert again.returncode == 1 and "aucun jeton actif" in again.stderr


def test_it_explains_a_refused_user_in_french(environment):
    maillage(environment, "init")
    result = maillage(
        environment,
        "user",
        "add",
        "pas-une-adresse",
        "--password-stdin",
        stdin="un mot de passe solide\n",
    )
    assert result.returncode == 1
    assert "email : Adresse électronique invalide" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_prepares_the_demo_instance_once(environment):
    first = maillage(environment, "init", "--with-demo")
    assert first.returncode == 0, first.stderr
    assert "mot de passe :" in first.stdout
    assert "Territoire de démonstration chargé" in first.stdout
    second = maillage(environment, "init", "--with-demo")
    assert second.returncode == 0, second.stderr
    assert "mot de passe :" not in second.stdout
    assert "Compte administrateur existant" in second.stdout
    assert "Données existantes conservées" in second.stdout


def test_its_help_lists_each_command_with_its_own_short_help():
    """`maillage --help` lists static descriptions; they must say what each command says."""
    import click

    from maillage.cli import COMMANDS, main

    context = click.Context(main)
    assert set(main.list_commands(context)) == set(COMMANDS)
    for name, (_, short_help) in COMMANDS.items():
        command = main.get_command(context, name)
        assert command is not None and command.name == name
        assert command.get_short_help_str(limit=500) == short_help, name


def test_it_imports_only_the_module_of_the_command_run(environment):
    code = (
        "import sys\n"
        "from maillage.cli import main\n"
        "try:\n"
        "    main(['network', 'report', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = {m for m in sys.modules if m.endswith('.cli')}\n"
        "assert loaded == {'maillage.cli', 'maillage.graph.cli'}, loaded\n"
        "main(['--help'])\n"
    )
    environment["PYTHONPATH"] = str(Path(maillage_package.__file__).resolve().parents[1])
    result = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "Rapport d'analyse du réseau" in result.stdout
    assert "Analyser le réseau : peu reliés, suggestions, dessin." in result.stdout
