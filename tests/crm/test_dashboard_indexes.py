"""The tableau de bord's counts of a scoped user read one index each (#16, migration
2026-12-10T04:00): without statistics SQLite chose the ``archived`` index and looked up the
territory of every row not archived of the instance."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from maillage import db
from maillage.tables import Contact, Invitation, Organisation


@contextlib.contextmanager
def _caught() -> Iterator[list[Any]]:
    """The query strings the engine runs meanwhile, as Piccolo hands them to it."""
    statements: list[Any] = []
    engine_type = type(db.current_engine())
    original = engine_type.run_querystring

    async def catching(self, querystring, *args, **kwargs):  # type: ignore[no-untyped-def]
        statements.append(querystring)
        return await original(self, querystring, *args, **kwargs)

    engine_type.run_querystring = catching  # type: ignore[method-assign]
    try:
        yield statements
    finally:
        engine_type.run_querystring = original  # type: ignore[method-assign]


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


async def test_the_charts_count_the_invitations_from_one_index(database):
    """#16, migration 2026-12-10T06:00: the administrator's charts count each meeting's noted,
    present invitations from the index (meeting, attendance, contact) alone, not each
    invitation's row (36,000 read on the ``departement`` demo)."""
    if not db.is_sqlite():
        pytest.skip("SQLite's plan: PostgreSQL chooses by its statistics")
    from maillage.crm import dashboard

    with _caught() as statements:
        now = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
        since, _, bounds = dashboard.chart_months(now.date())
        await dashboard._attendance_grouped(since, now, bounds)
        await dashboard._partners_grouped(now - dt.timedelta(days=365))
    assert statements  # a chart that stopped reading the database would pass unseen
    for statement in statements:
        sql, args = statement.compile_string(engine_type="sqlite")
        plan = await Invitation.raw("EXPLAIN QUERY PLAN " + sql.replace("?", "{}"), *args)
        details = " ".join(row["detail"] for row in plan)
        assert "COVERING INDEX invitation_meeting_attendance" in details, details


async def test_late_decisions_are_joined_once_chosen(database):
    """#16: the late decisions are chosen (the first by due date) before being joined to their
    meeting, body, carrier and fiche action; joined first, SQLite read those rows for every
    open decision before sorting (2,000 on the ``departement`` demo)."""
    if not db.is_sqlite():
        pytest.skip("SQLite's plan: PostgreSQL chooses by its statistics")
    from maillage.crm import decisions

    with _caught() as statements:
        assert await decisions.late(dt.date(2026, 11, 29)) == []
    (statement,) = [s for s in statements if '"decision"' in str(s)]
    sql, args = statement.compile_string(engine_type="sqlite")
    plan = await Invitation.raw("EXPLAIN QUERY PLAN " + sql.replace("?", "{}"), *args)
    details = [row["detail"] for row in plan]
    assert details[0] == "SEARCH decision USING INTEGER PRIMARY KEY (rowid=?)", details
    assert "LIST SUBQUERY 1" in details, details


async def test_a_partner_s_attended_meetings_are_counted_from_one_index(database):
    """#16, migration 2026-12-10T12:00: a partner's page counts the meetings its people
    attended from the index (contact, attendance, meeting) alone, not each invitation's row
    (the Caf of the ``departement`` demo: 7 ms of its 22 ms page on SQLite, 4 ms after)."""
    if not db.is_sqlite():
        pytest.skip("SQLite's plan: PostgreSQL chooses by its statistics")
    from maillage.crm import views

    sql = views._MEETINGS_AND_TOTALS.format(
        org=1,
        visible="",
        limit="LIMIT 10",
        seen_contact="",
        seen_partner="",
        seen_organisation="",
        seen_group="",
    )
    plan = await Invitation.raw("EXPLAIN QUERY PLAN " + sql)
    details = [row["detail"] for row in plan if "invitation" in row["detail"]]
    assert details == [
        "SEARCH invitation USING COVERING INDEX invitation_contact_attendance "
        "(contact=? AND attendance=?)"
    ], details


# The indexes of the two halves of a scoped count of partners (`resources.scope_halves`): the
# user's territories' rows, the shared ones of their départements; and the one PostgreSQL
# also counts a half along on some statistics, ``(archived, territory)`` (the suite's
# database in CI, migration 2026-12-10T17:30).
COUNT_INDEXES = [
    "{table}_territory_archived",
    "{table}_shared_departement",
    "{table}_archived_territory",
]


@pytest.mark.parametrize("table", ["contact", "organisation"])
async def test_a_scoped_count_of_partners_can_be_answered_from_the_index_under_the_policies(
    database: str, table: str
) -> None:
    """#20, migration 2026-12-10T17:00: the policy of a partner reads ``territory`` and
    ``departement``; each count index holds both (keys or ``INCLUDE``), so that a scoped count
    tests the policy on the index's entries (an index-only scan) instead of reading each row
    (×5 for a Caf adviser's 4,608 contacts, bench/README.md). Checked on the indexes
    themselves: which index PostgreSQL picks on a test database depends on its statistics."""
    if db.is_sqlite():
        pytest.skip("SQLite has no policy: its counts are tested above")
    from maillage import row_security

    rule = row_security.PROTECTED[table]
    assert isinstance(rule, row_security.Own) and rule.departement is not None
    read_by_the_policy = {rule.column, rule.departement, "archived"}
    for index in COUNT_INDEXES:
        name = index.format(table=table)
        rows = await db.current_engine().run_ddl(
            "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
            f"WHERE c.relname = '{name}'"
        )
        held = {row["attname"] for row in rows}
        assert read_by_the_policy <= held, (name, held)
