"""The data version of #20: counters of writes per territory kept by the database's triggers,
so that an answer cached for a territory survives the writes of another and costs a look-up
by key, whatever the size of the instance."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager

from maillage import db, row_security
from maillage.crm import scope as territory_scope
from maillage.crm import versions
from maillage.graph.data import NetworkFilter
from maillage.graph.network import SOURCE_TABLES, NetworkService
from maillage.migrations import maillage_2026_12_09t01_30_00_000000 as counting
from maillage.reports import service as reports
from maillage.tables import Axis, Contact, DataChange, Membership
from tests.conftest import TEST_DATABASE_URL
from tests.crm import test_scope
from tests.crm.test_scope import World
from tests.crm.test_scope_migration import _fresh_database

world = test_scope.world

postgres_only = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgres"),
    reason="Sécurité au niveau des lignes : PostgreSQL seulement.",
)


async def _counters() -> dict[int, int]:
    rows = await DataChange.select(DataChange.territory, DataChange.counter).run()
    return {row["territory"]: row["counter"] for row in rows}


async def _changed_by(write: Callable[[], Awaitable[object]]) -> set[int]:
    """The counters a write moves on (0: the shared one)."""
    before = await _counters()
    await write()
    after = await _counters()
    return {one for one, value in after.items() if value != before.get(one, 0)}


def _sql(statement: str) -> Callable[[], Awaitable[object]]:
    return lambda: db.current_engine().run_ddl(statement)


def test_every_content_table_is_counted():
    assert set(counting.SOURCES) == {table._meta.tablename for table in versions.CONTENT_TABLES}
    assert set(SOURCE_TABLES) <= set(versions.CONTENT_TABLES)


async def test_every_content_table_has_its_triggers(database):
    if db.is_sqlite():
        query = "SELECT tbl_name AS name FROM sqlite_master WHERE type = 'trigger' "
        query += "AND name LIKE 'maillage_changed_%'"
    else:
        query = (
            "SELECT c.relname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE 'maillage_changed%'"
        )
    rows = await db.current_engine().run_ddl(query)
    assert {row["name"] for row in rows} == set(counting.SOURCES)


async def test_a_write_counts_for_the_territories_of_its_rows(world: World):
    """Raw SQL as well as the services: a row counts for its territory, a row reached through
    its parent for the parent's, a shared row for 0, a row moved for both, a delete too."""
    a, b = world.a["id"], world.b["id"]
    body_a, body_b = world.body_a["id"], world.body_b["id"]
    axis = (await Axis.select(Axis.id).first().run())["id"]
    assert await _changed_by(
        _sql(f"INSERT INTO group_axis (working_group, axis) VALUES ({body_a}, {axis})")
    ) == {a}
    assert await _changed_by(_sql(f"DELETE FROM group_axis WHERE working_group = {body_a}")) == {a}
    assert await _changed_by(_sql(f"UPDATE working_group SET name = 'X' WHERE id = {body_b}")) == {
        b
    }
    assert await _changed_by(
        _sql(f"UPDATE organisation SET name = 'Caf' WHERE id = {world.caf['id']}")
    ) == {0}
    assert await _changed_by(_sql("UPDATE axis SET name = name")) == {0}

    # A shared person (an élu) sits in B's body: the membership counts for B alone.
    person = Contact(first_name="Élise", last_name="Martin")
    assert await _changed_by(lambda: person.save().run()) == {0}
    member = Membership(contact=person.id, working_group=body_b)
    assert await _changed_by(lambda: member.save().run()) == {b}
    assert await _changed_by(_sql(f"DELETE FROM membership WHERE id = {member.id}")) == {b}

    # A body moved from A to B: both (its meeting goes with it).
    assert await _changed_by(
        _sql(f"UPDATE working_group SET territory = {b} WHERE id = {body_a}")
    ) == {a, b}
    # A meeting moved, by its body, from B back to A.
    meeting = world.meeting_b["id"]
    assert await _changed_by(
        _sql(f"UPDATE meeting SET working_group = {body_a} WHERE id = {meeting}")
    ) == {b}  # body A is in B now
    assert await _changed_by(
        _sql(f"UPDATE meeting SET working_group = {world.shared_body['id']} WHERE id = {meeting}")
    ) == {0, b}


