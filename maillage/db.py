"""Database connection: one engine per process, SQLite by default, PostgreSQL for scale.

``connect`` builds the engine for a URL and binds every table to it; ``migrate`` applies the
Piccolo migrations; ``write_transaction`` opens the transaction every service write uses (an
``IMMEDIATE`` one on SQLite, so concurrent writers wait their turn instead of failing with
« database is locked » half-way through: in this process on an asyncio lock, across processes on
the busy timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import io
import logging
import sqlite3
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Generic, TypeAlias, TypeVar, cast
from urllib.parse import urlsplit

import asyncpg
from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager
from piccolo.apps.migrations.tables import Migration
from piccolo.columns import (
    BigInt,
    Column,
    Date,
    Integer,
    Numeric,
    Real,
    Serial,
    SmallInt,
    Text,
    Timestamp,
    Timestamptz,
    Varchar,
)
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType
from piccolo.query.base import Query
from piccolo.query.proxy import Proxy
from piccolo.querystring import QueryString
from piccolo.table import Table

from maillage import row_security, trigram
from maillage.folding import COLLATION, FrenchConnection, french_compare
from maillage.french import number
from maillage.sqlite_pool import PooledSQLiteEngine
from maillage.tables import TABLES, DataChange

SQLITE_BUSY_TIMEOUT_SECONDS = 30
# While PostgreSQL is unreachable, each request fails (503) after at most this long instead of
# asyncpg's 60 s default, and the pool reconnects by itself once the server is back.
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5

_engine: Engine[Any] | None = None
logger = logging.getLogger("maillage.db")
# What a connection attempt raises while PostgreSQL is away (refused, reset, timed out, or the
# server still starting up).
_UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
)


class DatabaseError(RuntimeError):
    """The database cannot be reached or migrated; the message is meant for the person."""


def current_engine() -> Engine[Any]:
    if _engine is None:
        # Piccolo's own command line (migration authoring) reaches us without connect().
        from maillage.settings import load_settings

        bind(make_engine(load_settings().database_url))
    assert _engine is not None
    return _engine


def is_sqlite() -> bool:
    return isinstance(current_engine(), SQLiteEngine)


def make_engine(url: str) -> Engine[Any]:
    if url.startswith("sqlite:///"):
        return PooledSQLiteEngine(
            path=url.removeprefix("sqlite:///"),
            timeout=SQLITE_BUSY_TIMEOUT_SECONDS,
            factory=FrenchConnection,
            collations={COLLATION: french_compare},
        )
    parts = urlsplit(url)
    if parts.scheme in {"postgresql", "postgres"}:
        dsn = url.replace("postgres://", "postgresql://", 1)
        return ScopedPostgresEngine(
            config={
                "dsn": dsn,
                "timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS,
                # The value every connection starts with and comes back to when the pool
                # resets it (RESET ALL): maillage's own work sees every row (#20).
                "server_settings": {row_security.SETTING: row_security.EVERY_TERRITORY},
            }
        )
    raise DatabaseError(f"Adresse de base de données non reconnue : {url}")


# ----- row-level security (#20): every connection carries the territories of the work ------

# Set while a transaction takes its connection: its BEGIN carries the setting instead.
_acquiring_for_transaction: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "maillage_acquiring_for_transaction", default=False
)


async def _give_row_scope(connection: Any) -> None:
    """The pool's ``setup`` (every acquisition, whoever asks: Piccolo, `plain_reader`…):
    a connection taken for a scoped user's work gets their territories for the session; the
    pool's reset (``RESET ALL``) on release brings back the start-up value (every row) and
    the plan cache's mode."""
    value = row_security.current()
    if value != row_security.EVERY_TERRITORY and not _acquiring_for_transaction.get():
        # Generic plans as in a scoped read transaction (`row_security.begin_sql`): a list page
        # read without a transaction (`read_statement`) would otherwise be planned again on
        # every execution under the policies.
        await connection.execute(
            f"{row_security.set_config_sql(value, local=False)}; "
            f"{row_security.SESSION_GENERIC_PLANS}"
        )


