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
break can add a header); non-ASCII subjects and display names are RFC 2047 encoded words that
carry their own spaces (see ``_SubjectHeader``), and so is any text holding « =? », which the
``email`` package would otherwise decode (a line break hidden in an encoded word became a raw
one on Python 3.11 before the CVE-2024-6923 fix). The outbox reads each message back before
queueing it (``readback``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes
from email.charset import Charset
from email.headerregistry import HeaderRegistry, UniqueAddressHeader, UnstructuredHeader
from email.message import EmailMessage, MIMEPart
from email.policy import SMTP, Policy, default
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Any

from markupsafe import escape

from maillage import french, templating
from maillage.calendar.events import (
    Attendee,
    MeetingEvent,
    SingleAttendeeTemplate,
    build_calendar,
    cancellation_template,
    invitation_template,
    serialize,
)
from maillage.mailing.addresses import Mailbox, one_line, without_encoded_words
from maillage.vocabulary import ANSWER_LABELS, ANSWER_WORDS, MEMBER, PLANNED, SUBSTITUTE

TEMPLATES = templating.environment(Path(__file__).parent / "templates", keep_trailing_newline=True)

# « Je participe », « Je ne participe pas », « Peut-être », by the word of their link.
ANSWERS = {word: ANSWER_LABELS[response] for word, response in ANSWER_WORDS.items()}
ROLE_CHAIR = {"president": "CHAIR"}
OPTIONAL_ROLES = {SUBSTITUTE, "invite_permanent"}


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
    status: str = PLANNED
    minutes: str = ""

    @classmethod
    def of_row(cls, row: Mapping[str, Any], prefix: str = "") -> MeetingInfo:
        """From a row of the meeting's columns (named ``prefix`` + column, e.g.
        ``meeting_title`` where the meeting was joined) and its body's ``group_name`` and
        ``group_kind``; empty texts for NULLs."""
        return cls(
            id=row[f"{prefix}id"],
            uid=row[f"{prefix}ical_uid"],
            sequence=row[f"{prefix}ical_sequence"],
            title=row[f"{prefix}title"],
            starts_at=row[f"{prefix}starts_at"],
            ends_at=row[f"{prefix}ends_at"],
            group_name=row["group_name"] or "",
            group_kind=row["group_kind"] or "",
            location=row[f"{prefix}location"] or "",
            video_url=row[f"{prefix}video_url"],
            agenda=row[f"{prefix}agenda"] or "",
            status=row[f"{prefix}status"],
            minutes=row[f"{prefix}minutes"] or "",
        )

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
    role: str = MEMBER
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


def _part(content: str | bytes, **kwargs: Any) -> MIMEPart:
    part = MIMEPart()
    part.set_content(content, **kwargs)
    return part


def _text_parts(template: str, context: dict[str, Any]) -> list[MIMEPart]:
    text = TEMPLATES.get_template(f"{template}.txt").render(context)
    html = TEMPLATES.get_template(f"{template}.html").render(context)
    return [
        _part(text, subtype="plain", cte="quoted-printable"),
        _part(html, subtype="html", cte="quoted-printable"),
    ]


def _message(
    envelope: Envelope, recipient: Mailbox, subject: str, body: Sequence[MIMEPart]
) -> EmailMessage:
    """Headers, then ``body``: the parts of multipart/alternative, then attachments."""
    message = EmailMessage(policy=POLICY)
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
    # typeshed declares MIMEPart.attach(payload: Self), so an EmailMessage would only take
    # EmailMessages; the stdlib attaches any MIMEPart, and the parts are plain MIMEParts.
    container: MIMEPart = message
    if not attachments:
        container.make_alternative()
        for part in alternatives:
            container.attach(part)
        return message
    container.make_mixed()
    container.attach(alternative)
    for part in attachments:
        container.attach(part)
    return message


def _context(meeting: MeetingInfo, recipient: Mailbox, **extra: Any) -> dict[str, Any]:
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
    kind = "modification" if update else "invitation"
    return MeetingMessages(meeting, kind, envelope).build(invitee).email()


def cancellation(meeting: MeetingInfo, invitee: Invitee, envelope: Envelope) -> EmailMessage:
    """METHOD:CANCEL with STATUS:CANCELLED at the meeting's (already raised) SEQUENCE."""
    return MeetingMessages(meeting, "annulation", envelope).build(invitee).email()


def reminder(meeting: MeetingInfo, invitee: Invitee, envelope: Envelope, days: int) -> EmailMessage:
    """A plain reminder (no calendar part: the calendar already holds the event)."""
    return MeetingMessages(meeting, "rappel", envelope, days=days).build(invitee).email()


# ----- one meeting, many recipients -----------------------------------------------------------
#
# A body of 300 partners gets 300 messages that differ in a handful of bytes: the name, the
# answer links, the ATTENDEE line, the To: and Message-ID: headers. ``MeetingMessages`` renders,
# serialises and encodes everything else once per meeting, and writes each message straight to
# the bytes the outbox stores (CRLF, 7-bit), with no ``EmailMessage`` in between: building one
# costs tens of microseconds instead of milliseconds.

_UTF8 = Charset("utf-8")
_SLOT = re.compile("\ue000(nom|lien)\ue000")
"""Private-use characters around a slot name: autoescape leaves them alone, nobody types them."""
_NAME_SLOT = "\ue000nom\ue000"
_URL_SLOT = "\ue000lien\ue000"


@dataclass(frozen=True)
class Prebuilt:
    """A message as it goes on the wire, with what the outbox lists about it."""

    raw: bytes
    message_id: str
    subject: str
    headers: tuple[str, ...] = ()
    """The header names ``raw`` holds, in order: what reading it back must find."""

    def email(self) -> EmailMessage:
        """The same message as an ``EmailMessage`` (for callers that want one; not on the hot
        path): serialising it with ``policy.SMTP`` gives ``raw`` back."""
        return message_from_bytes(self.raw, _class=EmailMessage, policy=SMTP)


class _Bodies:
    """The text and HTML of one template for one meeting, rendered once per shape of recipient
    (with or without a name, answer links, a replacement to name) with slots for the name and
    the answer link, and quoted-printable encoded once (``_EncodedBody``); ``encode`` puts each
    recipient's values in, escaped for HTML the way Jinja2's autoescape would have."""

    def __init__(self, template: str, context: dict[str, Any]) -> None:
        self.template = template
        self.context = context
        self.encoded: dict[tuple[bool, bool, bool], tuple[_EncodedBody, _EncodedBody]] = {}

    def _render(self, shape: tuple[bool, bool, bool]) -> tuple[_EncodedBody, _EncodedBody]:
        has_name, has_links, can_delegate = shape
        context = {
            **self.context,
            "name": _NAME_SLOT if has_name else "",
            "links": {key: f"{_URL_SLOT}?reponse={key}" for key in ANSWERS} if has_links else {},
            "can_delegate": can_delegate,
        }
        text = TEMPLATES.get_template(f"{self.template}.txt").render(context)
        html = TEMPLATES.get_template(f"{self.template}.html").render(context)
        return _EncodedBody(text), _EncodedBody(html)

    def encode(self, invitee: Invitee) -> tuple[bytes, bytes]:
        """The recipient's text and HTML, quoted-printable encoded as ``binascii.b2a_qp``
        encodes the whole rendered bodies with CRLF line breaks."""
        name, url = invitee.mailbox.name, invitee.answer_url or ""
        shape = (bool(name), bool(url), invitee.can_delegate)
        if shape not in self.encoded:
            self.encoded[shape] = self._render(shape)
        text, html = self.encoded[shape]
        escaped = {"nom": str(escape(name)), "lien": str(escape(url))}
        return text.fill({"nom": name, "lien": url}), html.fill(escaped)


class _EncodedBody:
    """A body with slots, quoted-printable encoded once but for the lines holding a slot.

    Quoted-printable encodes each line on its own (a hard line break resets the count of the
    76-character limit), so a line without a slot encodes the same for every recipient. Only a
    few lines hold the name or the answer links: per message, encoding drops from the whole
    body (2.7 kB, a fifth of the time a message took to build) to those lines."""

    def __init__(self, text: str) -> None:
        lines = _crlf_lines(text)
        # Consecutive lines without a slot are joined: one piece each between the slot lines.
        self.parts: list[bytes | tuple[str, bool]] = []
        for index, line in enumerate(lines):
            last = index == len(lines) - 1
            if _SLOT.search(line):
                self.parts.append((line, last))
            elif self.parts and isinstance(self.parts[-1], bytes):
                self.parts[-1] += _encoded_line(line, last)
            else:
                self.parts.append(_encoded_line(line, last))

    def fill(self, values: dict[str, str]) -> bytes:
        return b"".join(
            part
            if isinstance(part, bytes)
            else _encoded_line(_SLOT.sub(lambda match: values[match[1]], part[0]), part[1])
            for part in self.parts
        )


_TEMPLATE_OF = {
    "invitation": "invitation",
    "modification": "invitation",
    "annulation": "annulation",
    "rappel": "rappel",
    "relance": "relance",
}
_TEXT_HEADERS = (
    b'Content-Type: text/%s; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
)


def _crlf_lines(text: str) -> list[str]:
    """The lines of ``text`` whatever their endings; the last is what follows the last break."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _encoded_line(line: str, last: bool) -> bytes:
    """One line as ``b2a_qp`` encodes it within a CRLF text, followed by its CRLF unless
    it ends the text. ``b2a_qp`` takes the ending of its soft line breaks from the first line
    break it meets, and treats the end of the data like a line break but for the room it
    leaves for ``=20``: the last line is encoded after an empty one, the others before CRLF."""
    if last:
        return binascii.b2a_qp(("\r\n" + line).encode("utf-8"), istext=True)[2:]
    return binascii.b2a_qp((line + "\r\n").encode("utf-8"), istext=True)


def _encoded_part(subtype: str, encoded: bytes) -> bytes:
    return _TEXT_HEADERS % subtype.encode() + encoded


def _base64_lines(content: bytes) -> bytes:
    """``base64.encodebytes`` with CRLF: 76-character lines, each ended. Encoded in one call
    and cut, rather than one call per 57-byte line."""
    encoded = binascii.b2a_base64(content, newline=False)
    return b"".join(encoded[i : i + 76] + b"\r\n" for i in range(0, len(encoded), 76))


def _base64_part(headers: bytes, encoded: bytes) -> bytes:
    """A part whose body is ``encoded`` (``_base64_lines``)."""
    return headers + b"\r\n\r\n" + encoded


def _boundary() -> bytes:
    # "=_" never occurs in quoted-printable or base64 text, so no part can contain it.
    return f"=_maillage_{secrets.token_hex(8)}".encode()


def _multipart(subtype: str, parts: Sequence[bytes]) -> tuple[bytes, bytes]:
    """The Content-Type header line and the body of a multipart of ``parts``."""
    boundary = _boundary()
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    header = b'Content-Type: multipart/%s; boundary="%s"\r\n' % (subtype.encode(), boundary)
    return header, body + b"--" + boundary + b"--\r\n"


_ENCODED_WORD = "=?"
"""What opens an RFC 2047 encoded word: text holding it is never handed to the ``email``
package's folder, which would decode it (see ``_SubjectHeader.parse``)."""

PREBUILT_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "X-Auto-Response-Suppress",
    "Content-Type",
)
"""The headers of a message built by ``MeetingMessages``, in order."""


