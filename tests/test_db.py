"""SQLite: the writers of a process take turns, and a few kept connections serve every query
and transaction (#16)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from urllib.parse import urlsplit, urlunsplit

import pytest

from maillage import db, row_security, sqlite_pool
from maillage.sqlite_pool import KEPT_CONNECTIONS, PooledConnection, PooledSQLiteEngine
from maillage.tables import Axis
from tests.support import TEST_DATABASE_URL


async def threads_back_to(count: int) -> bool:
    """aiosqlite's thread ends just after ``close`` returns: give it a moment."""
    for _ in range(100):
        if threading.active_count() == count:
            return True
        await asyncio.sleep(0.01)
    return False


async def settled_thread_count() -> int:
    """The number of threads once those of earlier tests (aiosqlite's, closing) have ended."""
    count = threading.active_count()
    for _ in range(100):
        await asyncio.sleep(0.02)
        if threading.active_count() == count:
            return count
        count = threading.active_count()
    return count


def sqlite_only() -> None:
    if not db.is_sqlite():
        pytest.skip("PostgreSQL a son propre pool.")


async def test_queries_and_transactions_reuse_pooled_connections(database):
    """Piccolo opened a connection and a thread per query; the pooled engine keeps a few."""
    sqlite_only()
    engine = db.current_engine()
    assert isinstance(engine, PooledSQLiteEngine)
    await engine.close_all()
    threads = await settled_thread_count()
    async with db.write_transaction() as first:
        await Axis.select(Axis.id).run()
        used = first.connection
    async with db.write_transaction() as second:
        await Axis.select(Axis.id).run()
        assert second.connection is used
    await asyncio.gather(*(Axis.count().run() for _ in range(50)))
    for _ in range(50):
        await Axis.select(Axis.id).run()
    # At most the kept connections' threads remain, whatever the number of queries.
    assert threading.active_count() <= threads + KEPT_CONNECTIONS
    await engine.close_all()
    assert await threads_back_to(threads)


async def test_a_warm_pool_opens_no_connection_when_more_transactions_run_than_it_keeps(database):
    """#16, bench/load.py: under 50 clients a worker ran more transactions at once than the
    connections it kept, and opened and closed one (PRAGMAs, collation, thread) every few
    requests. Once warm, the pool serves any number of them with what it keeps."""
    sqlite_only()
    engine = db.current_engine()
    assert isinstance(engine, PooledSQLiteEngine)
    await engine.close_all()
    before = engine.opened

    async def request() -> None:
        async with db.read_transaction():
            await Axis.count()
            await asyncio.sleep(0.01)  # the request's Python work between two statements
            await Axis.select(Axis.id)

    async def wave() -> None:
        await asyncio.gather(*(request() for _ in range(3 * KEPT_CONNECTIONS)))

    await wave()  # warm-up
    assert engine.opened - before <= KEPT_CONNECTIONS
    warm = engine.opened
    await wave()
    await wave()
    assert engine.opened == warm


async def test_a_query_cancelled_while_it_waits_for_a_connection_loses_none(database):
    sqlite_only()
    engine = db.current_engine()
    assert isinstance(engine, PooledSQLiteEngine)
    held = [await engine.get_connection() for _ in range(KEPT_CONNECTIONS)]
    waiting = asyncio.create_task(engine.get_connection())
    served = asyncio.create_task(engine.get_connection())
    await asyncio.sleep(0.01)
    assert not waiting.done() and not served.done()  # all connections are in use: they wait
    await held.pop().close()  # handed over to the first one waiting…
    waiting.cancel()  # …which is cancelled before it runs: the connection goes to the next
    async with asyncio.timeout(1):
        held.append(await served)
    assert waiting.cancelled()
    for connection in held:
        await connection.close()
    async with asyncio.timeout(5):
        assert await asyncio.gather(*(Axis.count() for _ in range(3 * KEPT_CONNECTIONS)))


