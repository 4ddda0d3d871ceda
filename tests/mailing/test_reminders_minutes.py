"""Reminders to those who have not declined; minutes to invitees or to present and excused."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt

import pytest

from maillage.actor import CLI
from maillage.errors import InvalidData
from maillage.mailing import invitations
from maillage.mailing.messages import Attachment
from maillage.mailing.reminders import delay_words, due_offset, queue_due_reminders
from maillage.tables import Invitation, Meeting, OutboxMessage
from tests.support import outbox_rows


def test_the_due_offset_is_the_smallest_whose_moment_came():
    start = dt.datetime(2026, 12, 8, 13, tzinfo=dt.UTC)
    assert due_offset(start, (7, 1), start - dt.timedelta(days=8)) is None
    assert due_offset(start, (7, 1), start - dt.timedelta(days=6)) == 7
    assert due_offset(start, (7, 1), start - dt.timedelta(hours=5)) == 1
    assert due_offset(start, (7, 1), start + dt.timedelta(hours=1)) is None


def test_a_reminder_says_the_real_delay_in_paris_days():
    start = dt.datetime(2026, 12, 8, 13, tzinfo=dt.UTC)  # 14 h 00 in Paris
    assert delay_words(start, dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC)) == "dans 5 jours"
    assert delay_words(start, dt.datetime(2026, 12, 6, 23, 30, tzinfo=dt.UTC)) == "demain"
    assert delay_words(start, dt.datetime(2026, 12, 8, 7, tzinfo=dt.UTC)) == "aujourd'hui"


async def test_reminders_skip_decliners_and_are_sent_once(settings, body):
    await invitations.invite(CLI, body.meeting["id"], invitations.InviteRequest(group_members=True))
    await invitations.queue(CLI, settings, body.meeting["id"])
    await Invitation.update({Invitation.response: "declinee"}).where(
        Invitation.contact == body.people["marc"]["id"]
    )
    await _delivered(dt.datetime.now(dt.UTC) - dt.timedelta(days=10))
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=5)
    await Meeting.update(
        {Meeting.starts_at: soon, Meeting.ends_at: soon + dt.timedelta(hours=2)}
    ).where(Meeting.id == body.meeting["id"])
    assert await queue_due_reminders(settings) == 1
    assert await queue_due_reminders(settings) == 0
    reminders = await OutboxMessage.select().where(OutboxMessage.kind.like("rappel_%"))
    assert [(r["recipient"], r["kind"]) for r in reminders] == [
        ("helene.lefevre@caf.example", "rappel_7j")
    ]
    # Sent five days ahead by the 7-day reminder: it says the real delay (#21).
    assert reminders[0]["subject"].startswith("Rappel : COPIL CTG — Bilan annuel, dans 5 jours")
    tomorrow = dataclasses.replace(settings, reminder_days=(7, 1))
    later = soon - dt.timedelta(hours=20)
    assert await queue_due_reminders(tomorrow, now=later) == 1
    assert await queue_due_reminders(tomorrow, now=later) == 0


async def _delivered(moment: dt.datetime) -> None:
    """As if the sender had delivered every queued invitation at ``moment``."""
    await Invitation.update({Invitation.sent_at: moment}).where(
        Invitation.sent_sequence.is_not_null()
    )


async def test_a_reminder_never_follows_an_invitation_delivered_after_its_moment(settings, body):
    """Invited 5 days ahead: no 7-day reminder right behind the invitation, the 1-day one on
    time; an invitation still in the outbox gets no reminder before it."""
    meeting = body.meeting
    now = dt.datetime.now(dt.UTC)
    soon = now + dt.timedelta(days=5)
    await Meeting.update(
        {Meeting.starts_at: soon, Meeting.ends_at: soon + dt.timedelta(hours=2)}
    ).where(Meeting.id == meeting["id"])
    await invitations.invite(CLI, meeting["id"], invitations.InviteRequest(group_members=True))
    await invitations.queue(CLI, settings, meeting["id"])
    assert await queue_due_reminders(settings) == 0  # queued, not delivered yet
    await _delivered(now)
    assert await queue_due_reminders(settings) == 0  # delivered after the 7-day moment
    day_before = soon - dt.timedelta(hours=20)
    assert await queue_due_reminders(settings, now=day_before) == 2
    kinds = await OutboxMessage.select(OutboxMessage.kind).where(
        OutboxMessage.kind.like("rappel_%")
    )
    assert {row["kind"] for row in kinds} == {"rappel_1j"}


async def test_minutes_go_to_present_and_excused_with_attachments(coordinator, settings, body):
    meeting = body.meeting
    await invitations.invite(CLI, meeting["id"], invitations.InviteRequest(group_members=True))
    await Invitation.update({Invitation.attendance: "present"}).where(
        Invitation.contact == body.people["helene"]["id"]
    )
    await Invitation.update({Invitation.attendance: "absent"}).where(
        Invitation.contact == body.people["marc"]["id"]
    )
    await coordinator.client.patch(
        f"/api/v1/meetings/{meeting['id']}",
        json={"version": meeting["version"], "minutes": "Décision : on continue."},
    )
    response = await coordinator.client.post(
        f"/api/v1/meetings/{meeting['id']}/minutes/send",
        json={
            "audience": "presents_excuses",
            "attachments": [
                {
                    "filename": "compte-rendu.pdf",
                    "content_type": "application/pdf",
                    "content_base64": base64.b64encode(b"%PDF-1.4").decode(),
                }
            ],
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["queued"] == 1
    rows = await outbox_rows("compte_rendu")
    assert [r["recipient"] for r in rows] == ["helene.lefevre@caf.example"]
    assert "compte-rendu.pdf" in rows[0]["raw_message"]
    bad = await coordinator.client.post(
        f"/api/v1/meetings/{meeting['id']}/minutes/send",
        json={"attachments": [{"filename": "x.pdf", "content_base64": "%%%"}]},
    )
    assert bad.status_code == 400


async def test_the_minutes_service_refuses_too_many_or_too_heavy_files(settings, body):
    """The limits live in the service, so the API, the page and any later caller share them."""
    meeting = body.meeting
    await invitations.invite(CLI, meeting["id"], invitations.InviteRequest(group_members=True))
    heavy = Attachment("annexes.pdf", b"x" * (invitations.MAX_ATTACHMENT_BYTES + 1), "x/y")
    light = Attachment("cr.pdf", b"%PDF-1.4", "application/pdf")
    cases = {
        "« annexes.pdf » est trop lourd (1,5 Mo au plus par fichier).": [light, heavy],
        "11 fichiers : 10 au plus.": [light] * 11,
    }
    for message, files in cases.items():
        with pytest.raises(InvalidData) as refused:
            await invitations.queue_minutes(CLI, settings, meeting["id"], "invites", files)
        assert [e.message for e in refused.value.errors] == [message]
    assert await OutboxMessage.count().where(OutboxMessage.kind == "compte_rendu") == 0


async def test_the_minutes_carry_the_meetings_decisions(settings, body):
    """The relevé de décisions goes with the minutes (#22)."""
    import email as email_module
    from email import policy

    from maillage.crm.registry import SERVICES

    meeting = body.meeting
    await invitations.invite(CLI, meeting["id"], invitations.InviteRequest(group_members=True))
    await Meeting.update({Meeting.minutes: "Tour de table."}).where(Meeting.id == meeting["id"])
    decisions = SERVICES["decisions"]
    await decisions.create(
        CLI,
        decisions.spec.input(
            summary="Recenser les besoins de garde",
            meeting=meeting["id"],
            carrier_contact=body.people["helene"]["id"],
            due_on=dt.date(2027, 3, 1),
        ),
    )
    await invitations.queue_minutes(CLI, settings, meeting["id"], "invites", [])
    [first, *_] = await outbox_rows("compte_rendu")
    message = email_module.message_from_string(first["raw_message"], policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    assert "Relevé de décisions :" in text
    assert (
        "- Recenser les besoins de garde — porteur : Hélène Lefèvre — échéance : 1er mars 2027"
        in text
    )
    assert str(message["Subject"]).startswith("Compte rendu : ")