class _SubjectHeader(UnstructuredHeader):
    """A subject whose non-ASCII text is written as a run of RFC 2047 words, one per line.

    The ``email`` package's folder drops the space between two encoded words it puts on either
    side of a line break or side by side (« ordre du jour détaillé » arrived as « ordre du
    jourdétaillé », CPython gh-144156): words that carry their own spaces cannot lose them,
    since a decoder joins adjacent encoded words."""

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        super().parse(value, kwds)
        if isinstance(value, str) and _ENCODED_WORD in value:
            # The ``email`` package decodes encoded words here, and Python 3.11 before the
            # CVE-2024-6923 fix writes the line breaks they hold raw when folding: a subject
            # (or a merge field in it) could add headers. The text stays as typed instead,
            # and is folded as words of ours, which a reader decodes back to it.
            kwds["decoded"] = one_line(value)

    # The registry mixes ``BaseHeader`` (``fold``, ``name``) into the class it builds from this
    # one; typeshed's ``UnstructuredHeader`` does not know it, hence the two narrow ignores.
    def fold(self, *, policy: Policy) -> str:
        text = str(self)
        if text.isascii() and _ENCODED_WORD not in text:
            folded: str = super().fold(policy=policy)  # type: ignore[misc]  # BaseHeader, mixed in
            return folded
        prefix = f"{self.name}: "  # type: ignore[attr-defined]  # BaseHeader, mixed in
        return prefix + f"{policy.linesep} ".join(_encoded_words(text, prefix)) + policy.linesep


