"""The Europe/Paris VTIMEZONE, written as two yearly rules.

icalendar derives a VTIMEZONE from a tzinfo as one RDATE per transition (1970–2038): valid, but
Outlook shifts recurring events with it, and it weighs a few kilobytes per calendar. Since 1996
the European Union rule has been stable (last Sunday of March at 01:00 UTC, last Sunday of
October at 01:00 UTC), so two RRULE observances describe every date a meeting can have.
"""

from __future__ import annotations

import datetime as dt

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

from maillage.french import PARIS_TZID

CET = dt.timedelta(hours=1)
CEST = dt.timedelta(hours=2)


def _observance(
    kind: type[TimezoneStandard] | type[TimezoneDaylight],
    onset: dt.datetime,
    month: int,
    offset_from: dt.timedelta,
    offset_to: dt.timedelta,
    name: str,
) -> TimezoneStandard | TimezoneDaylight:
    observance = kind()
    # DTSTART is local time before the change: 02:00 CET in March, 03:00 CEST in October.
    observance.add("dtstart", onset)
    observance.add("rrule", {"freq": "yearly", "bymonth": month, "byday": "-1SU"})
    observance.add("tzoffsetfrom", offset_from)
    observance.add("tzoffsetto", offset_to)
    observance.add("tzname", name)
    return observance


def paris_vtimezone() -> Timezone:
    zone = Timezone()
    zone.add("tzid", PARIS_TZID)
    zone.add_component(
        _observance(TimezoneDaylight, dt.datetime(1996, 3, 31, 2, 0), 3, CET, CEST, "CEST")
    )
    zone.add_component(
        _observance(TimezoneStandard, dt.datetime(1996, 10, 27, 3, 0), 10, CEST, CET, "CET")
    )
    return zone
