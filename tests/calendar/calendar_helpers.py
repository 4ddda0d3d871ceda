"""Shared test helpers: a meeting to build from, and the independent strict parser."""

from __future__ import annotations

import datetime as dt

from ical.calendar import Calendar as StrictCalendar
from ical.calendar_stream import IcsCalendarStream

from maillage.calendar.events import MeetingEvent
from maillage.french import PARIS


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


def meeting(**overrides) -> MeetingEvent:
    values = {
        "uid": "3f2a@maillage",
        "sequence": 0,
        "title": "Bilan 2026",
        "starts_at": paris(2026, 12, 8, 14, 0),
        "ends_at": paris(2026, 12, 8, 16, 0),
        "group_name": "Comité de pilotage de la CTG",
        "group_kind": "copil",
        "axes": ("Petite enfance", "Jeunesse"),
        "location": "Salle du conseil, 2 rue de la Mairie",
        "video_url": "https://visio.example/copil",
        "agenda": "1. Bilan\n2. Perspectives",
        "status": "planifiee",
        "url": "http://testserver/meetings/7",
        "organizer_email": "ctg@maillage.example",
        "organizer_name": "Coordination CTG",
        "last_modified": dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC),
    }
    values.update(overrides)
    return MeetingEvent(**values)


def strict(data: bytes | str) -> StrictCalendar:
    """Parse with ``ical``, which rejects what RFC 5545 forbids (it is not icalendar)."""
    text = data.decode() if isinstance(data, bytes) else data
    return IcsCalendarStream.calendar_from_ics(text)


def ics(*events: str, header: str = "") -> str:
    """A small iCalendar file written by hand, as another application would export it."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Autre logiciel//FR"]
    if header:
        lines.append(header)
    lines += list(events)
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def vevent(uid: str | None = "reunion-1@ailleurs", **props: str) -> str:
    values = {
        "DTSTAMP": "20261101T090000Z",
        "DTSTART;TZID=Europe/Paris": "20270112T140000",
        "DTEND;TZID=Europe/Paris": "20270112T160000",
        "SUMMARY": "Commission petite enfance",
        "LOCATION": "Mairie d'Ardoise",
    }
    values.update({k.replace("__", ";").replace("_", "-"): v for k, v in props.items()})
    lines = ["BEGIN:VEVENT"]
    if uid is not None:
        lines.append(f"UID:{uid}")
    lines += [f"{name}:{value}" for name, value in values.items() if value is not None]
    lines.append("END:VEVENT")
    return "\r\n".join(lines)


async def post(client, path: str, payload: dict, status: int = 201) -> dict:
    response = await client.post(path, json=payload)
    assert response.status_code == status, response.text
    return response.json()


def slot(day: str, start: str = "14:00", end: str = "16:00", offset: str = "+01:00") -> dict:
    return {"starts_at": f"{day}T{start}:00{offset}", "ends_at": f"{day}T{end}:00{offset}"}