class _MailboxHeader(UniqueAddressHeader):
    """From and To, when they name one mailbox: its display name folded as ``_mailbox_line``
    does, for the same reason as the subject."""

    def fold(self, *, policy: Policy) -> str:  # BaseHeader mixed in, as for _SubjectHeader
        if len(self.groups) != 1 or len(self.addresses) != 1 or self.groups[0].display_name:
            folded: str = super().fold(policy=policy)  # type: ignore[misc]  # BaseHeader, mixed in
            return folded
        mailbox = self.addresses[0]
        name: str = self.name  # type: ignore[attr-defined]  # BaseHeader, mixed in
        return _mailbox_line(name, mailbox.display_name, mailbox.addr_spec, policy.linesep)


_HEADERS = HeaderRegistry()
# The registry mixes ``BaseHeader`` in, as for its own classes (typeshed asks for it already).
_HEADERS.map_to_type("subject", _SubjectHeader)  # type: ignore[arg-type]  # BaseHeader mixed in by the registry
_HEADERS.map_to_type("from", _MailboxHeader)  # type: ignore[arg-type]  # BaseHeader mixed in by the registry
_HEADERS.map_to_type("to", _MailboxHeader)  # type: ignore[arg-type]  # BaseHeader mixed in by the registry
POLICY = default.clone(header_factory=_HEADERS)
"""The policy of every message built here: ``policy.default`` but for how the subject, From
and To are folded."""


