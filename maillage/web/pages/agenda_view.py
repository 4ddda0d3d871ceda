"""The meetings as a month or a week (#21): a server-rendered calendar, readable with a
screen reader (a real table with its caption and column headers), printable on one landscape
A4 page, and a list of days at 390 px."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from litestar import get
from litestar.params import Parameter
from litestar.response import Template

from maillage import french
from maillage.calendar.scheduling import public_holidays
from maillage.crm import agenda, lookups
from maillage.web.pages.common import parse_int, render
from maillage.web.security import AppRequest

VIEWS = ("mois", "semaine")


@dataclass
class Day:
    date: dt.date
    in_month: bool
    holiday: str | None
    meetings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return french.format_date(self.date, "full")


def _chosen_day(text: str | None, today: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(text) if text else today
    except ValueError:
        return today


def _span(view: str, day: dt.date) -> tuple[dt.date, dt.date, dt.date, dt.date]:
    """First and last day shown, and the days « précédent » and « suivant » lead to."""
    if view == "semaine":
        monday = day - dt.timedelta(days=day.weekday())
        return (
            monday,
            monday + dt.timedelta(days=6),
            monday - dt.timedelta(days=7),
            monday + dt.timedelta(days=7),
        )
    first = day.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    following = last + dt.timedelta(days=1)
    return (
        first - dt.timedelta(days=first.weekday()),
        last + dt.timedelta(days=6 - last.weekday()),
        previous,
        following,
    )


def _midnight_in_paris(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=french.PARIS)


def _title(view: str, day: dt.date, start: dt.date, end: dt.date) -> str:
    if view == "mois":
        return f"{french.MONTHS[day.month - 1].capitalize()} {day.year}"
    week = start.isocalendar().week
    first = french.format_date(start, "full")
    if start.month == end.month:
        first = f"{french.DAYS[start.weekday()]} {'1er' if start.day == 1 else start.day}"
    return f"Semaine {week} : du {first} au {french.format_date(end, 'full')}"


async def _days(start: dt.date, end: dt.date, month: int | None, group: int | None) -> list[Day]:
    rows = await agenda.meetings_between(
        _midnight_in_paris(start), _midnight_in_paris(end + dt.timedelta(days=1)), group
    )
    holidays = {**public_holidays(start.year), **public_holidays(end.year)}
    count = (end - start).days + 1
    days = [start + dt.timedelta(days=n) for n in range(count)]
    shown = {d: Day(d, month is None or d.month == month, holidays.get(d)) for d in days}
    for row in rows:
        local = french.in_paris(row["starts_at"]).date()
        if local in shown:
            shown[local].meetings.append(row)
    return list(shown.values())


@get("/reunions/calendrier", include_in_schema=False)
async def meeting_calendar(
    request: AppRequest,
    vue: str = Parameter(default="mois", max_length=10),
    date: str | None = Parameter(default=None, max_length=10),
    instance: str | None = Parameter(default=None, max_length=12),
) -> Template:
    view = vue if vue in VIEWS else "mois"
    today = dt.datetime.now(french.PARIS).date()
    day = _chosen_day(date, today)
    group = parse_int(instance)
    start, end, previous, following = _span(view, day)
    days = await _days(start, end, day.month if view == "mois" else None, group)
    base = {"vue": view, **({"instance": group} if group else {})}

    def link(**changes: Any) -> str:
        return "/reunions/calendrier?" + urlencode({**base, **changes})

    groups = await lookups.groups(include_inactive=True)
    return render(
        request,
        "reunions/calendrier.html",
        view=view,
        title=_title(view, day, start, end),
        weeks=[days[n : n + 7] for n in range(0, len(days), 7)],
        days=days,
        today=today,
        day_names=french.DAYS,
        group=next((g for g in groups if g["id"] == group), None),
        groups=groups,
        links={
            "previous": link(date=previous.isoformat()),
            "next": link(date=following.isoformat()),
            "today": link(date=today.isoformat()),
            "month": link(vue="mois", date=day.isoformat()),
            "week": link(vue="semaine", date=day.isoformat()),
        },
        previous_label="Mois précédent" if view == "mois" else "Semaine précédente",
        next_label="Mois suivant" if view == "mois" else "Semaine suivante",
        meetings_shown=sum(len(d.meetings) for d in days if d.in_month),
        params={"instance": str(group) if group else ""},
    )


HANDLERS = [meeting_calendar]
