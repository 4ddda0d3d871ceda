"""The tableau de bord: what needs doing this week (each with its action), key figures, the
coming meetings, the answers awaited, the alerts and two small charts.

One read transaction and a bounded number of statements, whatever the size of the network:
one per block (the key figures together, each chart's steps as materialised common table
expressions of one statement, #16). A user scoped to
territories (#20) sees the figures, meetings, fiches action and attendance of their
territories and the shared ones, by the rule of the generic services (`scoped`); each read
starts from the user's own rows, so that its cost follows their territories, not the
instance's (bench/README.md, « Per-territory pages »). The two charts are memoised by the data
version and the instants between which their answer holds (`_charts`, #16).
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from piccolo.columns.combination import WhereRaw
from piccolo.query.functions.aggregate import Count
from piccolo.querystring import QueryString
from piccolo.table import Table

from maillage import french
from maillage.crm import caches, versions
from maillage.crm import scope as territory_scope
from maillage.crm.registry import SERVICES, scoped
from maillage.crm.resources import own_key, shared_parts
from maillage.db import Prepared, gathered_order, is_sqlite, read_transaction
from maillage.tables import (
    Action,
    Affiliation,
    Axis,
    Contact,
    Invitation,
    Meeting,
    Organisation,
    OrganisationAxis,
    Partnership,
    WorkingGroup,
)
from maillage.vocabulary import CANCELLED, IN_PROGRESS, PENDING, PRESENT, TO_START

UPCOMING_DAYS = 30
DSP_NOTICE_MONTHS = 6
MAX_UPCOMING = 50
# Meetings held this long ago still call for attendance or minutes; older ones are history.
FOLLOW_UP_DAYS = 60
TODO_SHOWN = 8  # per kind of task: the page stays short, the full list is one click away
CHART_MONTHS = 12
CHART_YEAR = dt.timedelta(days=365)  # the partners' chart: meetings started since then

# The dashboard's statements built and compiled once per shape (`db.Prepared`): a shape is the
# statement and the user's territories and départements (its scope rule's values), run with
# new dates. Building
# them through Piccolo was half the CPU of a coordinator's dashboard (#16).
_KEPT: OrderedDict[Hashable, Prepared[Any]] = OrderedDict()
_KEPT_MAX = 512


def _kept(name: Hashable, build: Callable[..., Any]) -> Prepared[Any]:
    """The prepared statement ``name`` for the request's user (`_KEPT`), built by ``build``
    (its parameters: the values that change from one request to the next). Users of more
    shapes than `_KEPT_MAX`: the least recently used statements go, the others stay."""
    current = territory_scope.current()
    # The scope rule's SQL holds the territories and their départements as constants.
    key = (name, None if current is None else (tuple(current.territories), current.departements))
    prepared = _KEPT.get(key)
    if prepared is None:
        prepared = _KEPT[key] = Prepared(build)
        if len(_KEPT) > _KEPT_MAX:
            _KEPT.popitem(last=False)
    else:
        _KEPT.move_to_end(key)
    return prepared


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day ``months`` later, clamped to the end of a shorter month (31 Aug + 6 = 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def annual_report_reminder(today: dt.date) -> dict[str, Any] | None:
    """From 1 December to 31 January: the activity report of the year is due to the Caf."""
    if today.month == 12:
        year = today.year
    elif today.month == 1:
        year = today.year - 1
    else:
        return None
    due = dt.date(year + 1, 1, 31)
    return {"year": year, "due": due, "days_left": (due - today).days}


async def dashboard(now: dt.datetime, today: dt.date) -> dict[str, Any]:
    horizon = now + dt.timedelta(days=UPCOMING_DAYS)
    async with read_transaction():
        # The data version first (read with the figures): what follows is at least as new.
        figures, version = await _figures(now, horizon)
        meetings = await _upcoming_meetings(now, horizon)
        answers = await _answers(meetings)
        contracts = await _dsp_contracts_ending(today)
        held = await _recently_held(now)
        late = await _late_actions(today)
        attendance, mobilised = await _charts(version, now, today)
        bounced = await _bounced_addresses()
    for meeting in meetings:
        meeting["answers"] = answers.get(meeting["id"], {})
    awaited = [m for m in meetings if m["answers"].get(PENDING)]
    return {
        "figures": figures,
        "meetings": meetings,
        "awaited": awaited,
        "awaited_total": sum(m["answers"][PENDING] for m in awaited),
        "dsp_contracts": contracts,
        "annual_report": annual_report_reminder(today),
        "upcoming_days": UPCOMING_DAYS,
        "dsp_notice_months": DSP_NOTICE_MONTHS,
        "todo": _todo(awaited, held, late, bounced),
        "attendance_chart": {"rows": attendance, "description": _attendance_text(attendance)},
        "axis_chart": {
            "rows": mobilised,
            "description": _axis_text(mobilised),
            "maximum": max((row["partners"] for row in mobilised), default=0),
        },
    }


def _attendance_text(rows: list[dict[str, Any]]) -> str:
    """The chart in a sentence, for those who do not see it."""
    months = [f"{row['name']} : {row['rate']} %" for row in rows if row["rate"] is not None]
    if not months:
        return "Aucune présence notée sur les douze derniers mois."
    return (
        "Part des personnes présentes parmi celles dont la présence a été notée, par mois : "
        + ", ".join(months)
        + "."
    )


def _axis_text(rows: list[dict[str, Any]]) -> str:
    parts = [f"{row['axis']} : {row['partners']}" for row in rows]
    return (
        "Nombre de partenaires dont quelqu'un a assisté à une réunion, par axe de la CTG : "
        + ", ".join(parts)
        + "."
    )


def _todo(
    awaited: list[dict[str, Any]],
    held: list[dict[str, Any]],
    late: list[dict[str, Any]],
    bounced: list[dict[str, Any]],
) -> dict[str, list[dict[str, Any]]]:
    """This week's tasks by kind, each row carrying what its one-click action needs."""
    return {
        "remind": awaited[:TODO_SHOWN],
        "attendance": [m for m in held if not m["attendance_noted"]][:TODO_SHOWN],
        "minutes": [m for m in held if m["attendance_noted"] and not m["minutes_sent"]][
            :TODO_SHOWN
        ],
        "late_actions": late[:TODO_SHOWN],
        "bounced": bounced,
    }


