"""Trigram indexes on the search columns (#20): built on PostgreSQL when ``pg_trgm`` can be
created, the migration going on when it cannot, and a search finding the very same rows with
the index, without it, and without the extension at all."""

from __future__ import annotations

import datetime as dt
import importlib

import asyncpg
import pytest

from maillage import db, trigram
from maillage.crm.demo.loader import load_demo
from maillage.crm.registry import SERVICES
from maillage.crm.resources import ListQuery
from maillage.db import is_sqlite, read_transaction

pytestmark = pytest.mark.usefixtures("database")

MIGRATION = "maillage.migrations.maillage_2026_12_10t02_00_00_000000"

# Whole words, parts of words (trigrams inside a word), two words, accents folded, words of
# one or two letters (no trigram: the index reads all its entries), LIKE's wildcards.
SEARCHES = [
    "mairie",
    "centre social",
    "martin",
    "hélène",
    "ERIE",
    "ssoc",
    "de",
    "a",
    "copil",
    "commission",
    "école",
    "100%",
    "d_a",
    "zzz-personne",
]


def _postgres_only() -> None:
    if is_sqlite():
        pytest.skip("Index trigrammes : PostgreSQL seulement.")


async def _indexes() -> dict[str, str]:
    rows = await db.current_engine().run_ddl(
        f"SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%{trigram.SUFFIX}'"
    )
    return {row["indexname"]: row["indexdef"] for row in rows}


async def test_every_search_column_has_its_trigram_index():
    _postgres_only()
    tables = db.search_tables()
    assert {"contact", "organisation", "meeting", "working_group", "app_user"} <= set(tables)
    indexes = await _indexes()
    assert set(indexes) == {trigram.index_name(table) for table in tables}
    assert all("gin_trgm_ops" in definition for definition in indexes.values())
    assert not await db.trigram_missing()
    assert await db.sync_search_indexes() == []  # nothing left to build


async def test_sqlite_has_none_and_needs_none():
    if not is_sqlite():
        pytest.skip("SQLite seulement.")
    assert await db.sync_search_indexes() is None
    assert not await db.trigram_missing()


async def test_the_migration_goes_on_when_the_extension_cannot_be_created(monkeypatch):
    """An extension the server does not have (as when ``postgresql-contrib`` is missing): the
    statement alone fails; the migration's block turns it into a warning, and its transaction
    goes on."""
    _postgres_only()
    module = importlib.import_module(MIGRATION)
    absent = module.CREATE_EXTENSION.replace("pg_trgm", "pg_trgm_absent")
    engine = db.current_engine()
    with pytest.raises(asyncpg.FeatureNotSupportedError):
        await engine.run_ddl("CREATE EXTENSION pg_trgm_absent")
    monkeypatch.setattr(module, "CREATE_EXTENSION", absent)
    async with engine.transaction():
        manager = await module.forwards()
        await manager.run()
        assert (await engine.run_ddl("SELECT 1 AS one"))[0]["one"] == 1


async def _found(name: str, words: str, force_index: bool) -> tuple[list[int], int, str]:
    """The ids and total of an administrator's search, and its plan; ``force_index``: the
    planner told not to read the table (the demo's tables are small enough to be read)."""
    service = SERVICES[name]
    query = ListQuery(q=words, limit=500)
    async with read_transaction() as transaction:
        plan = ""
        if not is_sqlite():
            if force_index:  # the demo's tables are small: reading them is cheaper
                for setting in ("enable_seqscan = off", "cpu_operator_cost = 10"):
                    await transaction.connection.execute(f"SET LOCAL {setting}")
            values = service._values(query)
            sql, slots = service._statement(query, values)
            args = [values[slot] if slot is not None else constant for slot, constant in slots]
            rows = await transaction.connection.fetch(
                "EXPLAIN " + db._numbered(sql), *args, query.limit, query.offset
            )
            plan = "\n".join(row[0] for row in rows)
        page = await service.page(query)
    return [row["id"] for row in page["items"]], page["total"], plan


async def test_a_search_finds_the_same_rows_with_or_without_the_index():
    await load_demo(seed=3, today=dt.date(2026, 11, 29))
    searchable = [name for name, service in SERVICES.items() if service.spec.search_fields]
    assert len(searchable) >= 10
    found = {}
    for name in searchable:
        for words in SEARCHES:
            ids, total, plan = await _found(name, words, force_index=True)
            found[name, words] = ids, total
            if not is_sqlite() and len(words.replace("%", "").replace("_", "")) >= 3:
                table = SERVICES[name].table._meta.tablename
                assert trigram.index_name(table) in plan, (name, words, plan)
    # Something is found, not only empty pages compared.
    assert found["contacts", "martin"][1] > 0 and found["organisations", "mairie"][1] > 0
    assert found["organisations", "ssoc"][1] > 0 and found["contacts", "zzz-personne"][1] == 0
    if is_sqlite():
        return
    engine = db.current_engine()
    # Without the extension (nor its indexes): the tables are read, the same rows come back.
    await engine.run_ddl("DROP EXTENSION pg_trgm CASCADE")
    try:
        assert await db.trigram_missing()
        assert await _indexes() == {}
        assert await db.sync_search_indexes() is None
        for (name, words), expected in found.items():
            ids, total, plan = await _found(name, words, force_index=True)
            assert (ids, total) == expected, (name, words)
            assert trigram.SUFFIX not in plan
    finally:
        # Created by hand later (the application's role owns the database: pg_trgm is
        # trusted), the next migration's synchronisation builds the indexes.
        await engine.run_ddl("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        assert len(await db.sync_search_indexes() or []) == len(db.search_tables())
    assert set(await _indexes()) == {trigram.index_name(t) for t in db.search_tables()}
