"""Faults: the database taken away under load, processes killed with SIGKILL mid-write.

The SMTP server down then back, and a sender killed in the middle of a batch, are covered by
tests/mailing/test_sender.py and tests/mailing/test_crash.py (at least once, never lost, a
duplicate only for what was in flight).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from tests.hardening.live import (
    Instance,
    connected,
    postgres_database,
    private_database,
    start_server,
)
from tests.hardening.proxy import Relay
from tests.support import TEST_DATABASE_URL, requires_postgres


def _through(url: str, relay: Relay) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{relay.port}"))


def _get(url: str, token: str) -> tuple[int, float]:
    started = time.monotonic()
    try:
        status = httpx.get(
            url + "/api/v1/contacts", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).status_code
    except httpx.HTTPError:
        status = 0
    return status, time.monotonic() - started


@requires_postgres
def test_a_server_started_while_postgresql_is_away_comes_up_and_recovers(tmp_path):
    """uvicorn restarts a dead worker at any moment and stops the whole server when a worker
    fails its start-up: found in CI, where a worker restarted during an outage took the server
    down (« Connection refused » once PostgreSQL was back)."""
    target = urlsplit(TEST_DATABASE_URL)
    relay = Relay((target.hostname or "127.0.0.1", target.port or 5432)).start()
    with postgres_database(TEST_DATABASE_URL) as direct_url:
        instance = Instance(tmp_path, _through(direct_url, relay))
        instance.command("init")
        token = instance.add_user("admin@maillage.example", "admin")
        relay.cut()
        server = start_server(instance, workers=2, ready_status=503)
        try:
            during = _get(server.url, token)[0]
            relay.restore()
            deadline = time.monotonic() + 30
            while _get(server.url, token)[0] != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            after = _get(server.url, token)[0]
            health = httpx.get(server.url + "/healthz", timeout=30).status_code
        finally:
            server.stop()
            relay.cut()
    assert during == 503
    assert (after, health) == (200, 200), server.log()
    assert "Base de données injoignable au démarrage" in server.log()


@requires_postgres
def test_requests_get_503_while_postgresql_is_away_and_recover_without_restart(tmp_path):
    target = urlsplit(TEST_DATABASE_URL)
    relay = Relay((target.hostname or "127.0.0.1", target.port or 5432)).start()
    with postgres_database(TEST_DATABASE_URL) as direct_url:
        instance = Instance(tmp_path, _through(direct_url, relay))
        instance.command("init")
        token = instance.add_user("admin@maillage.example", "admin")
        server = start_server(instance, workers=2)
        try:
            with concurrent.futures.ThreadPoolExecutor(20) as pool:
                assert {s for s, _ in pool.map(lambda _: _get(server.url, token), range(40))} == {
                    200
                }
                relay.cut()
                during = list(pool.map(lambda _: _get(server.url, token), range(40)))
                health = httpx.get(server.url + "/healthz", timeout=30)
                relay.restore()
                deadline = time.monotonic() + 20
                while _get(server.url, token)[0] != 200 and time.monotonic() < deadline:
                    time.sleep(0.2)
                after = list(pool.map(lambda _: _get(server.url, token), range(40)))
        finally:
            server.stop()
            relay.cut()
    assert {status for status, _ in during} == {503}, during
    assert max(seconds for _, seconds in during) < 8  # an answer, not a hang
    assert health.status_code == 503
    assert {status for status, _ in after} == {200}
    log = server.log()
    assert "Base de données injoignable" in log
    assert "Erreur inattendue" not in log  # an outage is a warning, not a 500


CONTACT_LINES = 6000


def _import_file(path: Path) -> Path:
    lines = ["prenom;nom;email;organisation"]
    lines += [
        f"Camille{n};Martin{n};camille{n}@commune.example;Association {n % 300}"
        for n in range(CONTACT_LINES)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _count(instance: Instance, table: str) -> int:
    return asyncio.run(_count_async(instance.database_url, table))


async def _count_async(url: str, table: str) -> int:
    from maillage import tables

    async with connected(url):
        return await getattr(tables, table).count()


def _maillage(instance: Instance, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "maillage", *args],
        env=instance.env,
        cwd=instance.data_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_an_import_killed_midway_is_whole_or_absent(tmp_path):
    with private_database(tmp_path) as database_url:
        instance = Instance(tmp_path, database_url)
        instance.command("init")
        csv_file = _import_file(tmp_path / "contacts.csv")
        outcomes = []
        # Kill later and later until one run had time to finish: the earlier kills land while
        # it reads, plans or writes (the write transaction takes most of the run).
        for delay in [1.0 + 0.5 * step for step in range(24)]:
            process = _maillage(instance, "import", str(csv_file), "--kind", "contacts")
            time.sleep(delay)
            finished = process.poll() is not None
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            contacts = _count(instance, "Contact")
            organisations = _count(instance, "Organisation")
            outcomes.append((delay, finished, contacts))
            assert (contacts, organisations) in {(0, 0), (CONTACT_LINES, 300)}, outcomes
            if contacts:
                break
        print(outcomes)
        # Whatever the kills left, the import then runs to its end once.
        instance.command("import", str(csv_file), "--kind", "contacts")
        assert _count(instance, "Contact") == CONTACT_LINES


@requires_postgres
def test_a_merge_killed_inside_its_transaction_leaves_both_records_whole(tmp_path):
    """The test holds a lock on a row the merge updates last, so the kill lands for sure
    between the merge's first writes and its commit."""
    import asyncpg

    with postgres_database(TEST_DATABASE_URL) as url:
        instance = Instance(tmp_path, url)
        instance.command("init")
        kept, removed, affiliations = asyncio.run(_two_organisations(url))

        async def scenario() -> None:
            connection = await asyncpg.connect(url)
            try:
                transaction = connection.transaction()
                await transaction.start()
                await connection.execute(
                    "SELECT id FROM partnership WHERE partner = $1 FOR UPDATE", removed
                )
                process = _maillage(
                    instance,
                    "duplicates",
                    "--type",
                    "organisations",
                    "--merge",
                    str(kept),
                    str(removed),
                )
                for _ in range(300):
                    waiting = await connection.fetchval(
                        "SELECT count(*) FROM pg_locks WHERE NOT granted"
                    )
                    if waiting:
                        break
                    await asyncio.sleep(0.05)
                else:
                    raise AssertionError("la fusion n'a jamais attendu le verrou")
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)
                await transaction.rollback()
                # PostgreSQL ends the dead client's transaction: the moved affiliations return.
                for _ in range(100):
                    if not await connection.fetchval(
                        "SELECT count(*) FROM pg_locks WHERE NOT granted"
                    ):
                        break
                    await asyncio.sleep(0.05)
                moved = await connection.fetchval(
                    "SELECT count(*) FROM affiliation WHERE organisation = $1", removed
                )
                assert moved == affiliations
                assert await connection.fetchval(
                    "SELECT count(*) FROM organisation WHERE id = $1 AND archived = false", removed
                )
            finally:
                await connection.close()

        asyncio.run(scenario())
        # And the merge, run again, completes.
        instance.command(
            "duplicates", "--type", "organisations", "--merge", str(kept), str(removed)
        )
        assert asyncio.run(_affiliations_of(url, removed)) == 0


