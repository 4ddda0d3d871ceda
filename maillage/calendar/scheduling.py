"""Scheduling warnings, said in French and never blocking: the coordinator decides.

A date may fall on a public holiday (``holidays``), during the school holidays of the
territory's zone (``vacances-scolaires-france``: parents and childhood professionals are away),
or when members of the body are already invited to another meeting at the same time.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass

import holidays
from vacances_scolaires_france import SchoolHolidayDates, UnsupportedYearException

from maillage import french


@dataclass(frozen=True, slots=True)
class SchedulingWarning:
    kind: str  # jour_ferie, week_end, vacances_scolaires, double_reservation
    message: str


@dataclass(frozen=True, slots=True)
class BusyInvitee:
    """Someone of the body already invited to another meeting overlapping the new one."""

    person: str
    meeting_title: str
    starts_at: dt.datetime
    ends_at: dt.datetime


@functools.cache
def public_holidays(year: int) -> dict[dt.date, str]:
    """France's public holidays of the year, named in French (« Jour de Noël »…)."""
    return _public_holidays(year)


def _public_holidays(year: int) -> dict[dt.date, str]:
    return dict(holidays.country_holidays("FR", years=year, language="fr").items())


@functools.cache
def _school_calendar() -> SchoolHolidayDates:
    return SchoolHolidayDates()  # reads its CSV once


def _days(start: dt.datetime, end: dt.datetime) -> list[dt.date]:
    first, last = french.in_paris(start).date(), french.in_paris(end).date()
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)][:31]


def holiday_warnings(
    start: dt.datetime, end: dt.datetime, school_zone: str | None
) -> list[SchedulingWarning]:
    warnings = []
    for day in _days(start, end):
        name = _public_holidays(day.year).get(day)
        if name:
            warnings.append(
                SchedulingWarning(
                    "jour_ferie", f"Le {french.format_date(day)} est un jour férié ({name})."
                )
            )
        if day.weekday() >= 5:
            warnings.append(
                SchedulingWarning(
                    "week_end",
                    f"Le {french.format_date(day)} tombe un week-end : peu de partenaires "
                    "seront disponibles.",
                )
            )
        school = _school_holiday(day, school_zone)
        if school:
            warnings.append(
                SchedulingWarning(
                    "vacances_scolaires",
                    f"Le {french.format_date(day)} tombe pendant les vacances scolaires de la "
                    f"zone {school_zone} ({school}) : parents et professionnels de l'enfance "
                    "seront moins disponibles.",
                )
            )
    return warnings


def _school_holiday(day: dt.date, zone: str | None) -> str | None:
    if zone not in ("A", "B", "C"):
        return None
    calendar = _school_calendar()
    try:
        if calendar.is_holiday_for_zone(day, zone):
            name: str = calendar.data[day]["nom_vacances"]
            return name
    except UnsupportedYearException:
        return None  # the package knows the school calendar a few years ahead only
    return None


def double_booking_warnings(busy: Iterable[BusyInvitee]) -> list[SchedulingWarning]:
    """One warning per other meeting, naming the people it already holds."""
    by_meeting: dict[tuple[str, dt.datetime, dt.datetime], list[str]] = {}
    for item in busy:
        key = (item.meeting_title, item.starts_at, item.ends_at)
        by_meeting.setdefault(key, []).append(item.person)
    warnings = []
    for (title, start, end), people in sorted(by_meeting.items(), key=lambda kv: kv[0][1]):
        names = sorted(dict.fromkeys(people))
        who = " et ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]
        verb = "ont déjà une invitation" if len(names) > 1 else "a déjà une invitation"
        warnings.append(
            SchedulingWarning(
                "double_reservation",
                f"{who} {verb} à « {title} » au même moment ({french.format_span(start, end)}).",
            )
        )
    return warnings


def overlaps(
    start: dt.datetime, end: dt.datetime, other_start: dt.datetime, other_end: dt.datetime
) -> bool:
    return start < other_end and other_start < end


def scheduling_warnings(
    start: dt.datetime,
    end: dt.datetime,
    school_zone: str | None = None,
    busy: Iterable[BusyInvitee] = (),
) -> list[SchedulingWarning]:
    return holiday_warnings(start, end, school_zone) + double_booking_warnings(busy)