async def test_a_query_that_waits_too_long_for_a_connection_opens_its_own(
    database, monkeypatch, caplog
):
    """A task that held a connection while it waited for another would wait forever on a
    bounded pool: after a while it gets one of its own, closed when given back."""
    sqlite_only()
    engine = db.current_engine()
    assert isinstance(engine, PooledSQLiteEngine)
    monkeypatch.setattr(sqlite_pool, "OVERFLOW_AFTER_SECONDS", 0.05)
    held = [await engine.get_connection() for _ in range(KEPT_CONNECTIONS)]
    async with asyncio.timeout(5):
        extra = await engine.get_connection()
    assert extra not in held
    assert "Aucune connexion SQLite libre" in caplog.text
    threads = threading.active_count()
    await extra.close()  # one more than kept: closed
    assert await threads_back_to(threads - 1)
    for connection in held:
        await connection.close()
    assert await Axis.count() >= 0


async def test_a_connection_given_back_inside_a_transaction_is_rolled_back(database):
    sqlite_only()
    engine = db.current_engine()
    connection = await engine.get_connection()
    await connection.execute("BEGIN IMMEDIATE")
    await connection.execute(
        "INSERT INTO axis (code, name, search, description, position, version, created_at, updated_at) VALUES ('perdu', 'Perdu', 'perdu', '', 99, 1, '2026-01-01', '2026-01-01')"
    )
    await connection.close()
    assert await Axis.count().where(Axis.code == "perdu") == 0
    async with db.write_transaction():  # the writer lock is free: nothing left half-done
        assert await Axis.count().where(Axis.code == "perdu") == 0


async def test_a_transaction_sends_its_begin_with_its_first_statement(database, monkeypatch):
    """#16: one thread hop fewer per transaction; the snapshot is still the first read's."""
    sqlite_only()
    hops: list[str] = []
    call = PooledConnection._call

    async def counted(self, function, *args):
        sent = (
            [self.begin] if getattr(self, "begin", None) else []
        )  # a deferred BEGIN goes with this hop
        sent += [arg for arg in args if isinstance(arg, str)]
        hops.append(" + ".join(sql.split()[0] for sql in sent))
        return await call(self, function, *args)

    monkeypatch.setattr(PooledConnection, "_call", counted)
    async with db.read_transaction():
        before = await Axis.count()
        other = sqlite3.connect(db.current_engine().path)
        other.execute(
            "INSERT INTO axis (code, name, search, description, position, version, created_at, updated_at) VALUES ('vu-apres', 'Vu après', 'vu apres', '', 98, 1, '2026-01-01', '2026-01-01')"
        )
        other.commit()
        other.close()
        assert await Axis.count() == before  # the transaction's snapshot, taken at its start
    # BEGIN went with the first statement: three hops for two statements, not four.
    assert hops == ["BEGIN + SELECT", "SELECT", "COMMIT"]
    assert await Axis.count() == before + 1
    hops.clear()
    async with db.read_transaction():
        pass
    assert hops == []  # a transaction that ran nothing sends nothing


async def test_a_failed_transaction_leaves_a_clean_connection_behind(database):
    sqlite_only()
    before = await Axis.count()
    with pytest.raises(RuntimeError):
        async with db.write_transaction():
            await Axis.insert(
                Axis(code="abandonne", name="Axe abandonné", search="axe abandonne")
            ).run()
            raise RuntimeError("interrompu")
    async with db.write_transaction():
        assert await Axis.count() == before
    assert await Axis.count() == before


async def test_a_second_writer_waits_for_the_first_to_commit_then_reuses_its_connection(
    database,
):
    sqlite_only()
    seen: list[object] = []
    inside = asyncio.Event()
    committed = False

    async def hold() -> None:
        nonlocal committed
        async with db.write_transaction() as transaction:
            seen.append(transaction.connection)
            inside.set()
            await asyncio.sleep(0.05)
        committed = True

    async def join() -> None:
        await inside.wait()
        async with db.write_transaction() as transaction:
            assert committed
            seen.append(transaction.connection)

    await asyncio.gather(hold(), join())
    assert seen[0] is seen[1]


