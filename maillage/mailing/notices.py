"""What inhabitants registered to a public meeting are told after their registration (#22).

- The meeting is cancelled: every registration with an address (with a place or on the
  waiting list) gets a plain notice, once (``cancel_notified_at``), at once from the paths that
  cancel a meeting (``invitations.queue_changes``) and else from the sender's loop.
- Two days before: a reminder to those with a place who gave an address and agreed to the
  reminder, that is whose consent is a version promising it (``REMINDER_CONSENTS``): people
  registered under the earlier wording, which promised only the confirmation, get none.

The messages are written to the outbox in the transaction that marks the registrations, so
two senders never queue the same notice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from maillage import french
from maillage.crm import inhabitants
from maillage.db import write_transaction
from maillage.mailing import messages, outbox
from maillage.mailing.addresses import InvalidAddress, mailbox, sender_mailbox
from maillage.mailing.messages import Envelope, MeetingInfo
from maillage.settings import Settings
from maillage.tables import InhabitantRegistration
from maillage.vocabulary import CANCELLED, PLANNED

REMINDER_DAYS = 2
CANCEL_KIND = "habitant_annul"
REMINDER_KIND = "habitant_rappel"
logger = logging.getLogger("maillage.envoi")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _queue(
    settings: Settings,
    meeting: MeetingInfo,
    erased_on: dt.date,
    rows: list[dict[str, Any]],
    notice: str,
    when: str = "",
) -> int:
    envelope = Envelope(sender_mailbox(settings.mail_from))
    kind = CANCEL_KIND if notice == "annulation" else REMINDER_KIND
    items = []
    for row in rows:
        try:
            recipient = mailbox(row["email"], row["name"])
        except InvalidAddress as error:
            logger.warning("Avis à l'inscription n° %s non envoyé : %s", row["id"], error)
            continue
        message = messages.inhabitant_notice(meeting, recipient, envelope, notice, erased_on, when)
        items.append(outbox.Outgoing(message, recipient.address, kind))
    await outbox.enqueue(items)
    return len(items)


async def _erased_on(meeting_id: int) -> dt.date:
    """When the registrations of the meeting will be deleted, as the messages say it."""
    row = await inhabitants.meeting_of(meeting_id)
    return french.in_paris(inhabitants.expires_on(row)).date()


async def tell_cancellation(settings: Settings, meeting: MeetingInfo) -> int:
    """The cancellation notice to the meeting's registered inhabitants not told yet."""
    if meeting.status != CANCELLED:
        return 0
    async with write_transaction():
        marked = await (
            InhabitantRegistration.update({InhabitantRegistration.cancel_notified_at: _now()})
            .where(
                (InhabitantRegistration.meeting == meeting.id)
                & InhabitantRegistration.email.is_not_null()
                & InhabitantRegistration.cancel_notified_at.is_null()
                & InhabitantRegistration.status.is_in([inhabitants.REGISTERED, inhabitants.WAITING])
            )
            .returning(
                InhabitantRegistration.id,
                InhabitantRegistration.name,
                InhabitantRegistration.email,
            )
        )
        if not marked:
            return 0
        return await _queue(settings, meeting, await _erased_on(meeting.id), marked, "annulation")


async def queue_due(
    settings: Settings,
    load: Callable[[int], Awaitable[MeetingInfo]],
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """What the sender's loop owes inhabitants now: cancellations not told yet (a meeting
    cancelled by a path that did not tell them) and reminders two days ahead. ``load`` reads a
    meeting as the messages show it (``invitations.load_meeting``)."""
    moment = now or _now()
    counts = {"annulation": 0, "rappel": 0}
    cancelled = await (
        InhabitantRegistration.select(InhabitantRegistration.meeting)
        .where(
            InhabitantRegistration.email.is_not_null()
            & InhabitantRegistration.cancel_notified_at.is_null()
            & (InhabitantRegistration.meeting.status == CANCELLED)
            & (InhabitantRegistration.meeting.ends_at > moment)
        )
        .distinct()
    )
    for row in cancelled:
        counts["annulation"] += await tell_cancellation(settings, await load(row["meeting"]))
    due = await (
        InhabitantRegistration.select(InhabitantRegistration.meeting)
        .where(
            InhabitantRegistration.email.is_not_null()
            & InhabitantRegistration.reminded_at.is_null()
            & (InhabitantRegistration.status == inhabitants.REGISTERED)
            & InhabitantRegistration.consent_text.is_in(list(inhabitants.REMINDER_CONSENTS))
            & (InhabitantRegistration.meeting.status == PLANNED)
            & (InhabitantRegistration.meeting.starts_at > moment)
            & (
                InhabitantRegistration.meeting.starts_at
                <= moment + dt.timedelta(days=REMINDER_DAYS)
            )
        )
        .distinct()
    )
    for row in due:
        counts["rappel"] += await _remind(settings, await load(row["meeting"]), moment)
    return counts


async def _remind(settings: Settings, meeting: MeetingInfo, now: dt.datetime) -> int:
    async with write_transaction():
        marked = await (
            InhabitantRegistration.update({InhabitantRegistration.reminded_at: now})
            .where(
                (InhabitantRegistration.meeting == meeting.id)
                & InhabitantRegistration.email.is_not_null()
                & InhabitantRegistration.reminded_at.is_null()
                & (InhabitantRegistration.status == inhabitants.REGISTERED)
                & InhabitantRegistration.consent_text.is_in(list(inhabitants.REMINDER_CONSENTS))
            )
            .returning(
                InhabitantRegistration.id,
                InhabitantRegistration.name,
                InhabitantRegistration.email,
            )
        )
        if not marked:
            return 0
        days = (french.in_paris(meeting.starts_at).date() - french.in_paris(now).date()).days
        when = messages.delay_text(days)
        return await _queue(settings, meeting, await _erased_on(meeting.id), marked, "rappel", when)
