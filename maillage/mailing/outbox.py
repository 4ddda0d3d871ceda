"""The durable outbox: every message is a row before any attempt to send it.

Life of a message: ``en_attente`` (queued, due at ``next_attempt_at``) → ``envoi`` (claimed by a
sender until ``lease_until``) → ``envoye``, or back to ``en_attente`` with a later due time after a
transient failure, or ``echec`` with the server's reason. A coordinator may cancel a queued
message (``annule``) or queue a failed one again.

Claiming is what keeps two senders apart: on PostgreSQL the due rows are locked with
``FOR UPDATE SKIP LOCKED`` so concurrent senders take disjoint sets; on SQLite the claim runs in
an ``IMMEDIATE`` transaction, which only one writer holds at a time. A sender that dies leaves its
rows in ``envoi``; they become due again when the lease runs out, and are sent again with the same
Message-ID (at least once, never lost).

``attempts`` grows by one at each claim and doubles as a fencing token: a sender only reports a
retry or a failure for the attempt it claimed, so a slow sender whose lease was taken over cannot
overwrite the newer attempt's outcome.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import itertools
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from email import message_from_string
from email.message import EmailMessage
from email.policy import SMTP
from email.policy import default as default_policy
from typing import Any

from maillage.crm import reach
from maillage.crm import scope as territory_scope
from maillage.crm.registry import scoped
from maillage.db import (
    after_commit,
    capped_count,
    count_rows,
    driver_execute,
    driver_fetch,
    is_sqlite,
    placeholders,
    read_transaction,
    retried_on_conflict,
    write_transaction,
)
from maillage.errors import InvalidData, NotFound
from maillage.mailing import readback, wakeup
from maillage.mailing.messages import Prebuilt
from maillage.tables import Invitation, OutboxContent, OutboxMessage
from maillage.vocabulary import OUTBOX_KINDS, OUTBOX_STATUSES

STATUSES = tuple(OUTBOX_STATUSES)
STATUS_LABELS = OUTBOX_STATUSES
KINDS = OUTBOX_KINDS

_REMINDER = re.compile(r"rappel_(\d+)j")


def kind_label(kind: str) -> str:
    """The kind in words: reminders are stored as ``rappel_<days>j``, one per offset."""
    if kind in KINDS:
        return KINDS[kind]
    reminder = _REMINDER.fullmatch(kind)
    if reminder is None:
        return "Autre envoi"
    days = int(reminder.group(1))
    if days == 0:
        return "Rappel le jour même"
    return f"Rappel {days} jour{'s' if days > 1 else ''} avant"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Checked:
    """A message already serialised and read back (``checked``), e.g. in a heavy-work process:
    written as it is."""

    subject: str
    message_id: str
    raw: str


@dataclass(frozen=True)
class Outgoing:
    """A built message and what it is about, ready to be written to the outbox."""

    message: EmailMessage | Prebuilt | Checked
    recipient: str
    kind: str
    contact_id: int | None = None
    invitation_id: int | None = None


@dataclass(frozen=True)
class Claimed:
    id: int
    recipient: str
    raw: str
    message_id: str
    attempts: int
    invitation_id: int | None


def serialise(message: EmailMessage) -> str:
    """The exact bytes every attempt sends: CRLF lines, 7-bit (every part is encoded)."""
    return message.as_bytes(policy=SMTP).decode("ascii")


def _stored(item: Outgoing) -> tuple[str, str, str]:
    """Subject, Message-ID and raw text of a message, as the outbox keeps them, once reading it
    back found exactly the headers built (``readback``)."""
    message = item.message
    if isinstance(message, Checked):
        return message.subject, message.message_id, message.raw
    if isinstance(message, Prebuilt):
        readback.check_prebuilt(message.raw, item.recipient, message.headers)
        return message.subject, message.message_id, message.raw.decode("ascii")
    raw = serialise(message)
    readback.check_message(message, raw.encode("ascii"), item.recipient)
    return str(message["Subject"]), str(message["Message-ID"]), raw


def checked(item: Outgoing) -> Outgoing:
    """``item`` serialised and read back now, ready to cross to another process: what
    ``enqueue`` would have done with it."""
    return Outgoing(
        Checked(*_stored(item)), item.recipient, item.kind, item.contact_id, item.invitation_id
    )


_INSERTED = (
    "created_at",
    "kind",
    "recipient",
    "subject",
    "message_id",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "contact",
    "invitation",
)
_ROWS_PER_INSERT = 200

# The sender's hot path (enqueue, claim, record) goes straight to the driver: building Piccolo
# queries cost more CPU than running them (``IN`` lists of 50 ids are checked value by value),
# and these few statements are the same on both engines but for the placeholders.
_CLAIM = """
UPDATE outbox_message SET status = 'envoi', lease_until = ?, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM outbox_message
    WHERE (status = 'en_attente' AND next_attempt_at <= ?) OR (status = 'envoi' AND lease_until < ?)
    ORDER BY next_attempt_at, id LIMIT ? {lock}
)
RETURNING id, recipient, message_id, attempts, invitation, next_attempt_at
"""
_SENT = (
    "UPDATE outbox_message SET status = 'envoye', sent_at = ?, lease_until = NULL, "
    "last_error = '' WHERE id IN ({ids})"
)
_INVITATIONS_SENT = "UPDATE invitation SET sent_at = ? WHERE id IN ({ids}) AND sent_at IS NULL"
_CONTENTS = "SELECT message, content FROM outbox_content WHERE message IN ({ids})"


async def enqueue(items: list[Outgoing]) -> list[int]:
    """Write the messages; call inside the write transaction that records why they are sent.

    The rows go straight to the driver, a few hundred per statement: compiling a Piccolo insert
    of a thousand 10 kB messages cost more than building them."""
    if not items:
        return []
    ids: list[int] = []
    async with write_transaction() as transaction:
        ids = await _write(transaction.connection, items, "en_attente")
        # Called inside the caller's transaction: the sender must look once it has committed.
        after_commit(nudge)
    return ids


async def _write(connection: Any, items: list[Outgoing], status: str) -> list[int]:
    moment = now()
    records, contents = [], []
    for item in items:
        subject, message_id, raw = _stored(item)
        records.append(
            (
                moment,
                item.kind,
                item.recipient,
                subject[:500],
                message_id,
                status,
                0,
                moment,
                "",
                item.contact_id,
                item.invitation_id,
            )
        )
        contents.append(raw)
    ids: list[int] = []
    for start in range(0, len(records), _ROWS_PER_INSERT):
        chunk = await _insert(connection, records[start : start + _ROWS_PER_INSERT])
        await _insert_contents(connection, chunk, contents[start : start + _ROWS_PER_INSERT])
        ids += chunk
    return ids


STAGED = "preparation"
STAGING_BATCH = 500
"""Messages written per write transaction by ``enqueue_in_batches``."""
STALE_STAGING = dt.timedelta(hours=1)
_RELEASE = (
    "UPDATE outbox_message SET status = 'en_attente', created_at = ?, next_attempt_at = ? "
    "WHERE status = 'preparation' AND id IN ({ids}) RETURNING id"
)


async def enqueue_in_batches(
    items: Iterable[Outgoing], record: Callable[[list[int]], Awaitable[None]]
) -> list[int]:
    """Queue many messages at once (a mass mailing to a département's partners: 12,000 rows,
    tens of megabytes) without holding the write turn all along, all or nothing.

    They are written ``STAGING_BATCH`` at a time, each batch in a write transaction of its own,
    in the status ``preparation`` that no sender claims; other writers (another mailing, an
    answer, a sign-in) take their turn between two batches. ``items`` may be a generator: a
    batch is taken from it before its transaction opens, so the messages are built between two
    batches, never while the turn is held, and never all in memory at once. One last short
    transaction makes them all ``en_attente`` and runs ``record(ids)`` (the journal of the
    send): the sender sees every message of the send or none. On failure the batches written
    are deleted; those a crash left behind are deleted after ``STALE_STAGING`` by the next
    send or the background sender's hourly pass (``drop_stale_staged``)."""
    await drop_stale_staged()
    ids: list[int] = []
    try:
        # Each transaction is run again whole when PostgreSQL cancels it for crossing another
        # write (a deadlock on the people's keys): it wrote nothing, and its batch is at hand.
        for batch in _batches(items, STAGING_BATCH):
            ids += await retried_on_conflict(functools.partial(_stage, batch))
        if not ids:
            return []
        await retried_on_conflict(functools.partial(_release, ids, record))
    except BaseException:
        await asyncio.shield(_drop_staged(ids))
        raise
    return ids


