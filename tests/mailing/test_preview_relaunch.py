"""Before « Envoyer »: the preview; after it, « Relancer » those who have not answered (#21)."""

from __future__ import annotations

import datetime as dt

import pytest

from maillage.actor import CLI
from maillage.errors import InvalidData
from maillage.mailing import invitations, reminders
from maillage.tables import Invitation, Meeting, OutboxMessage


async def _invite_all(body) -> None:
    await invitations.invite(CLI, body.meeting["id"], invitations.InviteRequest(group_members=True))


async def test_the_preview_shows_what_would_go_and_writes_nothing(settings, body):
    await _invite_all(body)
    report = await invitations.preview(settings, body.meeting["id"])
    assert report["invitation"] == 2 and report["queued"] == 2
    assert len(report["problems"]) == 1 and "adresse" in report["problems"][0]["reason"]
    [sample] = report["samples"]
    assert sample.subject.startswith("Invitation : COPIL CTG — Bilan annuel")
    assert "Bonjour" in sample.text
    # The invitee's answer link is theirs: the preview never shows a working one.
    assert "/r/" not in sample.text and invitations.PERSONAL_LINK in sample.text
    assert await OutboxMessage.count() == 0
    assert await Invitation.count().where(Invitation.sent_sequence.is_not_null()) == 0
    # Once sent, the preview has nothing left to show.
    await invitations.queue(CLI, settings, body.meeting["id"])
    again = await invitations.preview(settings, body.meeting["id"])
    assert again["queued"] == 0 and again["samples"] == []


async def test_the_preview_refuses_what_sending_refuses(settings, body):
    await _invite_all(body)
    await Meeting.update({Meeting.status: "brouillon"}).where(Meeting.id == body.meeting["id"])
    with pytest.raises(InvalidData) as refused:
        await invitations.preview(settings, body.meeting["id"])
    assert "brouillon" in refused.value.errors[0].message


async def _sent_and_delivered(settings, body) -> None:
    await _invite_all(body)
    await invitations.queue(CLI, settings, body.meeting["id"])
    await Invitation.update({Invitation.sent_at: dt.datetime.now(dt.UTC)}).where(
        Invitation.sent_sequence.is_not_null()
    )


async def test_relaunch_reaches_only_those_who_have_not_answered_once_a_day(settings, body):
    await _sent_and_delivered(settings, body)
    await Invitation.update({Invitation.response: "acceptee"}).where(
        Invitation.contact == body.people["helene"]["id"]
    )
    report = await reminders.relaunch_pending(CLI, settings, body.meeting["id"])
    assert report["queued"] == 1 and report["recently_relaunched"] == 0
    rows = await OutboxMessage.select().where(OutboxMessage.kind == "relance")
    assert [row["recipient"] for row in rows] == [body.people["marc"]["email"]]
    assert rows[0]["subject"].startswith("Votre réponse, s'il vous plaît : COPIL CTG")
    again = await reminders.relaunch_pending(CLI, settings, body.meeting["id"])
    assert again["queued"] == 0 and again["recently_relaunched"] == 1
    assert reminders.relaunch_summary(again) == (
        "Personne à relancer pour l'instant. 1 personne relancée il y a moins de 20 heures "
        "ne l'est pas à nouveau."
    )
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(hours=21)
    later = await reminders.relaunch_pending(CLI, settings, body.meeting["id"], now=tomorrow)
    assert later["queued"] == 1


async def test_relaunch_waits_for_the_invitation_to_leave(settings, body):
    await _invite_all(body)
    await invitations.queue(CLI, settings, body.meeting["id"])
    report = await reminders.relaunch_pending(CLI, settings, body.meeting["id"])
    assert report["queued"] == 0 and report["not_sent_yet"] == 2
    assert "2 invitations ne sont pas encore parties." in reminders.relaunch_summary(report)


async def test_relaunch_refuses_a_meeting_already_started(settings, body):
    await _sent_and_delivered(settings, body)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    await Meeting.update(
        {Meeting.starts_at: past, Meeting.ends_at: past + dt.timedelta(hours=2)}
    ).where(Meeting.id == body.meeting["id"])
    with pytest.raises(InvalidData) as refused:
        await reminders.relaunch_pending(CLI, settings, body.meeting["id"])
    assert "trop tard pour relancer" in refused.value.errors[0].message
    assert await OutboxMessage.count().where(OutboxMessage.kind == "relance") == 0


async def test_the_api_previews_and_relaunches(coordinator, reader, settings, body):
    await _invite_all(body)
    meeting = body.meeting["id"]
    preview = await coordinator.client.get(f"/api/v1/meetings/{meeting}/invitations/preview")
    assert preview.status_code == 200, preview.text
    assert preview.json()["invitation"] == 2
    assert preview.json()["samples"][0]["kind"] == "invitation"
    denied = await reader.client.post(f"/api/v1/meetings/{meeting}/invitations/relaunch")
    assert denied.status_code == 403
    await coordinator.client.post(f"/api/v1/meetings/{meeting}/invitations/send")
    await Invitation.update({Invitation.sent_at: dt.datetime.now(dt.UTC)}).where(
        Invitation.sent_sequence.is_not_null()
    )
    relaunched = await coordinator.client.post(f"/api/v1/meetings/{meeting}/invitations/relaunch")
    assert relaunched.status_code == 200, relaunched.text
    assert relaunched.json()["queued"] == 2
