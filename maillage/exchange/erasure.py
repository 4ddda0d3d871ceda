"""Erasure that erases: every copy of a person, wherever maillage wrote it.

A person is known by more than their card shows today: the names, addresses and phones the
journal recorded before a change, those of a duplicate merged into them, and the functions of
their affiliations. ``Person.gather`` collects all of them; ``Identifiers`` finds them in text
with or without accents, in any case, and with any spacing (search columns are normalised:
« francois marie »).

What is scrubbed: every text and JSON column of every table (search columns included), the
outbox's messages read as their recipient would (MIME decoded: « H=C3=A9l=C3=A8ne » is Hélène),
the ``.eml`` files, the exports kept on the server; the person's feed tokens are revoked and the
caches that may hold them emptied; then the database is compacted (SQLite: ``VACUUM`` and a
truncating WAL checkpoint, so no free page or WAL frame keeps the old rows). Backups cannot be
rewritten: ``backups_holding`` lists those made before the erasure and when they expire.
"""

from __future__ import annotations

import binascii
import contextlib
import datetime as dt
import email
import email.policy
import json
import re
import unicodedata
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from piccolo.columns import JSON, Text, Varchar
from piccolo.table import Table

from maillage.crm.text import search_text
from maillage.tables import TABLES, Affiliation, AuditEvent, Contact, OutboxContent, User

SCRUBBED = "[anonymisé]"
SCRUBBED_SEARCH = search_text(SCRUBBED)
PERSONAL_FIELDS = (
    "civility",
    "first_name",
    "last_name",
    "email",
    "phone",
    "notes",
    "commune",
    "consent_date",
    "search",
    "function",
)
SKIPPED_COLUMNS = {
    "password_hash",
    "token_hash",
    "token_nonce",
    "link_nonce",
    "message_id",
    "ical_uid",
}
PAGE = 1000
BACKUP_RETENTION_DAYS = 30
"""How long a backup is kept: the deployment guide's timer deletes those older (README,
« Sauvegardes planifiées »)."""


# ----- who ------------------------------------------------------------------------------------


def _variants() -> dict[str, str]:
    """For each ASCII letter, the letters that read as it without their accent (é, È, ç…)."""
    classes: dict[str, str] = {}
    for code in range(0xC0, 0x250):
        char = chr(code)
        base = unicodedata.normalize("NFKD", char)[0].lower()
        if base.isascii() and base.isalpha() and char.lower() != base:
            classes[base] = classes.get(base, base) + char
    return classes


_VARIANTS = _variants()


def fold(text: str) -> bytes:
    """Lower-case ASCII without accents, at C speed (« Quénéhervé » → ``b"queneherve"``)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").lower()


def loose_pattern(text: str) -> str:
    """A regular expression finding ``text`` with or without accents and with any spacing
    (combined with ``re.IGNORECASE``)."""
    folded = unicodedata.normalize("NFKD", text)
    pieces = []
    for char in folded:
        if unicodedata.combining(char):
            continue
        if char.isspace():
            pieces.append(r"\s+")
        elif char.lower() in _VARIANTS:
            pieces.append(f"[{re.escape(_VARIANTS[char.lower()])}]")
        else:
            pieces.append(re.escape(char))
    return "".join(pieces)


def phone_pattern(phone: str) -> str:
    """« +33299123456 » as it may be written: « 02 99 12 34 56 », « 02.99.12.34.56 »,
    « +33 2 99 12 34 56 »."""
    digits = re.sub(r"\D", "", phone)
    if phone.startswith("+33") and len(digits) == 11:
        national = digits[2:]
        return r"(?:\+\s?33\s?(?:\(0\)\s?)?|0)" + r"[\s.\-]?".join(national)
    return r"[\s.\-]?".join(re.escape(d) for d in digits)


def _identifies(text: str) -> bool:
    """A name or address that can identify someone: with a letter or a digit (a name of
    accents or spaces alone would find every space)."""
    return any(char.isalnum() for char in unicodedata.normalize("NFKD", text))


# Fewer digits than this is no phone number: « 12 » would be found in every date.
PHONE_DIGITS_MIN = 6


def _identifies_phone(phone: str) -> bool:
    return len(re.sub(r"\D", "", phone)) >= PHONE_DIGITS_MIN


Window = tuple[int, int | None]
"""The journal's events about one record id that concern the person: from its creation to its
end (``None``: still alive). SQLite reuses the id of a deleted last row, so the id of a
merged duplicate can name another person's card afterwards."""


