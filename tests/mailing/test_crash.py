"""A sender killed in the middle of a batch, then restarted: at least once, never lost, and a
duplicate only for a message that was in flight at the kill."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import requires_postgres
from tests.mailing.conftest import settle, smtp_sender
from tests.mailing.helpers import queue_plain, statuses
from tests.mailing.sender_process import LEASE_SECONDS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
async def test_a_killed_sender_loses_nothing_and_resends_only_what_was_in_flight(
    migrated_database, database, smtp_server
):
    ids = await queue_plain(80)
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.mailing.sender_process", migrated_database, smtp_server.url],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        for _ in range(400):
            if len(smtp_server.handler.received) >= 25:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("le processus d'envoi n'a rien envoyé")
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=10)
    at_kill = await statuses()
    in_flight = {mid for mid, row in at_kill.items() if row["status"] == "envoi"}
    delivered_before = len(smtp_server.handler.received)
    assert 25 <= delivered_before < 80
    assert in_flight, "le lot en cours aurait dû rester en « envoi »"

    await asyncio.sleep(LEASE_SECONDS + 0.2)  # the dead sender's lease runs out
    await settle(smtp_sender(smtp_server))

    counts = collections.Counter(smtp_server.handler.ids())
    assert set(counts) == set(ids)  # every message, at least once
    duplicates = {mid for mid, count in counts.items() if count > 1}
    assert duplicates <= in_flight
    assert all(count <= 2 for count in counts.values())
    assert {row["status"] for row in (await statuses()).values()} == {"envoye"}


@requires_postgres
async def test_two_senders_on_postgresql_never_send_the_same_message(database, smtp_server):
    ids = await queue_plain(200)
    first = smtp_sender(smtp_server, connections=3, batch_size=7)
    second = smtp_sender(smtp_server, connections=3, batch_size=7)
    reports = await asyncio.gather(first.drain(), second.drain(), first.drain())
    assert sum(report.sent for report in reports) == 200
    counts = collections.Counter(smtp_server.handler.ids())
    assert set(counts) == set(ids)
    assert max(counts.values()) == 1
