"""SQLite's kept connections give Piccolo's rows and values for less CPU (#16, h16sqlite), and
statements read alone run on the event loop's own connection first, bounded (#16).

A list of 50 contacts cost 404 Python calls on the connection's thread for its values (INTEGER
parsed through ``Decimal`` behind a decorator) and 50 more for its rows (``dict_factory``), each
after taking the interpreter lock back from the event loop."""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
import time
from typing import Any

import pytest
from piccolo.engine import sqlite as piccolo_sqlite

from maillage import db, sqlite_pool
from maillage.folding import COLLATION, FrenchConnection, french_compare
from maillage.sqlite_pool import CONVERTERS, PooledConnection, PooledSQLiteEngine
from maillage.tables import Contact

# What SQLite hands the converters: the text of each stored value, as bytes.
SAMPLES = {
    "BOOLEAN": [b"1", b"0"],
    "TIMESTAMPTZ": [
        b"2026-11-29 10:00:00+00:00",
        b"2026-11-29 10:00:00.123456+00:00",
        b"2026-11-29 10:00:00",
        b"2026-11-29T10:00:00+01:00",
    ],
    "TIMESTAMP": [b"2026-11-29 10:00:00", b"2026-11-29 10:00:00.5"],
    "DATE": [b"2026-11-29"],
}


def sqlite_only() -> None:
    if not db.is_sqlite():
        pytest.skip("PostgreSQL : asyncpg convertit les valeurs lui-même.")


@pytest.mark.parametrize("declared", sorted(SAMPLES))
def test_each_converter_gives_piccolo_s_value(declared: str) -> None:
    for raw in SAMPLES[declared]:
        expected = piccolo_sqlite.CONVERTERS[declared](raw)
        got = CONVERTERS[declared](raw)
        assert got == expected and type(got) is type(expected), raw
        if isinstance(expected, dt.datetime):
            assert got.tzinfo == expected.tzinfo, raw
    # Registered for the process: every connection with declared types uses them.
    assert sqlite3.converters[declared] is CONVERTERS[declared]


async def test_integers_come_back_as_piccolo_s_without_a_converter(database: Any) -> None:
    """No Python call per INTEGER value (#16): SQLite gives ints itself, the values Piccolo's
    converter gave for everything maillage writes (ints, booleans, « 1.0 » kept as 1)."""
    sqlite_only()
    assert "INTEGER" not in sqlite3.converters
    engine = db.current_engine()
    assert isinstance(engine, PooledSQLiteEngine)
    connection = await engine.get_connection()
    written = [0, -17, 9223372036854775807, True, 1.0, "12"]
    try:
        await connection.execute("CREATE TEMP TABLE whole (n INTEGER)")
        await connection.executemany("INSERT INTO whole VALUES (?)", [(v,) for v in written])
        read = [
            row["n"]
            for row in await (
                await connection.execute("SELECT n FROM whole ORDER BY rowid")
            ).fetchall()
        ]
        await connection.execute("DROP TABLE temp.whole")
    finally:
        await connection.close()
    # The text SQLite keeps for each (INTEGER affinity: « 1.0 » and « 12 » become integers).
    stored = [b"0", b"-17", b"9223372036854775807", b"1", b"1", b"12"]
    piccolo = [piccolo_sqlite.convert_int_out(text) for text in stored]
    assert read == piccolo and all(type(value) is int for value in read)


async def test_piccolo_reads_the_same_values_through_the_kept_connections(database: Any) -> None:
    sqlite_only()
    await Contact.insert(
        Contact(
            first_name="Émile",
            last_name="Lœuillet",
            consent_date=dt.date(2026, 11, 29),
            mailing_opt_out=True,
        )
    )
    row = await Contact.select().where(Contact.last_name == "Lœuillet").first()
    assert row is not None
    assert type(row["id"]) is int and row["mailing_opt_out"] is True and row["archived"] is False
    assert row["consent_date"] == dt.date(2026, 11, 29)
    assert row["created_at"].tzinfo == dt.UTC
    assert row["first_name"] == "Émile"


async def test_reading_rows_calls_python_once_per_converted_value_at_most(database: Any) -> None:
    """Per row: one call for the INTEGER and one for the TIMESTAMPTZ, none for the row itself
    nor for the BOOLEAN (on main: eight, the row's ``dict_factory`` and its comprehension, and
    a decorator and a converter per value)."""
    sqlite_only()
    engine = db.current_engine()
    assert isinstance(engine, PooledSQLiteEngine)
    connection = await engine.get_connection()
    try:
        await connection.execute(
            "CREATE TEMP TABLE sample (n INTEGER, flag BOOLEAN, at TIMESTAMPTZ, name VARCHAR(20))"
        )
        rows = 30
        await connection.executemany(
            "INSERT INTO sample VALUES (?, ?, ?, ?)",
            [(n, n % 2, "2026-11-29 10:00:00+00:00", f"n° {n}") for n in range(rows)],
        )

        async def calls_reading(where: str) -> tuple[int, list[Any]]:
            """Python calls on the connection's thread while one statement runs there."""
            calls = 0

            def count(_frame: Any, event: str, _arg: Any) -> None:
                nonlocal calls
                calls += event == "call"

            await connection._call(sys.setprofile, count)
            try:
                cursor = await connection.execute(
                    f"SELECT n, flag, at, name FROM sample WHERE {where} ORDER BY n"
                )
            finally:
                await connection._call(sys.setprofile, None)
            return calls, await cursor.fetchall()

        # The hand-over between the threads costs the same calls whatever the rows.
        none, _ = await calls_reading("n < 0")
        every, read = await calls_reading("n >= 0")
        await connection.execute("DROP TABLE temp.sample")
    finally:
        await connection.close()
    assert read[3] == {
        "n": 3,
        "flag": True,
        "at": dt.datetime(2026, 11, 29, 10, tzinfo=dt.UTC),
        "name": "n° 3",
    }
    assert every - none <= 2 * rows, (every, none)