async def test_writers_of_one_process_take_turns_in_arrival_order(database):
    sqlite_only()
    order: list[str] = []
    first_in = asyncio.Event()

    async def write(name: str, arrive_after: float) -> None:
        if name != "premier":
            await first_in.wait()
            await asyncio.sleep(arrive_after)
        async with db.write_transaction():
            order.append(name)
            await Axis.insert(Axis(code=name, name=name, search=name)).run()
            if name == "premier":
                first_in.set()
                await asyncio.sleep(0.05)
                assert db._write_turn().locked()  # the others wait for their turn, not on SQLite
            order.append(name + " fini")

    await asyncio.wait_for(
        asyncio.gather(write("troisieme", 0.02), write("premier", 0), write("deuxieme", 0.01)),
        timeout=10,
    )
    assert order == [
        "premier", "premier fini", "deuxieme", "deuxieme fini", "troisieme", "troisieme fini"
    ]  # fmt: skip


async def test_a_failed_writer_hands_over_its_turn(database):
    sqlite_only()
    with pytest.raises(RuntimeError):
        async with db.write_transaction():
            raise RuntimeError("interrompu")
    async with asyncio.timeout(5):
        async with db.write_transaction():
            await Axis.count().run()


async def test_a_nested_write_transaction_is_its_parent(database):
    sqlite_only()
    async with asyncio.timeout(5):
        async with db.write_transaction() as outer, db.write_transaction() as inner:
            assert inner is outer


async def test_a_writer_whose_turn_never_comes_goes_on_after_the_timeout(database, monkeypatch):
    sqlite_only()
    monkeypatch.setattr(db, "WRITE_TURN_TIMEOUT_SECONDS", 0.1)
    turn = db._write_turn()
    await turn.acquire()  # held by someone who will not let go in time
    try:
        async with asyncio.timeout(5):
            async with db.write_transaction():
                await Axis.insert(
                    Axis(code="sans_tour", name="Sans tour", search="sans tour")
                ).run()
    finally:
        turn.release()
    assert await Axis.count().where(Axis.code == "sans_tour") == 1
    assert not turn.locked()


async def test_after_commit_waits_for_the_outermost_commit_and_never_follows_a_rollback(database):
    calls: list[str] = []
    async with db.write_transaction():
        async with db.write_transaction():
            db.after_commit(lambda: calls.append("validé"))
        assert calls == []  # the inner block ended, the transaction goes on
    assert calls == ["validé"]

    with pytest.raises(RuntimeError):
        async with db.write_transaction():
            db.after_commit(lambda: calls.append("annulé"))
            raise RuntimeError("interrompu")
    db.after_commit(lambda: calls.append("hors transaction"))
    assert calls == ["validé", "hors transaction"]


def test_compacting_leaves_no_erased_value_in_free_pages_or_the_wal(tmp_path):
    """An erasure's last step: without it, a SQLite built without ``secure_delete`` (the
    python.org builds) keeps overwritten rows in free pages and old WAL frames."""
    path = tmp_path / "erased.db"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA secure_delete=OFF")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.execute("CREATE TABLE contact (id INTEGER PRIMARY KEY, name TEXT)")
    for n in range(200):
        connection.execute("INSERT INTO contact (name) VALUES (?)", (f"Séverine Quénéhervé {n}",))
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.execute("UPDATE contact SET name = 'Anonyme'")

    def held() -> bool:
        files = [path, path.with_name("erased.db-wal")]
        return any("Quénéhervé".encode() in f.read_bytes() for f in files if f.exists())

    assert held()
    db._vacuum_sqlite(str(path))
    assert not held()
    assert connection.execute("SELECT count(*) FROM contact").fetchone() == (200,)
    connection.close()


