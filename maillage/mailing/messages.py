"""Pure builders of the messages maillage sends: plain data in, ``EmailMessage`` out.

Invitations follow the CalConnect iMIP practice that Outlook, Gmail and Thunderbird all
recognise::

    multipart/mixed
      multipart/alternative
        text/plain
        text/html
        text/calendar; charset=UTF-8; method=REQUEST   (the METHOD of the file inside)
      application/ics; name=invitation.ics            (the same file, for clients that want one)

Each message has one recipient, who is the only ATTENDEE of its calendar object: the other
invitees are never disclosed. Every header value goes through ``addresses.one_line`` (no line
break can add a header) and display names are encoded by the ``email`` package (RFC 2047).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime, make_msgid
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from maillage.calendar import french
from maillage.calendar.events import (
    Attendee,
    MeetingEvent,
    cancellation_calendar,
    invitation_calendar,
    serialize,
)
from maillage.mailing.addresses import Mailbox, one_line

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
TEMPLATES.filters["moment"] = french.format_moment
TEMPLATES.filters["span"] = french.format_span
TEMPLATES.filters["day"] = lambda moment: french.format_date(french.in_paris(moment).date())

ANSWERS = {"oui": "Je participe", "non": "Je ne participe pas", "peut-etre": "Peut-être"}
ROLE_CHAIR = {"president": "CHAIR"}
OPTIONAL_ROLES = {"suppleant", "invite_permanent"}


@dataclass(frozen=True)
class MeetingInfo:
    """A meeting as the messages show it (plain values read from the database)."""

    id: int
    uid: str
    sequence: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    group_name: str = ""
    group_kind: str = ""
    location: str = ""
    video_url: str | None = None
    agenda: str = ""
    status: str = "planifiee"
    minutes: str = ""

    @property
    def summary(self) -> str:
        return french.summary(self.group_kind, self.group_name, self.title)

    def event(self, organizer: Mailbox, attendee: Attendee | None = None) -> MeetingEvent:
        return MeetingEvent(
            uid=self.uid,
            sequence=self.sequence,
            title=self.title,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            group_name=self.group_name,
            group_kind=self.group_kind,
            location=self.location,
            video_url=self.video_url,
            agenda=self.agenda,
            status=self.status,
            organizer_email=organizer.address,
            organizer_name=organizer.name,
            attendees=(attendee,) if attendee else (),
        )


@dataclass(frozen=True)
class Invitee:
    mailbox: Mailbox
    role: str = "membre"
    answer_url: str | None = None
    can_delegate: bool = False

    def attendee(self) -> Attendee:
        if self.role in ROLE_CHAIR:
            ical_role = ROLE_CHAIR[self.role]
        elif self.role in OPTIONAL_ROLES:
            ical_role = "OPT-PARTICIPANT"
        else:
            ical_role = "REQ-PARTICIPANT"
        return Attendee(email=self.mailbox.address, name=self.mailbox.name, role=ical_role)

    def links(self) -> dict[str, str]:
        if not self.answer_url:
            return {}
        return {key: f"{self.answer_url}?reponse={key}" for key in ANSWERS}


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Envelope:
    """What every message shares: who sends, when, and the Message-ID's domain."""

    organizer: Mailbox
    stamp: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def _part(content: str | bytes, **kwargs) -> MIMEPart:  # type: ignore[no-untyped-def]
    part = MIMEPart()
    part.set_content(content, **kwargs)
    return part


def _text_parts(template: str, context: dict) -> list[MIMEPart]:  # type: ignore[type-arg]
    text = TEMPLATES.get_template(f"{template}.txt").render(context)
    html = TEMPLATES.get_template(f"{template}.html").render(context)
    return [
        _part(text, subtype="plain", cte="quoted-printable"),
        _part(html, subtype="html", cte="quoted-printable"),
    ]


def _calendar_part(ics: bytes, method: str) -> MIMEPart:
    part = _part(ics, maintype="text", subtype="calendar", cte="base64")
    part.replace_header("Content-Type", f"text/calendar; charset=UTF-8; method={method}")
    return part


def _ics_attachment(ics: bytes) -> MIMEPart:
    part = _part(
        ics,
        maintype="application",
        subtype="ics",
        cte="base64",
        disposition="attachment",
        filename="invitation.ics",
    )
    part.set_param("name", "invitation.ics")
    return part


