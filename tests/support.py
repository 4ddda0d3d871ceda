"""Helpers shared by test modules (importable, unlike conftest)."""

from __future__ import annotations

import asyncio
import os

import pytest

# Tests never read MAILLAGE_DATABASE_URL: only this variable chooses their database.
TEST_DATABASE_URL = os.environ.get("MAILLAGE_TEST_DATABASE_URL", "")

requires_postgres = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgres"),
    reason="PostgreSQL non configuré : définissez MAILLAGE_TEST_DATABASE_URL="
    "postgresql://postgres@127.0.0.1:5432/test pour lancer ce test.",
)


async def outbox_rows(kind: str | None = None) -> list[dict]:
    """The outbox's rows with their stored bytes as ``raw_message`` (kept in their own table)."""
    from maillage.tables import OutboxContent, OutboxMessage

    message = OutboxContent.message
    query = OutboxContent.select(
        *(
            getattr(message, column._meta.name).as_alias(column._meta.name)
            for column in OutboxMessage._meta.columns
        ),
        OutboxContent.content.as_alias("raw_message"),
    ).order_by(message.id)
    if kind is not None:
        query = query.where(message.kind == kind)
    return await query.run()


async def run_command(settings, monkeypatch: pytest.MonkeyPatch, *args: str):
    """``maillage ARGS…`` run by click's test runner in a thread, on the test's database and
    data folder; the test's engine is bound again after (the command binds its own)."""
    from click.testing import CliRunner

    from maillage import db
    from maillage.cli import main

    monkeypatch.setenv("MAILLAGE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MAILLAGE_DATABASE_URL", settings.database_url)
    engine = db.current_engine()
    try:
        return await asyncio.to_thread(CliRunner().invoke, main, list(args))
    finally:
        db.bind(engine)