async def _bounced_addresses() -> list[dict[str, Any]]:
    """Contacts whose address a server refused for good (#19), latest first: nothing reaches
    them until the address is corrected."""
    return list(await _kept("bounced", _bounced_statement)().run())


def _bounced_statement() -> Any:
    return (
        scoped(
            Contact.select(
                Contact.id,
                Contact.first_name,
                Contact.last_name,
                Contact.email,
                Contact.email_bounced_at,
                Contact.email_bounce_reason,
            ),
            "contacts",
        )
        .where(Contact.email_bounced_at.is_not_null() & (Contact.archived == False))  # noqa: E712
        # Through the partial index of the refused addresses (a few rows), not every contact
        # not archived sorted by date: SQLite without statistics took the `archived` index
        # (the territory's or the instance's contacts read, 3–15 ms; #16).
        .where(
            Contact.id.is_in(
                Contact.select(Contact.id).where(Contact.email_bounced_at.is_not_null())
            )
        )
        .order_by(Contact.email_bounced_at, ascending=False)
        .limit(TODO_SHOWN)
    )


async def _recently_held(now: dt.datetime) -> list[dict[str, Any]]:
    """Meetings over in the last weeks, not cancelled, that had invitees, with whether their
    attendance is noted and their minutes sent."""
    since = now - dt.timedelta(days=FOLLOW_UP_DAYS)
    if territory_scope.current() is None:
        return await _held_to_follow_up(now, since)
    return await _held_in_steps(now, since)


async def _held_in_steps(now: dt.datetime, since: dt.datetime) -> list[dict[str, Any]]:
    """A scoped user's `_recently_held`: their meetings of the last weeks that had invitees,
    each with whether its attendance is noted and its minutes sent, tested on the meeting's
    invitations through their index (one statement, #16; three before, the meetings' ids sent
    back twice)."""
    meetings = await _kept("held", _held_statement)(now, since).run()
    for meeting in meetings:
        meeting["attendance_noted"] = bool(meeting["attendance_noted"])
        meeting["minutes_sent"] = bool(meeting["minutes_sent"])
    return list(meetings)


