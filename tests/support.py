"""Helpers shared by test modules (importable, unlike conftest)."""

from __future__ import annotations

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