class ScopedPostgresTransaction(PostgresTransaction):
    """Piccolo's transaction whose ``BEGIN`` carries the territories of the work in the same
    message (``set_config(…, true)``: for this transaction only): no extra round trip.

    ``reading`` (`read_transaction`): with the setting ``*``, the transaction reads as the role
    that sees every row without the policies (`row_security.SEES_ALL_SUFFIX`), when the
    database has one: ``SET LOCAL ROLE`` in the same message as ``BEGIN``. Only reads: what
    writes, migrates or creates keeps the application's role, owner of what it creates.
    A scoped read also plans its statements generically (`row_security.GENERIC_PLANS`)."""

    __slots__ = ("_lender", "_plain", "reading")

    def __init__(self, engine: PostgresEngine, allow_nested: bool = True) -> None:
        super().__init__(engine=engine, allow_nested=allow_nested)
        self.reading = False
        self._lender: asyncpg.Pool | None = None

    async def get_connection(self) -> Any:
        # The pool that lends the connection, or None: one of its own while the pool is not
        # open (`start_pool`). Piccolo asks the engine again at the end, when the pool may have
        # opened meanwhile, and hands it a connection that is not its own.
        self._lender = self.engine.pool
        token = _acquiring_for_transaction.set(True)
        try:
            # Piccolo leaves PostgresTransaction's methods unannotated (an asyncpg connection).
            return await super().get_connection()  # type: ignore[no-untyped-call]  # unannotated in Piccolo
        finally:
            _acquiring_for_transaction.reset(token)

    async def __aexit__(  # type: ignore[override]  # None: the exception propagates
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Piccolo's end of a transaction, except that the connection goes back to where it
        came from, even when the commit or the rollback fails (Piccolo then kept a pool's
        connection lent for ever)."""
        if self._parent:
            return
        try:
            if exception is not None:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            try:
                if self._lender is not None:
                    await self._lender.release(self.connection)
                else:
                    await self.connection.close()
            finally:
                self.engine.current_transaction.reset(self.context)

    async def begin(self) -> None:
        value = row_security.current()
        self._plain = value == row_security.EVERY_TERRITORY
        if self._plain:
            engine = self.engine
            role = None
            if self.reading and isinstance(engine, ScopedPostgresEngine):
                role = await engine.sees_all_role(self.connection)
            if role is None:
                await super().begin()  # type: ignore[no-untyped-call]  # unannotated in Piccolo
                return
            self._plain = False
            await self.connection.execute(row_security.set_role_sql(role))
            return
        await self.connection.execute(row_security.begin_sql(value, self.reading))

    async def commit(self) -> None:
        if self._plain:
            await super().commit()  # type: ignore[no-untyped-call]  # unannotated in Piccolo
            return
        await self.connection.execute("COMMIT")
        self._committed = True

    async def rollback(self) -> None:
        if self._plain:
            await super().rollback()  # type: ignore[no-untyped-call]  # unannotated in Piccolo
            return
        await self.connection.execute("ROLLBACK")
        self._rolled_back = True


_UNKNOWN = object()


class ScopedPostgresEngine(PostgresEngine):
    """Piccolo's engine, every connection of which carries ``maillage.territories``."""

    # The role that reads every row (`row_security.SEES_ALL_QUERY`), looked up once: None, none.
    _sees_all: object = _UNKNOWN

    def transaction(self, allow_nested: bool = True) -> ScopedPostgresTransaction:
        return ScopedPostgresTransaction(engine=self, allow_nested=allow_nested)

    async def sees_all_role(self, connection: Any) -> str | None:
        if self._sees_all is _UNKNOWN:
            rows = await connection.fetch(row_security.SEES_ALL_QUERY)
            self._sees_all = row_security.sees_all_role([dict(row) for row in rows])
        return self._sees_all if isinstance(self._sees_all, str) else None

    def forget_sees_all_role(self) -> None:
        """Look the role up again (its grants changed: `sync_row_security`), and the search
        functions with it (`search_functions`)."""
        self._sees_all = _UNKNOWN
        self.forget_search_functions()

    def forget_search_functions(self) -> None:
        self._searches = _UNKNOWN

    # The tables whose search function a scoped search may use
    # (`row_security.usable_search_query`), looked up once.
    _searches: object = _UNKNOWN

    async def know_search_functions(self) -> None:
        if self._searches is _UNKNOWN:
            rows = await self.run_ddl(row_security.usable_search_query(trigram.SUFFIX))
            self._searches = row_security.usable_searches([dict(row) for row in rows])

    def search_functions(self) -> frozenset[str]:
        """The tables of `know_search_functions`, none while not looked up."""
        return self._searches if isinstance(self._searches, frozenset) else frozenset()

    async def start_connection_pool(self, **kwargs: Any) -> None:
        await super().start_connection_pool(setup=_give_row_scope, **kwargs)

    async def get_new_connection(self) -> Any:
        connection = await super().get_new_connection()
        await _give_row_scope(connection)
        return connection


async def sync_row_security() -> list[str]:
    """Bring the policies to `row_security.PROTECTED` (after the migrations, PostgreSQL only);
    returns the statements run (none when they are current)."""
    engine = current_engine()
    if not isinstance(engine, PostgresEngine):
        return []
    state = await engine.run_ddl(row_security.STATE_QUERY)
    changes = row_security.statements(state)
    # The role that reads everything, when the server's administrator made it: the tables
    # and sequences it lacks (those of the migrations just run).
    sees_all = await engine.run_ddl(row_security.SEES_ALL_QUERY)
    changes += row_security.statements_for_sees_all(sees_all)
    # The functions of the scoped searches, given to that role (granted just above when new).
    owner = str(sees_all[0]["name"]) if sees_all and sees_all[0]["member"] else None
    changes += row_security.search_function_statements(
        search_tables(),
        await engine.run_ddl(row_security.SEARCH_STATE_QUERY),
        owner,
        await engine.run_ddl(row_security.SCHEMA_QUERY),
    )
    if changes:
        async with engine.transaction():
            for statement in changes:
                await engine.run_ddl(statement)
    if isinstance(engine, ScopedPostgresEngine):
        engine.forget_sees_all_role()
    return changes


async def row_security_bypassed() -> bool:
    """True when the connection's role escapes every policy (a superuser, ``BYPASSRLS``)."""
    engine = current_engine()
    if not isinstance(engine, PostgresEngine):
        return False
    rows = await engine.run_ddl(
        "SELECT rolsuper OR rolbypassrls AS bypassed FROM pg_roles WHERE rolname = current_user"
    )
    return bool(rows and rows[0]["bypassed"])


def french_order(column: Column, *, gathered: bool = False) -> QueryString:
    """An ORDER BY term that sorts a text column as a French reader expects (accents, case
    and ligatures ignored): PostgreSQL's ICU collation, or SQLite's of the same name.
    ``gathered``: the same order through an expression no index provides (`gathered_order`)."""
    name = column._meta.get_full_name(with_alias=False)
    if gathered:
        name = f"({name} || '')"
    return QueryString(f'{name} COLLATE "{COLLATION}"')


def gathered_order(column: Column) -> QueryString:
    """An ORDER BY term, for PostgreSQL, in the order of ``column`` but through an expression
    that no index provides (``id + 0``, ``name || ''``…): the planner gathers the rows the
    filter keeps (a scoped user's, through the ``territory`` index) and sorts them, instead of
    walking an index in that order and dropping every row out of scope on the way, a walk that
    crosses the whole country before it finds the last territory's first rows (#20).

    Text columns get the French collation (`french_order`); NULLs come where the column's own
    would (an operation on NULL is NULL)."""
    if isinstance(column, Varchar | Text):
        return french_order(column, gathered=True)
    name = column._meta.get_full_name(with_alias=False)
    if isinstance(column, Timestamp | Timestamptz):
        return QueryString(f"({name} + INTERVAL '0 seconds')")
    if isinstance(column, Date | Integer | Serial | BigInt | SmallInt | Real | Numeric):
        return QueryString(f"({name} + 0)")  # a date plus no days is that date
    return QueryString(name)


def bind(engine: Engine[Any]) -> None:
    """Make every table (and Piccolo's migration log) use ``engine``."""
    global _engine
    _engine = engine
    tables: list[type[Table]] = [*TABLES, Migration]
    for table in tables:
        table._meta.db = engine


async def connect(url: str) -> Engine[Any]:
    previous = _engine
    if isinstance(previous, PooledSQLiteEngine):
        await previous.close_all()  # its kept connections would hold the old file open
    engine = make_engine(url)
    bind(engine)
    if isinstance(engine, SQLiteEngine):
        # WAL lets readers work while one writer commits; it is a property of the file.
        await engine.run_ddl("PRAGMA journal_mode=WAL")
    return engine


POOL_RETRY_SECONDS = 2.0
_pool_retries: set[asyncio.Task[None]] = set()


async def start_pool() -> None:
    """Open the PostgreSQL pool; while the server is away, keep trying in the background.

    uvicorn restarts a dead worker at any moment, and stops the whole server when a worker fails
    to start: a worker started during an outage must come up and answer 503 (each request opens
    its own connection until the pool exists), not fail its start-up."""
    engine = current_engine()
    if not isinstance(engine, PostgresEngine):
        return
    try:
        await engine.start_connection_pool(min_size=1, max_size=10)
    except _UNREACHABLE as error:
        logger.warning(
            "Base de données injoignable au démarrage (%s) : nouvel essai toutes les %s s",
            error,
            number(POOL_RETRY_SECONDS),
        )
        task = asyncio.create_task(_start_pool_when_back(engine), name="maillage-pool")
        _pool_retries.add(task)
        task.add_done_callback(_pool_retries.discard)


async def start_worker(url: str) -> None:
    """The database of a heavy-work process (``offloop.in_process``): its own connections,
    opened once for the worker's life (a few on PostgreSQL: it runs one job at a time)."""
    engine = await connect(url)
    if isinstance(engine, PostgresEngine):
        try:
            await engine.start_connection_pool(min_size=1, max_size=2)
        except _UNREACHABLE as error:
            # Started while the server is away: each job connects on its own until the worker
            # is replaced; a failed start would break the whole pool of workers.
            logger.warning("Base de données injoignable pour un processus de calcul : %s", error)


async def _start_pool_when_back(engine: PostgresEngine) -> None:
    while True:
        await asyncio.sleep(POOL_RETRY_SECONDS)
        try:
            await engine.start_connection_pool(min_size=1, max_size=10)
        except _UNREACHABLE:
            continue
        logger.info("Base de données de nouveau joignable : pool de connexions ouvert")
        return


async def close_pool() -> None:
    for task in list(_pool_retries):
        task.cancel()
    engine = current_engine()
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
    elif isinstance(engine, PooledSQLiteEngine):
        await engine.close_all()


async def check_reachable() -> bool:
    try:
        await current_engine().run_ddl("SELECT 1")
    except Exception:
        return False
    return True


def search_tables() -> list[str]:
    """The tables with a ``search`` column (`maillage.trigram`)."""
    return [
        table._meta.tablename
        for table in TABLES
        if any(column._meta.name == "search" for column in table._meta.columns)
    ]


async def sync_search_indexes() -> list[str] | None:
    """PostgreSQL: the trigram indexes of the search columns that are missing, built
    (`maillage.trigram`); returns the statements run, None when the extension is absent (the
    searches then read the tables) or on SQLite."""
    engine = current_engine()
    if not isinstance(engine, PostgresEngine):
        return None
    state = (await engine.run_ddl(trigram.STATE_QUERY))[0]
    if state["schema"] is None:
        return None
    changes = trigram.statements(search_tables(), dict(state))
    if changes:
        async with engine.transaction():
            for statement in changes:
                await engine.run_ddl(statement)
    if isinstance(engine, ScopedPostgresEngine):
        engine.forget_sees_all_role()  # the search functions need their indexes
    return changes


async def search_functions_unowned() -> str | None:
    """PostgreSQL: the name of the role that reads without the policies when the database has
    one the application may take but that may not own the search functions (``CREATE`` on the
    schema ``public``, which `sync_row_security` gives when the application's role owns the
    schema): the scoped searches then do without them; None otherwise."""
    engine = current_engine()
    if not isinstance(engine, PostgresEngine):
        return None
    sees_all = await engine.run_ddl(row_security.SEES_ALL_QUERY)
    if not sees_all or not sees_all[0]["member"]:
        return None
    schema = await engine.run_ddl(row_security.SCHEMA_QUERY)
    return None if schema and schema[0]["creates"] else str(sees_all[0]["name"])


async def know_search_functions() -> None:
    """Look up, once, which scoped searches may go through their table's search function
    (`row_security.search_function`); nothing on SQLite."""
    engine = current_engine()
    if isinstance(engine, ScopedPostgresEngine):
        await engine.know_search_functions()


# What PostgreSQL answers a call of a search function that is gone (42883, a newer version's
# `maillage migrate` on another host dropped or renamed it) or that the application's role may
# no longer run (42501): the process's knowledge of them is stale (`search_function_gone`).
_SEARCH_FUNCTION_GONE = frozenset({"42883", "42501"})


def search_function_gone(error: BaseException) -> bool:
    """``error`` says a search function this process took for usable no longer is: the
    functions are forgotten, looked up again at the next search (`know_search_functions`),
    and the caller may search again, through them or as before."""
    engine = current_engine()
    if (
        not isinstance(engine, ScopedPostgresEngine)
        or getattr(error, "sqlstate", None) not in _SEARCH_FUNCTION_GONE
        or engine.current_transaction.get() is not None  # its transaction is aborted
    ):
        return False
    engine.forget_search_functions()
    return True


def search_function(table: str) -> str | None:
    """The function a search of ``table`` under the policies may take its ids from (after
    `know_search_functions`): None where there is none usable, or the read is not under the
    policies (the setting ``*``: the administrator's reads plan the index already, or cannot
    without the role)."""
    engine = current_engine()
    if (
        isinstance(engine, ScopedPostgresEngine)
        and row_security.current() != row_security.EVERY_TERRITORY
        and table in engine.search_functions()
    ):
        return row_security.search_function(table)
    return None


async def trigram_missing() -> bool:
    """PostgreSQL without the ``pg_trgm`` extension: the searches read whole tables."""
    engine = current_engine()
    if not isinstance(engine, PostgresEngine):
        return False
    return (await engine.run_ddl(trigram.STATE_QUERY))[0]["schema"] is None


async def migrate() -> list[str]:
    """Apply the migrations not yet applied; returns their ids. Idempotent."""
    manager = ForwardsMigrationManager(app_name="maillage")
    already = set()
    # Piccolo prints progress with emoji; the command line prints its own French summary.
    with contextlib.redirect_stdout(io.StringIO()):
        await manager.create_migration_table()
        already = set(await Migration.get_migrations_which_ran(app_name="maillage"))
        app_config = manager.get_app_config(app_name="maillage")
        result = await manager.run_migrations(app_config)
    if not result.success:
        raise DatabaseError(f"Échec de la migration : {result.message}")
    await sync_row_security()
    await sync_search_indexes()
    done = set(await Migration.get_migrations_which_ran(app_name="maillage"))
    return sorted(done - already)


def write_transaction() -> _WriteTransaction | _PostgresWriteTransaction:
    """The transaction of a service write: ``IMMEDIATE`` on SQLite, plain on PostgreSQL.

    On SQLite the writers of this process take turns (``_WriteTransaction``); writers of other
    processes wait on the busy timeout."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        return _WriteTransaction(engine)
    assert isinstance(engine, PostgresEngine)
    return _PostgresWriteTransaction(engine)


# How many times a service write PostgreSQL cancelled for crossing another is run in all.
WRITE_ATTEMPTS = 3
_WRITTEN = TypeVar("_WRITTEN")


def is_write_conflict(error: BaseException) -> bool:
    """PostgreSQL cancelled the transaction because it crossed another: a deadlock (40P01,
    one of the two cancelled) or a serialization failure (40001). Nothing of it was written,
    and the same transaction run again a moment later usually passes. Also an error raised
    from one (a service's translation of the driver's error)."""
    conflicts = asyncpg.DeadlockDetectedError | asyncpg.SerializationError
    return isinstance(error, conflicts) or isinstance(error.__cause__, conflicts)


async def retried_on_conflict(write: Callable[[], Awaitable[_WRITTEN]]) -> _WRITTEN:
    """``write``, one whole write transaction, run again when PostgreSQL cancelled it for
    crossing another (`is_write_conflict`), at most `WRITE_ATTEMPTS` times in all, a short
    pause between. Locks are taken in one order wherever we could (#20), but two writes of
    several rows may still cross; the one cancelled was answered a 500 before. Inside a
    caller's transaction, once: the conflict aborted the caller's too, which alone may run
    it again whole."""
    nested = current_engine().current_transaction.get() is not None
    attempt = 1
    while True:
        try:
            return await write()
        except Exception as error:
            if nested or attempt >= WRITE_ATTEMPTS or not is_write_conflict(error):
                raise
        await asyncio.sleep(0.05 * attempt)
        attempt += 1


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the write transaction in progress has committed (never after a
    rollback); at once outside one, or inside a transaction not opened by ``write_transaction``.

    The sender's wake-up goes through here: woken before the commit, it found nothing to send
    (on PostgreSQL its claim does not wait for the writer) and slept until its next poll."""
    transaction = current_engine().current_transaction.get()
    hooks = getattr(transaction, "after_commit_hooks", None)
    if hooks is None:
        callback()
    else:
        hooks.append(callback)


def _run_after_commit(transaction: Any) -> None:
    if transaction._parent is None and transaction._committed:
        for callback in transaction.after_commit_hooks:
            callback()


class _PostgresWriteTransaction(ScopedPostgresTransaction):
    """Piccolo's transaction, with the callbacks of ``after_commit``."""

    def __init__(self, engine: PostgresEngine) -> None:
        super().__init__(engine=engine)
        self.after_commit_hooks: list[Callable[[], None]] = []

    # Piccolo declares bool and ``*args``; None tells the type checker that the exception always
    # propagates (Piccolo's answer when there is one is False), so code after ``async with`` is
    # known to run only when the block finished.
    async def __aexit__(  # type: ignore[override]  # None: the exception propagates
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await super().__aexit__(exception_type, exception, traceback)
        _run_after_commit(self)


WRITE_TURN_TIMEOUT_SECONDS: float = SQLITE_BUSY_TIMEOUT_SECONDS
_write_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _write_turn() -> asyncio.Lock:
    """This event loop's turn (an asyncio lock belongs to the loop it first waits in)."""
    loop = asyncio.get_running_loop()
    turn = _write_turns.get(loop)
    if turn is None:
        turn = _write_turns[loop] = asyncio.Lock()
    return turn


class _WriteTransaction(SQLiteTransaction):
    """``BEGIN IMMEDIATE`` once this process's previous writer has committed.

    SQLite's busy handler retries with growing sleeps (up to 100 ms): a writer that arrived
    while others kept taking the lock could wait a few hundred milliseconds, which left the
    sender's connections idle while invitations were being queued. Taking turns on an asyncio
    lock, each writer starts as soon as the one before commits, in the order they came.

    Nested in another transaction, it is that transaction (Piccolo's rule)."""

    def __init__(self, engine: SQLiteEngine) -> None:
        super().__init__(engine=engine, transaction_type=TransactionType.immediate)
        self.turn: asyncio.Lock | None = None
        self.after_commit_hooks: list[Callable[[], None]] = []

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        await self._take_turn()
        try:
            return await super().__aenter__()
        except BaseException:
            self._end_turn()
            raise

    # Piccolo declares bool and ``*args``; None tells the type checker that the exception always
    # propagates (Piccolo's answer when there is one is False), so code after ``async with`` is
    # known to run only when the block finished.
    async def __aexit__(  # type: ignore[override]  # None: the exception propagates
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await super().__aexit__(exception_type, exception, traceback)
        finally:
            if self._parent is None:
                self._end_turn()
        _run_after_commit(self)

    async def _take_turn(self) -> None:
        turn = _write_turn()
        try:
            await asyncio.wait_for(turn.acquire(), timeout=WRITE_TURN_TIMEOUT_SECONDS)
        except TimeoutError:
            # The holder may be waiting on this very writer (a task it awaits): rather than
            # hang, go on without a turn and let SQLite's busy timeout decide, as before.
            logger.warning("Écriture sans attendre son tour après %s s", WRITE_TURN_TIMEOUT_SECONDS)
            return
        self.turn = turn

    def _end_turn(self) -> None:
        if self.turn is not None:
            self.turn.release()
            self.turn = None


@contextlib.asynccontextmanager
async def read_transaction() -> AsyncIterator[Any]:
    """Group a request's reads on one connection and snapshot; gives the transaction (the
    enclosing one when nested), whose ``connection`` takes driver-level statements.

    On PostgreSQL, a read of every row (the setting ``*``: an administrator, the process's own
    work) is made without the policies when the database has the role for it
    (`ScopedPostgresTransaction.reading`)."""
    transaction = current_engine().transaction()
    if isinstance(transaction, ScopedPostgresTransaction):
        transaction.reading = True
    async with transaction as entered:
        yield entered


class Slot:
    """Stands for a value while a query is built once for many (`Prepared`, list statements)."""

    __slots__ = ("rank",)

    def __init__(self, rank: int) -> None:
        self.rank = rank

    def __repr__(self) -> str:
        return f"Slot({self.rank})"


Q = TypeVar("Q")
# What `Prepared` keeps per engine: the query as built (maybe a ``.first()`` proxy), the query
# inside, its statement, and the statement's SQL and arguments (slots among them).
_Kept: TypeAlias = tuple[Q, "Query[Any, Any]", QueryString, str, list[Any]]


class Prepared(Generic[Q]):
    """A Piccolo query of a hot path, built and compiled once per engine, run with new values.

    Building a select (its joins above all) and compiling it cost more CPU than running it
    (#16: half of an answer link's GET). ``Prepared(lambda invitation: Invitation.select(…)
    .where(Invitation.id == invitation).first())`` builds the query once with a `Slot` for each
    parameter and keeps its SQL; ``prepared(42)`` gives a copy of that query whose SQL is
    frozen with 42 in the slot's place, run as any Piccolo query (same engine, transaction,
    output). The query's shape must not depend on the values. A value Piccolo would convert
    (a slot missing from the compiled arguments) makes it build the query each time."""

    __slots__ = ("_arity", "_build", "_kept")

    def __init__(self, build: Callable[..., Q]) -> None:
        self._build = build
        self._arity = build.__code__.co_argcount
        self._kept: dict[str, _Kept[Q] | None] = {}

    def __call__(self, *values: Any) -> Q:
        engine_type = current_engine().engine_type
        if engine_type not in self._kept:
            self._kept[engine_type] = self._prepare(engine_type)
        kept = self._kept[engine_type]
        if kept is None:
            return self._build(*values)
        built, query, base, sql, args = kept
        statement = QueryString("", query_type=base.query_type, table=base.table)
        statement._frozen_compiled_strings = (
            sql,
            [values[arg.rank] if isinstance(arg, Slot) else arg for arg in args],
        )
        ready = copy.copy(query)
        ready._frozen_querystrings = (statement,)
        if isinstance(built, Proxy):  # ``.first()``: the same wrapper around the copy
            return type(built)(ready)
        return ready  # type: ignore[return-value]  # the copy of the Q this statement built

    def _prepare(self, engine_type: str) -> _Kept[Q] | None:
        built = self._build(*(Slot(rank) for rank in range(self._arity)))
        query = cast("Query[Any, Any]", built.query if isinstance(built, Proxy) else built)
        statements = query.querystrings
        if len(statements) != 1:
            return None
        sql, args = statements[0].compile_string(engine_type=engine_type)
        seen = {arg.rank for arg in args if isinstance(arg, Slot)}
        if seen != set(range(self._arity)):
            return None
        return built, query, statements[0], sql, args


def capped_count(table: type[Table], where: Any, cap: int | None) -> Any:
    """The count of ``table``'s rows under ``where`` as a Piccolo query, or, with ``cap``,
    ``SELECT count(*) FROM (SELECT 1 … LIMIT cap + 1)``: at most ``cap + 1`` rows read, on
    both engines, whatever the size of the table."""
    if cap is None:
        return table.count() if where is None else table.count().where(where)
    rows = table.select(table._meta.primary_key)
    if where is not None:
        rows = rows.where(where)
    inner = rows.limit(cap + 1).querystrings[0]
    return table.raw('SELECT COUNT(*) AS "count" FROM ({}) AS capped', inner)


async def count_rows(table: type[Table], where: Any, cap: int | None = None) -> int:
    """Run `capped_count`: the rows under ``where``, at most ``cap + 1`` with a cap."""
    counted = await capped_count(table, where, cap).run()
    return counted if isinstance(counted, int) else int(counted[0]["count"])


# Hot paths (the outbox, queuing invitations) send a few fixed statements straight to the
# transaction's driver connection: building the Piccolo query cost more CPU than running it
# (``IN`` lists are checked value by value). Statements use ``?`` placeholders.


def placeholders(count: int) -> str:
    """``?, ?, …`` for an ``IN`` list or a row of values."""
    return ", ".join("?" * count)


def _numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2…``."""
    parts = sql.split("?")
    return "".join(f"{part}${n}" for n, part in enumerate(parts[:-1], start=1)) + parts[-1]


async def driver_fetch(connection: Any, sql: str, args: Sequence[Any]) -> list[Any]:
    """Rows, read by column name, of one statement on a transaction's connection."""
    if is_sqlite():
        cursor = await connection.execute(sql, args)
        return list(await cursor.fetchall())
    return list(await connection.fetch(_numbered(sql), *args))


async def read_statement(sql: str, args: Sequence[Any]) -> list[Any]:
    """Rows, read by column name, of one read statement (``?`` placeholders), which is atomic
    by itself: no ``BEGIN`` and ``COMMIT`` around it where they add nothing (#16: on SQLite one
    thread hop less per request, on PostgreSQL two round trips less).

    Inside a transaction, on its connection. On SQLite first on the event loop's own
    connection, for at most `sqlite_pool.LOOP_READ_CPU_SECONDS` of CPU (`loop_read`), then on a
    kept connection's thread. On PostgreSQL a read of every row still takes a
    transaction while the database has (or may have: not looked up yet) the role that reads
    without the policies, which only a transaction can take (`read_transaction`); a scoped
    read gets the user's territories from the pool's ``setup`` (`_give_row_scope`)."""
    engine = current_engine()
    current = engine.current_transaction.get()
    if current is not None:
        return await driver_fetch(current.connection, sql, args)
    if isinstance(engine, PooledSQLiteEngine):
        rows = await engine.loop_read(sql, args)  # on the event loop's connection, bounded
        if rows is not None:
            return rows
        async with engine.alone() as connection:
            cursor = await connection.execute(sql, args)
        return list(cursor.rows)
    if (
        isinstance(engine, ScopedPostgresEngine)
        and engine.pool is not None
        and (row_security.current() != row_security.EVERY_TERRITORY or engine._sees_all is None)
    ):
        async with engine.pool.acquire() as connection:
            return list(await connection.fetch(_numbered(sql), *args))
    async with read_transaction() as transaction:
        return await driver_fetch(transaction.connection, sql, args)


async def driver_execute(connection: Any, sql: str, args: Sequence[Any]) -> None:
    if is_sqlite():
        await connection.execute(sql, args)
    else:
        await connection.execute(_numbered(sql), *args)


PlainFetch = Callable[[QueryString], Awaitable[Sequence[Sequence[Any]]]]


@contextlib.asynccontextmanager
async def plain_reader() -> AsyncIterator[PlainFetch]:
    """A read-only connection of its own returning rows as tuples of the stored values, for
    hot paths that read many rows (exports): no dict per row and no per-value conversion.

    SQLite: a plain ``sqlite3`` connection (Piccolo's converts every INTEGER, BOOLEAN and DATE
    value in Python and costs a thread hop per statement): booleans come back as 0/1, dates
    and timestamps as ISO text. PostgreSQL: an asyncpg connection, whose records are tuples of
    typed values. Callers normalise the few values whose type differs between engines.
    """
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        connection = await asyncio.to_thread(_plain_sqlite, engine.path)

        def fetch_now(sql: str, args: list[Any]) -> list[Any]:
            return connection.execute(sql, args).fetchall()

        async def fetch_sqlite(query: QueryString) -> Sequence[Sequence[Any]]:
            sql, args = query.compile_string(engine_type="sqlite")
            return await asyncio.to_thread(fetch_now, sql, args)

        try:
            yield fetch_sqlite
        finally:
            connection.close()
        return
    assert isinstance(engine, PostgresEngine)
    async with contextlib.AsyncExitStack() as stack:
        if engine.pool is not None:
            pg = await stack.enter_async_context(engine.pool.acquire())
        else:
            pg = await engine.get_new_connection()
            stack.push_async_callback(pg.close)

        async def fetch_postgres(query: QueryString) -> Sequence[Sequence[Any]]:
            sql, args = query.compile_string(engine_type="postgres")
            records: Sequence[Sequence[Any]] = await pg.fetch(sql, *args)
            return records

        yield fetch_postgres


def _plain_sqlite(path: str) -> sqlite3.Connection:
    # Without detect_types: no converters. Piccolo's adapters (dates to ISO text…) are global
    # to the sqlite3 module, so query arguments are written as Piccolo writes them.
    connection = sqlite3.connect(
        path,
        timeout=SQLITE_BUSY_TIMEOUT_SECONDS,
        check_same_thread=False,
        factory=FrenchConnection,
    )
    connection.execute("PRAGMA query_only = 1")
    return connection


CLEAR_ATTEMPTS = 5


async def clear_all() -> None:
    """Empty every table of maillage (demo ``--force`` and test isolation); keeps the schema."""
    engine = current_engine()
    # The write counters are kept and all moved on (TRUNCATE fires no trigger): counters back
    # at an earlier value would let another process's cache answer with the data cleared.
    names = [table._meta.tablename for table in TABLES if table is not DataChange]
    moved_on = "UPDATE data_change SET counter = counter + 1"
    if isinstance(engine, SQLiteEngine):
        async with engine.transaction(transaction_type=TransactionType.immediate):
            # Checked at commit, when every table is empty: no order to respect.
            await engine.run_ddl("PRAGMA defer_foreign_keys = ON")
            for name in names:
                await engine.run_ddl(f'DELETE FROM "{name}"')
            await engine.run_ddl(moved_on)
        return
    quoted = ", ".join(f'"{name}"' for name in names)
    # TRUNCATE locks the tables one after the other: a transaction of a running service (the
    # sender, the retention purge) that holds one and waits for another is a deadlock, which
    # PostgreSQL resolves by cancelling one side. Ours tries again.
    for attempt in range(CLEAR_ATTEMPTS):
        try:
            await engine.run_ddl(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
            await engine.run_ddl(moved_on)
            return
        except asyncpg.DeadlockDetectedError:
            if attempt == CLEAR_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.1 * (attempt + 1))


async def compact() -> None:
    """Rewrite the database so that deleted or overwritten values leave no copy behind (an
    RGPD erasure): on SQLite, ``VACUUM`` rebuilds the file without its free pages and a
    truncating checkpoint empties the WAL that held the old pages; on PostgreSQL, ``VACUUM``
    makes the dead row versions' space reusable (their bytes stay until it is reused)."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        await asyncio.to_thread(_vacuum_sqlite, engine.path)
        return
    await engine.run_ddl("VACUUM")


def _vacuum_sqlite(path: str) -> None:
    connection = sqlite3.connect(
        path, timeout=SQLITE_BUSY_TIMEOUT_SECONDS, isolation_level=None, factory=FrenchConnection
    )
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