def _held_statement(now: Any, since: Any) -> Any:
    select = Meeting.select(
        Meeting.id,
        Meeting.title,
        Meeting.starts_at,
        Meeting.attendance_count,
        QueryString(_NOTED, alias="attendance_noted"),
        QueryString(_MINUTES_SENT, alias="minutes_sent"),
    )
    return (
        scoped(select, "meetings")
        .where((Meeting.ends_at < now) & (Meeting.ends_at >= since))
        .where(Meeting.status != CANCELLED)
        # Nobody was invited: nothing to note, nobody to send minutes to.
        .where(WhereRaw(_INVITED))
        .order_by(Meeting.starts_at, ascending=False)
    )


# Correlated conditions on the meeting of the row (`_held_to_follow_up`).
_INVITED = 'EXISTS (SELECT 1 FROM "invitation" i WHERE i."meeting" = "meeting"."id")'
_NOTED = (
    '("meeting"."attendance_count" IS NOT NULL OR EXISTS (SELECT 1 FROM "invitation" i '
    'WHERE i."meeting" = "meeting"."id" AND i."attendance" IS NOT NULL))'
)
_MINUTES_SENT = (
    'EXISTS (SELECT 1 FROM "invitation" i JOIN "outbox_message" o ON o."invitation" = i."id" '
    'WHERE i."meeting" = "meeting"."id" AND o."kind" = \'compte_rendu\')'
)


async def _held_to_follow_up(now: dt.datetime, since: dt.datetime) -> list[dict[str, Any]]:
    """An unscoped user's (an administrator) `_recently_held`: only what `_todo` shows, the
    latest `TODO_SHOWN` meetings whose attendance is to note and those whose minutes are to
    send, each a statement over the weeks' meetings that checks each through the invitations'
    index. Step by step, every meeting of those weeks came back with its invitations counted,
    each id sent back in a list: 2.1 s on 42 départements (#20)."""
    # The weeks' meetings gathered through the index of their end, then sorted: walking the
    # index of their start from now, PostgreSQL read every meeting ever held when few or none
    # were left to follow up (41,520 on ten départements, migration 2026-12-10T02:30).
    held: list[dict[str, Any]] = []
    for noted, sent in ((False, False), (True, False)):
        conditions = [_INVITED, _NOTED if noted else f"NOT {_NOTED}"]
        if noted:
            conditions.append(f"NOT {_MINUTES_SENT}")
        build = _follow_up_statement(" AND ".join(conditions))
        rows = await _kept(("follow_up", noted), build)(now, since).run()
        held += [{**row, "attendance_noted": noted, "minutes_sent": sent} for row in rows]
    return sorted(held, key=lambda meeting: meeting["starts_at"], reverse=True)


def _follow_up_statement(conditions: str) -> Callable[[Any, Any], Any]:
    """`_held_to_follow_up`'s statement of the meetings meeting ``conditions``."""

    def build(now: Any, since: Any) -> Any:
        latest = Meeting.starts_at if is_sqlite() else gathered_order(Meeting.starts_at)
        return (
            Meeting.select(Meeting.id, Meeting.title, Meeting.starts_at, Meeting.attendance_count)
            .where(
                (Meeting.ends_at < now) & (Meeting.ends_at >= since) & (Meeting.status != CANCELLED)
            )
            .where(WhereRaw(conditions))
            .order_by(latest, ascending=False)
            .limit(TODO_SHOWN)
        )

    return build


async def _late_actions(today: dt.date) -> list[dict[str, Any]]:
    """Fiches action still « à lancer » or « en cours » after their end date."""

    def build(today: Any) -> Any:
        return (
            scoped(
                Action.select(Action.id, Action.title, Action.status, Action.end_date), "actions"
            )
            .where(Action.status.is_in([TO_START, IN_PROGRESS]) & (Action.end_date < today))
            .order_by(Action.end_date)
        )

    rows: list[dict[str, Any]] = await _kept("late_actions", build)(today).run()
    return rows


# ----- the two charts, memoised (#16) -------------------------------------------------------
# An administrator's charts count the whole département's meetings, invitations and partners:
# most of their dashboard (26–29 ms on SQLite, of which 16 ms the two charts). Their answer
# changes with three things only, each in the memo's key or check:
# - the data the user may read: the data version (`versions.summed`), read from the database
#   with the key figures, so that every process of the service, on every host of one
#   PostgreSQL, sees a write the moment it is committed;
# - the chart's twelve months: those of the month of ``today``;
# - the clock: a meeting that ends enters the attendance chart, a meeting started a year ago
#   leaves the partners'. An answer is kept with the instants between which it holds, read
#   from the meetings' dates (`_chart_window`), not for an hour or a day: a meeting ending
#   at 14:20 is in the chart at 14:21.

