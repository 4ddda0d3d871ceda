"""What a message that reached the organiser's mailbox is (#19): pure parsing, no database.

- a bounce: RFC 3464 ``multipart/report; report-type=delivery-status`` (Postfix, Exchange,
  Gmail, recent Exim), or Exim's plain-text form (``X-Failed-Recipients``); permanent for a
  5.x.x status, temporary for 4.x.x; with the Message-ID of the returned message when its
  headers came back;
- a calendar answer: a ``text/calendar`` part with METHOD:REPLY (``replies.calendars_in``);
- an automatic reply: ``Auto-Submitted`` other than « no », ``X-Autoreply``, ``Precedence:
  auto_reply`` or an out-of-office subject;
- anything else, left in the inbox.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parsedate_to_datetime

from icalendar import Calendar

from maillage.calendar.events import ReplyError, parse_reply
from maillage.mailing.addresses import one_line
from maillage.mailing.replies import calendars_in

BOUNCE = "echec"
REPLY = "reponse"
AUTOMATIC = "reponse_auto"
OTHER = "autre"
UNREADABLE = "illisible"  # a calendar part that is not iCalendar

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"\b([45])\d\d\b")
_ADDRESS = re.compile(r"[^\s<>\"';:,()]+@[^\s<>\"';:,()]+\.[A-Za-z]{2,63}")
_MESSAGE_ID = re.compile(r"^Message-ID:\s*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)
_OUT_OF_OFFICE = re.compile(
    r"^\s*(?:r[ée]ponse automatique|absence|absent|automatic reply|auto(?:matic)?[- ]?reply|"
    r"out of (?:the )?office|abwesenheit|auto\s*:|autoreply|risposta automatica|"
    r"respuesta autom[áa]tica)",
    re.IGNORECASE,
)
MAX_REASON = 500


@dataclass(frozen=True)
class Failure:
    """One recipient a delivery report is about."""

    recipient: str
    status: str  # « 5.1.1 »; « 5.0.0 » or « 4.0.0 » when only the SMTP code or words said it
    diagnostic: str  # the receiving server's words, one line

    @property
    def permanent(self) -> bool:
        return self.status.startswith("5")


@dataclass(frozen=True)
class Incoming:
    key: str  # the Message-ID, or « sha256:… » of the bytes when it has none
    kind: str
    sender: str = ""
    subject: str = ""
    failures: tuple[Failure, ...] = ()
    original_message_id: str | None = None
    calendars: list[bytes] = field(default_factory=list)
    raw: bytes = b""
    date: dt.datetime | None = None  # the Date header, in UTC
    text: str = ""  # an automatic reply's subject and text, for its return date


def message_key(message: Message, raw: bytes) -> str:
    value = one_line(str(message.get("Message-ID", "") or ""))
    if value and len(value) <= 255:
        return value
    return "sha256:" + hashlib.sha256(value.encode() if value else raw).hexdigest()


def parse(raw: bytes) -> Incoming:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    key = message_key(message, raw)
    sender = one_line(_header(message, "From"))[:254]
    subject = one_line(_header(message, "Subject"))[:500]
    failures, original = _bounce(message)
    if failures:
        return Incoming(key, BOUNCE, sender, subject, failures, original)
    calendars = calendars_in(raw)
    replies = [data for data in calendars if _is_reply(data)]
    if calendars and not replies and not any(_readable(data) for data in calendars):
        return Incoming(key, UNREADABLE, sender, subject, date=_date(message))
    if replies:
        return Incoming(
            key, REPLY, sender, subject, calendars=replies, raw=raw, date=_date(message)
        )
    if _automatic(message, subject):
        return Incoming(
            key, AUTOMATIC, sender, subject, date=_date(message), text=_text(message, subject)
        )
    return Incoming(key, OTHER, sender, subject)


def _text(message: Message, subject: str) -> str:
    """The subject and the plain text (or the HTML without its tags) of an automatic reply."""
    body = None
    if isinstance(message, EmailMessage):
        try:
            body = message.get_body(("plain", "html"))
        except (KeyError, LookupError, ValueError):
            body = None
    content = ""
    if body is not None:
        try:
            content = str(body.get_content())
        except (KeyError, LookupError, ValueError, AssertionError):
            content = ""
        if body.get_content_type() == "text/html":
            content = re.sub(r"<[^>]+>", " ", content)
    return f"{subject}\n{content}"[:20_000]


def _date(message: Message) -> dt.datetime | None:
    try:
        moment = parsedate_to_datetime(_header(message, "Date"))
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _header(message: Message, name: str) -> str:
    try:
        return str(message.get(name, "") or "")
    except (ValueError, IndexError, AttributeError):  # a header the parser cannot read
        return ""


def _readable(data: bytes) -> bool:
    try:
        Calendar.from_ical(data)
    except (ValueError, KeyError, TypeError, IndexError):
        return False
    return True


def _is_reply(data: bytes) -> bool:
    """A REPLY, or a COUNTER (a proposed new time)."""
    try:
        parse_reply(data, ("REPLY", "COUNTER"))
    except (ReplyError, ValueError, KeyError, TypeError):
        return False
    return True


def _automatic(message: Message, subject: str) -> bool:
    submitted = _header(message, "Auto-Submitted").strip().lower()
    if submitted and submitted != "no":
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    if _header(message, "Precedence").strip().lower() == "auto_reply":
        return True
    return bool(_OUT_OF_OFFICE.match(subject))


# ----- bounces ----------------------------------------------------------------------------------


def _bounce(message: Message) -> tuple[tuple[Failure, ...], str | None]:
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            failures = _delivery_status(part)
            if failures:
                return failures, _returned_message_id(message)
    failed = _header(message, "X-Failed-Recipients")
    if failed:
        return _exim_text(message, failed)
    return (), None


def _delivery_status(part: Message) -> tuple[Failure, ...]:
    """The per-recipient blocks of a ``message/delivery-status`` part (RFC 3464 § 2.3)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = [block for block in payload if isinstance(block, Message)]
    else:  # not parsed into blocks (unusual transfer encoding): read the fields ourselves
        text = _bytes(part)
        blocks = [
            HeaderParser().parsestr(chunk)
            for chunk in re.split(r"\r?\n\s*\r?\n", text.decode("utf-8", "replace"))
        ]
    failures = []
    for block in blocks:
        recipient = _address(block.get("Final-Recipient") or block.get("Original-Recipient"))
        action = str(block.get("Action", "")).strip().lower()
        if not recipient or action not in ("failed", "delayed"):
            continue
        diagnostic = one_line(str(block.get("Diagnostic-Code", "") or ""))
        diagnostic = re.sub(r"^\s*smtp\s*;\s*", "", diagnostic, flags=re.IGNORECASE)
        status = _status(str(block.get("Status", "")), diagnostic, action == "failed")
        failures.append(Failure(recipient, status, (diagnostic or status)[:MAX_REASON]))
    return tuple(failures)


