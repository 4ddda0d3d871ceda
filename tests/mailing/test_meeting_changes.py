"""A meeting edited, moved or cancelled: those who had it get the update at once (#21).

Through every door: the API's move and cancel routes, the generic PATCH, the pages, and the
command line for a cancellation. Delivered by a real SMTP server."""

from __future__ import annotations

import datetime as dt

from maillage.actor import CLI
from maillage.calendar import service as calendar
from maillage.mailing import invitations
from maillage.tables import AuditEvent, Invitation, OutboxMessage
from tests.mailing.conftest import settle, smtp_sender
from tests.mailing.test_cli import environment, maillage
from tests.mailing.test_invitations import calendar_of


async def _invited_and_sent(body, settings, *keys: str) -> None:
    people = tuple(body.people[key]["id"] for key in keys)
    await invitations.invite(CLI, body.meeting["id"], invitations.InviteRequest(people))
    await invitations.queue(CLI, settings, body.meeting["id"])


async def test_moving_through_the_api_sends_the_update_at_once(
    coordinator, body, smtp_server, settings
):
    await _invited_and_sent(body, settings, "marc", "helene")
    sender = smtp_sender(smtp_server)
    await settle(sender)
    start = body.meeting["starts_at"] + dt.timedelta(days=2)
    response = await coordinator.client.post(
        f"/api/v1/calendar/meetings/{body.meeting['id']}/move",
        json={
            "version": body.meeting["version"],
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
        },
    )
    assert response.status_code == 200, response.text
    await settle(sender)
    updates = smtp_server.handler.received[2:]
    assert sorted(r.recipients[0] for r in updates) == [
        "helene.lefevre@caf.example",
        "marc.durand@mairie.example",
    ]
    for item in updates:
        assert str(item.message["Subject"]).startswith("Modification : ")
        assert calendar_of(item.message).events[0].sequence == 1


async def test_cancelling_through_the_api_sends_the_cancel(
    coordinator, body, smtp_server, settings
):
    await _invited_and_sent(body, settings, "marc")
    sender = smtp_sender(smtp_server)
    await settle(sender)
    response = await coordinator.client.post(
        f"/api/v1/calendar/meetings/{body.meeting['id']}/cancel",
        json={"version": body.meeting["version"]},
    )
    assert response.status_code == 200, response.text
    await settle(sender)
    cancel = smtp_server.handler.received[-1].message
    assert calendar_of(cancel).method == "CANCEL"
    assert len(smtp_server.handler.received) == 2


async def test_a_new_video_link_reaches_those_invited_but_not_those_never_sent(
    coordinator, body, settings
):
    """Title, agenda and video link are in the calendar entry: a change raises SEQUENCE. Those
    invited but never sent anything still wait for « Envoyer » (and its preview)."""
    await _invited_and_sent(body, settings, "marc")
    await invitations.invite(
        CLI, body.meeting["id"], invitations.InviteRequest((body.people["helene"]["id"],))
    )
    response = await coordinator.client.patch(
        f"/api/v1/meetings/{body.meeting['id']}",
        json={"version": body.meeting["version"], "video_url": "https://visio.example/nouveau"},
    )
    assert response.json()["ical_sequence"] == 1
    kinds = await OutboxMessage.select(OutboxMessage.kind, OutboxMessage.recipient).order_by(
        OutboxMessage.id
    )
    assert [(k["kind"], k["recipient"]) for k in kinds] == [
        ("invitation", "marc.durand@mairie.example"),
        ("modification", "marc.durand@mairie.example"),
    ]
    helene = await Invitation.select(Invitation.sent_sequence).where(
        Invitation.contact == body.people["helene"]["id"]
    )
    assert helene[0]["sent_sequence"] is None


async def test_an_edit_owing_nobody_anything_sends_nothing_and_logs_no_sending(coordinator, body):
    response = await coordinator.client.patch(
        f"/api/v1/meetings/{body.meeting['id']}",
        json={"version": body.meeting["version"], "title": "Bilan annuel 2026"},
    )
    assert response.status_code == 200
    assert await OutboxMessage.count() == 0
    assert await AuditEvent.count().where(AuditEvent.action == "send") == 0


async def test_the_command_line_sends_the_cancellation_of_a_cancelled_meeting(
    migrated_database, body, smtp_server, settings, tmp_path
):
    """``mail invite 54 --send`` on a cancelled meeting: the CANCEL to those invited, no new
    invitation; without ``--send`` it says how, in French."""
    await _invited_and_sent(body, settings, "marc")
    await settle(smtp_sender(smtp_server))
    # Cancelled behind the mailing's back (an import, a script): nothing was queued.
    await calendar.cancel(CLI, body.meeting["id"], body.meeting["version"])
    env = environment(migrated_database, tmp_path, smtp_server.url)
    code, output = await maillage("mail", "invite", str(body.meeting["id"]), env=env)
    assert code != 0
    assert "est annulée" in output and "--send" in output
    code, output = await maillage("mail", "invite", str(body.meeting["id"]), "--send", env=env)
    assert code == 0, output
    assert "Mis en file : 1 annulation." in output
    assert "Envoyés : 1" in output
    cancel = smtp_server.handler.received[-1]
    assert cancel.recipients == ["marc.durand@mairie.example"]
    assert calendar_of(cancel.message).method == "CANCEL"
    assert await Invitation.count().where(Invitation.meeting == body.meeting["id"]) == 1