@dataclass
class Person:
    """Every form under which one person was recorded."""

    contact_id: int
    windows: dict[tuple[str, int], Window] = field(default_factory=dict)
    names: set[tuple[str, str]] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)

    def add(self, values: dict[str, Any]) -> None:
        first, last = values.get("first_name"), values.get("last_name")
        if isinstance(first, str) and isinstance(last, str) and first and last:
            self.names.add((first, last))
        if isinstance(values.get("email"), str) and values["email"]:
            self.emails.add(values["email"])
        if isinstance(values.get("phone"), str) and values["phone"]:
            self.phones.add(values["phone"])

    def owns(self, entity: str, entity_id: Any, event_id: int) -> bool:
        """Whether the journal's event ``event_id`` about ``entity`` n° ``entity_id`` is about
        the person (their card, a duplicate merged into it before its merge, an affiliation)."""
        if not isinstance(entity_id, int) or (entity, entity_id) not in self.windows:
            return False
        since, until = self.windows[(entity, entity_id)]
        return since <= event_id and (until is None or event_id <= until)

    @classmethod
    async def gather(cls, contact_id: int) -> Person:
        """The card, the journal's past values, merged duplicates and affiliations."""
        person = cls(contact_id)
        card = await Contact.select().where(Contact.id == contact_id).first().run()
        if card is not None:
            person.add(card)
        await person._add_window("contact", contact_id, None)
        # An event may change the first name alone: the other name completes it.
        known = {key: (card or {}).get(key) for key in ("first_name", "last_name")}
        for (entity, record_id), (since, until) in list(person.windows.items()):
            for event in await _events(entity, record_id, since, until):
                for state in _states(event["changes"] or {}):
                    person.add({**known, **state})
        # A merge moves the duplicate's affiliations to the card kept.
        for row in await Affiliation.select(Affiliation.id, Affiliation.function).where(
            Affiliation.contact == contact_id
        ):
            await person._add_window("affiliation", row["id"], None)
            if row["function"]:
                person.functions.add(row["function"])
        return person

    async def _add_window(self, entity: str, record_id: int, until: int | None) -> None:
        created = AuditEvent.select(AuditEvent.id).where((AuditEvent.entity == entity) & (AuditEvent.entity_id == record_id) & (AuditEvent.action == "create"))  # fmt: skip
        if until is not None:
            created = created.where(AuditEvent.id <= until)
        row = await created.order_by(AuditEvent.id, ascending=False).first()
        since = row["id"] if row else 0
        self.windows[(entity, record_id)] = (since, until)
        if entity == "contact":
            await self._add_merged(record_id, since, until)

    async def _add_merged(self, contact_id: int, since: int, until: int | None) -> None:
        for event in await _events("contact", contact_id, since, until, action="merge"):
            merged = (event["changes"] or {}).get("fusionne")
            if not isinstance(merged, int) or ("contact", merged) in self.windows:
                continue
            # The duplicate's life ends at its deletion, recorded with the merge.
            end = await _events("contact", merged, event["id"], None, action="delete")
            until_merged = end[0]["id"] if end else event["id"]
            await self._add_window("contact", merged, until_merged)


async def _events(
    entity: str, record_id: int, since: int, until: int | None, action: str | None = None
) -> list[dict[str, Any]]:
    query = AuditEvent.select(AuditEvent.id, AuditEvent.changes).where((AuditEvent.entity == entity) & (AuditEvent.entity_id == record_id) & (AuditEvent.id >= since))  # fmt: skip
    if until is not None:
        query = query.where(AuditEvent.id <= until)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return await query.order_by(AuditEvent.id).output(load_json=True).run()


def _states(changes: dict[str, Any]) -> list[dict[str, Any]]:
    """The values an event records: a creation's fields, or each side of ``[old, new]``."""
    states: list[dict[str, Any]] = [{}, {}]
    for key, value in changes.items():
        if isinstance(value, list) and len(value) == 2:
            states[0][key], states[1][key] = value
        else:
            states[0][key] = states[1][key] = value
    return states