CHARTS_KEPT = 64
# How far from ``now`` a window's bounds are looked for: a read of the meetings' date indexes
# bounded whatever the history (under PostgreSQL's policies a scoped user's walk would
# otherwise skip every other territory's meetings); past it the charts are computed again.
WINDOW_REACH = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class KeptCharts:
    attendance: list[dict[str, Any]]
    mobilised: list[dict[str, Any]]
    after: dt.datetime  # the answer holds at every instant ``now`` with after < now <= until
    until: dt.datetime


class ChartMemo:
    """The charts' answers by (data version, user's scope, month), least recently used out,
    each served only within its window."""

    def __init__(self, entries: int = CHARTS_KEPT) -> None:
        self._entries = entries
        self._kept: OrderedDict[Hashable, KeptCharts] = OrderedDict()
        self.computations = 0  # how many times the charts were read (tests check the memo)
        caches.on_erasure(self.forget)

    def forget(self) -> None:
        self._kept.clear()

    def get(self, key: Hashable, now: dt.datetime) -> KeptCharts | None:
        kept = self._kept.get(key)
        if kept is None or not kept.after < now <= kept.until:
            return None
        self._kept.move_to_end(key)
        return kept

    def keep(self, key: Hashable, charts: KeptCharts) -> None:
        self._kept[key] = charts
        self._kept.move_to_end(key)
        while len(self._kept) > self._entries:
            self._kept.popitem(last=False)


CHARTS = ChartMemo()


async def _charts(
    version: int, now: dt.datetime, today: dt.date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The attendance chart's rows and the partners' by axis, from the memo when it holds them
    for this version, user, month and instant."""
    # What the user may see is part of the answer, as in every memo (`caches.scope_key`).
    key = (version, caches.scope_key(), today.year, today.month)
    kept = CHARTS.get(key, now)
    if kept is None:
        CHARTS.computations += 1
        after, until = await _chart_window(now, today)
        attendance = await _attendance_by_month(now, today)
        mobilised = await _partners_mobilised_by_axis(now)
        kept = KeptCharts(attendance, mobilised, after, until)
        CHARTS.keep(key, kept)
    # Copies: whoever adds to a row of the page adds nothing to the kept answer.
    return [dict(row) for row in kept.attendance], [dict(row) for row in kept.mobilised]


async def _chart_window(now: dt.datetime, today: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The instants (after, until] at which the charts read the same meetings as at ``now``.

    The attendance chart reads its months' meetings over before ``now`` (not cancelled): the
    same from the last of them to end before ``now`` (excluded) to the next to end (included:
    a meeting is over once its end is past). The partners' chart reads the meetings started
    since a year before ``now``: the same until the first of them is a year old (included), and
    back to a year after the last one started before. Each looked for within `WINDOW_REACH`
    (none there: the reach is the bound). The window's meetings are read without the user's
    scope: more meetings, a window as short or shorter, never wrong."""
    since, _months, _bounds = chart_months(today)
    year_ago = now - CHART_YEAR
    floor = max(since, now - WINDOW_REACH)
    statement = _WINDOW(
        now,
        since,
        floor,
        now + WINDOW_REACH,
        year_ago,
        year_ago - WINDOW_REACH,
        year_ago + WINDOW_REACH,
    )
    (row,) = await statement.run()
    ended, ends, dropped, kept = (
        _moment(row[name]) for name in ("ended", "ends", "dropped", "kept")
    )
    after = max(ended or floor, now - WINDOW_REACH if dropped is None else dropped + CHART_YEAR)
    until = min(
        now + WINDOW_REACH if ends is None else ends,
        now + WINDOW_REACH if kept is None else kept + CHART_YEAR,
    )
    return after, until


def _window_statement(
    now: Any,
    since: Any,
    floor: Any,
    ends_by: Any,
    year_ago: Any,
    started_from: Any,
    started_by: Any,
) -> Any:
    """`_chart_window`'s four bounds, each the first row of a meetings' date index in a range
    of `WINDOW_REACH`: one statement."""
    charted = (Meeting.starts_at >= since) & (Meeting.status != CANCELLED)

    def first(where: Any, column: Any, ascending: bool) -> Any:
        return Meeting.select(column).where(where).order_by(column, ascending=ascending).limit(1)

    bounds = {
        "ended": first(
            charted & (Meeting.ends_at >= floor) & (Meeting.ends_at < now), Meeting.ends_at, False
        ),
        "ends": first(
            charted & (Meeting.ends_at >= now) & (Meeting.ends_at <= ends_by), Meeting.ends_at, True
        ),
        "dropped": first(
            (Meeting.starts_at >= started_from) & (Meeting.starts_at < year_ago),
            Meeting.starts_at,
            False,
        ),
        "kept": first(
            (Meeting.starts_at >= year_ago) & (Meeting.starts_at <= started_by),
            Meeting.starts_at,
            True,
        ),
    }
    sql = ", ".join(f'({{}}) AS "{name}"' for name in bounds)
    return Meeting.raw(f"SELECT {sql}", *[query.querystrings[0] for query in bounds.values()])


_WINDOW: Prepared[Any] = Prepared(_window_statement)


def _moment(value: Any) -> dt.datetime | None:
    """A timestamp read by a raw statement: text on SQLite, a datetime on PostgreSQL."""
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, dt.datetime)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _month_start(day: dt.date, back: int) -> dt.date:
    return add_months(day.replace(day=1), -back)


