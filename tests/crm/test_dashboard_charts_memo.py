"""The dashboard's two charts are memoised (#16) and never served stale: a write of what the
user may read, made where this process cannot see it (another host of the same database),
the clock passing the end of a meeting or the first anniversary of its start, the month
changing, each gives a new answer at once; in between, the charts are read once. Runs on
SQLite, and on PostgreSQL when MAILLAGE_TEST_DATABASE_URL is set."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
from piccolo.table import Table

from maillage import db, row_security
from maillage.crm import dashboard as board
from maillage.crm import scope as territory_scope
from maillage.french import PARIS
from maillage.tables import (
    Affiliation,
    Axis,
    Contact,
    Invitation,
    Meeting,
    Organisation,
    OrganisationAxis,
    Territory,
    WorkingGroup,
)

NOW = dt.datetime(2026, 11, 18, 13, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
SECOND = dt.timedelta(seconds=1)


async def _insert(table: type[Table], rows: list[dict[str, Any]]) -> list[int]:
    done = await table.insert(*(table(**row) for row in rows)).returning(table.id).run()
    return [row["id"] for row in done]


async def _territory(n: int) -> dict[str, int]:
    """A territory with a town hall on an axis, its one person, and its COPIL."""
    axis = (await Axis.select(Axis.id).order_by(Axis.position).first())["id"]
    (territory,) = await _insert(Territory, [{"name": f"T{n}", "siren": f"2000000{n:02d}"}])
    (mairie,) = await _insert(
        Organisation, [{"name": f"Mairie {n}", "kind": "collectivite", "territory": territory}]
    )
    await _insert(OrganisationAxis, [{"organisation": mairie, "axis": axis}])
    (person,) = await _insert(
        Contact, [{"first_name": "Anne", "last_name": f"Nom {n}", "territory": territory}]
    )
    await _insert(Affiliation, [{"contact": person, "organisation": mairie}])
    (body,) = await _insert(
        WorkingGroup, [{"name": f"COPIL {n}", "kind": "copil", "territory": territory}]
    )
    return {"territory": territory, "person": person, "body": body}


async def _meeting(place: dict[str, int], starts: dt.datetime, ends: dt.datetime) -> int:
    """A meeting of the territory's body where its person was present."""
    (meeting,) = await _insert(
        Meeting,
        [
            {
                "working_group": place["body"],
                "title": "Réunion",
                "starts_at": starts,
                "ends_at": ends,
                "ical_uid": f"{place['body']}-{starts.isoformat()}@test",
            }
        ],
    )
    await _insert(
        Invitation,
        [
            {
                "meeting": meeting,
                "contact": place["person"],
                "token_nonce": "x",
                "attendance": "present",
            }
        ],
    )
    return meeting


async def _charts(now: dt.datetime, roles: dict[int, str] | None = None) -> tuple[int, int, int]:
    """(invitations noted, of them present, partners mobilised) as the dashboard at ``now``
    shows them to an administrator, or to a user of ``roles``."""
    scope = None if roles is None else territory_scope.Scope(roles)
    with territory_scope.entered(scope):
        data = await board.dashboard(now, now.astimezone(PARIS).date())
    rows = data["attendance_chart"]["rows"]
    noted = sum(row["noted"] for row in rows)
    present = sum(round(row["noted"] * row["rate"] / 100) for row in rows if row["rate"])
    return noted, present, sum(row["partners"] for row in data["axis_chart"]["rows"])


async def _write_elsewhere(database: str, sql: str) -> None:
    """A write this process is not told of: on PostgreSQL through a connection of its own, as
    another host of the service would write; on SQLite by raw SQL, past every service."""
    if db.is_sqlite():
        await db.current_engine().run_ddl(sql)
        return
    connection = await asyncpg.connect(database)
    try:
        # As the service's own work: every row (`row_security`), else the policies hide them.
        await connection.execute(row_security.set_config_sql(row_security.EVERY_TERRITORY, False))
        assert (await connection.execute(sql)) != "UPDATE 0"
    finally:
        await connection.close()


