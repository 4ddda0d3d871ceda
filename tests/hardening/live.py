"""A real ``maillage serve`` in a subprocess, on a free loopback port with its own data dir.

The hardening tests talk to it over TCP like a partner's browser or calendar service would, so
that the uvicorn workers, the database pool and the sender run exactly as in production.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from tests.support import TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL = "admin@maillage.example"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Instance:
    """A data dir and a database that commands and servers share."""

    data_dir: Path
    database_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    # Where ``maillage`` is imported from: this tree, or an older one beside it (bench/load.py
    # ``--tree``), with any paths its dependencies need.
    python_path: str = str(ROOT)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLAGE_")}
        env.update(
            PYTHONPATH=self.python_path,
            MAILLAGE_DATA_DIR=str(self.data_dir),
            MAILLAGE_DATABASE_URL=self.database_url,
            MAILLAGE_SECRET_KEY="hardening-secret-key-never-logged",
            MAILLAGE_MAIL_FROM="ctg@maillage.example",
        )
        env.update(self.extra_env)
        return env

    def command(self, *args: str, stdin: str | None = None, timeout: float = 300) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "maillage", *args],
            env=self.env,
            cwd=self.data_dir,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise AssertionError(f"maillage {' '.join(args)}: {done.stdout}\n{done.stderr}")
        return done.stdout

    def add_user(self, email: str, role: str) -> str:
        """Create an account and return a fresh API token for it."""
        self.command(
            "user", "add", email, "--role", role, "--password-stdin", stdin="mot-de-passe-long\n"
        )
        return self.command("token", "create", email).strip()


@dataclass
class Server:
    instance: Instance
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_server(
    instance: Instance,
    workers: int = 1,
    port: int | None = None,
    ready_status: int = 200,
    ready_within: float = 60,
) -> Server:
    """``maillage serve`` in its own process, once ``/healthz`` answers ``ready_status`` (503
    for a server started while its database is away) within ``ready_within`` seconds."""
    port = port or free_port()
    log_path = instance.data_dir / f"serve-{port}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "maillage", "serve", "--port", str(port), "--workers", str(workers)],
        env=instance.env,
        cwd=instance.data_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(instance, port, process, log_path)
    deadline = time.monotonic() + ready_within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"maillage serve s'est arrêté :\n{server.log()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.url + "/healthz", timeout=2).status_code == ready_status:
                return server
        time.sleep(0.2)
    server.stop()
    raise AssertionError(f"maillage serve ne répond pas :\n{server.log()}")


@contextlib.contextmanager
def private_database(tmp_path: Path) -> Iterator[str]:
    """A SQLite file in ``tmp_path``, or a throw-away database on the test PostgreSQL server."""
    if not TEST_DATABASE_URL.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'maillage.db'}"
        return
    with postgres_database(TEST_DATABASE_URL) as url:
        yield url


@contextlib.contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    import asyncio

    import asyncpg

    name = f"maillage_hardening_{os.getpid()}_{secrets.token_hex(3)}"

    async def execute(sql: str) -> None:
        connection = await asyncpg.connect(server_url)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.asynccontextmanager
async def connected(url: str) -> AsyncIterator[None]:
    """Piccolo's tables bound to ``url`` for a moment (to prepare or check an instance), then
    bound back to whatever they were: the other tests of the run keep their own database."""
    from maillage import db

    previous = db._engine
    await db.connect(url)
    await db.start_pool()
    try:
        yield
    finally:
        await db.close_pool()
        if previous is not None:
            db.bind(previous)