async def _attendance_by_month(now: dt.datetime, today: dt.date) -> list[dict[str, Any]]:
    """Attendance rate of the meetings held in each of the last twelve months (present among
    those whose attendance was noted); ``None`` for a month without any."""
    since, months, bounds = chart_months(today)
    if territory_scope.current() is None:
        counts = await _attendance_grouped(since, now, bounds)
    else:
        counts = await _attendance_in_two_steps(since, now, bounds)
    return [
        {
            "month": month,
            "label": f"{french.MONTHS_ABBREVIATED[month.month - 1]} {month:%y}",
            "name": f"{french.MONTHS[month.month - 1]} {month.year}",
            "noted": counts[index][0],
            "rate": round(100 * counts[index][1] / counts[index][0]) if counts[index][0] else None,
        }
        for index, month in enumerate(months)
    ]


def chart_months(today: dt.date) -> tuple[dt.datetime, list[dt.date], list[dt.datetime]]:
    """The chart's first instant, its twelve months, and the first instant of each in Paris:
    a meeting belongs to the last month not after its start."""
    first = _month_start(today, CHART_MONTHS - 1)
    since = dt.datetime.combine(first, dt.time(), dt.UTC)
    months = [_month_start(today, back) for back in range(CHART_MONTHS - 1, -1, -1)]
    bounds = [dt.datetime.combine(month, dt.time(), french.PARIS) for month in months]
    return since, months, bounds


# Per month (its rank among the chart's): invitations whose attendance is noted, and present.
MonthCounts = dict[int, list[int]]


def _held_since(since: dt.datetime, now: dt.datetime, meeting: Any = Meeting) -> Any:
    """The chart's meetings: started since ``since``, over, not cancelled (``meeting``: the
    table, or the path to it through a join)."""
    return (meeting.starts_at >= since) & (meeting.ends_at < now) & (meeting.status != CANCELLED)


async def _attendance_in_two_steps(
    since: dt.datetime, now: dt.datetime, bounds: list[dt.datetime]
) -> MonthCounts:
    """A scoped user's: their meetings first, then their invitations counted by the database
    per month and answer (#20, #16). Joined without a step, PostgreSQL read the meetings by
    date over every territory (a Caf adviser's ten territories among 300: 29,000 meetings read
    for 700), and bringing back every invitation (17,000 on one département, 1.5 million for
    an administrator of the whole country) to convert each to Paris time was most of the page.
    The meetings are a materialised step of the same statement (`_steps`, #16): 24 rows back."""

    def build(since: Any, now: Any) -> Any:
        held = scoped(Meeting.select(Meeting.id), "meetings").where(_held_since(since, now))
        month = _month_rank(Invitation.meeting.starts_at, bounds)
        last = (
            scoped(Invitation.select(month, Invitation.attendance, Count(alias="n")), "invitations")
            .where(Invitation.attendance.is_not_null())
            .where(_in_step(Invitation.meeting, "held"))
            .group_by(QueryString('"month"'), Invitation.attendance)
        )
        return _steps({"held": held}, last)

    # The months' bounds are the same all month long: part of the shape.
    statement = _kept(("attendance", tuple(bounds)), build)
    return _by_month(await statement(since, now).run())