class Identifiers:
    """The strings that identify a person wherever their data was copied."""

    def __init__(self, person: Person) -> None:
        self.person = person
        texts = []
        for first, last in person.names:
            texts += [f"{first} {last}", f"{last} {first}", f"{last};{first}", f"{last}\\;{first}"]
        patterns = [loose_pattern(t) for t in texts + sorted(person.emails) if _identifies(t)]
        patterns += [phone_pattern(p) for p in sorted(person.phones) if _identifies_phone(p)]
        # A pattern that finds an empty string finds it between every two characters: it
        # rewrote every text column of the database (found by Schemathesis: a phone recorded
        # without digits gave an empty pattern, and « acceptee » became « [anonymisé]a[…]… »).
        patterns = [p for p in patterns if re.fullmatch(p, "", re.IGNORECASE) is None]
        # Longest first: « Marie François » is replaced whole before « Marie » alone could be.
        patterns.sort(key=len, reverse=True)
        self.pattern = re.compile("|".join(patterns) or r"(?!x)x", re.IGNORECASE)
        # What any of the patterns needs to find, for ``might_hold``'s quick look: the longest
        # word of a last name, an address, a phone's digits without their leading 0 or +33.
        words = [fold(last).split() for _, last in person.names]
        # A name without Latin letters has no anchor: every message gets the full look.
        self.always_look = any(not w for w in words)
        self.anchors = {max(w, key=len) for w in words if w}
        self.anchors |= {fold(address) for address in person.emails}
        self.digits = {re.sub(r"\D", "", phone)[-9:].encode() for phone in person.phones}
        self.first_names = {first.lower() for first, _ in person.names}
        self.last_names = {last.lower() for _, last in person.names}

    def scrub(self, text: str, replacement: str = SCRUBBED) -> str:
        return self.pattern.sub(replacement, text)

    def found_in(self, text: str) -> bool:
        return self.pattern.search(text) is not None

    def row_is_theirs(self, cells: list[str]) -> bool:
        lowered = {str(c).strip().lower().lstrip("'") for c in cells if c is not None}
        if lowered & {e.lower() for e in self.person.emails}:
            return True
        return any(
            first.lower() in lowered and last.lower() in lowered
            for first, last in self.person.names
        )

    def scrub_row(self, cells: list[Any]) -> list[Any]:
        personal = self.first_names | self.last_names
        personal |= {e.lower() for e in self.person.emails}
        personal |= {f.lower() for f in self.person.functions}
        return [
            SCRUBBED
            if isinstance(c, str)
            and (c.strip().lower().lstrip("'") in personal or self.found_in(c))
            else c
            for c in cells
        ]


def scrub_json(value: Any, who: Identifiers) -> Any:
    if isinstance(value, str):
        return who.scrub(value)
    if isinstance(value, list):
        return [scrub_json(v, who) for v in value]
    if isinstance(value, dict):
        return {k: scrub_json(v, who) for k, v in value.items()}
    return value


# ----- every table ----------------------------------------------------------------------------


def _text_columns(table: type[Table]) -> list[Any]:
    return [
        column
        for column in table._meta.columns
        if isinstance(column, Varchar | Text | JSON)
        and column._meta.name not in SKIPPED_COLUMNS
        and not (table is OutboxContent and column._meta.name == "content")
    ]


def _scrubbed_value(column: Any, value: Any, who: Identifiers) -> Any:
    if value is None:
        return None
    if isinstance(column, JSON):
        loaded = json.loads(value) if isinstance(value, str) else value
        scrubbed = scrub_json(loaded, who)
        return scrubbed if scrubbed != loaded else value
    replacement = SCRUBBED_SEARCH if column._meta.name == "search" else SCRUBBED
    return who.scrub(value, replacement)


async def scrub_tables(who: Identifiers) -> dict[str, int]:
    """Every text and JSON column of every table; returns the rows changed per table."""
    counts: dict[str, int] = {}
    for table in TABLES:
        columns = _text_columns(table)
        # The journal has its own rules; user accounts are closed by an administrator, not
        # rewritten (their unique address would collide).
        if not columns or table in (AuditEvent, User):
            continue
        changed = await _scrub_table(table, columns, who)
        if changed:
            counts[table._meta.tablename] = changed
    return counts


async def _scrub_table(table: type[Table], columns: list[Any], who: Identifiers) -> int:
    primary = table._meta.primary_key
    changed, last = 0, 0
    while True:
        rows = await table.select(primary, *columns).where(primary > last).order_by(primary).limit(PAGE).run()  # fmt: skip
        if not rows:
            return changed
        for row in rows:
            update = {}
            for column in columns:
                value = row[column._meta.name]
                new = _scrubbed_value(column, value, who)
                if new != value:
                    update[column] = new
            if update:
                await table.update(update).where(primary == row[primary._meta.name]).run()
                changed += 1
        last = rows[-1][primary._meta.name]