async def _stage(batch: list[Outgoing]) -> list[int]:
    """One batch of a send written ``preparation``, in its own write transaction."""
    async with write_transaction() as transaction:
        return await _write(transaction.connection, batch, STAGED)


async def _release(ids: list[int], record: Callable[[list[int]], Awaitable[None]]) -> None:
    """The staged messages ``ids`` made ``en_attente`` together, with the journal of the send
    (``record``), in one write transaction."""
    async with write_transaction() as transaction:
        moment = now()
        released = 0
        for start in range(0, len(ids), _ROWS_PER_INSERT):
            chunk = ids[start : start + _ROWS_PER_INSERT]
            sql = _RELEASE.format(ids=placeholders(len(chunk)))
            released += len(
                await driver_fetch(transaction.connection, sql, [moment, moment, *chunk])
            )
        if released != len(ids):  # a batch was removed meanwhile: queue nothing
            raise RuntimeError(f"{len(ids) - released} messages en préparation disparus")
        await record(ids)
        after_commit(nudge)


def _batches(items: Iterable[Outgoing], size: int) -> Iterator[list[Outgoing]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


async def drop_stale_staged(moment: dt.datetime | None = None) -> int:
    """Delete the messages staged before ``moment - STALE_STAGING`` (``moment``: now): a process
    stopped in the middle of a send left them, and no sender will ever take them. Returns how
    many."""
    threshold = (moment or now()) - STALE_STAGING
    async with read_transaction() as transaction:
        rows = await driver_fetch(
            transaction.connection,
            "SELECT id FROM outbox_message WHERE status = 'preparation' AND created_at < ?",
            [threshold],
        )
    ids = [row["id"] for row in rows]
    await _drop_staged(ids)
    return len(ids)


async def _drop_staged(ids: list[int]) -> None:
    """Delete the staged messages ``ids`` (a send that failed, or stale ones); a message no
    longer staged is left as it is."""
    if not ids:
        return
    async with write_transaction() as transaction:
        connection = transaction.connection
        for start in range(0, len(ids), _ROWS_PER_INSERT):
            chunk = ids[start : start + _ROWS_PER_INSERT]
            marks = placeholders(len(chunk))
            deleted = await driver_fetch(
                connection,
                f"DELETE FROM outbox_message WHERE status = 'preparation' AND id IN ({marks}) "
                "RETURNING id",
                chunk,
            )
            gone = [row["id"] for row in deleted]
            if gone:
                marks = placeholders(len(gone))
                await driver_execute(
                    connection, f"DELETE FROM outbox_content WHERE message IN ({marks})", gone
                )


async def _insert(connection: Any, records: list[tuple[Any, ...]]) -> list[int]:
    width = len(_INSERTED)
    columns = ", ".join(f'"{name}"' for name in _INSERTED)
    rows = ", ".join(f"({placeholders(width)})" for _ in records)
    sql = f'INSERT INTO "{OutboxMessage._meta.tablename}" ({columns}) VALUES {rows} RETURNING id'
    values = [value for record in records for value in record]
    return [row["id"] for row in await driver_fetch(connection, sql, values)]


async def _insert_contents(connection: Any, ids: list[int], contents: list[str]) -> None:
    rows = ", ".join("(?, ?)" for _ in ids)
    sql = f'INSERT INTO "{OutboxContent._meta.tablename}" (message, content) VALUES {rows}'
    await driver_execute(
        connection, sql, [value for pair in zip(ids, contents, strict=True) for value in pair]
    )


def nudge() -> None:
    """Wake the sender running in this process, if any, so a queued message leaves at once
    (called by itself after a commit; by whoever had the messages queued in another process)."""
    wakeup.nudge()


async def claim(
    limit: int, lease: dt.timedelta, sent: list[Claimed] | None = None
) -> list[Claimed]:
    """Take up to ``limit`` due messages for this sender until the lease runs out; records
    ``sent`` as accepted in the same transaction (on SQLite each transaction opens a
    connection, which costs more than the statements)."""
    async with write_transaction() as transaction:
        connection = transaction.connection
        # Read once the write lock is held: a chunk committed while this claim waited for it
        # was stamped after a clock read before, so it would not be due yet and the worker
        # would go idle with messages in the queue.
        moment = now()
        await _record_sent(connection, sent or [], moment)
        # On PostgreSQL the due rows are locked, skipping those another sender holds.
        claim_sql = _CLAIM.format(lock="" if is_sqlite() else "FOR UPDATE SKIP LOCKED")
        rows = await driver_fetch(connection, claim_sql, [moment + lease, moment, moment, limit])
        if not rows:
            return []
        rows.sort(key=lambda row: (row["next_attempt_at"], row["id"]))
        ids = [row["id"] for row in rows]
        contents = {
            row["message"]: row["content"]
            for row in await driver_fetch(
                connection, _CONTENTS.format(ids=placeholders(len(ids))), ids
            )
        }
    return [
        Claimed(
            row["id"],
            row["recipient"],
            contents[row["id"]],
            row["message_id"],
            row["attempts"],
            row["invitation"],
        )
        for row in rows
    ]


async def mark_sent(messages: list[Claimed]) -> None:
    """Record acceptance by the server (or the file written); one statement per batch."""
    if not messages:
        return
    async with write_transaction() as transaction:
        await _record_sent(transaction.connection, messages, now())


async def _record_sent(connection: Any, messages: list[Claimed], moment: dt.datetime) -> None:
    if not messages:
        return
    ids = [m.id for m in messages]
    await driver_execute(connection, _SENT.format(ids=placeholders(len(ids))), [moment, *ids])
    invitation_ids = [m.invitation_id for m in messages if m.invitation_id is not None]
    if invitation_ids:
        sql = _INVITATIONS_SENT.format(ids=placeholders(len(invitation_ids)))
        await driver_execute(connection, sql, [moment, *invitation_ids])


async def reschedule(message: Claimed, reason: str, delay: dt.timedelta) -> None:
    """Back to the queue after a transient failure, due again after ``delay``."""
    async with write_transaction():
        await _fenced_update(
            message,
            {
                OutboxMessage.status: "en_attente",
                OutboxMessage.next_attempt_at: now() + delay,
                OutboxMessage.lease_until: None,
                OutboxMessage.last_error: reason[:2000],
            },
        )


async def give_back(messages: list[Claimed], reason: str, delay: dt.timedelta) -> None:
    """The relay cannot be reached: every claimed message returns to the queue untried, and
    every queued one shows why it is still waiting."""
    async with write_transaction():
        if messages:
            await (
                OutboxMessage.update(
                    {
                        OutboxMessage.status: "en_attente",
                        OutboxMessage.next_attempt_at: now() + delay,
                        OutboxMessage.lease_until: None,
                        OutboxMessage.attempts: OutboxMessage.attempts - 1,
                    }
                )
                .where(
                    OutboxMessage.id.is_in([m.id for m in messages])
                    & (OutboxMessage.status == "envoi")
                )
                .run()
            )
        await (
            OutboxMessage.update({OutboxMessage.last_error: reason[:2000]})
            .where(OutboxMessage.status == "en_attente")
            .run()
        )


async def fail(message: Claimed, reason: str) -> None:
    async with write_transaction():
        await _fenced_update(
            message,
            {
                OutboxMessage.status: "echec",
                OutboxMessage.lease_until: None,
                OutboxMessage.last_error: reason[:2000],
            },
        )


async def _fenced_update(message: Claimed, values: dict[Any, Any]) -> None:
    await (
        OutboxMessage.update(values)
        .where(
            (OutboxMessage.id == message.id)
            & (OutboxMessage.status == "envoi")
            & (OutboxMessage.attempts == message.attempts)
        )
        .run()
    )


# ----- reading and managing (API, CLI) ------------------------------------------------------

LIST_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.created_at,
    OutboxMessage.kind,
    OutboxMessage.recipient,
    OutboxMessage.subject,
    OutboxMessage.message_id,
    OutboxMessage.status,
    OutboxMessage.attempts,
    OutboxMessage.next_attempt_at,
    OutboxMessage.last_error,
    OutboxMessage.sent_at,
    OutboxMessage.contact,
    OutboxMessage.invitation,
)