def _by_month(rows: list[dict[str, Any]]) -> MonthCounts:
    """Rows of (month's rank, attendance, n) as `MonthCounts`."""
    counts: MonthCounts = defaultdict(lambda: [0, 0])
    for row in rows:
        if row["month"] >= 0:
            counts[row["month"]][0] += row["n"]
            counts[row["month"]][1] += row["n"] if row["attendance"] == PRESENT else 0
    return counts


def _month_rank(column: Any, bounds: list[dt.datetime]) -> QueryString:
    """SQL: the rank of the last of ``bounds`` not after ``column``, -1 before the first (the
    bisection of `_attendance_in_two_steps`, made by the database on both engines)."""
    template = " ".join(f"WHEN {{}} >= {{}} THEN {rank}" for rank in reversed(range(len(bounds))))
    args: list[Any] = []
    for bound in reversed(bounds):
        args += [column, bound.astimezone(dt.UTC)]
    return QueryString(f"CASE {template} ELSE -1 END", *args, alias="month")


# Per meeting of the row: its invitations whose attendance is noted, and those present.
_NOTED_COUNT = (
    'SELECT COUNT(*) FROM "invitation" i WHERE i."meeting" = "meeting"."id" '
    'AND i."attendance" IS NOT NULL'
)
_PRESENT_COUNT = (
    'SELECT COUNT(*) FROM "invitation" i WHERE i."meeting" = "meeting"."id" AND i."attendance" = {}'
)


async def _attendance_grouped(
    since: dt.datetime, now: dt.datetime, bounds: list[dt.datetime]
) -> MonthCounts:
    """An unscoped user's (an administrator): one statement over the meetings held, each
    meeting's invitations counted through the index ``(meeting, attendance, contact)`` alone
    (migration 2026-12-10T06:00), then summed per month by the database, 12 rows back. The
    month is ranked once per meeting: ranked per invitation, then grouped, it was 36,000 rows
    joined and tested on the ``departement`` demo (27 → 6 ms of SQLite's CPU, #16). Step by
    step it was a statement per thousand meetings (about a hundred on ten départements, #20)."""

    def build(since: Any, now: Any) -> Any:
        month = _month_rank(Meeting.starts_at, bounds)
        select = Meeting.select(
            month,
            QueryString(f"SUM(({_NOTED_COUNT}))", alias="noted"),
            QueryString(f"SUM(({_PRESENT_COUNT}))", PRESENT, alias="present"),
        )
        # (An invitation is seen with its meeting: the rule of the « invitations » resource.)
        return (
            scoped(select, "meetings")
            .where(_held_since(since, now))
            .group_by(QueryString('"month"'))
        )

    rows = await _kept(("attendance_grouped", tuple(bounds)), build)(since, now).run()
    counts: MonthCounts = defaultdict(lambda: [0, 0])
    for row in rows:
        if row["month"] >= 0 and row["noted"]:
            counts[row["month"]] = [int(row["noted"]), int(row["present"])]
    return counts


async def _partners_mobilised_by_axis(now: dt.datetime) -> list[dict[str, Any]]:
    """Partners (organisations) with someone present at a meeting in the last twelve months,
    by axis of the CTG the partner works on.

    Read step by step from the user's meetings (#20): their invitations, the people present,
    their affiliations the user sees, the axes of those organisations; each step through an
    index from the previous one's ids. In one statement PostgreSQL went the other way, from
    every organisation the user sees (the shared ones of the whole country) to every invitation
    of their people: ten times the reads on ten départements. An unscoped user sees every row:
    theirs is one statement (`_partners_grouped`)."""
    since = now - CHART_YEAR
    if territory_scope.current() is None:
        by_axis = await _partners_grouped(since)
    else:
        by_axis = await _partners_in_steps(since)
    axes = await _kept(
        "axes", lambda: Axis.select(Axis.id, Axis.name).order_by(Axis.position)
    )().run()
    return [{"axis": axis["name"], "partners": by_axis.get(axis["id"], 0)} for axis in axes]


def _in_step(column: Any, step: str) -> WhereRaw:
    """``column`` is one of the ids kept by the earlier step ``step`` of a `_steps` statement."""
    return WhereRaw(
        f'"{column._meta.table._meta.tablename}"."{column._meta.db_column_name}" '
        f'IN (SELECT * FROM "{step}")'
    )