async def test_the_version_of_a_scoped_user_follows_their_territories_only(world: World):
    a, b = world.a["id"], world.b["id"]
    with territory_scope.entered(territory_scope.Scope({a: "coordinateur"})):
        before = await versions.data_version()
    write_b = _sql(f"UPDATE working_group SET name = 'X' WHERE id = {world.body_b['id']}")
    write_a = _sql(f"UPDATE working_group SET name = 'Y' WHERE id = {world.body_a['id']}")
    await write_b()
    with territory_scope.entered(territory_scope.Scope({a: "coordinateur"})):
        assert await versions.data_version() == before
    everything = await versions.data_version()
    await write_a()
    with territory_scope.entered(territory_scope.Scope({a: "coordinateur"})):
        after_a = await versions.data_version()
    assert after_a != before
    # A user without territories: any write.
    assert await versions.data_version() != everything
    with territory_scope.entered(territory_scope.Scope({b: "coordinateur"})):
        of_b = await versions.data_version()
        await _sql("UPDATE axis SET name = name")()
        assert await versions.data_version() != of_b
    counters = await _counters()
    assert await versions.data_version([a]) == ("territories", ((0, counters[0]), (a, counters[a])))


async def test_a_cached_answer_survives_another_territorys_write_only(world: World):
    """A coordinator of A's bilan and network are computed once, kept across a write in B,
    computed again after a write in A or a shared write."""
    a = world.a["id"]
    network = NetworkService()
    today = dt.date(2026, 12, 9)
    writes = {
        "b": _sql(f"UPDATE working_group SET name = 'X' WHERE id = {world.body_b['id']}"),
        "a": _sql(f"UPDATE meeting SET title = 'Y' WHERE id = {world.meeting_a['id']}"),
        "shared": _sql(f"UPDATE organisation SET name = 'Caf' WHERE id = {world.caf['id']}"),
    }

    async def asked() -> tuple[int, int]:
        with territory_scope.entered(territory_scope.Scope({a: "coordinateur"})):
            await reports.annual(2026, a, today, "json")
            await network.report(NetworkFilter(), today=today, territory=a)
        return reports.memo.computations, network.computations

    first = await asked()
    assert await asked() == first
    await writes["b"]()
    assert await asked() == first
    await writes["a"]()
    second = await asked()
    assert second == (first[0] + 1, first[1] + 1)
    await writes["shared"]()
    assert await asked() == (second[0] + 1, second[1] + 1)


async def test_clearing_the_database_moves_every_counter_on(world: World):
    before = await _counters()
    await db.clear_all()
    after = await _counters()
    assert set(after) == set(before)
    assert all(after[one] > before[one] for one in before)


async def test_an_instance_upgrades_with_counters_for_its_territories(tmp_path):
    async with _fresh_database(tmp_path) as engine:
        with contextlib.redirect_stdout(io.StringIO()):
            await ForwardsMigrationManager(
                app_name="maillage", migration_id="2026-12-08T01:00:00:000000"
            ).run()
        for name in ("CC 1", "CC 2"):
            await engine.run_ddl(f"INSERT INTO territory (name, search) VALUES ('{name}', '')")
        await engine.run_ddl(
            "INSERT INTO working_group (name, kind, description, default_location, active, "
            "archived, search, territory) VALUES ('COPIL', 'copil', '', '', true, false, '', 2)"
        )
        applied = await db.migrate()  # the counters' two, and any later migration
        assert applied[:2] == ["2026-12-09T01:00:00:000000", "2026-12-09T01:30:00:000000"]
        assert await _counters() == {0: 1, 1: 1, 2: 1}
        assert await _changed_by(_sql("UPDATE working_group SET name = 'CoPil'")) == {2}


