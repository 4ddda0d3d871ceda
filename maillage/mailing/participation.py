"""An inhabitant registers to a public meeting and, when they gave an address, gets the
confirmation by mail (#22): the registration and its message are written in one transaction,
so neither exists without the other."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from maillage import french
from maillage.actor import Actor
from maillage.crm import inhabitants
from maillage.crm.inhabitants import Registered, RegistrationForm
from maillage.db import write_transaction
from maillage.mailing import messages, outbox
from maillage.mailing.addresses import InvalidAddress, mailbox, sender_mailbox
from maillage.mailing.invitations import load_meeting
from maillage.settings import Settings

KIND = "inscription"
logger = logging.getLogger("maillage.envoi")


async def register(
    settings: Settings,
    meeting_id: int,
    form: RegistrationForm,
    moment: dt.datetime | None = None,
) -> Registered:
    async with write_transaction():
        done = await inhabitants.register(meeting_id, form, moment)
        if done.email:
            await _queue_confirmation(settings, done)
    return done


async def promote(actor: Actor, settings: Settings, registration_id: int) -> dict[str, Any]:
    """A place for someone of the waiting list, who gets the confirmation with the event."""
    async with write_transaction():
        row = await inhabitants.promote(actor, registration_id)
        if row["email"]:
            meeting = await inhabitants.meeting_of(row["meeting"])
            done = Registered(row["id"], row["status"], None, meeting, row["name"], row["email"])
            await _queue_confirmation(settings, done)
    return row


async def _queue_confirmation(settings: Settings, done: Registered) -> None:
    try:
        recipient = mailbox(done.email, done.name)
        organizer = sender_mailbox(settings.mail_from)
    except InvalidAddress as error:
        # The registration counts more than its receipt: kept, and the reason logged.
        logger.warning("Confirmation d'inscription n° %s non envoyée : %s", done.id, error)
        return
    meeting = await load_meeting(done.meeting["id"])
    envelope = messages.Envelope(organizer)
    erased_on = inhabitants.expires_on(done.meeting)
    message = messages.registration(
        meeting,
        recipient,
        envelope,
        french.in_paris(erased_on).date(),
        done.waiting_rank,
    )
    await outbox.enqueue([outbox.Outgoing(message, recipient.address, KIND)])