def _message(
    envelope: Envelope, recipient: Mailbox, subject: str, body: Sequence[MIMEPart]
) -> EmailMessage:
    """Headers, then ``body``: the parts of multipart/alternative, then attachments."""
    message = EmailMessage()
    message["From"] = envelope.organizer.header()
    message["To"] = recipient.header()
    message["Subject"] = one_line(subject)
    message["Date"] = format_datetime(envelope.stamp.astimezone(dt.UTC))
    domain = envelope.organizer.address.rpartition("@")[2]
    message["Message-ID"] = make_msgid(domain=domain)
    message["MIME-Version"] = "1.0"
    # Out-of-office replies to a mass of invitations would flood the organiser's mailbox.
    message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    return message if not body else _assemble(message, body)


def _assemble(message: EmailMessage, parts: Sequence[MIMEPart]) -> EmailMessage:
    alternatives = [p for p in parts if p.get_content_disposition() != "attachment"]
    attachments = [p for p in parts if p.get_content_disposition() == "attachment"]
    alternative = MIMEPart()
    alternative.make_alternative()
    for part in alternatives:
        alternative.attach(part)
    if not attachments:
        message.make_alternative()
        for part in alternatives:
            message.attach(part)
        return message
    message.make_mixed()
    message.attach(alternative)
    for part in attachments:
        message.attach(part)
    return message


def _context(meeting: MeetingInfo, recipient: Mailbox, **extra) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return {
        "meeting": meeting,
        "summary": meeting.summary,
        "name": recipient.name,
        "organizer": None,
        **extra,
    }


def invitation(
    meeting: MeetingInfo, invitee: Invitee, envelope: Envelope, update: bool = False
) -> EmailMessage:
    """METHOD:REQUEST; ``update`` for a meeting already sent at a lower SEQUENCE."""
    ics = serialize(
        invitation_calendar(
            meeting.event(envelope.organizer), invitee.attendee(), stamp=envelope.stamp
        )
    )
    context = _context(
        meeting,
        invitee.mailbox,
        update=update,
        links=invitee.links(),
        answers=ANSWERS,
        can_delegate=invitee.can_delegate,
        organizer=envelope.organizer,
    )
    prefix = "Modification" if update else "Invitation"
    subject = f"{prefix} : {meeting.summary}, {french.format_moment(meeting.starts_at)}"
    parts = [
        *_text_parts("invitation", context),
        _calendar_part(ics, "REQUEST"),
        _ics_attachment(ics),
    ]
    return _message(envelope, invitee.mailbox, subject, parts)


def cancellation(meeting: MeetingInfo, invitee: Invitee, envelope: Envelope) -> EmailMessage:
    """METHOD:CANCEL with STATUS:CANCELLED at the meeting's (already raised) SEQUENCE."""
    ics = serialize(
        cancellation_calendar(
            meeting.event(envelope.organizer), [invitee.attendee()], stamp=envelope.stamp
        )
    )
    context = _context(meeting, invitee.mailbox, organizer=envelope.organizer)
    subject = f"Annulation : {meeting.summary}, {french.format_moment(meeting.starts_at)}"
    parts = [
        *_text_parts("annulation", context),
        _calendar_part(ics, "CANCEL"),
        _ics_attachment(ics),
    ]
    return _message(envelope, invitee.mailbox, subject, parts)


def reminder(meeting: MeetingInfo, invitee: Invitee, envelope: Envelope, days: int) -> EmailMessage:
    """A plain reminder (no calendar part: the calendar already holds the event)."""
    when = "demain" if days == 1 else f"dans {days} jours"
    context = _context(
        meeting,
        invitee.mailbox,
        when=when,
        links=invitee.links(),
        answers=ANSWERS,
        organizer=envelope.organizer,
    )
    subject = f"Rappel : {meeting.summary}, {when} ({french.format_moment(meeting.starts_at)})"
    return _message(envelope, invitee.mailbox, subject, _text_parts("rappel", context))


def minutes(
    meeting: MeetingInfo,
    recipient: Mailbox,
    envelope: Envelope,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    context = _context(meeting, recipient, organizer=envelope.organizer, attachments=attachments)
    day = french.format_date(french.in_paris(meeting.starts_at).date())
    subject = f"Compte-rendu : {meeting.summary} du {day}"
    parts = _text_parts("compte_rendu", context)
    for item in attachments:
        maintype, _, subtype = item.content_type.partition("/")
        parts.append(
            _part(
                item.content,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                disposition="attachment",
                filename=one_line(item.filename) or "piece-jointe",
            )
        )
    return _message(envelope, recipient, subject, parts)


def mailing(
    subject: str,
    text: str,
    recipient: Mailbox,
    envelope: Envelope,
    unsubscribe_url: str,
) -> EmailMessage:
    """A mass mailing: one-click unsubscribe (RFC 8058) in the headers and in the body."""
    context = {"text": text, "unsubscribe_url": unsubscribe_url, "organizer": envelope.organizer}
    message = _message(envelope, recipient, subject, _text_parts("envoi_groupe", context))
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Precedence"] = "bulk"
    return message