async def test_clearing_postgresql_survives_a_deadlock_with_a_running_service(database):
    """Found by CI: the e2e server's background worker (a transaction holding one table and
    waiting for another) deadlocked with the fixture's TRUNCATE of every table, and PostgreSQL
    cancelled the TRUNCATE. Here another connection locks the last table, waits for TRUNCATE to
    queue behind it, then asks for the first one: a real deadlock; the clear tries again."""
    if db.is_sqlite():
        pytest.skip("SQLite vide ses tables dans une seule transaction d'écriture.")
    import asyncpg

    # As the server's superuser: deadlock_timeout is theirs to set (the application's role is
    # an ordinary one, #20).
    database_path = urlsplit(db.current_engine().config["dsn"]).path
    other = await asyncpg.connect(
        urlunsplit(urlsplit(TEST_DATABASE_URL)._replace(path=database_path))
    )
    try:
        await other.execute("SET deadlock_timeout = '2s'")  # the clear is the one cancelled
        transaction = other.transaction()
        await transaction.start()
        await other.execute('LOCK TABLE "inbound_message" IN ROW EXCLUSIVE MODE')
        clearing = asyncio.create_task(db.clear_all())
        for _ in range(100):  # until TRUNCATE holds the first tables and waits for the last
            waiting = await other.fetchval(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = "
                "'inbound_message'::regclass"
            )
            if waiting:
                break
            await asyncio.sleep(0.05)
        assert waiting, "TRUNCATE never waited for the locked table"
        await other.execute('LOCK TABLE "territory" IN ROW EXCLUSIVE MODE')  # the deadlock
        await transaction.commit()
        await asyncio.wait_for(clearing, timeout=30)
    finally:
        await other.close()
    assert await Axis.count() == 0


def test_every_table_of_the_data_model_is_in_the_list_the_database_is_bound_to():
    """A table left out of ``TABLES`` kept the engine it was first given: after a request, the
    command line's erasure read ``inbound_item`` through another event loop's connection
    (« another operation is in progress »), and clearing left its rows behind."""
    import inspect

    from piccolo.table import Table

    from maillage import tables

    declared = {
        value
        for value in vars(tables).values()
        if inspect.isclass(value)
        and issubclass(value, Table)
        and value.__module__ == tables.__name__
        and value is not tables.Versioned  # the columns every versioned table shares
    }
    assert declared - set(tables.TABLES) == set()


async def test_a_prepared_query_is_built_once_and_run_with_each_call_s_values(database):
    """#16: the SQL of a hot path's query is built once per engine; each call runs it with its
    own values, through Piccolo (same output, same transaction), ``.first()`` included."""
    built: list[object] = []

    def build(code: object) -> object:
        built.append(code)
        return Axis.select(Axis.code, Axis.name).where(Axis.code == code).first()

    by_code = db.Prepared(build)
    axes = await Axis.select(Axis.code, Axis.name).order_by(Axis.id)
    assert len(axes) >= 2
    for axis in axes:
        assert await by_code(axis["code"]) == axis
    assert await by_code("aucun-axe") is None
    assert [type(value).__name__ for value in built] == ["Slot"]  # built once, with a slot
    async with db.read_transaction():
        assert await by_code(axes[1]["code"]) == axes[1]


async def test_one_read_statement_runs_without_a_transaction(database, monkeypatch):
    """#16: a list's page is one statement, atomic by itself: on SQLite no thread hop (read on
    the event loop's own connection; no deferred BEGIN, no COMMIT), on PostgreSQL no BEGIN/COMMIT round trips; inside a
    transaction it runs on the transaction's connection."""
    begins: list[str] = []
    hops: list[str] = []
    setting = row_security.current()
    if db.is_sqlite():
        call = PooledConnection._call

        async def counted(self, function, *args):
            sent = [self.begin] if getattr(self, "begin", None) else []
            sent += [arg for arg in args if isinstance(arg, str)]
            hops.append(" + ".join(sql.split()[0] for sql in sent))
            return await call(self, function, *args)

        monkeypatch.setattr(PooledConnection, "_call", counted)
    else:
        engine = db.current_engine()
        async with db.read_transaction():  # looks the role that reads every row up
            pass
        if engine._sees_all is not None:
            # A read of every row takes that role in a transaction; a scoped read does not
            # (the axes are shared rows: every territory sees them).
            setting = row_security.of([1])
        begin = db.ScopedPostgresTransaction.begin

        async def counted_begin(self):
            begins.append("BEGIN")
            await begin(self)

        monkeypatch.setattr(db.ScopedPostgresTransaction, "begin", counted_begin)
    expected = sorted(row["code"] for row in await Axis.select(Axis.code))
    hops.clear()
    begins.clear()
    with row_security.entered(setting):
        rows = await db.read_statement("SELECT code FROM axis WHERE id > ? ORDER BY code", [0])
        assert sorted(row["code"] for row in rows) == expected and expected
        assert begins == []
        if db.is_sqlite():
            assert hops == []  # on the event loop's own connection (`loop_read`)
        async with db.read_transaction():
            rows = await db.read_statement("SELECT code FROM axis WHERE id > ?", [0])
    assert sorted(row["code"] for row in rows) == expected
    if db.is_sqlite():
        assert hops == ["BEGIN + SELECT", "COMMIT"]
    else:
        assert begins == ["BEGIN"]


