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

Rows come back as Piccolo's do (a dict per row, values converted by declared type), built for
less (#16, helper h16sqlite): the same list on SQLite cost 2 ms more CPU than on PostgreSQL.
Piccolo's ``dict_factory`` ran a Python comprehension over the columns for every row, and its
converters (``sqlite3.register_converter``, called by the ``sqlite3`` module for every non-NULL
value of a declared type) parsed each INTEGER through ``Decimal`` behind a decorator: 404
values converted per API page of 50 contacts, two Python calls each, and two per row, 0.3 ms
of the kept connection's thread, which also takes the interpreter lock back from the event
loop for each row (the ``sqlite3`` module lets go of it around every step). The rows are now built
with ``dict(zip(names, row))`` and the converters of the types every list reads (BOOLEAN,
TIMESTAMPTZ, TIMESTAMP, DATE) are replaced by equivalents that give the same values, BOOLEAN
without a Python frame at all; INTEGER has none (SQLite gives ints itself).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine

LOOP_READ_CPU_SECONDS = 0.002
"""CPU a statement read alone (``db.read_statement``, outside a transaction) may spend on the
event loop's own connection before it is interrupted and read on a kept connection's thread
instead (`loop_read`). A list page, a feed's validators, an answer link's row take 0.01–1 ms."""
_STEPS_PER_CHECK = 10_000  # about 0.1-0.3 ms of SQL between two looks at the clock
_COMPARES_PER_CHECK = 256
HEAVY_THREAD_READS = 64
"""A statement interrupted on the loop is read on a thread this many times before the loop is
tried again (its SQL text is remembered, its arguments are not: a search for « a » and one for
« martin » share it)."""
_HEAVY_KEPT = 256

READERS_AT_ONCE = max(2, os.cpu_count() or 2)
"""Statements read alone (`alone`: ``db.read_statement``, outside a transaction) that run at
once: as many as cores. Sixteen list pages read at once on sixteen kept connections (a thread
and a page cache each, taking turns on two cores) cost 2.78 ms of CPU each against 1.50 ms one
at a time; on two connections 1.81 ms (bench/README.md « After this stop's merges », #16).
Transactions are not bounded by it: one held for long (an import) never makes a read wait."""

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


# ----- values and rows as Piccolo gives them, for less CPU (module docstring) -------------------


def timestamptz_out(value: bytes) -> dt.datetime:
    """Piccolo's TIMESTAMPTZ conversion, without its decorator's frame. Piccolo writes UTC
    with its offset (« 2019-01-01 09:00:00+00:00 »), read back in UTC already: no ``replace``
    call for those (#16: two timestamps a row, a hundred a list page)."""
    moment = dt.datetime.fromisoformat(value.decode())
    return moment if moment.tzinfo is dt.UTC else moment.replace(tzinfo=dt.UTC)


def timestamp_out(value: bytes) -> dt.datetime:
    return dt.datetime.fromisoformat(value.decode())


def date_out(value: bytes) -> dt.date:
    return dt.date.fromisoformat(value.decode())


CONVERTERS: dict[str, Callable[[bytes], Any]] = {
    # Piccolo's: the text is "1". A bound method of bytes: no Python frame per value.
    "BOOLEAN": b"1".__eq__,
    "TIMESTAMPTZ": timestamptz_out,
    "TIMESTAMP": timestamp_out,
    "DATE": date_out,
}
# The sqlite3 module keeps one table of converters for the process, filled by Piccolo when it is
# imported (``piccolo.engine.sqlite``, imported above); these replace five of its entries.
for _declared, _converter in CONVERTERS.items():
    sqlite3.register_converter(_declared, _converter)
# No converter for INTEGER: SQLite gives the values of an INTEGER column as Python ints itself,
# in C, where Piccolo's converter made a Python call of each (``int(Decimal(text))``; #16: four
# or five a row, 250 a list page, a tenth of its CPU). Piccolo's only reason for it, a REAL
# stored in an INTEGER column, never happens here: every value written is an int, and SQLite's
# INTEGER affinity stores « 1.0 » as 1.
sqlite3.converters.pop("INTEGER", None)


def _rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    """Every row as a dict by column name (Piccolo's ``dict_factory``, built in C per row)."""
    rows = cursor.fetchall()
    if cursor.description is None:
        return []
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in rows]