def _visible() -> Any:
    """What the request's user sees of the outbox (#20): without territories, every message; a
    user limited to territories, the messages of the invitations they see (the meetings of
    their territories and the shared ones). A message tied to no invitation (a mass mailing, a
    confirmation to an inhabitant) is the host's team's: none of a scoped user's business."""
    if territory_scope.current() is None:
        return None
    return OutboxMessage.invitation.is_in(scoped(Invitation.select(Invitation.id), "invitations"))


def _in_scope(query: Any) -> Any:
    visible = _visible()
    return query if visible is None else query.where(visible)


async def list_messages(
    limit: int,
    offset: int,
    status: str | None = None,
    kind: str | None = None,
    count_cap: int | None = None,
) -> dict[str, Any]:
    """The messages the user sees, latest first, and their total: exact (the API), or with
    ``count_cap`` counted up to that many rows, past it ``count_cap + 1`` (the page, #20)."""
    where = _visible()
    for column, value in ((OutboxMessage.status, status), (OutboxMessage.kind, kind)):
        if value is not None:
            where = column == value if where is None else where & (column == value)
    select = OutboxMessage.select(*LIST_COLUMNS).order_by(OutboxMessage.id, ascending=False)
    if where is not None:
        select = select.where(where)
    async with read_transaction():
        items = await select.limit(limit).offset(offset).run()
        total = await count_rows(OutboxMessage, where, count_cap)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