async def test_statements_read_alone_run_on_as_many_connections_as_cores(database):
    """#16: sixteen list pages read at once took sixteen kept connections, each a thread and a
    page cache taking turns on the cores, and cost nearly twice the CPU of one read at a time.
    Statements read alone now run at most `READERS_AT_ONCE` at once; transactions are not
    bounded by it."""
    sqlite_only()
    engine = db.current_engine()
    assert isinstance(engine, PooledSQLiteEngine)
    await engine.close_all()
    before = engine.opened
    statement = "SELECT count(*) AS n FROM axis"
    answers = await asyncio.gather(*(db.read_statement(statement, []) for _ in range(32)))
    assert {answer[0]["n"] for answer in answers} == {await Axis.count()}
    assert engine.opened - before <= sqlite_pool.READERS_AT_ONCE

    # Transactions held open (another request's import) do not make a statement read alone
    # wait for them, even as many as the turns of the reads.
    release = asyncio.Event()
    started = 0

    async def held() -> None:
        nonlocal started
        async with db.read_transaction():
            await Axis.count()
            started += 1
            await release.wait()

    holders = [asyncio.create_task(held()) for _ in range(sqlite_pool.READERS_AT_ONCE + 1)]
    while started < len(holders):
        await asyncio.sleep(0.01)
    try:
        assert await asyncio.wait_for(db.read_statement(statement, []), timeout=5)
    finally:
        release.set()
        await asyncio.gather(*holders)


async def test_a_transaction_begun_before_the_pool_opened_closes_its_own_connection(database):
    """Found by CI: a worker started while PostgreSQL was away answered a request through a
    connection of its own; the pool opened during that request, and the end of the transaction
    gave the connection to the new pool (« not a member of this pool »): a 500."""
    if db.is_sqlite():
        pytest.skip("SQLite n'a pas de pool de connexions asyncpg.")
    engine = db.current_engine()
    await db.close_pool()
    async with db.read_transaction() as transaction:
        lone = transaction.connection
        assert await lone.fetchval("SELECT 1") == 1
        await db.start_pool()  # the pool comes back while the request still reads
    assert lone.is_closed()
    assert engine.pool is not None
    async with db.read_transaction() as transaction:  # the new pool lends as before
        assert await transaction.connection.fetchval("SELECT 2") == 2


async def test_a_transaction_whose_commit_fails_gives_its_connection_back(database):
    """Piccolo gives the connection back only when the commit succeeded: a deferred constraint
    broken at commit kept its pool connection lent for ever."""
    if db.is_sqlite():
        pytest.skip("SQLite n'a pas de pool de connexions asyncpg.")
    import asyncpg

    pool = db.current_engine().pool
    assert pool is not None
    free_before = pool.get_idle_size() + (pool.get_max_size() - pool.get_size())
    with pytest.raises(asyncpg.exceptions.ForeignKeyViolationError):
        async with db.write_transaction() as transaction:
            await transaction.connection.execute(
                "CREATE TEMPORARY TABLE parent_row (id int PRIMARY KEY);"
                "CREATE TEMPORARY TABLE child_row (parent int REFERENCES parent_row "
                "DEFERRABLE INITIALLY DEFERRED);"
                "INSERT INTO child_row VALUES (1)"
            )
    assert pool.get_idle_size() + (pool.get_max_size() - pool.get_size()) == free_before
