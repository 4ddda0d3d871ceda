"""``maillage calendar``: run as a person would, in a separate process on its own SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.calendar.calendar_helpers import ics, vevent

CREATE_GROUP = """
import asyncio
from maillage import db
from maillage.actor import CLI
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import WorkingGroupIn

async def main():
    await db.connect(db_url)
    group = await SERVICES["groups"].create(CLI, WorkingGroupIn(name="COPIL", kind="copil"))
    print(group["id"])

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> dict[str, str]:
    data_dir = tmp_path_factory.mktemp("cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLAGE_")}
    env.update(
        MAILLAGE_DATA_DIR=str(data_dir),
        MAILLAGE_DATABASE_URL=f"sqlite:///{data_dir / 'cli.db'}",
        MAILLAGE_BASE_URL="https://maillage.exemple.fr",
        PYTHONPATH=str(Path(__file__).parents[2]),
    )
    assert run(env, "init").returncode == 0
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    code = "from maillage.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=60
    )


def new_group(environment: dict[str, str]) -> str:
    """A body created in the module's database: each test makes its own (a test run alone, or
    with the slow ones left out, finds no body made by another)."""
    script = f"db_url = {environment['MAILLAGE_DATABASE_URL']!r}\n" + CREATE_GROUP
    created = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True
    )
    return created.stdout.strip()


@pytest.mark.slow
def test_it_imports_a_file_after_a_dry_run(environment, tmp_path):
    group_id = new_group(environment)
    path = tmp_path / "agenda.ics"
    path.write_text(ics(vevent("a@x"), vevent("b@x", SUMMARY="Deuxième")))
    dry = run(environment, "calendar", "import", str(path), "--group", group_id, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "création : mardi 12 janvier 2027 à 14 h 00 — Commission petite enfance" in dry.stdout
    assert "2 réunions seraient créées" in dry.stdout
    real = run(environment, "calendar", "import", str(path), "--group", group_id)
    assert "2 réunions ont été créées" in real.stdout
    again = run(environment, "calendar", "import", str(path), "--group", group_id)
    assert "0 réunion a été créée, 0 modifiée, 2 inchangées." in again.stdout


def test_a_bad_file_fails_in_french(environment, tmp_path):
    path = tmp_path / "faux.ics"
    path.write_text("Nom;Date\nCOPIL;08/12/2026\n")
    result = run(environment, "calendar", "import", str(path), "--group", new_group(environment))
    assert result.returncode == 1
    assert "n'est pas un calendrier iCalendar" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_feed_links_are_created_listed_and_revoked(environment):
    created = run(environment, "calendar", "feed-token", "create", "--scope", "territory")
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert lines[1].strip().startswith("https://maillage.exemple.fr/calendar/feeds/mlf_")
    assert lines[2].strip().startswith("webcal://maillage.exemple.fr/calendar/feeds/mlf_")
    token_id = lines[0].split("n° ")[1].rstrip(" :")
    assert (
        f"n° {token_id} : territory tout (actif)"
        in run(environment, "calendar", "feed-token", "list").stdout
    )
    assert run(environment, "calendar", "feed-token", "revoke", token_id).returncode == 0
    assert "(révoqué)" in run(environment, "calendar", "feed-token", "list").stdout
    missing = run(environment, "calendar", "feed-token", "revoke", "999")
    assert missing.returncode == 1
    assert "introuvable" in missing.stderr
