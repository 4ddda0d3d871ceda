"""Shared fixtures: a real database (SQLite, or PostgreSQL when MAILLAGE_TEST_DATABASE_URL is
set), the application driven in the test's own event loop, and three fixed personas.

Tests never read MAILLAGE_DATABASE_URL, so a test run cannot touch a real database.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import hypothesis
import pytest
from argon2 import PasswordHasher
from litestar import Litestar

from maillage import db, row_security
from maillage.actor import CLI
from maillage.crm import auth, caches
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import UserIn
from maillage.crm.seed import ensure_axes
from maillage.settings import Settings
from maillage.web.app import configure_heavy_work, create_app
from tests.support import TEST_DATABASE_URL, requires_postgres  # noqa: F401 - re-exported

logging.getLogger("httpx").setLevel(logging.WARNING)


# Whole folders that are slow by nature: a real browser, fuzzing, load and fault injection.
SLOW_FOLDERS = ("e2e", "hardening")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``pytest -m "not slow"`` (make test-fast) leaves them out; CI runs everything."""
    for item in items:
        parts = item.path.relative_to(Path(__file__).parent).parts
        if parts and parts[0] in SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)


def pytest_report_header() -> str:
    engine = "PostgreSQL" if TEST_DATABASE_URL.startswith("postgres") else "SQLite"
    return f"maillage: tests on {engine}"


@pytest.fixture(autouse=True)
def _umask_restored() -> Iterator[None]:
    """The maillage command sets the umask to 077 for its whole process (personal data); run
    in-process by a test (CliRunner), it would stay for every later test, whose outcome then
    depended on the order (#19: Dovecot's auth process could not read the fixture's files)."""
    umask = os.umask(0o022)
    os.umask(umask)
    yield
    os.umask(umask)


# Property tests check behaviour, not timings: Hypothesis's 200 ms deadline per example failed
# a test on a loaded machine (a first example at 312 ms, the same one at 29 ms when replayed).
hypothesis.settings.register_profile("maillage", deadline=None)
hypothesis.settings.load_profile("maillage")


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """Real argon2 at its lowest cost in this process: the production cost (tens of ms by
    design) was paid three times in the set-up of most tests (#17). Commands run as
    subprocesses and servers keep the real cost; tests of the cost itself patch their own."""
    production = auth._hasher
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    auth._hasher = production


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("maillage-data")


@pytest.fixture(scope="session")
def database_url(data_dir: Path) -> str:
    return TEST_DATABASE_URL or f"sqlite:///{data_dir / 'test.db'}"


# The role the application connects with, as in production (README « Mise en production »):
# an ordinary role that owns its database. A superuser would escape row-level security (#20)
# and the tests would prove nothing about it.
APP_ROLE = "maillage_app_test"
SEES_ALL_ROLE = APP_ROLE + row_security.SEES_ALL_SUFFIX


