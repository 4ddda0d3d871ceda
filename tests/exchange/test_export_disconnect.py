"""A client that leaves a streamed export early: the export must let go of the database at once
(its read transaction and connection), not whenever the garbage collector finalises it."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest
from piccolo.engine.sqlite import SQLiteEngine

from maillage.db import current_engine
from maillage.exchange.exports import Export
from maillage.tables import AuditEvent
from maillage.web import exchange_routes as exchange_api
from tests.web.helpers import http_scope

SCENARIOS = ["contacts.vcf", "contacts.csv", "annuaire.xlsx", "organisations.csv"]


async def _leave_after_first_chunk(app, path: str, token: str) -> list[dict[str, Any]]:
    """Drive the ASGI app as a server would: the client disconnects once it got a chunk."""
    got_chunk = asyncio.Event()
    sent: list[dict[str, Any]] = []
    request_read = False

    async def receive() -> dict[str, Any]:
        nonlocal request_read
        if not request_read:
            request_read = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await got_chunk.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            got_chunk.set()
            await asyncio.Event().wait()  # a slow network: the disconnect arrives meanwhile

    scope = http_scope(path, [(b"authorization", f"Bearer {token}".encode())])
    await asyncio.wait_for(app(scope, receive, send), timeout=30)
    return sent


async def _readers_left() -> int:
    """Readers still holding the database: a snapshot on SQLite blocks a full checkpoint,
    PostgreSQL lists sessions left inside a transaction."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        with sqlite3.connect(engine.path) as connection:
            busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return int(busy)
    rows = await engine.run_ddl(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND (state LIKE 'idle in transaction%' OR state = 'active')"
    )
    return int(rows[0]["n"])


@pytest.mark.parametrize("filename", SCENARIOS)
async def test_leaving_a_streamed_export_releases_the_database(
    app, coordinator, world, monkeypatch, filename
):
    started: list[Export] = []
    original = exchange_api.start_export

    def keep(*args: Any, **kwargs: Any) -> Export:
        started.append(original(*args, **kwargs))
        return started[-1]

    # Holding the export, as a lingering reference would, rules the garbage collector out.
    monkeypatch.setattr(exchange_api, "start_export", keep)
    sent = await _leave_after_first_chunk(app, f"/api/v1/exports/{filename}", coordinator.token)
    assert sent[0]["status"] == 200
    assert not any(m.get("more_body") is False for m in sent[1:])  # really left early
    assert started[0].chunks.ag_frame is None  # type: ignore[attr-defined]
    assert await _readers_left() == 0
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "export")
        .first()
        .output(load_json=True)
    )
    assert event is not None and event["changes"]["interrompu"] is True  # logged, as left
