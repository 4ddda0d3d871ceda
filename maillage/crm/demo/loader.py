"""Bulk loading of the demo: every row in one write transaction, in chunks.

The services check one record at a time, which would take minutes at the scale of a whole
département; the generator already respects their rules (the tests re-check them), so the rows
go straight to the driver: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from piccolo.columns import JSON
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

from maillage import row_security
from maillage.crm import scope as territory_scope
from maillage.crm.demo.dataset import Dataset
from maillage.crm.demo.generator import SCALES, generate
from maillage.crm.seed import ensure_axes
from maillage.db import (
    clear_all,
    current_engine,
    write_transaction,
)
from maillage.french import plural
from maillage.tables import (
    TABLES,
    Commune,
    Contact,
    Invitation,
    Meeting,
    Organisation,
    Territory,
    WorkingGroup,
)

CHUNK = 5_000
SUMMARY = (
    (Territory, "territoire"),
    (Commune, "commune"),
    (Organisation, "organisation"),
    (Contact, "contact"),
    (WorkingGroup, "instance"),
    (Meeting, "réunion"),
    (Invitation, "invitation"),
)


async def clear_database() -> None:
    """Empty every table (``demo --force``)."""
    await clear_all()


async def load_demo(seed: int, today: dt.date, scale: str = "territoire") -> str:
    """Generate and insert the demo; returns a French one-line summary of what was loaded."""
    if scale not in SCALES:
        raise ValueError(f"Échelle inconnue « {scale} » (territoire ou departement).")
    await ensure_axes()
    from maillage.tables import Axis

    axis_ids = {row["code"]: row["id"] for row in await Axis.select(Axis.id, Axis.code).run()}
    first = await _first_ids()
    dataset = generate(seed, today, scale, axis_ids, first)
    await insert(dataset)
    # Written in bulk: the demo's partners are placed in their territories here (#20).
    await territory_scope.place_all(first[Organisation], first[Contact])
    return summary(dataset)


async def _first_ids() -> dict[type[Table], int]:
    """The first free id of each table, so the demo never collides with existing rows."""
    first = {}
    for table in TABLES:
        # OutboxMessage has a column named « raw », which hides Table.raw.
        rows = await Territory.raw(f'SELECT MAX(id) AS top FROM "{table._meta.tablename}"').run()
        first[table] = (rows[0]["top"] or 0) + 1
    return first


async def insert(dataset: Dataset) -> None:
    engine = current_engine()
    sqlite = isinstance(engine, SQLiteEngine)
    async with write_transaction() as transaction:
        connection = transaction.connection
        for table in TABLES:
            rows = dataset.rows.get(table)
            if not rows:
                continue
            columns = list(rows[0])
            records = [_record(table, row, columns) for row in rows]
            name = table._meta.tablename
            for start in range(0, len(records), CHUNK):
                chunk = records[start : start + CHUNK]
                if sqlite:
                    quoted = ", ".join(f'"{c}"' for c in columns)
                    marks = ", ".join("?" for _ in columns)
                    await connection.executemany(
                        f'INSERT INTO "{name}" ({quoted}) VALUES ({marks})', chunk
                    )
                elif name in row_security.PROTECTED:
                    await _copy_under_row_security(connection, name, columns, chunk)
                else:
                    await connection.copy_records_to_table(name, records=chunk, columns=columns)
            if not sqlite:
                # Explicit ids leave the sequence behind: the next API insert would collide.
                await connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                    f'(SELECT MAX(id) FROM "{name}"))'
                )
    if not sqlite:
        # Fresh statistics: without them PostgreSQL plans the lists for the empty tables it saw
        # (a sequential scan and a sort, 26 ms a page of contacts, instead of the index, 2.6 ms).
        await engine.run_ddl("ANALYZE")


async def _copy_under_row_security(
    connection: Any, name: str, columns: list[str], records: list[tuple[Any, ...]]
) -> None:
    """PostgreSQL refuses COPY into a table under row-level security (#20) for a role subject
    to it: copy into a temporary twin, then one INSERT … SELECT, which the policy accepts."""
    twin = f"_load_{name}"
    quoted = ", ".join(f'"{c}"' for c in columns)
    # The loaded columns only: a column PostgreSQL computes (``invitation.seen``, the ties'
    # keys) would be a NOT NULL column of the twin that nothing fills.
    await connection.execute(
        f'CREATE TEMPORARY TABLE IF NOT EXISTS "{twin}" ON COMMIT DROP AS '
        f'SELECT {quoted} FROM "{name}" WITH NO DATA'
    )
    await connection.copy_records_to_table(twin, records=records, columns=columns)
    await connection.execute(f'INSERT INTO "{name}" ({quoted}) SELECT {quoted} FROM "{twin}"')
    await connection.execute(f'TRUNCATE "{twin}"')


def _record(table: type[Table], row: dict[str, Any], columns: list[str]) -> tuple[Any, ...]:
    json_columns = _json_columns(table)
    return tuple(
        json.dumps(row[c], ensure_ascii=False) if c in json_columns else row[c] for c in columns
    )


_JSON: dict[type[Table], frozenset[str]] = {}


def _json_columns(table: type[Table]) -> frozenset[str]:
    if table not in _JSON:
        _JSON[table] = frozenset(c._meta.name for c in table._meta.columns if isinstance(c, JSON))
    return _JSON[table]


def summary(dataset: Dataset) -> str:
    parts = []
    for table, label in SUMMARY:
        parts.append(plural(dataset.count(table), label))
    return ", ".join(parts)
