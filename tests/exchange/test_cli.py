"""The exchange commands, run as a person would (CliRunner, database from the test fixture)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from maillage import db
from maillage.cli import main
from tests.exchange.test_import import GOOD


@pytest.fixture
def run(settings, monkeypatch):
    monkeypatch.setenv("MAILLAGE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MAILLAGE_DATABASE_URL", settings.database_url)

    def invoke(*args: str, input: str | None = None):
        # The command connects its own engine; give the session's back to the other tests.
        engine = db.current_engine()
        try:
            return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
        finally:
            db.bind(engine)

    return invoke


def test_import_dry_run_then_commit_then_export(database, run, tmp_path):
    source = tmp_path / "partenaires.csv"
    source.write_text(GOOD, encoding="utf-8")
    dry = run("import", str(source), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Simulation (rien n'a été écrit) : 3 lignes avec création" in dry.output
    done = run("import", str(source))
    assert "Import effectué" in done.output
    target = tmp_path / "caf.csv"
    exported = run("export", "contacts", "--preset", "caf", "--output", str(target))
    assert exported.exit_code == 0, exported.output
    assert target.read_bytes().startswith(b"\xef\xbb\xbfOrganisation;Type;Axes")


def test_refused_import_names_line_and_column(database, run, tmp_path):
    source = tmp_path / "p.csv"
    source.write_text(GOOD + "Mme;X;Y;pas-une-adresse;;;;\r\n", encoding="utf-8")
    result = run("import", str(source))
    assert result.exit_code == 1
    assert "ligne 5, colonne D (« Courriel »)" in result.output


def test_duplicates_and_rgpd_commands(world, run):
    assert "paire" in run("duplicates", "--type", "organisations").output
    assert "Hélène" in run("rgpd", "export", str(world["helene"]["id"])).output
    assert "anonymisé" in run("rgpd", "anonymise", str(world["marc"]["id"]), "--yes").output
    assert "Registre des traitements" in run("rgpd", "register").output


def test_help_is_french(run):
    result = run("--help")
    for name in ("export", "import", "duplicates", "rgpd"):
        assert name in result.output
    assert "Utilisation" in run("import", "--help").output


def test_anonymise_names_the_backups_that_still_hold_the_person(world, run, settings):
    """Each backup made before the erasure, with the day it expires; and the folder looked in
    when there is none, so the person knows what was checked (#23)."""
    import datetime as dt
    import os

    backups = settings.data_dir / "sauvegardes"
    backups.mkdir(parents=True, exist_ok=True)
    for old in backups.glob("*.bak"):
        old.unlink()
    made = dt.datetime(2026, 11, 20, 2, 30, tzinfo=dt.UTC).timestamp()
    held = backups / "maillage-2026-11-20-023000.bak"
    held.write_bytes(b"sauvegarde")
    os.utime(held, (made, made))
    output = run("rgpd", "anonymise", str(world["helene"]["id"]), "--yes").output
    assert (
        "La sauvegarde maillage-2026-11-20-023000.bak (faite le 20/11/2026) la contient encore, "
        "jusqu'à sa suppression le 20/12/2026 (conservation : 30 jours)." in output
    )
    held.unlink()
    output = run("rgpd", "anonymise", str(world["marc"]["id"]), "--yes").output
    assert f"Aucune sauvegarde antérieure dans {backups}" in output
    assert "--output" in output


def test_import_says_how_many_warnings_are_not_shown_and_writes_them_all(database, run, tmp_path):
    header = "Mairie;Commune;Code INSEE;Civilité;Nom;Prénom;Fonction;Axes"
    lines = [f"Mairie X;Xville;{99000 + n};M.;Nom{n};Prénom;Maire;Axe inconnu" for n in range(362)]
    source = tmp_path / "elus.csv"
    source.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    target = tmp_path / "avertissements.csv"

    result = run("import", str(source), "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.count("attention — ") == 50
    assert "… et 312 autres avertissements : tous dans un fichier CSV" in result.output

    written = run("import", str(source), "--dry-run", "--avertissements", str(target))
    assert "362 avertissements écrits dans" in written.output
    rows = target.read_text(encoding="utf-8-sig").splitlines()
    assert len(rows) == 363
    assert rows[-1].startswith("363;H (« Axes »);axe inconnu « Axe inconnu » ignoré")
