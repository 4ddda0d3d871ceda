"""SQLite connections opened once and handed from one query to the next (#16).

Piccolo's SQLite engine opens a new ``aiosqlite`` connection, with a new thread, for every query
run outside a transaction, and sends each statement to that thread in four hops (``PRAGMA
foreign_keys``, execute, fetch, close). On a département's lists that cost more CPU than the
query itself. ``PooledSQLiteEngine`` keeps a few plain ``sqlite3`` connections, each with its own
thread for its whole life (a connection never waits behind another's statement), and runs each
statement, fetch included, in one hop.

A transaction's ``BEGIN`` is sent with its first statement, in the same hop, and a transaction
that ran none ends without one (``COMMIT`` and ``ROLLBACK`` of a ``BEGIN`` never sent are
dropped): a read transaction of one statement costs two hops, not three. Nothing runs on the
connection between the two, so the transaction holds the same snapshot and write lock as if
``BEGIN`` had gone alone (a write's ``IMMEDIATE`` lock is taken in that first hop, after the
process's write turn as before).

Connections are prepared once: WAL, ``synchronous = NORMAL`` (safe with WAL: a power cut may
lose the last commits, never corrupt the file), foreign keys, the busy timeout, and the French
collation (``FrenchConnection``). They run in autocommit outside explicit transactions, so a
kept connection never holds a read snapshot between two uses; one given back inside a
transaction is rolled back first.

The pool is bounded, as asyncpg's is on PostgreSQL: at most ``KEPT_CONNECTIONS`` are open, and
all stay open once opened; a query that finds none free waits for the next one given back
(first come, first served). It used to open one more for each query beyond the kept ones and
close it when given back: under 50 clients a worker ran more transactions at once than it kept,
and opened and closed a connection (and its thread) every few requests, its PRAGMAs and
collation included (#16, bench/load.py). A query that waits longer than
``OVERFLOW_AFTER_SECONDS`` gets a connection of its own, closed when given back, so that a task
holding a connection while it waits for another can never wait forever (none does today: the
warning says so if one ever does).

The connection object answers the part of ``aiosqlite``'s interface that Piccolo and maillage
use (``execute`` awaited or as a context manager, ``executemany``, ``commit``, ``close``), so
Piccolo's transactions, savepoints and maillage's driver-level statements work unchanged.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Generator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine, dict_factory

KEPT_CONNECTIONS = 16
"""Connections a process opens at most (and keeps open); more queries at once wait their turn."""
OVERFLOW_AFTER_SECONDS = 5.0
"""How long a query waits for a kept connection before it opens one of its own (module doc)."""

logger = logging.getLogger("maillage.db")


class _Cursor:
    """What a statement returned, fetched already: rows, last row id, changed row count."""

    def __init__(self, rows: list[Any], lastrowid: int | None, rowcount: int) -> None:
        self.rows = rows
        self.lastrowid = lastrowid
        self.rowcount = rowcount

    async def fetchall(self) -> list[Any]:
        return self.rows

    async def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    async def close(self) -> None:
        return None


class _Statement:
    """``await connection.execute(…)`` and ``async with connection.execute(…) as cursor``."""

    def __init__(self, run: Callable[[], Awaitable[_Cursor]]) -> None:
        self.run = run

    def __await__(self) -> Generator[Any, None, _Cursor]:
        return self.run().__await__()

    async def __aenter__(self) -> _Cursor:
        return await self.run()

    async def __aexit__(self, *exc_info: object) -> None:
        return None


def _execute(connection: sqlite3.Connection, sql: str, args: Sequence[Any]) -> _Cursor:
    cursor = connection.execute(sql, args)
    try:
        # Fetched to the end: a statement left half-stepped would keep its transaction open.
        rows = cursor.fetchall()
        return _Cursor(rows, cursor.lastrowid, cursor.rowcount)
    finally:
        cursor.close()


_EMPTY = _Cursor([], None, -1)


def _begun(
    connection: sqlite3.Connection, begin: str, function: Callable[..., Any], *args: Any
) -> Any:
    """The transaction's deferred ``BEGIN``, then the first statement, in one hop."""
    connection.execute(begin).close()
    return function(*args)


def _execute_many(
    connection: sqlite3.Connection, sql: str, rows: Iterable[Sequence[Any]]
) -> _Cursor:
    cursor = connection.executemany(sql, rows)
    try:
        return _Cursor([], cursor.lastrowid, cursor.rowcount)
    finally:
        cursor.close()


async def _nothing() -> _Cursor:
    return _EMPTY