async def counts(count_cap: int | None = None) -> dict[str, int]:
    """Messages per status that the user sees: exact (the command line), or with
    ``count_cap`` each counted up to that many rows, past it ``count_cap + 1`` (the page's
    tabs, « plus de 10 000 », #20), in one statement through the index of the status."""
    if count_cap is None:
        rows = await _in_scope(OutboxMessage.select(OutboxMessage.status)).run()
        result = dict.fromkeys(STATUSES, 0)
        for row in rows:
            result[row["status"]] = result.get(row["status"], 0) + 1
        return result
    visible = _visible()
    parts = []
    for status in STATUSES:
        where = OutboxMessage.status == status
        parts.append(
            capped_count(OutboxMessage, where if visible is None else where & visible, count_cap)
        )
    sql = ", ".join(f'({{}}) AS "{status}"' for status in STATUSES)
    (row,) = await OutboxMessage.raw(f"SELECT {sql}", *[part.querystrings[0] for part in parts])
    return {status: int(row[status]) for status in STATUSES}


async def get_message(message_id: int) -> dict[str, Any]:
    row = await (
        _in_scope(OutboxMessage.select(*LIST_COLUMNS)).where(OutboxMessage.id == message_id).first()
    )
    if row is None:
        raise NotFound("Message", message_id)
    message: dict[str, Any] = row
    return message