def _folded(name: str, value: object) -> bytes:
    """One header as the ``email`` package writes it under ``policy.SMTP`` (RFC 2047, folded)."""
    folded: str = POLICY.header_factory(name, value).fold(policy=SMTP)
    return folded.encode("ascii")


def _to_header(recipient: Mailbox) -> bytes:
    """The To: header of one recipient, a hundred times faster than the header registry."""
    return _mailbox_line("To", recipient.name, recipient.address).encode("ascii")


def _mailbox_line(field: str, name: str, address: str, linesep: str = "\r\n") -> str:
    """A header naming one mailbox, folded within 76 characters a line (RFC 2047 § 2).

    ``formataddr`` quotes a name or encodes it as one RFC 2047 word; a name too long for that,
    or one that would read as an encoded word, becomes a run of base64 encoded words, one per
    folded line, each carrying its own spaces (a decoder joins adjacent encoded words without
    a space, which the ``email`` package's folder forgets)."""
    name = one_line(name)
    prefix = f"{field}: "
    if not name:
        return f"{prefix}{address}{linesep}"
    display = ""
    if _ENCODED_WORD not in name:
        display = formataddr((name, address), charset=_UTF8).rpartition(" <")[0]
    if not display or len(prefix) + len(display) > 76:
        display = f"{linesep} ".join(_encoded_words(name, prefix))
    angle = f"<{address}>"
    last = (prefix + display).rpartition(linesep)[2]
    separator = " " if len(last) + 1 + len(angle) <= 76 else f"{linesep} "
    return f"{prefix}{display}{separator}{angle}{linesep}"


def _encoded_words(text: str, prefix: str) -> list[str]:
    """RFC 2047 base64 words for a header starting with ``prefix``, one per line, each line
    within 76 characters (RFC 2047 § 2), never splitting a character."""
    chunks, budget = [""], _word_bytes(len(prefix))
    for char in text:
        if len((chunks[-1] + char).encode("utf-8")) > budget:
            chunks.append("")
            budget = _word_bytes(1)  # a folded line starts with a space
        chunks[-1] += char
    return [f"=?utf-8?b?{base64.b64encode(chunk.encode()).decode('ascii')}?=" for chunk in chunks]