def _steps(steps: dict[str, Any], last: Any) -> Any:
    """``last`` run after ``steps`` (name: select of one column), each step a materialised
    common table expression read by the next (`_in_step`): the reads still go step by step
    from the user's own rows, each through an index from the previous one's ids, but in one
    statement (#16), without the ids going back and forth through Piccolo (hundreds of values
    converted one by one into each `IN` list)."""
    names = ", ".join(f'"{name}" AS MATERIALIZED ({{}})' for name in steps)
    return Organisation.raw(
        f"WITH {names} {{}}", *[q.querystrings[0] for q in [*steps.values(), last]]
    )


async def _partners_in_steps(since: dt.datetime) -> dict[int, int]:
    """A scoped user's: step by step from their meetings (`_partners_mobilised_by_axis`)."""
    rows = await _kept("partners", _partners_statement)(since).run()
    return {row["axis"]: row["n"] for row in rows}


def _partners_statement(since: Any) -> Any:
    """An affiliation is seen when its contact and its organisation are (the rule of the
    « affiliations » resource): each checked by its primary key, not by gathering every
    organisation the user sees."""
    steps = {
        "meetings": scoped(Meeting.select(Meeting.id), "meetings").where(
            Meeting.starts_at >= since
        ),
        "present": scoped(Invitation.select(Invitation.contact), "invitations")
        .where(Invitation.attendance == PRESENT)
        .where(_in_step(Invitation.meeting, "meetings")),
        "people": scoped(Contact.select(Contact.id), "contacts").where(
            _in_step(Contact.id, "present")
        ),
        "jobs": Affiliation.select(Affiliation.organisation).where(
            _in_step(Affiliation.contact, "people")
        ),
        "employers": scoped(Organisation.select(Organisation.id), "organisations").where(
            _in_step(Organisation.id, "jobs")
        ),
    }
    # (organisation, axis) is unique: a row counted is an organisation of the axis.
    last = (
        OrganisationAxis.select(OrganisationAxis.axis, Count(alias="n"))
        .where(_in_step(OrganisationAxis.organisation, "employers"))
        .group_by(OrganisationAxis.axis)
    )
    return _steps(steps, last)


async def _partners_grouped(since: dt.datetime) -> dict[int, int]:
    """An unscoped user's (an administrator): every row is theirs, so one statement, the
    organisations of the people present counted per axis by the database (8 rows back). Step
    by step it sent every id of the country back and forth (5.3 s on 42 départements, #20)."""
    rows = await _kept("partners_grouped", _partners_grouped_statement)(since).run()
    return {row["axis"]: row["n"] for row in rows}


def _partners_grouped_statement(since: Any) -> Any:
    # From the meetings of the year, each one's present read from the index (meeting,
    # attendance, contact) alone (migration 2026-12-10T06:00), not every invitation joined to
    # its meeting for its date (#16).
    held = Meeting.select(Meeting.id).where(Meeting.starts_at >= since)
    present = Invitation.select(Invitation.contact).where(
        (Invitation.attendance == PRESENT) & Invitation.meeting.is_in(held)
    )
    employers = Affiliation.select(Affiliation.organisation).where(
        Affiliation.contact.is_in(present)
    )
    # (organisation, axis) is unique: a row counted is an organisation of the axis.
    return (
        OrganisationAxis.select(OrganisationAxis.axis, Count(alias="n"))
        .where(OrganisationAxis.organisation.is_in(employers))
        .group_by(OrganisationAxis.axis)
    )


def _count_parts(table: type[Table], resource: str, where: Any) -> list[Any]:
    """The counts whose sum is how many rows of ``resource`` match ``where`` among those the
    user sees (`_figures` runs them in one statement).

    For a table holding its own territory, the shared rows and the user's are counted apart
    (#20): each count reads its part of the ``(archived, territory)`` index, where one count
    of « shared or theirs » read the index of every territory and filtered it (48,000
    organisations read for 1,200 on ten départements)."""
    current = territory_scope.current()
    rule = SERVICES[resource].spec.territorial
    keyed = rule is not None and own_key(table, rule) is not None
    if current is None or rule is None or rule.via is not None or keyed:
        # One condition of the key's index when the rows carry one (`resources.own_key`).
        return [scoped(table.count(), resource).where(where)]
    column = table._meta.get_column_by_name(rule.field)
    # The shared rows the user sees (of their départements and of none, #20), then theirs.
    shared = shared_parts(table, rule, current.territories, current.departements)
    parts = [*shared, column.is_in(current.territories)]
    return [table.count().where(where & part) for part in parts]