_PERSONAL_LINK = re.compile(
    r"(?P<path>/[ru]/)[1-9][0-9]{0,9}\.[0-9A-Za-z._-]+|(?P<feed>/calendar/feeds/)mlf_[\w-]+"
)
MASKED_LINK = "[lien personnel masqué]"


def mask_links(text: str) -> str:
    """Answer (``/r/``), unsubscribe (``/u/``) and feed links are permissions: whoever reads
    the outbox sees that one was sent, never the link itself (a reader could otherwise answer
    for an invitee, name replacements or unsubscribe them)."""
    return _PERSONAL_LINK.sub(lambda match: (match["path"] or match["feed"]) + MASKED_LINK, text)


async def message_detail(message_id: int) -> dict[str, Any]:
    """A message as its recipient will read it: headers, text part, names of attachments."""
    async with read_transaction():
        row = await (
            _in_scope(OutboxMessage.select(*LIST_COLUMNS))
            .where(OutboxMessage.id == message_id)
            .first()
        )
        stored = await (
            OutboxContent.select(OutboxContent.content)
            .where(OutboxContent.message == message_id)
            .first()
        )
    if row is None or stored is None:
        raise NotFound("Message", message_id)
    parsed = message_from_string(stored["content"], policy=default_policy)
    text_part = parsed.get_body(("plain",))
    return {
        **row,
        # Decoded (RFC 2047), so that « Réunion » reads as such and not as =?utf-8?q?…
        "headers": [(name, mask_links(str(value))) for name, value in parsed.items()],
        "text": mask_links(text_part.get_content()) if text_part is not None else "",
        "attachments": [part.get_filename() or "(sans nom)" for part in parsed.iter_attachments()],
    }