async def scrub_audit(who: Identifiers) -> int:
    """The journal: events about the person's cards lose every personal field (a merged
    duplicate's included), events about their affiliations lose the function, and every
    other event loses the places where their name, address or phone appear."""
    person = who.person
    scrubbed, last = 0, 0
    while True:
        page = await AuditEvent.select(AuditEvent.id, AuditEvent.entity, AuditEvent.entity_id, AuditEvent.changes).where(AuditEvent.id > last).order_by(AuditEvent.id).limit(PAGE).output(load_json=True).run()  # fmt: skip
        if not page:
            return scrubbed
        for event in page:
            changes = event["changes"] or {}
            new = _scrubbed_event(event, changes, person, who)
            if new != changes:
                await AuditEvent.update({AuditEvent.changes: new}).where(AuditEvent.id == event["id"]).run()  # fmt: skip
                scrubbed += 1
        last = page[-1]["id"]


def _scrubbed_event(
    event: dict[str, Any], changes: dict[str, Any], person: Person, who: Identifiers
) -> Any:
    entity, entity_id = event["entity"], event["entity_id"]
    theirs = person.owns(entity, entity_id, event["id"]) or (
        entity == "affiliation" and _names_contact(changes, person, event["id"])
    )
    if not isinstance(changes, dict) or not theirs:
        return scrub_json(changes, who)
    return {
        key: SCRUBBED if key in PERSONAL_FIELDS else scrub_json(value, who)
        for key, value in changes.items()
    }


def _names_contact(changes: Any, person: Person, event_id: int) -> bool:
    """An affiliation event naming one of the person's cards (a deleted affiliation's)."""
    if not isinstance(changes, dict):
        return False
    contact = changes.get("contact")
    values = contact if isinstance(contact, list) else [contact]
    return any(person.owns("contact", value, event_id) for value in values)


# ----- messages -------------------------------------------------------------------------------

TOMBSTONE = (
    "Message effacé : la personne à qui il était adressé a exercé son droit à l'effacement "
    "(article 17 du RGPD)."
)


def tombstone(subject: str, message_id: str) -> str:
    """What stays of a message addressed to an erased person: that it existed."""
    message = EmailMessage()
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(TOMBSTONE, cte="quoted-printable")
    return message.as_bytes(policy=email.policy.SMTP).decode("ascii")


_ENCODED_WORD = re.compile(rb"=\?([\w-]+)\?([bBqQ])\?([^?\s]*)\?=")
_BASE64_BLOCK = re.compile(rb"\r\n\r\n((?:[A-Za-z0-9+/]+={0,2}\r\n)+)")


def _word(match: re.Match[bytes]) -> bytes:
    try:
        if match[2] in (b"b", b"B"):
            return binascii.a2b_base64(match[3])
        return binascii.a2b_qp(match[3], header=True)
    except (binascii.Error, ValueError):
        return match[0]


def might_hold(raw: bytes, who: Identifiers) -> bool:
    """A quick look (C-speed decoders) at every encoding maillage writes: RFC 2047 words,
    quoted-printable text and base64 parts. ``False`` means the message cannot hold the person;
    ``True`` sends it to ``scrub_mime``. A full parse of each of 10,000 messages held the
    erasure's write transaction for 36 seconds."""
    # Encoded words first, then quoted-printable (names and addresses hold no « = »).
    if who.always_look:
        return True
    texts = [binascii.a2b_qp(_ENCODED_WORD.sub(_word, raw))]
    for block in _BASE64_BLOCK.findall(raw):
        with contextlib.suppress(binascii.Error, ValueError):
            decoded = binascii.a2b_base64(block)
            texts.append(re.sub(rb"\r?\n[ \t]", b"", decoded))  # iCalendar lines unfolded
    for raw_text in texts:
        folded = fold(raw_text.decode("utf-8", "replace"))
        if any(anchor in folded for anchor in who.anchors):
            return True
        digits = folded.translate(None, delete=b" \t\r\n.-()")
        if any(number in digits for number in who.digits):
            return True
    return False


