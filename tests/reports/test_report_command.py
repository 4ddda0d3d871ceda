"""``maillage report``, run as a separate process on the test database."""

from __future__ import annotations

import os
import subprocess
import sys

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


async def test_it_refuses_a_future_year_in_one_french_line(world, settings, tmp_path):
    result = run(
        settings, "annual", "--year", "2031", "--today", "2027-01-12", "--output", str(tmp_path)
    )
    assert result.returncode == 1
    assert "L'année 2031 n'a pas commencé" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())


async def test_it_writes_the_diagnostic_as_csv_or_xlsx(world, settings, tmp_path):
    csv = run(settings, "diagnostic", "--kind", "association", "--output", str(tmp_path / "d.csv"))
    assert csv.returncode == 0, csv.stderr
    assert "3 communes, 20 zones blanches" in csv.stdout
    xlsx = run(settings, "diagnostic", "--output", str(tmp_path / "d.xlsx"))
    assert xlsx.returncode == 0 and (tmp_path / "d.xlsx").exists()
    wrong = run(settings, "diagnostic", "--output", str(tmp_path / "d.pdf"))
    assert wrong.returncode == 1 and "non prise en charge" in wrong.stderr
