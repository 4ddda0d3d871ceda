"""SQLite's kept connections give Piccolo's rows and values for less CPU (#16, h16sqlite).

A list of 50 contacts cost 404 Python calls on the connection's thread for its values (INTEGER
parsed through ``Decimal`` behind a decorator) and 50 more for its rows (``dict_factory``), each
after taking the interpreter lock back from the event loop."""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
from typing import Any

import pytest
from piccolo.engine import sqlite as piccolo_sqlite

from maillage import db
from maillage.folding import FrenchConnection
from maillage.sqlite_pool import CONVERTERS, POINT_READ_STEPS, PooledConnection, PooledSQLiteEngine
from maillage.tables import Contact

# What SQLite hands the converters: the text of each stored value, as bytes.
SAMPLES = {
    "INTEGER": [b"0", b"-17", b"9223372036854775807", b"1.5", b"1e+20", b" 12 "],
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


# ----- point reads on the event loop's own connection ------------------------------------------


def counted_hops(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    hops: list[object] = []
    call = PooledConnection._call

    async def counted(self: PooledConnection, function: Any, *args: Any) -> Any:
        hops.append(function)
        return await call(self, function, *args)

    monkeypatch.setattr(PooledConnection, "_call", counted)
    return hops


async def test_a_point_read_is_read_on_the_loop_without_a_hop(
    database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_only()
    await Contact.insert(Contact(first_name="Zoé", last_name="Point"))
    hops = counted_hops(monkeypatch)
    sql = "SELECT first_name FROM contact WHERE last_name = ? ORDER BY id LIMIT 1"
    assert await db.read_statement(sql, ["Point"], point=True) == [{"first_name": "Zoé"}]
    assert hops == []
    # Without ``point``, or inside a transaction (its own connection and snapshot): a hop.
    assert await db.read_statement(sql, ["Point"]) == [{"first_name": "Zoé"}]
    assert len(hops) == 1
    async with db.read_transaction():
        assert await db.read_statement(sql, ["Point"], point=True) == [{"first_name": "Zoé"}]
    assert len(hops) == 3  # BEGIN with the statement, COMMIT


async def test_a_long_statement_is_interrupted_on_the_loop_and_read_on_a_thread(
    database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing may stall the loop: a statement that runs past `POINT_READ_STEPS` there is cut
    short and read on a kept connection's thread, with the same answer."""
    sqlite_only()
    hops = counted_hops(monkeypatch)
    long = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "SELECT count(*) AS c FROM n"
    )
    assert await db.read_statement(long, [200_000], point=True) == [{"c": 200_000}]
    assert len(hops) == 1
    # The loop's connection is left ready for the next point read.
    assert await db.read_statement(long, [3], point=True) == [{"c": 3}]
    assert len(hops) == 1
    assert POINT_READ_STEPS < 200_000


async def test_a_point_read_never_waits_for_a_writer(database: Any) -> None:
    """WAL: the loop's reader sees the last commit while another connection writes."""
    sqlite_only()
    engine = db.current_engine()
    assert isinstance(engine, PooledSQLiteEngine)
    before = await db.read_statement("SELECT count(*) AS n FROM contact", [], point=True)
    writer = sqlite3.connect(engine.path, isolation_level=None, factory=FrenchConnection)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO contact (first_name, last_name) VALUES ('Non', 'Validé')")
        during = await db.read_statement("SELECT count(*) AS n FROM contact", [], point=True)
        assert during == before
        writer.execute("COMMIT")
    finally:
        writer.close()
    after = await db.read_statement("SELECT count(*) AS n FROM contact", [], point=True)
    assert after[0]["n"] == before[0]["n"] + 1