def scrub_mime(raw: bytes, who: Identifiers) -> bytes | None:
    """The message with the person removed from its decoded headers and text parts, or
    ``None`` when it does not hold them. Names travel encoded (RFC 2047 headers,
    quoted-printable or base64 bodies): searching the raw text misses them."""
    if not might_hold(raw, who):
        return None
    message = email.message_from_bytes(raw, policy=email.policy.default)
    changed = False
    for name, value in list(message.items()):
        if name.lower().startswith(_STRUCTURE):
            continue  # a boundary's digits may look like a phone number: rewriting it broke the parts
        text = str(value)
        if who.found_in(text):
            del message[name]
            message[name] = _header_value(name, who.scrub(text))
            changed = True
    for part in message.walk():
        if part.is_multipart():
            continue
        if part.get_content_type() in _CALENDARS:
            changed = _scrub_calendar(part, who) or changed
        elif part.get_content_maintype() == "text":
            content = part.get_content()
            if who.found_in(content):
                subtype = part.get_content_subtype()
                part.set_content(who.scrub(content), subtype=subtype, cte="quoted-printable")
                changed = True
    return message.as_bytes(policy=email.policy.SMTP) if changed else None


_CALENDARS = ("text/calendar", "application/ics")
# Headers that describe the message's structure, never a person.
_STRUCTURE = ("content-type", "content-transfer-encoding", "mime-version")
_FOLD = re.compile(r"\r?\n[ \t]")


def _scrub_calendar(part: Any, who: Identifiers) -> bool:
    """An iCalendar part (the invitation and its attachment): unfolded first, since a name
    may straddle a folded line (75 octets), then folded again."""
    text = _FOLD.sub("", (part.get_payload(decode=True) or b"").decode("utf-8", "replace"))
    if not who.found_in(text):
        return False
    folded = "\r\n".join(_fold(line) for line in who.scrub(text).replace("\r\n", "\n").split("\n"))
    method = part.get_param("method")
    if part.get_content_type() == "text/calendar":
        params = {"method": method} if method else {}
        part.set_content(folded, subtype="calendar", params=params, cte="base64")
    else:
        name = part.get_filename() or "invitation.ics"
        part.set_content(
            folded.encode(), "application", "ics", disposition="attachment", filename=name
        )
    return True


def _fold(line: str) -> str:
    """RFC 5545 § 3.1: lines of 75 octets at most, continued after CRLF and a space."""
    pieces: list[str] = []
    current = ""
    for char in line:
        limit = 75 if not pieces else 74
        if len((current + char).encode()) > limit:
            pieces.append(current)
            current = ""
        current += char
    pieces.append(current)
    return "\r\n ".join(pieces)


def _header_value(name: str, text: str) -> str:
    """Address headers keep a parseable form: the scrubbed mailbox becomes an invalid one.
    Message identifiers (a phone's digits may stand in one) take a plain ASCII word: the email
    package writes no « é » and no brackets there (found by Schemathesis: a 500)."""
    lowered = name.lower()
    if lowered in ("to", "from", "cc", "reply-to", "bcc"):
        return text.replace(SCRUBBED, "anonymise@anonymise.invalid")
    if lowered in _IDENTIFIER_HEADERS:
        return text.replace(SCRUBBED, "anonymise")
    return text


# Headers of message identifiers (RFC 5322 msg-id: ASCII dot-atoms only).
_IDENTIFIER_HEADERS = ("message-id", "in-reply-to", "references", "content-id", "resent-message-id")


def scrub_eml_files(folder: Path, who: Identifiers) -> int:
    """Files of the file backend: a message addressed to the person is deleted, any other is
    rewritten without them."""
    if not folder.is_dir():
        return 0
    count = 0
    emails = {e.lower() for e in who.person.emails}
    for path in folder.rglob("*.eml"):
        raw = path.read_bytes()
        if _recipient(raw) in emails:
            path.unlink()
            count += 1
            continue
        scrubbed = scrub_mime(raw, who)
        if scrubbed is not None:
            path.write_bytes(scrubbed)
            count += 1
    return count


def _recipient(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    to = message["To"]
    addresses = getattr(to, "addresses", ()) if to is not None else ()
    return addresses[0].addr_spec.lower() if addresses else ""


# ----- caches, storage, backups ---------------------------------------------------------------


@dataclass(frozen=True)
class HeldBackup:
    file: str
    made_on: dt.datetime
    expires_on: dt.date

    def as_dict(self) -> dict[str, str]:
        return {
            "fichier": self.file,
            "faite_le": self.made_on.isoformat(timespec="seconds"),
            "expire_le": self.expires_on.isoformat(),
        }


def backups_holding(folder: Path, retention_days: int, before: dt.datetime) -> list[HeldBackup]:
    """Backups made before the erasure still hold the person until they are deleted."""
    if not folder.is_dir():
        return []
    held = []
    for path in sorted(folder.glob("*.bak")):
        made = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
        if made <= before:
            expires = (made + dt.timedelta(days=retention_days)).date()
            held.append(HeldBackup(path.name, made, expires))
    return held