async def _writable_message(message_id: int) -> dict[str, Any]:
    """The message, if the user may act on it: a user limited to territories acts on the
    messages of the meetings of territories they coordinate (#20)."""
    row = await get_message(message_id)
    if territory_scope.current() is not None and row["invitation"] is not None:
        invitation = await (
            Invitation.select(Invitation.meeting).where(Invitation.id == row["invitation"]).first()
        )
        if invitation is not None:
            await reach.check_meeting_writable(invitation["meeting"])
    return row


async def retry(message_id: int) -> dict[str, Any]:
    """Queue a failed or cancelled message again, now, with the same Message-ID."""
    row = await _writable_message(message_id)
    if row["status"] not in ("echec", "annule", "en_attente"):
        raise InvalidData.one(
            "status",
            f"Message {STATUS_LABELS[row['status']]} : seul un message en échec, annulé ou en "
            "attente peut être renvoyé.",
        )
    async with write_transaction():
        await (
            OutboxMessage.update(
                {OutboxMessage.status: "en_attente", OutboxMessage.next_attempt_at: now()}
            )
            .where(
                (OutboxMessage.id == message_id)
                & OutboxMessage.status.is_in(["echec", "annule", "en_attente"])
            )
            .run()
        )
    nudge()
    return await get_message(message_id)


async def cancel(message_id: int) -> dict[str, Any]:
    row = await _writable_message(message_id)
    if row["status"] not in ("en_attente", "echec"):
        raise InvalidData.one(
            "status",
            f"Message {STATUS_LABELS[row['status']]} : seul un message en attente ou en échec "
            "peut être annulé.",
        )
    async with write_transaction():
        await (
            OutboxMessage.update({OutboxMessage.status: "annule"})
            .where(
                (OutboxMessage.id == message_id)
                & OutboxMessage.status.is_in(["en_attente", "echec"])
            )
            .run()
        )
    return await get_message(message_id)
