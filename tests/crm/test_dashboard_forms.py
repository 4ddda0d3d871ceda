"""The dashboard's two forms give the same answers (#20): an unscoped user's (an
administrator) reads in one statement each, a scoped user's step by step from their own rows.
Both forms run here on the demo's data, unscoped and scoped, on SQLite and on PostgreSQL when
MAILLAGE_TEST_DATABASE_URL is set."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from maillage.crm import dashboard as board
from maillage.crm import scope as territory_scope
from maillage.crm.demo.loader import load_demo
from maillage.db import read_transaction
from maillage.tables import Invitation, Meeting, OutboxMessage, Territory

TODAY = dt.date(2026, 11, 29)
NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
async def demo(database):
    await load_demo(seed=3, today=TODAY)
    # A meeting started on the first instant of a month in Paris (the day before in UTC), its
    # attendance noted: on the bound, it belongs to that month in both forms.
    first = await Meeting.select(Meeting.id).order_by(Meeting.starts_at).first()
    bound = dt.datetime(2026, 6, 1, tzinfo=board.french.PARIS)
    await Meeting.update(
        {Meeting.starts_at: bound, Meeting.ends_at: bound + dt.timedelta(hours=2)}
    ).where(Meeting.id == first["id"])
    await Invitation.update({Invitation.attendance: "present"}).where(
        Invitation.meeting == first["id"]
    )


def _scopes() -> list[str]:
    return ["unscoped", "territory", "elsewhere"]


async def _entered(which: str) -> territory_scope.Scope | None:
    if which == "unscoped":
        return None
    territory = await Territory.select(Territory.id).first()
    # « elsewhere »: a territory id holding nothing, only the shared rows are seen.
    chosen = territory["id"] if which == "territory" else territory["id"] + 1000
    return territory_scope.Scope({chosen: "coordinateur"})


@pytest.mark.parametrize("which", _scopes())
async def test_the_attendance_chart_counts_the_same_in_both_forms(demo, which):
    since, _months, bounds = board.chart_months(TODAY)
    with territory_scope.entered(await _entered(which)):
        async with read_transaction():
            grouped = await board._attendance_grouped(since, NOW, bounds)
            stepped = await board._attendance_in_two_steps(since, NOW, bounds)
            chart = await board._attendance_by_month(NOW, TODAY)
    assert dict(grouped) == dict(stepped)
    assert [row["noted"] for row in chart] == [grouped[i][0] for i in range(len(bounds))]
    if which != "elsewhere":
        assert sum(noted for noted, _present in grouped.values()) > 0
        june = [row for row in chart if row["month"] == dt.date(2026, 6, 1)]
        assert june[0]["noted"] > 0
    else:
        assert not any(noted for noted, _present in grouped.values())


async def test_partners_by_axis_in_both_forms(demo):
    since = NOW - dt.timedelta(days=365)
    async with read_transaction():
        grouped = await board._partners_grouped(since)
        stepped = await board._partners_in_steps(since)
    assert grouped == stepped and sum(grouped.values()) > 0


def _comparable(todo: dict[str, list[dict[str, Any]]]) -> dict[str, list[tuple[Any, ...]]]:
    return {
        kind: [(m["id"], m["starts_at"], m["attendance_noted"], m["minutes_sent"]) for m in rows]
        for kind, rows in todo.items()
        if kind in ("attendance", "minutes")
    }


@pytest.mark.parametrize("days", [0, 40])
async def test_meetings_to_follow_up_in_both_forms(demo, days):
    """The latest meetings whose attendance is to note, and whose minutes are to send: one
    of them has its minutes sent (out of the list); more minutes are due than the dashboard
    shows today, attendance to note at +40 days."""
    now = NOW + dt.timedelta(days=days)
    since = now - dt.timedelta(days=board.FOLLOW_UP_DAYS)
    async with read_transaction():
        before = board._todo([], await board._held_in_steps(now, since), [], [])
    sent = before["minutes"][0]["id"]
    invitation = await Invitation.select(Invitation.id).where(Invitation.meeting == sent).first()
    await OutboxMessage.insert(
        OutboxMessage(
            kind="compte_rendu",
            recipient="x@example.org",
            subject="Compte rendu",
            message_id="<cr@maillage.example>",
            invitation=invitation["id"],
        )
    )
    async with read_transaction():
        stepped = board._todo([], await board._held_in_steps(now, since), [], [])
        grouped = board._todo([], await board._held_to_follow_up(now, since), [], [])
        shown = board._todo([], await board._recently_held(now), [], [])
    assert _comparable(grouped) == _comparable(stepped) == _comparable(shown)
    assert sent not in [m["id"] for m in grouped["minutes"]]
    if days:  # the other list, at +40 days
        assert grouped["attendance"]
    else:  # more were due than the dashboard shows: the next one comes in
        assert len(grouped["minutes"]) == board.TODO_SHOWN