async def test_the_charts_are_read_once_until_a_write_made_elsewhere(database):
    place = await _territory(1)
    await _meeting(place, NOW - dt.timedelta(days=7), NOW - dt.timedelta(days=7) + 2 * 60 * MINUTE)
    before = board.CHARTS.computations
    assert await _charts(NOW) == (1, 1, 1)
    assert await _charts(NOW + MINUTE) == (1, 1, 1)
    assert board.CHARTS.computations == before + 1  # the second from the memo

    await _write_elsewhere(database, "UPDATE invitation SET attendance = 'absent'")
    assert await _charts(NOW + MINUTE) == (1, 0, 0)
    assert board.CHARTS.computations == before + 2


async def test_a_meeting_enters_the_attendance_chart_the_second_it_is_over(database):
    """Not at the next hour nor the next day: at its end."""
    place = await _territory(1)
    ends = NOW + 20 * MINUTE
    await _meeting(place, NOW - 60 * MINUTE, ends)
    before = board.CHARTS.computations
    assert await _charts(NOW) == (0, 0, 1)  # under way: its partner is mobilised already
    assert await _charts(ends) == (0, 0, 1)  # over once its end is past
    assert board.CHARTS.computations == before + 1
    assert await _charts(ends + SECOND) == (1, 1, 1)
    # A host whose clock is behind, or the same after a correction: the meeting is not over.
    assert await _charts(NOW) == (0, 0, 1)


async def test_a_partner_leaves_the_chart_a_year_after_the_meeting_started(database):
    place = await _territory(1)
    starts = NOW - board.CHART_YEAR + 10 * MINUTE
    await _meeting(place, starts, starts + 2 * 60 * MINUTE)
    before = board.CHARTS.computations
    assert (await _charts(NOW))[2] == 1
    assert (await _charts(NOW + 10 * MINUTE))[2] == 1  # started a year ago to the second
    assert board.CHARTS.computations == before + 1
    assert (await _charts(NOW + 10 * MINUTE + SECOND))[2] == 0


async def test_the_months_of_the_chart_change_at_midnight_in_paris(database):
    place = await _territory(1)
    await _meeting(place, NOW - dt.timedelta(days=7), NOW - dt.timedelta(days=7) + 60 * MINUTE)
    last_of_november = dt.datetime(2026, 11, 30, 23, 59, 59, tzinfo=PARIS)

    async def first_month(now: dt.datetime) -> dt.date:
        data = await board.dashboard(now, now.astimezone(PARIS).date())
        month: dt.date = data["attendance_chart"]["rows"][0]["month"]
        return month

    assert await first_month(last_of_november) == dt.date(2025, 12, 1)
    assert await first_month(last_of_november + SECOND) == dt.date(2026, 1, 1)


async def test_each_user_gets_the_charts_of_their_territories(database):
    """The memo's key holds what the user may see, and their data version: a write in another
    territory leaves their charts kept."""
    first, second = await _territory(1), await _territory(2)
    for place in (first, second):
        await _meeting(place, NOW - dt.timedelta(days=7), NOW - dt.timedelta(days=7) + MINUTE)
    theirs = {first["territory"]: "coordinateur"}
    assert await _charts(NOW, theirs) == (1, 1, 1)
    assert await _charts(NOW) == (2, 2, 2)
    before = board.CHARTS.computations
    await _write_elsewhere(
        database, f"UPDATE invitation SET attendance = 'absent' WHERE contact = {second['person']}"
    )
    assert await _charts(NOW, theirs) == (1, 1, 1)
    assert board.CHARTS.computations == before  # another territory's write
    assert await _charts(NOW) == (2, 1, 1)
    assert board.CHARTS.computations == before + 1


async def test_past_the_reach_of_its_window_the_charts_are_read_again(database, monkeypatch):
    """No meeting near ``now``: the answer holds within `WINDOW_REACH`, then is read again."""
    reach = dt.timedelta(hours=1)
    monkeypatch.setattr(board, "WINDOW_REACH", reach)
    await _territory(1)
    before = board.CHARTS.computations
    assert await _charts(NOW) == (0, 0, 0)
    assert await _charts(NOW + reach) == (0, 0, 0)
    assert board.CHARTS.computations == before + 1
    assert await _charts(NOW + reach + SECOND) == (0, 0, 0)
    assert board.CHARTS.computations == before + 2