async def _two_organisations(url: str) -> tuple[int, int, int]:
    from maillage.actor import CLI
    from maillage.crm.registry import SERVICES
    from maillage.crm.schemas import AffiliationIn, ContactIn, OrganisationIn, PartnershipIn

    async with connected(url):
        orgs = SERVICES["organisations"]
        kept = await orgs.create(
            CLI, OrganisationIn(name="Centre social Les Tilleuls", kind="association")
        )
        removed = await orgs.create(
            CLI, OrganisationIn(name="Centre social les Tilleul", kind="association")
        )
        third = await orgs.create(CLI, OrganisationIn(name="Caf", kind="institution"))
        for n in range(5):
            contact = await SERVICES["contacts"].create(
                CLI, ContactIn(first_name="Alex", last_name=f"Durand{n}")
            )
            await SERVICES["affiliations"].create(
                CLI, AffiliationIn(contact=contact["id"], organisation=removed["id"])
            )
        await SERVICES["partnerships"].create(
            CLI, PartnershipIn(organisation=third["id"], partner=removed["id"])
        )
        return kept["id"], removed["id"], 5


async def _affiliations_of(url: str, organisation: int) -> int:
    from maillage.tables import Affiliation

    async with connected(url):
        return await Affiliation.count().where(Affiliation.organisation == organisation)