def _execute(connection: sqlite3.Connection, sql: str, args: Sequence[Any]) -> _Cursor:
    cursor = connection.execute(sql, args)
    try:
        # Fetched to the end: a statement left half-stepped would keep its transaction open.
        return _Cursor(_rows(cursor), cursor.lastrowid, cursor.rowcount)
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

    def __init__(
        self,
        path: str,
        collations: dict[str, Callable[[str, str], int]] | None = None,
        **connection_kwargs: Any,
    ) -> None:
        super().__init__(path=path, **connection_kwargs)
        # The collations the connection factory gives every connection: the loop's reader
        # gets them bounded too (`_bounded`), since a sort runs them within one step.
        self.collations = dict(collations or {})
        self._idle: list[PooledConnection] = []
        # Queries waiting for a connection, in their order of arrival.
        self._waiters: collections.deque[asyncio.Future[PooledConnection]] = collections.deque()
        self._open = 0  # connections open, in use or idle
        self._lock = threading.Lock()
        self._loop_reader: sqlite3.Connection | None = None
        self._loop_deadline = 0.0  # the thread CPU time at which a loop read is cut short
        self._loop_spent = False
        self._loop_compares = 0
        self._heavy: collections.OrderedDict[str, int] = collections.OrderedDict()
        self.opened = 0
        """Connections this engine has opened in its life: a warm pool opens none."""
        self._readers: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def open_raw(self) -> sqlite3.Connection:
        kwargs = {**self.connection_kwargs, "check_same_thread": False}
        connection: sqlite3.Connection = sqlite3.connect(**kwargs)
        # Tuples: `_rows` makes the dicts (Piccolo's ``dict_factory`` is a Python call per row).
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

    @contextlib.asynccontextmanager
    async def alone(self) -> AsyncIterator[PooledConnection]:
        """A kept connection for one statement read alone, at most `READERS_AT_ONCE` at once
        (the most recently given back first: their pages are cached)."""
        async with self._reader_turns():
            connection = await self.get_connection()
            try:
                yield connection
            finally:
                await connection.close()

    def _reader_turns(self) -> asyncio.Semaphore:
        # One per event loop: a semaphore belongs to the loop that first waits on it.
        loop = asyncio.get_running_loop()
        if self._readers is None or self._readers[0] is not loop:
            self._readers = (loop, asyncio.Semaphore(READERS_AT_ONCE))
        return self._readers[1]

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

    async def loop_read(self, sql: str, args: Sequence[Any]) -> list[Any] | None:
        """The rows of a statement read alone, read on the event loop's own connection as the
        floor reads, or None: then the caller reads it on a kept connection's thread, which
        also raises a real error properly.

        Why (#16): a hop to a kept connection's thread costs more than most of these statements
        (an answer link's row, a feed's validators, a token); and two threads running SQL while
        the loop runs Python hand the interpreter lock to and fro at every row and every step
        of the ``sqlite3`` module: a list page read so cost 1.8–2.6 ms of CPU at 16 clients,
        1.5 ms read here, the floor's figure (bench/README.md « Every statement read alone on
        the loop first »). Bounded: past `LOOP_READ_CPU_SECONDS` of this thread's CPU (checked
        every ten thousand steps, and every few hundred comparisons of a sort, which runs within
        one step) the statement is interrupted and its SQL remembered (`HEAVY_THREAD_READS`);
        it never waits for a lock (no busy timeout)."""
        if not self._loop_first(sql):
            return None
        reader = self._loop_reader
        if reader is None:
            reader = await asyncio.to_thread(self._open_loop_reader)
            if self._loop_reader is not None:  # another task opened it meanwhile
                reader.close()
            else:
                self._loop_reader = reader
            reader = self._loop_reader
        self._loop_deadline = time.thread_time() + LOOP_READ_CPU_SECONDS
        self._loop_spent = False
        self._loop_compares = 0
        try:
            return _execute(reader, sql, args).rows
        except sqlite3.Error:
            if self._loop_spent:
                self._remember_heavy(sql)
            return None

    def _loop_first(self, sql: str) -> bool:
        """Whether to try the loop: yes, but for a remembered heavy statement's next reads."""
        skips = self._heavy.get(sql)
        if skips is None:
            return True
        if skips <= 0:
            del self._heavy[sql]
            return True
        self._heavy[sql] = skips - 1
        return False

    def _remember_heavy(self, sql: str) -> None:
        self._heavy[sql] = HEAVY_THREAD_READS
        self._heavy.move_to_end(sql)
        while len(self._heavy) > _HEAVY_KEPT:
            self._heavy.popitem(last=False)

    def _open_loop_reader(self) -> sqlite3.Connection:
        connection = self.open_raw()
        for pragma in ("PRAGMA query_only = 1", "PRAGMA busy_timeout = 0"):
            connection.execute(pragma).close()
        connection.set_progress_handler(self._budget_spent, _STEPS_PER_CHECK)
        for name, compare in self.collations.items():
            connection.create_collation(name, self._bounded(compare))
        return connection

    def _budget_spent(self) -> bool:
        if time.thread_time() > self._loop_deadline:
            self._loop_spent = True
        return self._loop_spent

    def _bounded(self, compare: Callable[[str, str], int]) -> Callable[[str, str], int]:
        """``compare`` for the loop's reader: once the budget is spent, the sort in progress
        ends on the cheapest answer and the statement is interrupted at its next step (its
        rows are never used: it is read again on a thread)."""

        def bounded(left: str, right: str) -> int:
            if self._loop_spent:
                return 0
            self._loop_compares += 1
            if self._loop_compares % _COMPARES_PER_CHECK == 0 and self._budget_spent():
                assert self._loop_reader is not None
                self._loop_reader.interrupt()
                return 0
            return compare(left, right)

        return bounded

    async def close_all(self) -> None:
        reader, self._loop_reader = self._loop_reader, None
        if reader is not None:
            reader.close()
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
