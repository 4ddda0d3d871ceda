"""The tableau de bord's counts of a scoped user read one index each (#16, migration
2026-12-10T04:00): without statistics SQLite chose the ``archived`` index and looked up the
territory of every row not archived of the instance."""

from __future__ import annotations

import pytest

from maillage import db
from maillage.tables import Contact, Organisation


@pytest.mark.parametrize(
    ("table", "index"),
    [(Contact, "contact_territory_archived"), (Organisation, "organisation_territory_archived")],
)
async def test_the_counts_by_territory_read_the_territory_and_archived_index(
    database, table, index
):
    if not db.is_sqlite():
        pytest.skip("SQLite's plan: PostgreSQL chooses by its statistics")
    for territory in (table.territory.is_null(), table.territory.is_in([1, 2])):
        query = table.count().where((table.archived == False) & territory)  # noqa: E712
        sql, args = query.querystrings[0].compile_string(engine_type="sqlite")
        plan = await table.raw("EXPLAIN QUERY PLAN " + sql.replace("?", "{}"), *args)
        details = " ".join(row["detail"] for row in plan)
        assert f"COVERING INDEX {index}" in details, details
