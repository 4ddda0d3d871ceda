"""Kept SQLite connections: reused from one write transaction to the next, closed at the end."""

from __future__ import annotations

import asyncio
import threading

import pytest

from maillage import db
from maillage.crm.tables import Axis


async def threads_back_to(count: int) -> bool:
    """aiosqlite's thread ends just after ``close`` returns: give it a moment."""
    for _ in range(100):
        if threading.active_count() == count:
            return True
        await asyncio.sleep(0.01)
    return False


def sqlite_only() -> None:
    if not db.is_sqlite():
        pytest.skip("PostgreSQL a son propre pool : kept_connections n'y change rien.")


async def test_write_transactions_reuse_one_connection_and_close_it_at_the_end(database):
    sqlite_only()
    threads = threading.active_count()
    async with db.kept_connections():
        async with db.write_transaction() as first:
            await Axis.select(Axis.id).run()
            used = first.connection.connection
        async with db.write_transaction() as second:
            await Axis.select(Axis.id).run()
            assert second.connection.connection is used
        assert threading.active_count() == threads + 1  # one aiosqlite thread, kept
    assert await threads_back_to(threads)  # and closed with the block


async def test_a_failed_transaction_leaves_a_clean_connection_behind(database):
    sqlite_only()
    before = await Axis.count()
    async with db.kept_connections():
        with pytest.raises(RuntimeError):
            async with db.write_transaction():
                await Axis.insert(
                    Axis(code="abandonne", name="Axe abandonné", search="axe abandonne")
                ).run()
                raise RuntimeError("interrompu")
        async with db.write_transaction():
            assert await Axis.count() == before
    assert await Axis.count() == before


async def test_concurrent_transactions_take_distinct_connections(database):
    sqlite_only()
    seen: list[object] = []
    inside = asyncio.Event()

    async def hold() -> None:
        async with db.write_transaction() as transaction:
            seen.append(transaction.connection.connection)
            inside.set()
            await asyncio.sleep(0.05)

    async def join() -> None:
        await inside.wait()
        async with db.write_transaction() as transaction:
            seen.append(transaction.connection.connection)

    threads = threading.active_count()
    async with db.kept_connections():
        await asyncio.gather(hold(), join())
    assert seen[0] is not seen[1]
    assert await threads_back_to(threads)