async def _create_private_postgres_database(url: str) -> tuple[str, str]:
    """A database of our own on the test server, so parallel runs never share tables, owned
    by `APP_ROLE`; the address returned connects as that role."""
    import asyncpg

    name = f"maillage_test_{os.getpid()}_{secrets.token_hex(3)}"
    connection = await asyncpg.connect(url)
    try:
        # Made once, by the first run (or a parallel one).
        with contextlib.suppress(asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
            await connection.execute(
                f'CREATE ROLE "{APP_ROLE}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE'
            )
        # And the role its reads of every row take, as README « Mise en production » advises.
        with contextlib.suppress(asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
            await connection.execute(f'CREATE ROLE "{SEES_ALL_ROLE}" NOLOGIN BYPASSRLS')
        await connection.execute(f'GRANT "{SEES_ALL_ROLE}" TO "{APP_ROLE}"')
        await connection.execute(f'CREATE DATABASE "{name}" OWNER "{APP_ROLE}"')
    finally:
        await connection.close()
    parts = urlsplit(url)
    server = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{APP_ROLE}@{server}", path=f"/{name}")), name


async def _drop_postgres_database(url: str, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
async def migrated_database(database_url: str) -> AsyncIterator[str]:
    """The session's database, built from scratch by the migrations."""
    private_name = None
    url = database_url
    if database_url.startswith("postgres"):
        url, private_name = await _create_private_postgres_database(database_url)
    await db.connect(url)
    await db.start_pool()
    await db.migrate()
    yield url
    await db.close_pool()
    if private_name is not None:
        await _drop_postgres_database(database_url, private_name)


@pytest.fixture
async def database(migrated_database: str) -> str:
    """An empty database with the CTG axes, for every test that needs one."""
    if not db.is_sqlite() and db.current_engine().pool is None:
        # A test that closed the pool would leave every later test of this process reading
        # through a new connection per query: slower, and not what the service does.
        await db.start_pool()
    await db.clear_all()
    # Ids start again after a clear: a memoised answer of an earlier test could match.
    caches.forget_all()
    await ensure_axes()
    return migrated_database


@pytest.fixture
def settings(data_dir: Path, migrated_database: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=migrated_database,
        secret_key="test-secret-key-not-for-production",
        base_url="http://testserver",
        smtp_url=None,
        mail_from="ctg@maillage.example",
    )


# One application per settings for the whole run: building one registers some 540 routes
# (0.2 to 0.4 s), which was the largest part of each test's set-up (#17). A test that needs a
# differently built application (a patched rate, say) calls create_app itself.
_APPS: dict[Settings, Litestar] = {}
_RATE_STORES = ("sign_in_rate", "participation_rate", "consultation_rate")


@pytest.fixture
async def app(settings: Settings, database: str) -> Litestar:
    """The application, with its in-memory rate counters emptied as a new one would have them."""
    application = _APPS.get(settings)
    if application is None:
        application = _APPS[settings] = create_app(settings, manage_database=False)
    else:
        # The worker pool is one per process: a test that built its own application with other
        # settings pointed it at its database.
        configure_heavy_work(settings)
    for name in _RATE_STORES:
        await application.stores.get(name).delete_all()
    return application


@dataclass
class Persona:
    email: str
    role: str
    token: str
    client: httpx.AsyncClient


PERSONAS = {
    "admin": "admin@maillage.example",
    "coordinateur": "coordination@maillage.example",
    "lecteur": "lecture@maillage.example",
}


@pytest.fixture
async def anonymous(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _persona(app, role: str) -> AsyncIterator[Persona]:
    email = PERSONAS[role]
    await SERVICES["users"].create(
        CLI, UserIn(email=email, role=role, password="mot-de-passe-de-test")
    )
    token = await auth.create_token(CLI, email)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=headers
    ) as client:
        yield Persona(email, role, token, client)


@pytest.fixture
async def admin(app) -> AsyncIterator[Persona]:
    async for persona in _persona(app, "admin"):
        yield persona


@pytest.fixture
async def coordinator(app) -> AsyncIterator[Persona]:
    async for persona in _persona(app, "coordinateur"):
        yield persona


@pytest.fixture
async def reader(app) -> AsyncIterator[Persona]:
    async for persona in _persona(app, "lecteur"):
        yield persona


class QueryCounter:
    """Counts the SQL queries the application runs, to catch one query per row (N+1)."""

    def __init__(self) -> None:
        self.count = 0

    def reset(self) -> None:
        self.count = 0


@pytest.fixture
def queries(database: str, monkeypatch: pytest.MonkeyPatch) -> QueryCounter:
    engine_class = type(db.current_engine())
    counter = QueryCounter()
    original = engine_class.run_querystring

    async def counting(self, *args, **kwargs):
        counter.count += 1
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(engine_class, "run_querystring", counting)
    return counter


@pytest.fixture
def round_trips(database: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the application sends to the database, one entry per trip (#16): on SQLite each
    hop to a kept connection's thread (``BEGIN + SELECT`` when a deferred ``BEGIN`` goes with
    the first statement, ``""`` for a bare commit or rollback) and ``LOOP`` for each statement
    read on the event loop's own connection, on PostgreSQL each statement
    sent by asyncpg (the first word of each; ``RESET`` for the pool's reset of a connection
    given back, which every acquisition costs)."""
    trips: list[str] = []
    if db.is_sqlite():
        from maillage.sqlite_pool import PooledConnection

        call = PooledConnection._call

        async def counted(self, function, *args):  # type: ignore[no-untyped-def]
            sent = [self.begin] if self.begin else []
            sent += [arg for arg in args if isinstance(arg, str)]
            trips.append(" + ".join(sql.split()[0].upper() for sql in sent))
            return await call(self, function, *args)

        monkeypatch.setattr(PooledConnection, "_call", counted)
        # A statement read on the event loop's own connection is no trip to a thread: ``LOOP``
        # (one it gave up for a thread is that thread's trip).
        from maillage.sqlite_pool import PooledSQLiteEngine

        loop_read = PooledSQLiteEngine.loop_read

        async def on_the_loop(self, sql, args):  # type: ignore[no-untyped-def]
            rows = await loop_read(self, sql, args)
            if rows is not None:
                trips.append("LOOP")
            return rows

        monkeypatch.setattr(PooledSQLiteEngine, "loop_read", on_the_loop)
        return trips
    import asyncpg

    for name in ("execute", "fetch", "fetchrow", "fetchval"):
        original = getattr(asyncpg.Connection, name)

        def counting(original):  # type: ignore[no-untyped-def]
            async def sent(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
                trips.append("RESET" if "RESET ALL" in query else query.split()[0].upper())
                return await original(self, query, *args, **kwargs)

            return sent

        monkeypatch.setattr(asyncpg.Connection, name, counting(original))
    return trips