def _status(field_value: str, diagnostic: str, failed: bool) -> str:
    for text in (field_value, diagnostic):
        match = _STATUS.search(text)
        if match and match.group(1) in "45":
            return match.group(0)
    code = _SMTP_CODE.search(diagnostic)
    if code:
        return f"{code.group(1)}.0.0"
    return "5.0.0" if failed else "4.0.0"


def _bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _address(value: object) -> str:
    text = str(value or "")
    if ";" in text:  # « rfc822; someone@example.org »
        text = text.split(";", 1)[1]
    match = _ADDRESS.search(text)
    return match.group(0).strip(".").lower() if match else ""


def _returned_message_id(message: Message) -> str | None:
    """The Message-ID of the returned message: a ``text/rfc822-headers`` part or a
    ``message/rfc822`` one (RFC 3462)."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message) and inner.get("Message-ID"):
                return one_line(str(inner["Message-ID"]))
        elif kind == "text/rfc822-headers":
            data = _bytes(part)
            match = _MESSAGE_ID.search(data.decode("utf-8", "replace"))
            if match:
                return match.group(1)
    return None


_EXIM_COPY = re.compile(r"^-+ This is a copy of the message", re.MULTILINE)


def _exim_text(message: Message, failed: str) -> tuple[tuple[Failure, ...], str | None]:
    """Exim without DSN: the failed addresses in ``X-Failed-Recipients``, the reasons in the
    text, the returned message after « ------ This is a copy of the message… »."""
    body = message.get_body(("plain",)) if isinstance(message, EmailMessage) else None
    text = body.get_content() if body is not None else str(message.get_payload())
    cut = _EXIM_COPY.search(text)
    report, copy = (text[: cut.start()], text[cut.end() :]) if cut else (text, "")
    permanent = "permanent error" in report.lower() or "5." in report
    failures = []
    for _, address in getaddresses([failed]):
        recipient = address.strip().lower()
        if not recipient:
            continue
        diagnostic = _exim_reason(report, recipient)
        status = _status("", diagnostic, permanent)
        failures.append(Failure(recipient, status, diagnostic[:MAX_REASON] or status))
    match = _MESSAGE_ID.search(copy)
    return tuple(failures), match.group(1) if match else None


def _exim_reason(report: str, recipient: str) -> str:
    """The indented lines under the address in Exim's report."""
    lines = report.splitlines()
    for index, line in enumerate(lines):
        if line.strip().lower().strip("<>") == recipient:
            reason = []
            for following in lines[index + 1 :]:
                if not following.startswith((" ", "\t")) or not following.strip():
                    break
                reason.append(following.strip())
            return one_line(" ".join(reason))
    return ""
