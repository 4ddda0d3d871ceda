"""The mailbox reader (#19): what arrives in the organiser's mailbox (MAILLAGE_IMAP_URL) is read,
understood, recorded, then moved out of the inbox, never deleted.

Each message, in UID order:

1. already in ``inbound_message`` (by Message-ID): it was acted on before a crash or by another
   process; it is only moved to the folder recorded then;
2. otherwise ``inbound.parse`` says what it is; what it does not understand stays in the inbox,
   untouched (read with ``BODY.PEEK``, so not even marked read) and is not fetched again by this
   reader while the folder's UIDVALIDITY holds;
3. what it understands is acted on and recorded in one transaction (a second reader's insert of
   the same Message-ID fails and rolls its actions back): a calendar answer updates the
   invitation (``replies.ingest``), a permanent bounce marks the contact's address undeliverable
   and the outbox row failed, a temporary one is counted, an automatic reply is set aside;
4. then moved to « maillage/traités », or to « maillage/à examiner » when it could not be matched
   (an answer for an unknown meeting or person, a bounce for an unknown address, a message too
   big to read).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from maillage.actor import MAILBOX
from maillage.crm import audit
from maillage.crm.resources import is_unique_violation, versioned
from maillage.db import is_sqlite, write_transaction
from maillage.french import date_fr, datetime_fr, plural
from maillage.mailing import absence, inbound, replies, review
from maillage.mailing.answers import RESPONSE_LABELS
from maillage.mailing.imap import (
    ImapConfig,
    ImapSession,
    MailboxUnreachable,
    open_session,
    parse_imap_url,
)
from maillage.settings import Settings
from maillage.tables import Contact, InboundMessage, Invitation, OutboxMessage
from maillage.vocabulary import INBOUND_OUTCOMES

logger = logging.getLogger("maillage.boite")
PARIS = ZoneInfo("Europe/Paris")

TREATED = ("maillage", "traités")
TO_REVIEW = ("maillage", "à examiner")
BATCH = 200
"""UIDs handled per listing of the folder: thousands of messages at once are read 200 by 200."""
IDLE_SECONDS = 600.0
"""IDLE is renewed every 10 minutes (servers drop it after 30, RFC 2177)."""
MAX_BACKOFF = 300.0
MAX_MESSAGE_BYTES = 10_000_000
"""Read whole up to this size; a bigger message (30 MB of attachments) is set aside unread."""


@dataclass
class FetchReport:
    outcomes: dict[str, int] = field(default_factory=dict)
    moved_again: int = 0  # recorded before, moved now (after a crash or by another reader)
    left: int = 0  # not understood, left in the inbox
    errors: list[str] = field(default_factory=list)
    unreachable: str | None = None

    def summary(self) -> str:
        parts = [
            f"{INBOUND_OUTCOMES[outcome]} : {count}"
            for outcome, count in sorted(self.outcomes.items())
        ]
        if self.moved_again:
            parts.append(f"déjà enregistrés, rangés maintenant : {self.moved_again}")
        if self.left:
            parts.append(plural(self.left, "message laissé", "messages laissés") + " dans la boîte")
        return " ; ".join(parts) if parts else "aucun nouveau message"


@dataclass(frozen=True)
class Decision:
    outcome: str
    reason: str
    review: bool = False
    contact: int | None = None
    outbox_message: int | None = None


class MailboxReader:
    """Keeps, between passes, the UIDs it left in the inbox (per UIDVALIDITY)."""

    def __init__(self, config: ImapConfig) -> None:
        self.config = config
        self.left_alone: dict[int, set[int]] = {}
        self._failed: set[int] = set()
        self.idling = False  # in IMAP IDLE now (tests, benchmark)

    @classmethod
    def for_settings(cls, settings: Settings) -> MailboxReader:
        assert settings.imap_url, "MAILLAGE_IMAP_URL"
        return cls(parse_imap_url(settings.imap_url, settings.smtp_token_command))

    async def fetch(self) -> FetchReport:
        """One pass: connect, read what is there, disconnect."""
        report = FetchReport()
        try:
            session = await open_session(self.config)
        except MailboxUnreachable as error:
            report.unreachable = str(error)
            return report
        try:
            await self.read(session, report)
        finally:
            await session.close()
        return report

    async def read(self, session: ImapSession, report: FetchReport) -> None:
        """Everything new in the open session's folder, ``BATCH`` UIDs at a time (the UIDs are
        listed in one line, the sizes of a batch at once, each message fetched alone: memory
        stays that of one message), until a listing shows nothing new: what arrived during the
        pass is read in the same pass."""
        try:
            while True:
                uids = await session.uids()
                left_alone = self.left_alone.setdefault(session.uidvalidity, set())
                todo = sorted(set(uids) - left_alone - self._failed)[:BATCH]
                if not todo:
                    return
                sizes = await session.sizes(todo)
                for uid in todo:
                    if uid not in sizes:  # expunged by another client meanwhile
                        self._failed.add(uid)
                        continue
                    try:
                        await self._one(session, uid, sizes[uid], report, left_alone)
                    except MailboxUnreachable:
                        raise
                    except Exception as error:  # one bad message must not stop the others
                        logger.exception("Message %s de la boîte de réception illisible", uid)
                        report.errors.append(
                            f"Message {uid} : erreur inattendue ({type(error).__name__})."
                        )
                        # Not tried again in this pass (the next pass tries it again).
                        self._failed.add(uid)
        except MailboxUnreachable as error:
            report.unreachable = str(error)
        finally:
            self._failed.clear()

    async def watch(
        self,
        stop: asyncio.Event,
        on_report: Callable[[FetchReport], None],
        poll: float = 60.0,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        """Read until ``stop``: one connection kept open, IMAP IDLE between passes where the
        server offers it (a new message is read within the second), a pass every ``poll``
        seconds otherwise. A lost or refused connection is reported and opened again after
        ``poll`` seconds at most at first, then twice as long each time, up to
        ``MAX_BACKOFF`` (or ``poll`` when longer)."""
        first_delay = min(poll, 5.0)
        delay = first_delay
        while not stop.is_set():
            try:
                session = await open_session(self.config)
            except MailboxUnreachable as error:
                on_report(FetchReport(unreachable=str(error)))
                await _wait(stop, delay)
                delay = min(delay * 2, max(MAX_BACKOFF, poll))
                continue
            try:
                while not stop.is_set():
                    report = FetchReport()
                    await self.read(session, report)
                    on_report(report)
                    if report.unreachable:
                        break
                    delay = first_delay  # a pass went through: the next failure starts over
                    try:
                        if session.can_idle:
                            self.idling = True
                            await session.idle(idle_seconds, stop)
                        else:
                            await _wait(stop, poll)
                            await session.noop()
                    except MailboxUnreachable as error:
                        on_report(FetchReport(unreachable=str(error)))
                        break
                    finally:
                        self.idling = False
            finally:
                await session.close()
            if not stop.is_set():
                await _wait(stop, delay)
                delay = min(delay * 2, max(MAX_BACKOFF, poll))

    async def _one(
        self,
        session: ImapSession,
        uid: int,
        size: int,
        report: FetchReport,
        left_alone: set[int],
    ) -> None:
        if size > MAX_MESSAGE_BYTES:
            headers = await session.fetch(uid, "BODY.PEEK[HEADER]")
            incoming = inbound.parse(headers)
            decision: Decision | None = Decision(
                "a_examiner",
                f"Message trop volumineux ({size / 1_000_000:.0f} Mo) : non lu, à examiner.",
                review=True,
            )
        else:
            raw = await session.fetch(uid)
            incoming = inbound.parse(raw)
            decision = None
            if incoming.kind == inbound.OTHER:
                left_alone.add(uid)
                report.left += 1
                return
        folder = await self._record(incoming, decision, report)
        await session.move(uid, await session.folder_path(*folder))
        await (
            InboundMessage.update({InboundMessage.moved_at: _now()})
            .where(InboundMessage.message_key == incoming.key)
            .run()
        )

    async def _record(
        self, incoming: inbound.Incoming, decision: Decision | None, report: FetchReport
    ) -> tuple[str, ...]:
        """Act and record in one transaction; the folder to move the message to."""
        known = await _known_folder(incoming.key)
        if known is not None:
            report.moved_again += 1
            return known
        try:
            async with write_transaction():
                made = decision or await _act(incoming)
                folder = TO_REVIEW if made.review else TREATED
                await InboundMessage.insert(
                    InboundMessage(
                        message_key=incoming.key,
                        outcome=made.outcome,
                        reason=made.reason[:2000],
                        sender=incoming.sender,
                        subject=incoming.subject,
                        folder="/".join(folder),
                        contact=made.contact,
                        outbox_message=made.outbox_message,
                    )
                ).run()
        except Exception as error:
            if not is_unique_violation(error):
                raise
            # Another reader recorded it between our look-up and our insert: its actions
            # stand, ours were rolled back.
            known = await _known_folder(incoming.key)
            report.moved_again += 1
            return known or TREATED
        report.outcomes[made.outcome] = report.outcomes.get(made.outcome, 0) + 1
        logger.info("Boîte de réception : %s (%s)", made.reason, incoming.key)
        return folder


async def set_aside(limit: int = 20) -> list[dict[str, Any]]:
    """The latest messages moved to « maillage/à examiner », with the reason (page /envois)."""
    return await (
        InboundMessage.select(
            InboundMessage.received_at,
            InboundMessage.sender,
            InboundMessage.subject,
            InboundMessage.reason,
            InboundMessage.folder,
        )
        .where(InboundMessage.outcome == "a_examiner")
        .order_by(InboundMessage.id, ascending=False)
        .limit(limit)
    )


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _known_folder(key: str) -> tuple[str, ...] | None:
    row = (
        await InboundMessage.select(InboundMessage.folder)
        .where(InboundMessage.message_key == key)
        .first()
    )
    return tuple(row["folder"].split("/")) if row else None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _act(incoming: inbound.Incoming) -> Decision:
    if incoming.kind == inbound.REPLY:
        return await _answer(incoming)
    if incoming.kind == inbound.BOUNCE:
        return await _bounce(incoming)
    if incoming.kind == inbound.UNREADABLE:
        return Decision(
            "a_examiner",
            "Partie agenda (text/calendar) illisible : ce n'est pas un fichier iCalendar "
            f"valable (message de {incoming.sender or 'expéditeur inconnu'}).",
            review=True,
        )
    return await _automatic(incoming)


async def _automatic(incoming: inbound.Incoming) -> Decision:
    """Set aside; a return date it gives is noted on the sender's invitations to meetings
    still to come (« absent jusqu'au … »)."""
    said = f"Réponse automatique de {incoming.sender or 'inconnu'}."
    address = parseaddr(incoming.sender)[1].strip().lower()
    today = (incoming.date or _now()).astimezone(PARIS).date()
    back = absence.return_date(incoming.text, today)
    if back is None or not address:
        return Decision("reponse_auto", said)
    contacts = await review.contacts_with_address(address)
    if not contacts:
        return Decision("reponse_auto", said)
    rows = await Invitation.select(Invitation.id).where(
        Invitation.contact.is_in(contacts) & (Invitation.meeting.starts_at >= _now())
    )
    if rows:
        await (
            Invitation.update({Invitation.absent_until: back})
            .where(Invitation.id.is_in([row["id"] for row in rows]))
            .run()
        )
    return Decision(
        "reponse_auto",
        f"{said[:-1]} : absent jusqu'au {date_fr(back)}"
        + (f", noté sur {plural(len(rows), 'invitation')}." if rows else "."),
        contact=contacts[0],
    )


async def _answer(incoming: inbound.Incoming) -> Decision:
    recorded, counters, reasons = [], [], []
    # The whole message: ``ingest`` reads each answer once, however many copies it holds.
    origin = replies.Origin(message_key=incoming.key, date=incoming.date)
    result = await replies.ingest(MAILBOX, incoming.raw, origin)
    for item in result["replies"]:
        if item["status"] == "enregistree":
            if item.get("delegated_to"):
                recorded.append(f"{item['attendee']} délègue à {item['delegated_to']}")
            else:
                answer = RESPONSE_LABELS.get(item["response"], item["response"])
                recorded.append(f"{item['attendee']} → « {answer} »")
        elif item["status"] == "contre_proposition":
            counters.append(f"{item['attendee']} propose le {datetime_fr(item['proposed_start'])}")
        else:
            reasons.append(item["reason"])
    if recorded:
        return Decision("reponse", "Réponse d'agenda enregistrée : " + ", ".join(recorded) + ".")
    if counters:
        return Decision(
            "contre_proposition",
            "Nouvel horaire proposé, à voir sur la page de la réunion : "
            + ", ".join(counters)
            + ".",
        )
    return Decision("a_examiner", " ".join(dict.fromkeys(reasons)), review=True)


async def _bounce(incoming: inbound.Incoming) -> Decision:
    outbox = None
    if incoming.original_message_id:
        outbox = (
            await OutboxMessage.select(
                OutboxMessage.id,
                OutboxMessage.contact,
                OutboxMessage.status,
                OutboxMessage.recipient,
            )
            .where(OutboxMessage.message_id == incoming.original_message_id)
            .first()
        )
    permanent = [failure for failure in incoming.failures if failure.permanent]
    if not permanent:
        failure = incoming.failures[0]
        return Decision(
            "echec_temporaire",
            f"Échec temporaire pour {failure.recipient} : {failure.diagnostic}",
            contact=outbox["contact"] if outbox else None,
            outbox_message=outbox["id"] if outbox else None,
        )
    marked: list[int] = []
    for failure in permanent:
        marked += await _mark_undeliverable(failure, outbox)
    if outbox is not None and outbox["status"] == "envoye":
        await (
            OutboxMessage.update(
                {
                    OutboxMessage.status: "echec",
                    OutboxMessage.last_error: "Retour du serveur destinataire : "
                    + permanent[0].diagnostic,
                }
            )
            .where(OutboxMessage.id == outbox["id"])
            .run()
        )
    addresses = ", ".join(failure.recipient for failure in permanent)
    if not marked and outbox is None:
        return Decision(
            "a_examiner",
            f"Échec de distribution pour {addresses}, adresse qu'aucun contact ne porte.",
            review=True,
        )
    return Decision(
        "echec_definitif",
        f"Adresse en échec : {addresses} ({permanent[0].diagnostic}).",
        contact=marked[0] if marked else (outbox["contact"] if outbox else None),
        outbox_message=outbox["id"] if outbox else None,
    )


async def _mark_undeliverable(failure: inbound.Failure, outbox: dict[str, Any] | None) -> list[int]:
    """The contacts with this address (the outbox row's own when it names one) get the date
    and the server's words; a contact already marked keeps its first date."""
    if (
        outbox is not None
        and outbox["contact"]
        and outbox["recipient"].lower() == failure.recipient
    ):
        candidates = await Contact.select(
            Contact.id, Contact.email, Contact.email_bounced_at
        ).where(Contact.id == outbox["contact"])
    else:
        # « _ » matches any one character: the exact address is compared below.
        pattern = failure.recipient.replace("%", "")
        match = Contact.email.like(pattern) if is_sqlite() else Contact.email.ilike(pattern)
        candidates = await Contact.select(
            Contact.id, Contact.email, Contact.email_bounced_at
        ).where(match)
    marked = []
    moment = _now()
    for row in candidates:
        if (row["email"] or "").strip().lower() != failure.recipient:
            continue
        marked.append(row["id"])
        if row["email_bounced_at"] is not None:
            continue
        reason = failure.diagnostic[:500]
        await (
            Contact.update(
                {
                    Contact.email_bounced_at: moment,
                    Contact.email_bounce_reason: reason,
                    **versioned(Contact, moment),
                }
            )
            .where(Contact.id == row["id"])
            .run()
        )
        await audit.record(
            MAILBOX,
            "update",
            "contact",
            row["id"],
            {"email_bounced_at": [None, moment], "email_bounce_reason": [None, reason]},
        )
    return marked
