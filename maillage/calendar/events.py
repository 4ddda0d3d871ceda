"""Meetings as iCalendar objects: events, feeds, and the iTIP messages of invitations.

Pure functions from plain dataclasses to ``icalendar`` objects; nothing here reads the database.
Every value goes through ``icalendar``'s typed properties, which escape commas, semicolons and
line breaks and fold long lines, so no text a person typed can open a property or a component.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote

from icalendar import Calendar, Event, vCalAddress, vDuration

from maillage import french
from maillage.calendar.vtimezone import paris_vtimezone
from maillage.vocabulary import CANCELLED, GROUP_KINDS, PLANNED

PRODID = "-//maillage//Calendrier CTG//FR"
METHODS = ("REQUEST", "CANCEL", "PUBLISH", "REPLY")
FEED_REFRESH = dt.timedelta(hours=1)
ICAL_STATUS = {
    "brouillon": "TENTATIVE",
    "planifiee": "CONFIRMED",
    "tenue": "CONFIRMED",
    "annulee": "CANCELLED",
}
# Characters an e-mail address may keep unencoded inside a mailto: URI (RFC 6068).
_MAILTO_SAFE = "@.+-_~!$&'*=?^`{|}"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True, slots=True)
class Attendee:
    email: str
    name: str = ""
    role: str = "REQ-PARTICIPANT"  # or OPT-PARTICIPANT (suppléants, invités permanents)
    partstat: str = "NEEDS-ACTION"
    rsvp: bool = True


@dataclass(frozen=True, slots=True)
class MeetingEvent:
    """What a calendar needs to know about one meeting (times are aware datetimes)."""

    uid: str
    sequence: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    group_name: str = ""
    group_kind: str = ""
    axes: tuple[str, ...] = ()
    location: str = ""
    video_url: str | None = None
    agenda: str = ""
    status: str = PLANNED
    url: str | None = None
    organizer_email: str | None = None
    organizer_name: str = ""
    attendees: tuple[Attendee, ...] = ()
    last_modified: dt.datetime | None = None


def _one_line(text: str) -> str:
    """Parameter values (CN) cannot hold line breaks: fold them into spaces."""
    return _CONTROL.sub(" ", text).strip()


def _address(email: str, name: str = "") -> vCalAddress:
    address = vCalAddress("mailto:" + quote(_one_line(email), safe=_MAILTO_SAFE))
    if name:
        address.params["CN"] = _one_line(name)
    return address


def _categories(meeting: MeetingEvent) -> list[str]:
    labels = [GROUP_KINDS.get(meeting.group_kind, ""), *meeting.axes]
    # A comma is escaped correctly by icalendar, but several clients (and the strict ``ical``
    # parser) split CATEGORIES on every comma: « Logement, habitat » would become two labels.
    return [label.replace(",", " /") for label in labels if label]


def event_summary(meeting: MeetingEvent) -> str:
    text = french.summary(meeting.group_kind, meeting.group_name, meeting.title)
    return f"Annulée — {text}" if meeting.status == CANCELLED else text


def event_description(meeting: MeetingEvent) -> str:
    lines = [
        f"{meeting.group_name or 'Réunion'} : {french.format_span(meeting.starts_at, meeting.ends_at)} (heure de Paris)."
    ]
    if meeting.status == CANCELLED:
        lines.append("Cette réunion est annulée.")
    if meeting.agenda.strip():
        lines += ["", "Ordre du jour :", meeting.agenda.strip()]
    links = []
    if meeting.video_url:
        links.append(f"Visioconférence : {meeting.video_url}")
    if meeting.url:
        links.append(f"Fiche de la réunion : {meeting.url}")
    if links:
        lines += ["", *links]
    return "\n".join(lines)


def _attendee_address(attendee: Attendee) -> vCalAddress:
    address = _address(attendee.email, attendee.name)
    address.params["ROLE"] = attendee.role
    address.params["PARTSTAT"] = attendee.partstat
    address.params["RSVP"] = "TRUE" if attendee.rsvp else "FALSE"
    return address


def build_event(meeting: MeetingEvent, stamp: dt.datetime) -> Event:
    """One VEVENT; ``stamp`` is its DTSTAMP (the message's time, or the last revision)."""
    event = Event()
    event.add("uid", meeting.uid)
    event.add("dtstamp", stamp.astimezone(dt.UTC))
    event.add("sequence", meeting.sequence)
    event.add("dtstart", french.in_paris(meeting.starts_at))
    event.add("dtend", french.in_paris(meeting.ends_at))
    event.add("summary", event_summary(meeting))
    if meeting.location:
        event.add("location", meeting.location)
    event.add("description", event_description(meeting))
    status = ICAL_STATUS.get(meeting.status, "CONFIRMED")
    event.add("status", status)
    event.add("transp", "TRANSPARENT" if status == "CANCELLED" else "OPAQUE")
    if meeting.url:
        event.add("url", _one_line(meeting.url))
    categories = _categories(meeting)
    if categories:
        event.add("categories", categories)
    if meeting.organizer_email:
        event.add("organizer", _address(meeting.organizer_email, meeting.organizer_name))
    for attendee in meeting.attendees:
        event.add("attendee", _attendee_address(attendee))
    if meeting.last_modified is not None:
        event.add("last-modified", meeting.last_modified.astimezone(dt.UTC))
    return event


def build_calendar(
    events: Iterable[MeetingEvent],
    method: str | None = None,
    name: str | None = None,
    stamp: dt.datetime | None = None,
) -> Calendar:
    """A VCALENDAR with one rule-based Europe/Paris VTIMEZONE and the given events.

    Without ``method`` (a feed or a download), DTSTAMP is each meeting's last revision, so the
    same data always gives the same bytes; with one (an iTIP message), it is ``stamp`` or now.
    """
    if method is not None and method not in METHODS:
        raise ValueError(f"méthode iTIP inconnue : {method}")
    now = stamp or dt.datetime.now(dt.UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method is not None:
        calendar.add("method", method)
    if name:
        calendar.add("x-wr-calname", _one_line(name))
        calendar.add("x-wr-timezone", french.PARIS_TZID)
    if method is None:
        # Subscribed clients poll at this pace (RFC 7986, and Outlook's own property).
        calendar.add("refresh-interval", vDuration(FEED_REFRESH), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(FEED_REFRESH))
    calendar.add_component(paris_vtimezone())
    for meeting in events:
        revised = meeting.last_modified if method is None else None
        calendar.add_component(build_event(meeting, revised or now))
    return calendar


def serialize(calendar: Calendar) -> bytes:
    data: bytes = calendar.to_ical()
    return data


def invitation_calendar(
    meeting: MeetingEvent, attendee: Attendee, stamp: dt.datetime | None = None
) -> Calendar:
    """METHOD:REQUEST for one invitee, who answers with PARTSTAT to the ORGANIZER."""
    if not meeting.organizer_email:
        raise ValueError("une invitation iTIP exige l'adresse de l'organisateur")
    return build_calendar(
        [dataclasses.replace(meeting, attendees=(_invited(attendee),))],
        method="REQUEST",
        stamp=stamp,
    )


def cancellation_calendar(
    meeting: MeetingEvent,
    attendees: Iterable[Attendee] = (),
    stamp: dt.datetime | None = None,
) -> Calendar:
    """METHOD:CANCEL; the caller gives the SEQUENCE the cancellation was stored with."""
    if not meeting.organizer_email:
        raise ValueError("une annulation iTIP exige l'adresse de l'organisateur")
    cancelled = dataclasses.replace(
        meeting,
        status="annulee",
        attendees=tuple(_cancelled(a) for a in attendees),
    )
    return build_calendar([cancelled], method="CANCEL", stamp=stamp)


def _invited(attendee: Attendee) -> Attendee:
    return dataclasses.replace(attendee, partstat="NEEDS-ACTION", rsvp=True)


def _cancelled(attendee: Attendee) -> Attendee:
    return dataclasses.replace(attendee, rsvp=False)


# ----- one calendar per meeting, one ATTENDEE per message -------------------------------------

_PLACEHOLDER = Attendee(email="attendee@maillage.invalid")


@dataclass(frozen=True, slots=True)
class SingleAttendeeTemplate:
    """An iTIP message serialised once per meeting, around its only ATTENDEE line.

    Sending one invitation per person used to serialise the whole VCALENDAR (VTIMEZONE
    included) per person; only the ATTENDEE line differs, so it is the only part ``fill``
    writes. ``fill(a)`` gives the same bytes as serialising the calendar built for ``a``.
    """

    head: bytes
    tail: bytes
    prepare: Callable[[Attendee], Attendee]

    def fill(self, attendee: Attendee) -> bytes:
        return self.head + attendee_line(self.prepare(attendee)) + self.tail

    @classmethod
    def around(
        cls, calendar: Calendar, prepare: Callable[[Attendee], Attendee]
    ) -> SingleAttendeeTemplate:
        lines = serialize(calendar).split(b"\r\n")
        # Folded lines go on with a space, so a line that starts with ATTENDEE is the property.
        starts = [
            i for i, line in enumerate(lines) if line.startswith((b"ATTENDEE;", b"ATTENDEE:"))
        ]
        if len(starts) != 1:
            raise ValueError("le modèle d'invitation doit compter un seul ATTENDEE")
        first = last = starts[0]
        while lines[last + 1].startswith((b" ", b"\t")):
            last += 1
        head = b"".join(line + b"\r\n" for line in lines[:first])
        tail = b"\r\n" + b"\r\n".join(lines[last + 1 :])
        return cls(head, tail, prepare)


def attendee_line(attendee: Attendee) -> bytes:
    """The folded ATTENDEE content line, written as icalendar writes it in a whole event."""
    event = Event()
    event.add("attendee", _attendee_address(attendee))
    return fold(event.content_line("ATTENDEE", event["ATTENDEE"]))


_FOLD_AT = 75
_ESCAPES = b"\\^"


def fold(line: str) -> bytes:
    """icalendar's folding (RFC 5545: at most 75 octets a line, never inside a UTF-8
    character, never right after a backslash or caret escape), on bytes rather than one
    character at a time: it runs once per invitation."""
    data = line.encode("utf-8")
    chunks = []
    start = 0
    while len(data) - start >= _FOLD_AT:
        end = start + _FOLD_AT - 1
        while data[end] & 0xC0 == 0x80:  # a continuation byte: the character starts earlier
            end -= 1
        if data[end - 1] in _ESCAPES:
            end -= 1
        chunks.append(data[start:end])
        start = end
    chunks.append(data[start:])
    return b"\r\n ".join(chunks)


def invitation_template(
    meeting: MeetingEvent, stamp: dt.datetime | None = None
) -> SingleAttendeeTemplate:
    """``invitation_calendar`` for every invitee of a meeting, serialised once."""
    return SingleAttendeeTemplate.around(
        invitation_calendar(meeting, _PLACEHOLDER, stamp=stamp), _invited
    )


def cancellation_template(
    meeting: MeetingEvent, stamp: dt.datetime | None = None
) -> SingleAttendeeTemplate:
    """``cancellation_calendar`` with one attendee, for every invitee, serialised once."""
    return SingleAttendeeTemplate.around(
        cancellation_calendar(meeting, [_PLACEHOLDER], stamp=stamp), _cancelled
    )


# ----- replies -------------------------------------------------------------------------------

RESPONSES = {
    "ACCEPTED": "acceptee",
    "DECLINED": "declinee",
    "TENTATIVE": "incertaine",
    "NEEDS-ACTION": "en_attente",
}


class ReplyError(ValueError):
    """An iTIP REPLY that cannot be used; the message is French and meant for the person."""


@dataclass(frozen=True, slots=True)
class Reply:
    uid: str
    attendee_email: str
    partstat: str
    sequence: int = 0
    comment: str = ""
    stamp: dt.datetime | None = None  # DTSTAMP: when the invitee answered, in UTC
    method: str = "REPLY"  # or « COUNTER »: a proposed new time (RFC 5546 § 3.2.7)
    attendee_name: str = ""  # CN
    delegated_to: str = ""  # DELEGATED-TO of a PARTSTAT=DELEGATED answer (RFC 5546 § 4.2.5)
    delegated_from: str = ""  # DELEGATED-FROM of the delegate's own answer
    proposed_start: dt.datetime | None = None  # COUNTER: DTSTART, in UTC
    proposed_end: dt.datetime | None = None

    @property
    def response(self) -> str:
        """The answer in the words of ``Invitation.response``."""
        return RESPONSES.get(self.partstat, "en_attente")


def parse_reply(data: bytes | str, methods: tuple[str, ...] = ("REPLY",)) -> Reply:
    """Read a calendar client's METHOD:REPLY (or COUNTER, when ``methods`` allows it): whose
    answer, to which meeting, which one."""
    try:
        calendar = Calendar.from_ical(data)
    except ValueError as error:
        raise ReplyError("La réponse n'est pas un fichier iCalendar lisible.") from error
    method = str(calendar.get("METHOD", "")).upper()
    if method not in methods:
        raise ReplyError("Ce fichier iCalendar n'est pas une réponse (METHOD:REPLY attendu).")
    events = calendar.walk("VEVENT")
    if len(events) != 1:
        raise ReplyError("Une réponse doit contenir exactement un événement.")
    event = events[0]
    uid = str(event.get("UID", "")).strip()
    attendees = event.get("ATTENDEE")
    if not uid or attendees is None:
        raise ReplyError("La réponse ne nomme pas la réunion (UID) ou le participant (ATTENDEE).")
    attendee = attendees[0] if isinstance(attendees, list) else attendees
    email = _email_of(str(attendee))
    partstat = str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
    return Reply(
        uid=uid,
        attendee_email=email,
        partstat=partstat,
        sequence=int(event.get("SEQUENCE", 0)),
        comment=_one_line(str(event.get("COMMENT", ""))),
        stamp=_utc_stamp(event.get("DTSTAMP")),
        method=method,
        attendee_name=_one_line(str(attendee.params.get("CN", "")))[:200],
        delegated_to=_param_address(attendee.params.get("DELEGATED-TO")),
        delegated_from=_param_address(attendee.params.get("DELEGATED-FROM")),
        proposed_start=_utc_stamp(event.get("DTSTART")) if method == "COUNTER" else None,
        proposed_end=_utc_stamp(event.get("DTEND")) if method == "COUNTER" else None,
    )


def _param_address(value: object) -> str:
    """The first address of a DELEGATED-TO / DELEGATED-FROM parameter (« "mailto:x@y" »)."""
    if not value:
        return ""
    first = value[0] if isinstance(value, list) else str(value).split(",")[0]
    return _email_of(str(first).strip().strip('"'))


def _utc_stamp(value: object) -> dt.datetime | None:
    """DTSTAMP (or a COUNTER's DTSTART) in UTC; None when absent or not a moment (a floating
    time is read as UTC, as RFC 5545 requires DTSTAMP to be UTC)."""
    moment = getattr(value, "dt", None)
    if not isinstance(moment, dt.datetime):
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _email_of(address: str) -> str:
    value = address.strip()
    if value.lower().startswith("mailto:"):
        value = value[len("mailto:") :]
    return unicodedata.normalize("NFC", unquote(value)).strip().lower()