class PooledConnection:
    """One ``sqlite3`` connection and the thread that runs its statements."""

    def __init__(self, owner: PooledSQLiteEngine) -> None:
        self.owner = owner
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="maillage-sqlite")
        self.raw: sqlite3.Connection
        # A ``BEGIN …`` not sent yet: it goes with the next statement (module docstring).
        self.begin: str | None = None

    async def open(self) -> PooledConnection:
        try:
            self.raw = await self._call(self.owner.open_raw)
        except BaseException:
            self.thread.shutdown(wait=False)
            raise
        return self

    async def _call(self, function: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        if self.begin is not None:
            begin, self.begin = self.begin, None
            return await loop.run_in_executor(self.thread, _begun, self.raw, begin, function, *args)
        return await loop.run_in_executor(self.thread, function, *args)

    def execute(self, sql: str, args: Sequence[Any] | None = None) -> _Statement:
        if not args:
            head = sql.lstrip()[:8].upper()
            if head.startswith("BEGIN"):
                self.begin = sql
                return _Statement(_nothing)
            if (head.startswith(("COMMIT", "ROLLBACK")) and "TO" not in sql.upper()) and (
                self.begin is not None or not self.raw.in_transaction
            ):
                # The transaction never started (no statement ran, or its BEGIN failed).
                self.begin = None
                return _Statement(_nothing)
        return _Statement(lambda: self._call(_execute, self.raw, sql, args or ()))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> _Cursor:
        cursor: _Cursor = await self._call(_execute_many, self.raw, sql, list(rows))
        return cursor

    async def commit(self) -> None:
        if self.begin is not None:
            self.begin = None
            return
        await self._call(self.raw.commit)

    async def close(self) -> None:
        """Give the connection back to the engine (Piccolo closes after each transaction)."""
        await self.owner.give_back(self)

    async def dispose(self) -> None:
        try:
            await self._call(self.raw.close)
        finally:
            self.thread.shutdown(wait=False)

    def discard(self) -> None:
        """Close the connection in its thread without waiting (a connection beyond the kept)."""
        self.thread.submit(self.raw.close)
        self.thread.shutdown(wait=False)


class PooledSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine on kept connections (see the module's docstring)."""

    def __init__(self, path: str, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self._idle: list[PooledConnection] = []
        # Queries waiting for a connection, in their order of arrival.
        self._waiters: collections.deque[asyncio.Future[PooledConnection]] = collections.deque()
        self._open = 0  # connections open, in use or idle
        self._lock = threading.Lock()
        self.opened = 0
        """Connections this engine has opened in its life: a warm pool opens none."""

    def open_raw(self) -> sqlite3.Connection:
        kwargs = {**self.connection_kwargs, "check_same_thread": False}
        connection: sqlite3.Connection = sqlite3.connect(**kwargs)
        connection.row_factory = dict_factory
        for pragma in (
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA foreign_keys = 1",
        ):
            connection.execute(pragma).close()
        return connection

    async def get_connection(self) -> PooledConnection:  # type: ignore[override]  # stands in for Piccolo's aiosqlite connection
        with self._lock:
            if self._idle:
                return self._idle.pop()
            opening = self._open < KEPT_CONNECTIONS
            if opening:
                self._open += 1
        if opening:
            return await self._open_one()
        return await self._wait_for_one()

    async def _open_one(self) -> PooledConnection:
        try:
            connection = await PooledConnection(self).open()
        except BaseException:
            with self._lock:
                self._open -= 1
            raise
        self.opened += 1
        return connection

    async def _wait_for_one(self) -> PooledConnection:
        waiter: asyncio.Future[PooledConnection] = asyncio.get_running_loop().create_future()
        with self._lock:
            self._waiters.append(waiter)
        try:
            async with asyncio.timeout(OVERFLOW_AFTER_SECONDS):
                return await waiter
        except TimeoutError:
            pass
        except BaseException:
            # Cancelled: a connection handed over at the same moment goes to the next query.
            self._forget(waiter)
            raise
        self._forget(waiter)
        logger.warning(
            "Aucune connexion SQLite libre depuis %s s : une de plus est ouverte",
            OVERFLOW_AFTER_SECONDS,
        )
        with self._lock:
            self._open += 1
        return await self._open_one()

    def _forget(self, waiter: asyncio.Future[PooledConnection]) -> None:
        with self._lock:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        if waiter.done() and not waiter.cancelled():
            self._hand_over(waiter.result())

    async def give_back(self, connection: PooledConnection) -> None:
        connection.begin = None
        if connection.raw.in_transaction:
            await connection._call(connection.raw.rollback)
        self._hand_over(connection)

    def _hand_over(self, connection: PooledConnection) -> None:
        """To the first query waiting in this event loop, else back to the idle ones (or closed,
        when more are open than kept)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done() and waiter.get_loop() is loop:
                    waiter.set_result(connection)
                    return
            if self._open <= KEPT_CONNECTIONS:
                self._idle.append(connection)
                return
            self._open -= 1
        connection.discard()

    async def close_all(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            self._open -= len(idle)
        for connection in idle:
            await connection.dispose()

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> list[Any]:
        connection = await self.get_connection()
        try:
            cursor = await connection.execute(query, args or [])
        finally:
            await connection.close()
        return await self._inserted_or_rows(cursor, query_type, table)

    async def _run_in_existing_connection(
        self,
        connection: PooledConnection,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> list[Any]:
        cursor = await connection.execute(query, args or [])
        return await self._inserted_or_rows(cursor, query_type, table)

    async def _inserted_or_rows(self, cursor: _Cursor, query_type: str, table: Any) -> list[Any]:
        # SQLite before 3.35 has no RETURNING: Piccolo reads the new key back by ROWID.
        if query_type == "insert" and self.get_version_sync() < 3.35:
            assert table is not None
            name = table._meta.primary_key._meta.db_column_name
            rows = await self._run_in_new_connection(
                f"SELECT {name} FROM {table._meta.tablename} WHERE ROWID = {cursor.lastrowid}"
            )
            return [{name: rows[0][name]}]
        return cursor.rows