@postgres_only
async def test_a_scoped_writer_counts_and_every_connection_reads_the_counters(
    migrated_database: str, world: World
):
    """The counters hold no personal data: no policy. A coordinator of A writing under the
    policies (a person they do not see is not needed to count) moves A's counter on."""
    a = world.a["id"]
    connection = await asyncpg.connect(migrated_database)
    try:
        await connection.execute(row_security.set_config_sql(f"{{{a}}}", local=False))
        before = await connection.fetchval(
            "SELECT counter FROM data_change WHERE territory = $1", a
        )
        await connection.execute(
            "UPDATE meeting SET title = 'Z' WHERE id = $1", world.meeting_a["id"]
        )
        after = await connection.fetchval("SELECT counter FROM data_change WHERE territory = $1", a)
        assert after == before + 1
        await connection.execute("RESET maillage.territories")
        assert await connection.fetchval("SELECT count(*) FROM data_change") >= 3
    finally:
        await connection.close()


@postgres_only
async def test_a_membership_added_while_its_body_moves_follows_it_even_unseen_by_the_mover(
    migrated_database: str, world: World
):
    """A membership added to A's body while a writer of A and B moves that body to B: the
    move waits for the insert (its trigger holds the body, migration 2026-12-10T13:00) and
    carries B down to it; it kept A before (the move did not see the row not yet committed).
    When a writer of B moves the body again, the copy follows, though that writer does not
    see the row (the copies are carried down whatever the writer's visibility)."""
    a, b = world.a["id"], world.b["id"]
    body = world.body_a["id"]
    person = Contact(first_name="Lou", last_name="Petit", territory=a)
    await person.save().run()
    adding = await asyncpg.connect(migrated_database)
    moving = await asyncpg.connect(migrated_database)
    try:
        await adding.execute(row_security.set_config_sql(f"{{{a}}}", local=False))
        await moving.execute(row_security.set_config_sql(f"{{{a},{b}}}", local=False))
        await adding.execute("BEGIN")
        member = await adding.fetchval(
            "INSERT INTO membership (contact, working_group, role, start_date) "
            "VALUES ($1, $2, 'membre', '2026-01-01') RETURNING id",
            person.id,
            body,
        )
        move = asyncio.ensure_future(
            moving.execute("UPDATE working_group SET territory = $1 WHERE id = $2", b, body)
        )
        await asyncio.sleep(0.5)
        await adding.execute("COMMIT")
        await move
        await moving.execute(row_security.set_config_sql("*", local=False))
        copy = "SELECT territory FROM membership WHERE id = $1"
        assert await moving.fetchval(copy, member) == b  # not left behind in A
        await moving.execute(row_security.set_config_sql(f"{{{b}}}", local=False))
        await moving.execute("UPDATE working_group SET territory = NULL WHERE id = $1", body)
        await moving.execute(row_security.set_config_sql("*", local=False))
        assert await moving.fetchval(copy, member) is None
    finally:
        await adding.close()
        await moving.close()


@postgres_only
async def test_a_counter_moves_on_once_per_transaction_and_after_a_savepoint_rolled_back(
    migrated_database: str, world: World
):
    """Writes of one transaction are seen together: one step of the counter for all of them;
    a write undone with its savepoint leaves nothing counted, the next one counts."""
    a = world.a["id"]
    connection = await asyncpg.connect(migrated_database)
    counter = "SELECT counter FROM data_change WHERE territory = $1"
    write = "UPDATE meeting SET title = $2 WHERE id = $1"
    try:
        await connection.execute(row_security.set_config_sql("*", local=False))
        before = await connection.fetchval(counter, a)
        async with connection.transaction():
            for title in ("Un", "Deux", "Trois"):
                await connection.execute(write, world.meeting_a["id"], title)
        assert await connection.fetchval(counter, a) == before + 1
        async with connection.transaction():
            with contextlib.suppress(ZeroDivisionError):
                async with connection.transaction():  # a savepoint
                    await connection.execute(write, world.meeting_a["id"], "Quatre")
                    raise ZeroDivisionError
            await connection.execute(write, world.meeting_a["id"], "Cinq")
        assert await connection.fetchval(counter, a) == before + 2
    finally:
        await connection.close()


