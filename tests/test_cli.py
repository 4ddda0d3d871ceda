"""The ``maillage`` command, run as a separate process like a person would run it."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
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
        (("inconnue",), "Erreur : commande inconnue : « inconnue »."),
        (("network", "repor"), "Erreur : commande inconnue : « repor ». Vouliez-vous dire « report » ?"),
        (("mail", "invite"), "Erreur : argument manquant : « RÉUNION »."),
        (("mail", "invite", "abc"), "valeur invalide pour « RÉUNION » : « abc » n'est pas un entier valide."),
        (("mail", "invite", "0"), "valeur invalide pour « RÉUNION » : 0 n'est pas permis (1 au moins)."),
        (
            ("calendar", "import", __file__, "--group", "abc"),
            "Erreur : valeur invalide pour « --group » : « abc » n'est pas un entier valide.",
        ),
        (
            ("calendar", "materialise", "--until", "2030-01-01"),
            "Erreur : option manquante : « --group ».",
        ),
        (
            ("calendar", "materialise", "--group", "1", "--until", "2030-02-30"),
            "Erreur : valeur invalide pour « --until » : « 2030-02-30 » n'est pas une date valide "
            "(AAAA-MM-JJ).",
        ),
        (
            ("export", "contacts", "--from", "12-2020"),
            "« 12-2020 » n'est pas une date valide (AAAA-MM-JJ ou JJ/MM/AAAA).",
        ),
        (("duplicates", "--seuil", "200"), "pour « --seuil » : 200 n'est pas permis (de 0 à 100)."),
        (("duplicates", "--threshold=x"), "pour « --threshold » : « x » n'est pas un entier valide."),
        (("network", "report", "--bogus"), "Erreur : option inconnue : « --bogus »."),
        (
            ("network", "report", "--format", "pdf"),
            "Erreur : valeur invalide pour « --format » : « pdf » n'est pas parmi : text, json,",
        ),
        (("restore",), "Erreur : argument manquant : « FICHIER »."),
        (("mail", "invite", "1", "2"), "Erreur : argument en trop : 2"),
    ],
)  # fmt: skip
def test_it_reports_usage_errors_in_french(environment, args, expected):
    result = maillage(environment, *args)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Pour l'aide : « " in result.stderr
    assert result.stderr.startswith("Utilisation : maillage ")
    for english in ("Error", "Try '", "No such", "Missing", "is not", "Invalid", "'", "%"):
        assert english not in result.stderr.replace("l'", "").replace("d'", "").replace("n'", "")
    for internal in ("_ID", "_id", "MEETING", "FILE", "EMAIL", "main"):
        assert internal not in result.stderr


def test_it_reports_a_missing_option_value_in_french(environment):
    result = maillage(environment, "serve", "--workers")
    assert result.returncode == 2
    assert result.stderr == "Erreur : l'option « --workers » demande une valeur.\n"


# English left over in a help page or a usage line: Click's own words, metavars, formats.
ENGLISH_IN_HELP = re.compile(
    r"\b(COMMANDS?|ARGS|FILE|DIRECTORY|PATH|INTEGER|TEXT|FLOAT|BOOLEAN|RANGE|DATETIME|EMAIL"
    r"|Usage|Commands?|Show this|default|required|env var|main)\b"
    r"|Options:|Commandes:|%[YmdHMS]|[A-Z]+_ID\b|<=|>="
)


def _help_pages() -> list[tuple[tuple[str, ...], str]]:
    """Every ``--help`` of the command, groups walked down to their last subcommand."""
    import click
    from click.testing import CliRunner

    from maillage.cli import main

    runner = CliRunner()
    pages = []

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        pages.append((path, result.output))
        if isinstance(command, click.Group):
            context = click.Context(command)
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None
                walk(sub, (*path, name))

    walk(main, ())
    return pages


def test_every_help_page_is_in_french():
    pages = _help_pages()
    assert len(pages) >= 39  # every command and subcommand, not just the top
    for path, text in pages:
        where = "maillage " + " ".join(path)
        assert text.startswith(f"Utilisation : {where.strip()} "), where
        assert "Options :" in text, where
        leftovers = ENGLISH_IN_HELP.findall(text)
        assert not leftovers, (where, leftovers, text)


def test_the_help_of_a_group_and_of_a_command_in_french():
    pages = dict(_help_pages())
    assert pages[()].startswith("Utilisation : maillage [OPTIONS] COMMANDE [ARGUMENTS]...")
    assert "\nCommandes :\n" in pages[()]
    assert "Utilisation : maillage import [OPTIONS] FICHIER" in pages[("import",)]
    assert "Utilisation : maillage mail invite [OPTIONS] RÉUNION" in pages[("mail", "invite")]
    export = pages[("export",)]
    assert "--from [AAAA-MM-JJ|JJ/MM/AAAA]" in export and "--axis ENTIER" in export
    assert "--q TEXTE" in export and "-o, --output FICHIER" in export
    assert "--until AAAA-MM-JJ" in pages[("calendar", "materialise")]
    assert "--seuil ENTIER" in pages[("duplicates",)] and "de 0 à 100" in pages[("duplicates",)]
    assert "--interval NOMBRE" in pages[("mail", "send")]


def test_python_dash_m_calls_itself_maillage(environment):
    result = maillage(environment, "user", "--help")
    assert result.stdout.startswith("Utilisation : maillage user [OPTIONS] COMMANDE [ARGUMENTS]...")


@pytest.mark.slow
def test_its_help_notes_defaults_in_french(environment):
    result = maillage(environment, "network", "report", "--help")
    assert "[par défaut :" in result.stdout
    assert "default:" not in result.stdout
    serve = maillage(environment, "serve", "--help")
    assert "[par défaut : 1 ; de 1 à 64]" in serve.stdout


def test_it_asks_for_confirmation_in_french(environment):
    result = maillage(environment, "rgpd", "anonymise", "5", stdin="n\n")
    assert result.returncode == 1
    assert result.stdout == "Anonymiser définitivement le contact n° 5 ? [o/N] : "
    assert result.stderr == "Interrompu.\n"


def test_it_reports_a_wrong_setting_in_one_french_line(environment):
    environment["MAILLAGE_BASE_URL"] = "ftp://ailleurs"
    result = maillage(environment, "migrate")
    assert result.returncode == 1
    assert result.stderr.startswith("Erreur : MAILLAGE_BASE_URL")
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_command_on_a_database_not_yet_set_up_says_to_migrate(environment):
    """Run before `migrate` (or `make run`), a command said « erreur inattendue
    (OperationalError : no such table: territory) »: it now says what to do."""
    result = maillage(environment, "territory", "load", "--epci", "247300015")
    assert result.returncode == 1
    assert "maillage migrate" in result.stderr, result.stderr
    assert "inattendue" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_it_initialises_idempotently(environment):
    first = maillage(environment, "init")
    assert first.returncode == 0, first.stderr
    migrations = len(list(Path(maillage_package.__file__).parent.glob("migrations/maillage_*.py")))
    assert f"{migrations} migrations appliquées" in first.stdout
    second = maillage(environment, "init")
    assert second.returncode == 0
    assert "0 migration appliquée" in second.stdout


@pytest.mark.slow
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


@pytest.mark.slow
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
    assert "  - « COURRIEL » : Adresse électronique invalide" in result.stderr
    assert "email" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_its_service_errors_name_what_the_person_typed(environment, tmp_path):
    """The service layer's fields (``target_id``, ``last_name``…) reach the person as the option
    they typed or a French label, never as a code."""
    maillage(environment, "init")
    target = maillage(environment, "calendar", "feed-token", "create", "--scope", "group")
    assert target.returncode == 1
    assert "  - « --target » : Indiquez l'identifiant (Instance)." in target.stderr
    year = maillage(environment, "report", "annual", "--year", "1800")
    assert "  - « --year » : Année 1800 invalide" in year.stderr
    people = tmp_path / "personnes.csv"
    people.write_text("Nom;Prénom;Courriel\nDupont;Claire;pas-une-adresse\n", encoding="utf-8")
    mapping = tmp_path / "correspondance.json"
    mapping.write_text('{"Nom": "nom de famille"}', encoding="utf-8")
    mapped = maillage(environment, "import", str(people), "--mapping", str(mapping))
    assert "champs possibles : Civilité, Nom, Prénom, Courriel" in mapped.stderr
    refused = maillage(environment, "import", str(people))
    assert refused.returncode == 1
    assert "Erreur : import non effectué (1 ligne rejetée, détail ci-dessus)" in refused.stderr
    assert "option --lignes-valides" in refused.stderr
    for result in (target, year, mapped, refused):
        for internal in ("target_id", "_id", "last_name", "first_name", "only_valid", "year :"):
            assert internal not in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_short_password_is_refused_from_the_command_line_too(environment):
    """The API's schema refused it; the command line built its input without the schema."""
    maillage(environment, "init")
    result = subprocess.run(
        [sys.executable, "-m", "maillage", "user", "add", "court@maillage.example",
         "--password-stdin"],
        input="court\n", capture_output=True, text=True, env=environment, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "Mot de passe trop court : 10 caractères au moins." in result.stderr


@pytest.mark.slow
def test_it_limits_a_user_to_territories_and_lists_them(environment):
    maillage(environment, "init", "--with-demo")
    listed = maillage(environment, "user", "territories", "admin@maillage.example")
    assert listed.stdout.strip() == "admin@maillage.example : administrateur, tous les territoires."
    # The demo's territory, whatever its generated SIREN (read once the command has ended).
    database = sqlite3.connect(Path(environment["MAILLAGE_DATA_DIR"]) / "maillage.db")
    with contextlib.closing(database):
        from_demo = re.search(
            r"\d{9}", database.execute("SELECT siren FROM territory").fetchone()[0]
        )
    assert from_demo
    added = maillage(
        environment,
        "user", "add", "coord@cc.example", "--territory", from_demo.group(0),
        "--role", "lecteur", "--password-stdin",
        stdin="un mot de passe solide\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert f"{from_demo.group(0)}" in added.stdout and ": lecteur" in added.stdout
    unknown = maillage(
        environment,
        "user", "add", "autre@cc.example", "--territory", "200000008", "--password-stdin",
        stdin="un mot de passe solide\n",
    )  # fmt: skip
    assert unknown.returncode == 1
    assert "« --territory » : Aucun territoire n'a ce SIREN : 200000008" in unknown.stderr
    listed = maillage(environment, "user", "territories", "coord@cc.example")
    assert "1 territoire :" in listed.stdout and ": lecteur" in listed.stdout
    removed = maillage(
        environment, "user", "territories", "coord@cc.example", "--remove", from_demo.group(0)
    )
    assert "Tous les territoires, rôle « lecteur »" in removed.stdout
