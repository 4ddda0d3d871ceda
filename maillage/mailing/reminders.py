"""Reminders before a meeting, to the invitees who have not declined.

With reminders at 7 and 1 days, an invitee gets the 7-day one once the meeting is 7 days away,
then the 1-day one. A reminder goes only to invitations delivered before its moment: someone
invited 3 days ahead gets the 1-day reminder only, not a 7-day one right behind the invitation,
and an invitation still waiting in the outbox gets none. The outbox is the memory of what was
sent: one message of kind ``rappel_<days>j`` per invitation and offset.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from maillage import french
from maillage.actor import Actor
from maillage.crm import audit
from maillage.db import write_transaction
from maillage.errors import InvalidData
from maillage.french import plural
from maillage.mailing import messages, outbox
from maillage.mailing.addresses import InvalidAddress, sender_mailbox
from maillage.mailing.invitations import (
    INVITATION_COLUMNS,
    build_invitee,
    current_roles,
    group_of,
    load_meeting,
    unreachable,
)
from maillage.mailing.messages import Envelope, MeetingInfo
from maillage.settings import Settings
from maillage.tables import Invitation, Meeting, OutboxMessage
from maillage.vocabulary import DECLINED, PENDING, PLANNED


def kind_for(days: int) -> str:
    return f"rappel_{days}j"


def due_offset(starts_at: dt.datetime, offsets: tuple[int, ...], now: dt.datetime) -> int | None:
    """The smallest offset whose moment has come, or None (too early, or already started)."""
    if now >= starts_at:
        return None
    passed = [days for days in offsets if starts_at - dt.timedelta(days=days) <= now]
    return min(passed) if passed else None


def days_until(starts_at: dt.datetime, now: dt.datetime) -> int:
    """Calendar days in Paris from ``now`` to the meeting: what « dans N jours » must say."""
    return (french.in_paris(starts_at).date() - french.in_paris(now).date()).days


def delay_words(starts_at: dt.datetime, now: dt.datetime) -> str:
    return messages.delay_text(days_until(starts_at, now))


async def queue_due_reminders(settings: Settings, now: dt.datetime | None = None) -> int:
    offsets = settings.reminder_days
    if not offsets:
        return 0
    moment = now or dt.datetime.now(dt.UTC)
    meetings = await Meeting.select(Meeting.id, Meeting.starts_at, Meeting.working_group).where(
        (Meeting.status == PLANNED)
        & (Meeting.starts_at > moment)
        & (Meeting.starts_at <= moment + dt.timedelta(days=max(offsets)))
    )
    total = 0
    for row in meetings:
        days = due_offset(row["starts_at"], offsets, moment)
        if days is not None:
            total += await _queue_for_meeting(settings, row, days, moment)
    return total


async def _queue_for_meeting(
    settings: Settings, row: dict[str, Any], days: int, now: dt.datetime
) -> int:
    # One transaction from the check to the write: two senders never queue the same reminder.
    async with write_transaction():
        return await _queue_checked(settings, row, days, now)


async def _queue_checked(
    settings: Settings, row: dict[str, Any], days: int, now: dt.datetime
) -> int:
    kind = kind_for(days)
    # Delivered before the reminder's moment, so the reminder never follows the invitation at
    # once (``sent_at`` is the first acceptance by the server, null until then).
    delivered_by = row["starts_at"] - dt.timedelta(days=days)
    invitations = await Invitation.select(*INVITATION_COLUMNS).where(
        (Invitation.meeting == row["id"])
        & (Invitation.response != DECLINED)
        & Invitation.sent_sequence.is_not_null()
        & (Invitation.sent_at <= delivered_by)
    )
    if not invitations:
        return 0
    # Once a shorter reminder went out, a longer one is never due again.
    already = {
        (entry["invitation"], entry["kind"])
        for entry in await OutboxMessage.select(OutboxMessage.invitation, OutboxMessage.kind).where(
            OutboxMessage.invitation.is_in([i["id"] for i in invitations])
            & OutboxMessage.kind.like("rappel_%")
        )
    }
    sent_days: dict[int, int] = {}
    for invitation_id, sent_kind in already:
        value = int(sent_kind.removeprefix("rappel_").removesuffix("j"))
        sent_days[invitation_id] = min(value, sent_days.get(invitation_id, value))
    pending = [i for i in invitations if sent_days.get(i["id"], 10_000) > days]
    if not pending:
        return 0
    meeting = await load_meeting(row["id"])
    roles = await current_roles(row["working_group"], [i["contact"] for i in pending])
    envelope = Envelope(sender_mailbox(settings.mail_from))
    # The offset names the reminder; the text says the real delay (sent late, a 7-day
    # reminder goes out 5 days ahead and says so).
    left = days_until(row["starts_at"], now)
    builder = messages.MeetingMessages(meeting, "rappel", envelope, days=left)
    items = []
    for invitation in pending:
        try:
            invitee = build_invitee(
                settings, invitation, roles.get(invitation["contact"], "membre")
            )
        except InvalidAddress:
            continue
        message = builder.build(invitee)
        items.append(
            outbox.Outgoing(
                message, invitee.mailbox.address, kind, invitation["contact"], invitation["id"]
            )
        )
    await outbox.enqueue(items)
    return len(items)


RELAUNCH = "relance"
RELAUNCH_PAUSE = dt.timedelta(hours=20)
"""« Relancer » twice the same day reaches nobody twice: who was relaunched less than 20 hours
ago is left out (a click in the morning and one the next morning both go)."""


async def relaunch_pending(
    actor: Actor, settings: Settings, meeting_id: int, now: dt.datetime | None = None
) -> dict[str, Any]:
    """« Relancer ceux qui n'ont pas répondu » : one message, with the answer links, to every
    invitee who received the invitation and has not answered. Only for a planned meeting still
    to come; those relaunched in the last 20 hours and those whose invitation has not left the
    outbox yet are left out and counted."""
    moment = now or dt.datetime.now(dt.UTC)
    # One transaction from the check to the write: two clicks never queue the same message.
    async with write_transaction():
        meeting = await load_meeting(meeting_id)
        _check_relaunchable(meeting, moment)
        pending = await Invitation.select(*INVITATION_COLUMNS, Invitation.sent_at).where(
            (Invitation.meeting == meeting_id)
            & (Invitation.response == PENDING)
            & Invitation.sent_sequence.is_not_null()
        )
        recent = await _relaunched_since([row["id"] for row in pending], moment - RELAUNCH_PAUSE)
        not_left = [row for row in pending if row["sent_at"] is None]
        due = [row for row in pending if row["sent_at"] is not None and row["id"] not in recent]
        roles = await current_roles(await group_of(meeting_id), [row["contact"] for row in due])
        envelope = Envelope(sender_mailbox(settings.mail_from))
        builder = messages.MeetingMessages(meeting, RELAUNCH, envelope)
        items, problems = [], []
        for row in due:
            try:
                invitee = build_invitee(settings, row, roles.get(row["contact"], "membre"))
            except InvalidAddress as error:
                problems.append(unreachable(row, error))
                continue
            items.append(
                outbox.Outgoing(
                    builder.build(invitee),
                    invitee.mailbox.address,
                    RELAUNCH,
                    row["contact"],
                    row["id"],
                )
            )
        await outbox.enqueue(items)
        if items:
            await audit.record(actor, "relaunch", "meeting", meeting_id, {"queued": len(items)})
    return {
        "meeting": meeting_id,
        "queued": len(items),
        "recently_relaunched": len(recent),
        "not_sent_yet": len(not_left),
        "problems": problems,
    }


def relaunch_summary(report: dict[str, Any]) -> str:
    """« Relance mise en file pour 3 personnes. 2 personnes relancées il y a moins de 20 heures
    ne le sont pas à nouveau. »"""
    queued = report["queued"]
    if queued:
        text = "Relance mise en file pour " + plural(queued, "personne", "personnes") + "."
    else:
        text = "Personne à relancer pour l'instant."
    if report["recently_relaunched"]:
        count = report["recently_relaunched"]
        text += " " + plural(count, "personne relancée", "personnes relancées")
        text += (
            " il y a moins de 20 heures ne l'est pas à nouveau."
            if count == 1
            else (" il y a moins de 20 heures ne le sont pas à nouveau.")
        )
    if report["not_sent_yet"]:
        count = report["not_sent_yet"]
        text += (
            " " + plural(count, "invitation n'est", "invitations ne sont") + " pas encore partie"
        )
        text += "." if count == 1 else "s."
    return text


def _check_relaunchable(meeting: MeetingInfo, now: dt.datetime) -> None:
    if meeting.status != PLANNED:
        raise InvalidData.one(
            "status",
            "Seule une réunion planifiée peut être relancée (pas un brouillon, ni une réunion annulée ou tenue).",
        )
    if meeting.starts_at <= now:
        raise InvalidData.one(
            "starts_at", "La réunion a commencé : il est trop tard pour relancer."
        )


async def _relaunched_since(invitation_ids: list[int], since: dt.datetime) -> set[int]:
    if not invitation_ids:
        return set()
    rows = await OutboxMessage.select(OutboxMessage.invitation).where(
        OutboxMessage.invitation.is_in(invitation_ids)
        & (OutboxMessage.kind == RELAUNCH)
        & (OutboxMessage.created_at > since)
        & (OutboxMessage.status != "annule")
    )
    return {row["invitation"] for row in rows}