def _figures_statement(now: Any, horizon: Any) -> Any:
    counts = {
        "organisations": _count_parts(
            Organisation,
            "organisations",
            Organisation.archived == False,  # noqa: E712 - SQL expression
        ),
        "contacts": _count_parts(
            Contact,
            "contacts",
            Contact.archived == False,  # noqa: E712 - SQL expression
        ),
        "groups": _count_parts(
            WorkingGroup,
            "groups",
            (WorkingGroup.archived == False) & (WorkingGroup.active == True),  # noqa: E712
        ),
        "meetings": [
            scoped(Meeting.count(), "meetings").where(
                (Meeting.starts_at >= now)
                & (Meeting.starts_at < horizon)
                & (Meeting.status != CANCELLED)
            )
        ],
    }
    columns = [
        (name, at, query) for name, parts in counts.items() for at, query in enumerate(parts)
    ]
    sql = ", ".join(f'({{}}) AS "{name}_{at}"' for name, at, _ in columns)
    current = territory_scope.current()
    version = versions.summed(None if current is None else current.territories)
    return Organisation.raw(
        f'SELECT {sql}, {{}} AS "{_VERSION}"',
        *[query.querystrings[0] for _, _, query in columns],
        version,
    )


_VERSION = "data_version"  # the column of `_figures_statement` that is not a figure


async def _figures(now: dt.datetime, horizon: dt.datetime) -> tuple[dict[str, int], int]:
    """The key figures in one statement (#16): each count a subquery of its own, so that
    each keeps the plan it had alone (its part of an index), without a round trip, a
    transaction step and Piccolo's result handling per count (eight for a coordinator). Its
    columns are ``<figure>_<part>``: the parts of a figure are summed. With them, the data
    version of what the user may read (`versions.summed`), the charts' memo key."""
    (row,) = await _kept("figures", _figures_statement)(now, horizon).run()
    version = int(row.pop(_VERSION))
    figures: dict[str, int] = {}
    for column, value in row.items():
        name = column.rsplit("_", 1)[0]
        figures[name] = figures.get(name, 0) + int(value)
    return figures, version


async def _upcoming_meetings(now: dt.datetime, horizon: dt.datetime) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await _kept("upcoming", _upcoming_statement)(now, horizon).run()
    return rows


def _upcoming_statement(now: Any, horizon: Any) -> Any:
    select = Meeting.select(
        Meeting.id,
        Meeting.title,
        Meeting.starts_at,
        Meeting.ends_at,
        Meeting.location,
        Meeting.status,
        Meeting.working_group,
        Meeting.working_group.name,
    )
    return (
        scoped(select, "meetings")
        .where(
            (Meeting.starts_at >= now)
            & (Meeting.starts_at < horizon)
            & (Meeting.status != CANCELLED)
        )
        .order_by(Meeting.starts_at)
        .limit(MAX_UPCOMING)
    )


async def _answers(meetings: list[dict[str, Any]]) -> dict[int, dict[str, int]]:
    """Invitations per meeting and response, counted by the database."""
    if not meetings:
        return {}
    rows = (
        await Invitation.select(Invitation.meeting, Invitation.response, Count())
        .where(Invitation.meeting.is_in([m["id"] for m in meetings]))
        .group_by(Invitation.meeting, Invitation.response)
        .run()
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for row in rows:
        counts[row["meeting"]][row["response"]] = row["count"]
    return counts


async def _dsp_contracts_ending(today: dt.date) -> list[dict[str, Any]]:
    """DSP contracts ending within the notice period, of the partnerships the user sees (#20:
    on SQLite the services' rule is the only barrier)."""
    limit = add_months(today, DSP_NOTICE_MONTHS)
    statement = _kept("dsp", _dsp_statement)
    rows: list[dict[str, Any]] = await statement(today, limit).run()
    return rows


def _dsp_statement(today: Any, limit: Any) -> Any:
    return (
        scoped(
            Partnership.select(
                Partnership.id,
                Partnership.end_date,
                Partnership.contract_reference,
                Partnership.organisation,
                Partnership.organisation.name,
                Partnership.partner,
                Partnership.partner.name,
                Partnership.delegated_service,
                Partnership.delegated_service.name,
            ),
            "partnerships",
        )
        .where(
            (Partnership.kind == "delegation_dsp")
            & (Partnership.end_date >= today)
            & (Partnership.end_date <= limit)
        )
        .order_by(Partnership.end_date)
    )