def _word_bytes(indent: int) -> int:
    """The UTF-8 bytes a base64 word holds after ``indent`` characters on a 76-character line."""
    return 3 * ((76 - indent - len("=?utf-8?b??=")) // 4)


def delay_text(days: int) -> str:
    """« aujourd'hui », « demain », « dans 5 jours » (calendar days, never fewer than 2 here)."""
    if days <= 0:
        return "aujourd'hui"
    return "demain" if days == 1 else f"dans {days} jours"


class MeetingMessages:
    """Every message of one kind for one meeting: ``build(invitee)`` per recipient.

    ``kind``: ``invitation``, ``modification`` (REQUEST at a raised SEQUENCE), ``annulation``
    (CANCEL), ``rappel`` (no calendar part; ``days`` before the meeting) or ``relance`` (no
    calendar part: to those who have not answered yet). ``attachments`` (the pack, #22) follow
    the calendar file in the multipart/mixed, encoded once for every recipient: the
    multipart/alternative with its text/calendar part stays first, as iMIP clients expect."""

    def __init__(
        self,
        meeting: MeetingInfo,
        kind: str,
        envelope: Envelope,
        days: int | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> None:
        organizer = envelope.organizer
        moment = french.format_moment(meeting.starts_at)
        context = _context(meeting, Mailbox(""), organizer=organizer, answers=ANSWERS)
        self.calendar: SingleAttendeeTemplate | None = None
        self.method = ""
        if kind == "rappel":
            when = delay_text(days or 0)
            context["when"] = when
            subject = f"Rappel : {meeting.summary}, {when} ({moment})"
        elif kind == "relance":
            context["when"] = f"le {moment}"
            subject = f"Votre réponse, s'il vous plaît : {meeting.summary}, {moment}"
        elif kind == "annulation":
            subject = f"Annulation : {meeting.summary}, {moment}"
            self.method = "CANCEL"
            self.calendar = cancellation_template(meeting.event(organizer), stamp=envelope.stamp)
        else:
            prefix = "Modification" if kind == "modification" else "Invitation"
            context["update"] = kind == "modification"
            subject = f"{prefix} : {meeting.summary}, {moment}"
            self.method = "REQUEST"
            self.calendar = invitation_template(meeting.event(organizer), stamp=envelope.stamp)
        self.bodies = _Bodies(_TEMPLATE_OF[kind], context)
        self.subject = one_line(subject)
        self.domain = organizer.address.rpartition("@")[2]
        self.from_header = _mailbox_line("From", organizer.name, organizer.address).encode()
        self.headers = _folded("Subject", self.subject) + _folded(
            "Date", format_datetime(envelope.stamp.astimezone(dt.UTC))
        )
        # Out-of-office replies to a mass of invitations would flood the organiser's mailbox.
        self.trailer = b"MIME-Version: 1.0\r\nX-Auto-Response-Suppress: OOF, AutoReply\r\n"
        self.files = [_attachment_part(item) for item in attachments]

    def build(self, invitee: Invitee) -> Prebuilt:
        text, html = self.bodies.encode(invitee)
        parts = [_encoded_part("plain", text), _encoded_part("html", html)]
        attachments = []
        if self.calendar is not None:
            # The same file twice (the calendar part and the attachment): encoded once.
            ics = _base64_lines(self.calendar.fill(invitee.attendee()))
            parts.append(
                _base64_part(
                    b"Content-Type: text/calendar; charset=UTF-8; method=%s\r\n"
                    b"Content-Transfer-Encoding: base64" % self.method.encode(),
                    ics,
                )
            )
            attachments.append(
                _base64_part(
                    b'Content-Type: application/ics; name="invitation.ics"\r\n'
                    b"Content-Transfer-Encoding: base64\r\n"
                    b'Content-Disposition: attachment; filename="invitation.ics"',
                    ics,
                )
            )
        content_type, body = _multipart("alternative", parts)
        attachments += self.files
        if attachments:
            content_type, body = _multipart("mixed", [content_type + b"\r\n" + body, *attachments])
        message_id = make_msgid(domain=self.domain)
        raw = b"".join(
            (
                self.from_header,
                _to_header(invitee.mailbox),
                self.headers,
                b"Message-ID: %s\r\n" % message_id.encode("ascii"),
                self.trailer,
                content_type,
                b"\r\n",
                body,
            )
        )
        return Prebuilt(raw, message_id, self.subject, PREBUILT_HEADERS)


def _attachment_part(item: Attachment) -> bytes:
    """A file as a base64 attachment part, its headers written by the ``email`` package (a
    non-ASCII file name is RFC 2231 encoded), without the line break that ends the part."""
    maintype, _, subtype = item.content_type.partition("/")
    part = _part(
        item.content,
        maintype=maintype or "application",
        subtype=subtype or "octet-stream",
        disposition="attachment",
        filename=without_encoded_words(item.filename) or "piece-jointe",
    )
    return part.as_bytes(policy=SMTP).removesuffix(b"\r\n")


@dataclass(frozen=True)
class DecisionLine:
    """One line of the relevé de décisions: what, who carries it, by when."""

    summary: str
    carrier: str = ""
    due: str = ""


def minutes(
    meeting: MeetingInfo,
    recipient: Mailbox,
    envelope: Envelope,
    attachments: Sequence[Attachment] = (),
    decisions: Sequence[DecisionLine] = (),
) -> EmailMessage:
    """The minutes, with the relevé de décisions when the meeting recorded some (#22)."""
    context = _context(
        meeting,
        recipient,
        organizer=envelope.organizer,
        attachments=attachments,
        decisions=decisions,
    )
    day = french.format_date(french.in_paris(meeting.starts_at).date())
    subject = f"Compte rendu : {meeting.summary} du {day}"
    parts = _text_parts("compte_rendu", context)
    for item in attachments:
        maintype, _, subtype = item.content_type.partition("/")
        parts.append(
            _part(
                item.content,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                disposition="attachment",
                filename=without_encoded_words(item.filename) or "piece-jointe",
            )
        )
    return _message(envelope, recipient, subject, parts)


def registration(
    meeting: MeetingInfo,
    recipient: Mailbox,
    envelope: Envelope,
    erased_on: dt.date,
    waiting_rank: int | None = None,
) -> EmailMessage:
    """An inhabitant's registration to a public meeting (#22): with a place, the event as a
    METHOD:PUBLISH file to add to one's calendar (no ATTENDEE: nobody else is disclosed); on
    the waiting list, the rank and no event."""
    moment = french.format_moment(meeting.starts_at)
    waiting = waiting_rank is not None
    prefix = "Liste d'attente" if waiting else "Inscription confirmée"
    subject = f"{prefix} : {meeting.summary}, {moment}"
    context = _context(
        meeting,
        recipient,
        organizer=envelope.organizer,
        subject=subject,
        waiting=waiting,
        rank=waiting_rank,
        erased_on=french.format_date(erased_on),
    )
    parts = _text_parts("inscription", context)
    if not waiting:
        calendar = build_calendar(
            [meeting.event(envelope.organizer)], method="PUBLISH", stamp=envelope.stamp
        )
        parts.append(
            _part(
                serialize(calendar),
                maintype="text",
                subtype="calendar",
                params={"method": "PUBLISH", "charset": "UTF-8"},
                disposition="attachment",
                filename="reunion.ics",
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
    """A mass mailing: one-click unsubscribe (RFC 8058) in the headers and in the body, and
    the list's identity (RFC 2919 ``List-Id``, ``envois.`` and the sender's domain), without
    which SpamAssassin scores a ``List-Unsubscribe`` alone (``LIST_PARTIAL_SHORT_MSG``, #19)."""
    context = {"text": text, "unsubscribe_url": unsubscribe_url, "organizer": envelope.organizer}
    message = _message(envelope, recipient, subject, _text_parts("envoi_groupe", context))
    domain = envelope.organizer.address.rpartition("@")[2].lower()
    message["List-Id"] = f"<envois.{domain.encode('idna').decode('ascii')}>"
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Precedence"] = "bulk"
    return message


MAILING_HEADERS = (
    *PREBUILT_HEADERS,
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Precedence",
)
"""The headers of a message built by ``MailingMessages``, in order (those of ``mailing``)."""


def _encoded_text(text: str) -> bytes:
    """``text`` quoted-printable encoded line by line with CRLF breaks, as the ``email``
    package encodes a text part (``_encoded_line``)."""
    lines = _crlf_lines(text)
    last = len(lines) - 1
    return b"".join(_encoded_line(line, index == last) for index, line in enumerate(lines))


class MailingMessages:
    """Every message of one mass mailing, as bytes: ``build`` per recipient gives what
    ``mailing`` gives, without the ``email`` package's header objects, generator and parser
    (4.7 ms of CPU a message: a département's 12,000 partners were a minute of CPU, #16).

    What every recipient shares (From, Date, List-Id, a subject without merge fields) is
    folded once; the subject, name and link of a recipient go through the same folding
    functions as ``mailing``'s headers."""

    def __init__(self, envelope: Envelope) -> None:
        organizer = envelope.organizer
        self.organizer = organizer
        self.domain = organizer.address.rpartition("@")[2]
        self.from_header = _mailbox_line("From", organizer.name, organizer.address).encode()
        self.date = _folded("Date", format_datetime(envelope.stamp.astimezone(dt.UTC)))
        self.trailer = b"MIME-Version: 1.0\r\nX-Auto-Response-Suppress: OOF, AutoReply\r\n"
        list_id = f"<envois.{self.domain.lower().encode('idna').decode('ascii')}>"
        self.list_id = _folded("List-Id", list_id)
        self.subjects: dict[str, bytes] = {}
        self.text = TEMPLATES.get_template("envoi_groupe.txt")
        self.html = TEMPLATES.get_template("envoi_groupe.html")

    def _subject(self, subject: str) -> bytes:
        folded = self.subjects.get(subject)
        if folded is None:
            folded = _folded("Subject", subject)
            if len(self.subjects) < 100:  # one subject for all, or one per merge value
                self.subjects[subject] = folded
        return folded

    def build(self, subject: str, text: str, recipient: Mailbox, unsubscribe_url: str) -> Prebuilt:
        subject = one_line(subject)
        context = {"text": text, "unsubscribe_url": unsubscribe_url, "organizer": self.organizer}
        parts = [
            _encoded_part("plain", _encoded_text(self.text.render(context))),
            _encoded_part("html", _encoded_text(self.html.render(context))),
        ]
        content_type, body = _multipart("alternative", parts)
        message_id = make_msgid(domain=self.domain)
        link = f"List-Unsubscribe: <{unsubscribe_url}>\r\n"
        unsubscribe = (
            link.encode("ascii")
            if link.isascii() and len(link) <= 80  # 78 characters and the line break
            else _folded("List-Unsubscribe", f"<{unsubscribe_url}>")
        )
        raw = b"".join(
            (
                self.from_header,
                _to_header(recipient),
                self._subject(subject),
                self.date,
                b"Message-ID: %s\r\n" % message_id.encode("ascii"),
                self.trailer,
                content_type,
                self.list_id,
                unsubscribe,
                b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nPrecedence: bulk\r\n",
                b"\r\n",
                body,
            )
        )
        return Prebuilt(raw, message_id, subject, MAILING_HEADERS)


def inhabitant_notice(
    meeting: MeetingInfo,
    recipient: Mailbox,
    envelope: Envelope,
    notice: str,
    erased_on: dt.date,
    when: str = "",
) -> EmailMessage:
    """To an inhabitant registered to a public meeting (#22): ``annulation`` (the meeting is
    cancelled; a plain notice, their calendar file was a PUBLISH they may remove) or ``rappel``
    (``when``: « dans 2 jours »)."""
    moment = french.format_moment(meeting.starts_at)
    if notice == "annulation":
        subject = f"Annulation : {meeting.summary}, {moment}"
    else:
        subject = f"Rappel : {meeting.summary}, {when} ({moment})"
    context = _context(
        meeting,
        recipient,
        organizer=envelope.organizer,
        subject=subject,
        notice=notice,
        moment=moment,
        when=when,
        erased_on=french.format_date(erased_on),
    )
    return _message(envelope, recipient, subject, _text_parts("habitant", context))
