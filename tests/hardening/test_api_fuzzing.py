"""Schemathesis against the running service: every documented operation, a fixed budget.

No answer may be a 5xx, and every answer must match the schema the API documents. Two runs
against one ``maillage serve``: the random « fuzzing » phase (``FUZZ_EXAMPLES`` per operation,
fixed seed, two workers, ≈ 600 requests, half a minute) on both engines, and the deterministic
« coverage » phase (every boundary and wrong type the schema allows, ≈ 7,600 requests, three
minutes) on SQLite only, with one worker: several workers trip a thread-safety bug inside
Hypothesis's coverage generator (« AST constructor recursion depth mismatch »), not in maillage.
Set ``MAILLAGE_FUZZ_COVERAGE=1`` to run the coverage phase on PostgreSQL too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hardening.live import Instance, private_database, start_server
from tests.support import TEST_DATABASE_URL

FUZZ_EXAMPLES = int(os.environ.get("MAILLAGE_FUZZ_EXAMPLES", "5"))
FUZZ_SEED = 20261129
ON_SQLITE = not TEST_DATABASE_URL.startswith("postgres")
RUNS = [("fuzzing", 2)]
if ON_SQLITE or os.environ.get("MAILLAGE_FUZZ_COVERAGE") == "1":
    RUNS.append(("examples,coverage", 1))


def _schemathesis() -> list[str]:
    binary = Path(sys.executable).with_name("st")
    if binary.exists():
        return [str(binary)]
    found = shutil.which("st")
    if found is None:
        pytest.skip("schemathesis n'est pas installé (pip install -e '.[test]')")
    return [found]


def _fuzz(url: str, token: str, phases: str, workers: int, cwd: Path) -> tuple[int, str]:
    done = subprocess.run(
        [
            *_schemathesis(),
            "run",
            f"{url}/schema/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            str(FUZZ_EXAMPLES),
            "--seed",
            str(FUZZ_SEED),
            "--workers",
            str(workers),
            "--phases",
            phases,
            "--request-timeout",
            "30",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=cwd,
    )
    return done.returncode, done.stdout + done.stderr


def test_every_operation_survives_generated_requests(tmp_path):
    with private_database(tmp_path) as database_url:
        instance = Instance(tmp_path, database_url)
        instance.command("init", "--with-demo")
        token = instance.add_user("fuzz@maillage.example", "admin")
        server = start_server(instance)
        try:
            results = [
                (phases, *_fuzz(server.url, token, phases, workers, tmp_path))
                for phases, workers in RUNS
            ]
        finally:
            server.stop()
    errors = "\n".join(line for line in server.log().splitlines() if "INFO" not in line)
    for phases, returncode, report in results:
        summary = report[report.rfind("API Operations:") :]
        print(f"--- schemathesis, phases {phases} ---\n{summary}")
        assert "Tested: 0" not in report
        assert returncode == 0, f"{report[-20000:]}\n--- journal du serveur ---\n{errors[-20000:]}"


async def test_a_form_without_its_file_is_refused_not_a_crash(coordinator):
    """Found by Schemathesis: Litestar's multipart parser crashed (500) on both."""
    no_file = await coordinator.client.post(
        "/api/v1/calendar/import", params={"group": 1}, files={"autre": (None, "{}")}
    )
    assert no_file.status_code == 400
    not_utf8 = await coordinator.client.post(
        "/api/v1/imports",
        params={"kind": "contacts"},
        files={"file": ("a.csv", b"nom\n"), "mapping": (None, b"\x89PNG\r\n")},
    )
    assert not_utf8.status_code == 400
    assert "UTF-8" in not_utf8.json()["errors"][0]["message"]


async def test_a_huge_offset_is_refused_not_a_crash(reader):
    """Found by Schemathesis: an offset beyond 64 bits overflowed SQLite (500)."""
    response = await reader.client.get(
        "/api/v1/calendar/meetings", params={"offset": "657847763276770181120"}
    )
    assert response.status_code == 400


async def test_the_audit_log_refuses_an_id_beyond_32_bits(admin):
    """Found by Schemathesis on PostgreSQL, which refuses the value (500 before)."""
    response = await admin.client.get("/api/v1/audit", params={"entity_id": 84416615589109088})
    assert response.status_code == 400
    long_name = await admin.client.get("/api/v1/audit", params={"entity": "x" * 41})
    assert long_name.status_code == 400


async def test_an_action_id_beyond_32_bits_is_refused(coordinator):
    """Found by Schemathesis on PostgreSQL (500 before)."""
    response = await coordinator.client.post(
        "/api/v1/actions/84416615589109088/indicator-values",
        json={"indicator": "x", "year": 2025, "value": 1},
    )
    assert response.status_code == 400
