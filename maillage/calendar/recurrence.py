"""Recurring bodies: a working group's RFC 5545 rule turned into concrete meeting dates.

A rule is the RRULE value (« FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=1TU » for the first Tuesday of
each quarter), optionally preceded by a ``DTSTART`` line giving the first meeting and its time.
Dates are expanded with ``recurring-ical-events`` on a Europe/Paris DTSTART, so 14 h stays 14 h
on both sides of a daylight-saving change.

Each occurrence becomes an ordinary meeting remembering which occurrence it is
(``recurrence_id``, its start as the rule gives it). Extending the horizon only adds occurrences
later than every one already materialised: a moved occurrence (start ≠ recurrence_id), a
cancelled one (status « annulée ») or a deleted one stays as the coordinator left it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import recurring_ical_events
from dateutil.rrule import rrulestr
from icalendar import Calendar, Event, vDDDTypes, vRecur

from maillage import french

MAX_OCCURRENCES = 200
_ALLOWED_FREQUENCIES = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}


class RecurrenceError(ValueError):
    """A rule or horizon that cannot be used; the message is French and meant for the person."""


@dataclass(frozen=True, slots=True)
class Rule:
    rrule: str
    first_start: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Occurrence:
    recurrence_id: dt.datetime
    starts_at: dt.datetime
    ends_at: dt.datetime


def parse_rule(text: str) -> Rule:
    """Read « [DTSTART…\\n]RRULE:FREQ=… » or a bare « FREQ=… »; French error otherwise."""
    first_start = None
    rrule = None
    for raw_line in text.split():  # one line or several: RRULE values hold no space
        line = raw_line.strip()
        name, _, value = line.partition(":")
        key = name.split(";")[0].upper()
        if key == "DTSTART" and value:
            first_start = _parse_dtstart(name, value)
        elif key == "RRULE" and value:
            rrule = value
        elif line.upper().startswith("FREQ="):
            rrule = line
        elif line:
            raise RecurrenceError(f"Ligne de règle non reconnue : « {line[:80]} ».")
    if rrule is None:
        raise RecurrenceError(
            "Règle de récurrence absente : écrivez par exemple "
            "« FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=1TU » (premier mardi de chaque trimestre)."
        )
    _check_rrule(rrule)
    return Rule(rrule=rrule, first_start=first_start)


def _parse_dtstart(name: str, value: str) -> dt.datetime:
    try:
        # icalendar leaves from_ical unannotated.
        moment = vDDDTypes.from_ical(value.strip())  # type: ignore[no-untyped-call]  # unannotated
    except ValueError as error:
        raise RecurrenceError(
            f"DTSTART illisible « {value[:40]} » (attendu : 20270105T140000)."
        ) from error
    if not isinstance(moment, dt.datetime):
        raise RecurrenceError("DTSTART doit donner une date et une heure (20270105T140000).")
    if "TZID=" in name.upper() and french.PARIS_TZID.upper() not in name.upper():
        raise RecurrenceError("Seul le fuseau Europe/Paris est accepté dans DTSTART.")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=french.PARIS)
    return moment.astimezone(french.PARIS)


def _check_rrule(rrule: str) -> None:
    try:
        recur = vRecur.from_ical(rrule)
        rrulestr(rrule, dtstart=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), forceset=False)
    except (ValueError, TypeError) as error:
        raise RecurrenceError(f"Règle de récurrence invalide « {rrule[:80]} ».") from error
    frequency = (recur.get("FREQ") or [""])[0]
    if frequency not in _ALLOWED_FREQUENCIES:
        raise RecurrenceError(
            "Fréquence non prise en charge : une instance se réunit au plus une fois par jour "
            "(FREQ=DAILY, WEEKLY, MONTHLY ou YEARLY)."
        )


def _series(rrule: str, anchor: dt.datetime, duration: dt.timedelta) -> Calendar:
    calendar = Calendar()
    event = Event()
    event.add("uid", "serie@maillage")
    event.add("dtstamp", anchor)
    event.add("dtstart", anchor)
    event.add("dtend", anchor + duration)
    event.add("rrule", vRecur.from_ical(rrule))
    calendar.add_component(event)
    return calendar


def follows_rule(rrule: str, anchor: dt.datetime) -> bool:
    """RFC 5545 leaves a DTSTART outside its own rule undefined: we refuse such anchors."""
    local = french.in_paris(anchor)
    first = rrulestr(rrule, dtstart=local).after(local - dt.timedelta(seconds=1))
    return first is not None and first == local


def expand(
    rrule: str,
    anchor: dt.datetime,
    after: dt.datetime,
    until: dt.datetime,
    duration: dt.timedelta,
    limit: int = MAX_OCCURRENCES,
) -> list[Occurrence]:
    """Occurrences of the series starting at ``anchor`` whose start is in ``(after, until]``."""
    anchor = french.in_paris(anchor)
    synchronised = follows_rule(rrule, anchor)
    found = []
    query = recurring_ical_events.of(_series(rrule, anchor, duration))
    for event in query.between(after, until + dt.timedelta(seconds=1)):
        start = french.in_paris(event["DTSTART"].dt)
        if start <= after or start > until or (start == anchor and not synchronised):
            continue
        found.append(Occurrence(start.astimezone(dt.UTC), start, start + duration))
        if len(found) > limit:
            raise RecurrenceError(
                f"La règle donne plus de {limit} réunions d'ici le "
                f"{french.format_date(until.date())} : choisissez un horizon plus proche."
            )
    return sorted(found, key=lambda o: o.starts_at)


def plan(
    rule: Rule,
    until: dt.date,
    duration: dt.timedelta,
    existing: Iterable[dt.datetime],
    now: dt.datetime,
    first_start: dt.datetime | None = None,
) -> list[Occurrence]:
    """The occurrences to create now: later than every existing one and than ``now``."""
    done = sorted(moment.astimezone(dt.UTC) for moment in existing)
    anchor = rule.first_start or first_start or (done[0] if done else None)
    if anchor is None:
        raise RecurrenceError(
            "Indiquez la date et l'heure de la première réunion de la série (first_start), "
            "ou une ligne DTSTART dans la règle de l'instance."
        )
    explicit = rule.first_start or first_start
    if explicit is not None and not done and not follows_rule(rule.rrule, explicit):
        raise RecurrenceError(
            f"La première réunion ({french.format_moment(explicit)}) ne suit pas la règle "
            f"« {rule.rrule} » : choisissez une date que la règle donne."
        )
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), french.PARIS)
    end -= dt.timedelta(seconds=1)
    start_after = max([*done[-1:], now])
    if not done and explicit is not None and explicit >= now:
        start_after = explicit - dt.timedelta(seconds=1)
    return expand(rule.rrule, anchor, start_after, end, duration)