async def _two_writers(url: str) -> tuple[asyncpg.Connection, asyncpg.Connection]:
    """Two connections of the application's role, each waiting at most 3 s for a lock: a
    writer blocked by the other fails the test instead of hanging it."""
    first, second = await asyncpg.connect(url), await asyncpg.connect(url)
    for connection in (first, second):
        await connection.execute(row_security.set_config_sql("*", local=False))
        await connection.execute("SET lock_timeout = '3s'")
    return first, second


@postgres_only
async def test_two_transactions_touching_a_territory_and_shared_rows_in_opposite_orders_commit(
    migrated_database: str, world: World
):
    """T1 writes in A then a shared row, T2 a shared row then in A (other rows): the counters
    are moved on at commit, in the order of the territories, so neither waits for the other's
    counters (they were locked from the first write to the commit: a deadlock, 40P01)."""
    a = world.a["id"]
    axis = (await Axis.select(Axis.id).first().run())["id"]
    first, second = await _two_writers(migrated_database)
    counter = "SELECT counter FROM data_change WHERE territory = $1"
    shared_by_first: asyncio.Future[str] = asyncio.Future()
    try:
        before = {one: await first.fetchval(counter, one) for one in (0, a)}
        await first.execute("BEGIN")
        await second.execute("BEGIN")
        await first.execute("UPDATE meeting SET title = 'Un' WHERE id = $1", world.meeting_a["id"])
        await second.execute("UPDATE axis SET name = name WHERE id = $1", axis)
        shared_by_first = asyncio.ensure_future(
            first.execute("UPDATE organisation SET name = 'Caf' WHERE id = $1", world.caf["id"])
        )
        await second.execute(
            "UPDATE working_group SET name = 'Deux' WHERE id = $1", world.body_a["id"]
        )
        await shared_by_first
        await first.execute("COMMIT")
        await second.execute("COMMIT")
        assert {one: await first.fetchval(counter, one) for one in (0, a)} == {
            one: value + 2 for one, value in before.items()
        }
        assert await first.fetchval("SELECT count(*) FROM data_change_pending") == 0
    finally:
        shared_by_first.cancel()
        await first.close()
        await second.close()


@postgres_only
async def test_a_writer_of_a_territory_does_not_wait_for_another_writers_commit(
    migrated_database: str, world: World
):
    """While a transaction that wrote in A is open, another writer of A (scoped to A, under
    the policies) writes and commits; each commit moves A's counter on."""
    a = world.a["id"]
    first, second = await _two_writers(migrated_database)
    await second.execute(row_security.set_config_sql(f"{{{a}}}", local=False))
    counter = "SELECT counter FROM data_change WHERE territory = $1"
    try:
        before = await first.fetchval(counter, a)
        await first.execute("BEGIN")
        await first.execute("UPDATE meeting SET title = 'Un' WHERE id = $1", world.meeting_a["id"])
        await asyncio.wait_for(
            second.execute(
                "UPDATE working_group SET name = 'Deux' WHERE id = $1", world.body_a["id"]
            ),
            timeout=10,
        )
        assert await second.fetchval(counter, a) == before + 1
        await first.execute(
            "UPDATE meeting SET title = 'Trois' WHERE id = $1", world.meeting_a["id"]
        )
        await first.execute("COMMIT")
        assert await second.fetchval(counter, a) == before + 2
    finally:
        await first.close()
        await second.close()