# ----- statements read alone on the event loop's own connection ------------------------------------------


def counted_hops(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    hops: list[object] = []
    call = PooledConnection._call

    async def counted(self: PooledConnection, function: Any, *args: Any) -> Any:
        hops.append(function)
        return await call(self, function, *args)

    monkeypatch.setattr(PooledConnection, "_call", counted)
    return hops


async def test_a_statement_read_alone_is_read_on_the_loop_without_a_hop(
    database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_only()
    await Contact.insert(Contact(first_name="Zoé", last_name="Point"))
    hops = counted_hops(monkeypatch)
    sql = "SELECT first_name FROM contact WHERE last_name = ? ORDER BY id LIMIT 1"
    assert await db.read_statement(sql, ["Point"]) == [{"first_name": "Zoé"}]
    assert hops == []
    # Inside a transaction, on its own connection and snapshot: hops.
    async with db.read_transaction():
        assert await db.read_statement(sql, ["Point"]) == [{"first_name": "Zoé"}]
    assert len(hops) == 2  # BEGIN with the statement, COMMIT


LONG = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
    "SELECT count(*) AS c FROM n"
)


async def test_a_long_statement_is_interrupted_on_the_loop_and_read_on_a_thread(
    database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing may stall the loop: a statement that spends `LOOP_READ_CPU_SECONDS` there is
    cut short and read on a kept connection's thread, with the same answer; its SQL then goes
    to a thread first, `HEAVY_THREAD_READS` times, before the loop is tried again."""
    sqlite_only()
    monkeypatch.setattr(sqlite_pool, "HEAVY_THREAD_READS", 3)
    hops = counted_hops(monkeypatch)
    loop_cpu: list[float] = []
    loop_read = PooledSQLiteEngine.loop_read

    async def timed(self: PooledSQLiteEngine, sql: str, args: Any) -> Any:
        start = time.thread_time()
        try:
            return await loop_read(self, sql, args)
        finally:
            loop_cpu.append(time.thread_time() - start)

    monkeypatch.setattr(PooledSQLiteEngine, "loop_read", timed)
    assert await db.read_statement(LONG, [300_000]) == [{"c": 300_000}]
    assert len(hops) == 1
    # Cut short: a few milliseconds on the loop where the whole statement takes a hundred.
    assert loop_cpu[0] < 10 * sqlite_pool.LOOP_READ_CPU_SECONDS
    # The same SQL, however short this time: on a thread three times, then the loop again.
    for expected in (2, 3, 4, 4):
        assert await db.read_statement(LONG, [3]) == [{"c": 3}]
        assert len(hops) == expected
    # Another statement meanwhile: on the loop, whose connection is left ready.
    assert await db.read_statement("SELECT 1 AS one", []) == [{"one": 1}]
    assert len(hops) == 4


async def test_a_sort_on_the_loop_stops_comparing_once_the_budget_is_spent(
    database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sort runs all its comparisons within one step of SQLite, where no progress handler
    is called: the French collation of the loop's connection counts its own and, past the
    budget, answers at once and interrupts the statement, read again on a thread."""
    sqlite_only()
    await Contact.insert(
        *[Contact(first_name=f"Prénom {n:05d}", last_name="Tri") for n in range(3000)]
    )
    engine = db.current_engine()
    assert isinstance(engine, PooledSQLiteEngine)
    compared = 0

    def counting(left: str, right: str) -> int:
        nonlocal compared
        compared += 1
        return french_compare(left, right)

    # A fresh loop connection whose steps never look at the clock: only the sort may.
    await engine.close_all()
    monkeypatch.setattr(sqlite_pool, "_STEPS_PER_CHECK", 10**9)
    monkeypatch.setattr(engine, "collations", {COLLATION: counting})
    clock = iter(range(10**6))
    monkeypatch.setattr(sqlite_pool.time, "thread_time", lambda: next(clock) * 0.0005)
    hops = counted_hops(monkeypatch)
    sql = f'SELECT first_name FROM contact WHERE last_name = ? ORDER BY first_name COLLATE "{COLLATION}" DESC LIMIT 1'
    assert await db.read_statement(sql, ["Tri"]) == [{"first_name": "Prénom 02999"}]
    assert hops.count(sqlite_pool._execute) == 1  # read again on a (newly opened) thread
    # Four checks of 0.5 ms reach the 2 ms: about 4 × 256 comparisons on the loop, not the
    # 30,000 of the whole sort.
    assert 0 < compared <= 6 * 256, compared
    await engine.close_all()


async def test_a_read_on_the_loop_never_waits_for_a_writer(database: Any) -> None:
    """WAL: the loop's reader sees the last commit while another connection writes."""
    sqlite_only()
    engine = db.current_engine()
    assert isinstance(engine, PooledSQLiteEngine)
    before = await db.read_statement("SELECT count(*) AS n FROM contact", [])
    writer = sqlite3.connect(engine.path, isolation_level=None, factory=FrenchConnection)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO contact (first_name, last_name) VALUES ('Non', 'Validé')")
        during = await db.read_statement("SELECT count(*) AS n FROM contact", [])
        assert during == before
        writer.execute("COMMIT")
    finally:
        writer.close()
    after = await db.read_statement("SELECT count(*) AS n FROM contact", [])
    assert after[0]["n"] == before[0]["n"] + 1
