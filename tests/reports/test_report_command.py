"""``maillage report``, run as a separate process on the test database."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from docx import Document


def run(settings, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLAGE_")}
    env["MAILLAGE_DATA_DIR"] = str(settings.data_dir)
    env["MAILLAGE_DATABASE_URL"] = settings.database_url
    return subprocess.run(
        [sys.executable, "-m", "maillage", "report", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.slow
async def test_it_writes_the_bilan_and_lists_what_to_complete(world, settings, tmp_path):
    result = run(
        settings, "annual", "--year", "2026", "--today", "2027-01-12", "--output", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert f"Écrit : {tmp_path / 'bilan-2026.docx'}" in result.stdout
    assert "À compléter : 1 instance active sans aucune réunion tenue en 2026" in result.stdout
    assert Document(tmp_path / "bilan-2026.docx").paragraphs[0].text.startswith("Bilan annuel 2026")
    assert (tmp_path / "bilan-2026.xlsx").stat().st_size > 0
    assert (tmp_path / "bilan-2026.html").read_text(encoding="utf-8").startswith("<!doctype html>")


@pytest.mark.slow
async def test_it_refuses_a_future_year_in_one_french_line(world, settings, tmp_path):
    result = run(
        settings, "annual", "--year", "2031", "--today", "2027-01-12", "--output", str(tmp_path)
    )
    assert result.returncode == 1
    assert "L'année 2031 n'a pas commencé" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
async def test_it_writes_the_diagnostic_as_csv_or_xlsx(world, settings, tmp_path):
    csv = run(settings, "diagnostic", "--kind", "association", "--output", str(tmp_path / "d.csv"))
    assert csv.returncode == 0, csv.stderr
    assert "3 communes, 20 zones blanches" in csv.stdout
    xlsx = run(settings, "diagnostic", "--output", str(tmp_path / "d.xlsx"))
    assert xlsx.returncode == 0 and (tmp_path / "d.xlsx").exists()
    wrong = run(settings, "diagnostic", "--output", str(tmp_path / "d.pdf"))
    assert wrong.returncode == 1 and "non prise en charge" in wrong.stderr


@pytest.mark.slow
async def test_it_writes_the_pack_of_a_meeting(world, settings, tmp_path):
    from maillage.tables import AuditEvent, Meeting

    meeting = await Meeting.select(Meeting.id, Meeting.starts_at).order_by(Meeting.id).first()
    day = meeting["starts_at"].date().isoformat()
    result = run(settings, "pack", str(meeting["id"]), "--format", "docx")
    # Without --output: its own name, in the current directory (the test's is the repository's).
    assert result.returncode == 0, result.stderr
    name = f"dossier-de-seance-{day}-{meeting['id']}.docx"
    assert result.stdout == f"Écrit : {name}\n"
    os.remove(name)
    path = tmp_path / "copil.html"
    result = run(settings, "pack", str(meeting["id"]), "--format", "html", "--output", str(path))
    assert result.returncode == 0, result.stderr
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "1. Ordre du jour" in html
    events = await AuditEvent.select(AuditEvent.actor, AuditEvent.entity_id).where(
        AuditEvent.action == "export"
    )
    assert events == [{"actor": "cli", "entity_id": meeting["id"]}] * 2


@pytest.mark.slow
async def test_the_pack_of_a_missing_meeting_is_one_french_line(world, settings, tmp_path):
    result = run(settings, "pack", "999999", "--output", str(tmp_path / "x.docx"))
    assert result.returncode != 0
    assert "Réunion n° 999999 introuvable." in result.stderr
    assert "Traceback" not in result.stderr
    result = run(settings, "pack", "1", "--format", "pdf")
    assert result.returncode == 2
    assert "« pdf » n'est pas parmi" in result.stderr
