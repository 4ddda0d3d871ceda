"""Inviting and sending through the API, delivered by a real SMTP server."""

from __future__ import annotations

import datetime as dt

from ical.calendar_stream import IcsCalendarStream

from maillage.actor import CLI
from maillage.crm.registry import SERVICES
from maillage.mailing import invitations
from maillage.tables import Invitation, OutboxMessage
from tests.mailing.conftest import settle, smtp_sender


def calendar_of(message):  # type: ignore[no-untyped-def]
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") in ("REQUEST", "CANCEL")
    text = part.get_payload(decode=True).decode()
    calendar = IcsCalendarStream.calendar_from_ics(text)
    assert calendar.method == part.get_param("method")
    return calendar


async def test_it_invites_a_whole_body_and_reports_who_has_no_address(coordinator, body):
    meeting_id = body.meeting["id"]
    response = await coordinator.client.post(
        f"/api/v1/meetings/{meeting_id}/invitations", json={"group_members": True}
    )
    assert response.status_code == 201, response.text
    report = response.json()
    names = sorted(item["name"] for item in report["created"])
    # The suppléant is not invited with the body: only when named or asked for.
    assert names == ["Hélène Lefèvre", "Marc Durand", "Paul Sansmail"]
    assert [p["name"] for p in report["problems"]] == ["Paul Sansmail"]
    assert "pas d'adresse" in report["problems"][0]["reason"]
    again = await coordinator.client.post(
        f"/api/v1/meetings/{meeting_id}/invitations", json={"group_members": True}
    )
    assert len(again.json()["already_invited"]) == 3 and not again.json()["created"]


async def test_a_reader_cannot_invite_or_send(reader, body):
    meeting_id = body.meeting["id"]
    response = await reader.client.post(
        f"/api/v1/meetings/{meeting_id}/invitations", json={"group_members": True}
    )
    assert response.status_code == 403
    response = await reader.client.post(f"/api/v1/meetings/{meeting_id}/invitations/send")
    assert response.status_code == 403


async def test_sending_delivers_one_imip_message_per_invitee(coordinator, body, smtp_server):
    meeting_id = body.meeting["id"]
    await coordinator.client.post(
        f"/api/v1/meetings/{meeting_id}/invitations", json={"group_members": True}
    )
    response = await coordinator.client.post(f"/api/v1/meetings/{meeting_id}/invitations/send")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["queued"] == 2 and report["invitation"] == 2
    assert [p["name"] for p in report["problems"]] == ["Paul Sansmail"]
    # Written to the outbox before any attempt.
    assert await OutboxMessage.count().where(OutboxMessage.status == "en_attente") == 2

    await settle(smtp_sender(smtp_server))
    received = smtp_server.handler.received
    assert sorted(r.recipients[0] for r in received) == [
        "helene.lefevre@caf.example",
        "marc.durand@mairie.example",
    ]
    for item in received:
        assert item.recipients == [str(item.message["To"].addresses[0].addr_spec)]
        event = calendar_of(item.message).events[0]
        assert event.uid == body.meeting["ical_uid"]
        assert [a.uri.lower() for a in event.attendees] == [f"mailto:{item.recipients[0]}"]
    helene = next(r for r in received if r.recipients[0].startswith("helene"))
    assert helene.message["To"].addresses[0].display_name == "Hélène Lefèvre"
    text = helene.message.get_body(("plain",)).get_content()
    assert "Je participe : http://testserver/r/" in text
    # Titulaire: invited to name a replacement.
    assert "désigner la personne qui vous remplacera" in text

    sent = await Invitation.select().where(Invitation.sent_at.is_not_null())
    assert len(sent) == 2
    again = await coordinator.client.post(f"/api/v1/meetings/{meeting_id}/invitations/send")
    assert again.json()["queued"] == 0


async def test_moving_the_meeting_sends_a_modification_then_cancelling_a_cancel(
    coordinator, body, smtp_server, settings
):
    """README: a move sends an update, a cancellation a CANCEL, with no « send » again (#21)."""
    meeting = body.meeting
    await invitations.invite(
        CLI, meeting["id"], invitations.InviteRequest((body.people["marc"]["id"],))
    )
    await invitations.queue(CLI, settings, meeting["id"])
    sender = smtp_sender(smtp_server)
    await settle(sender)

    moved_start = meeting["starts_at"] + dt.timedelta(days=1)
    response = await coordinator.client.patch(
        f"/api/v1/meetings/{meeting['id']}",
        json={
            "version": meeting["version"],
            "starts_at": moved_start.isoformat(),
            "ends_at": (moved_start + dt.timedelta(hours=2)).isoformat(),
        },
    )
    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["ical_sequence"] == 1
    await settle(sender)
    update = smtp_server.handler.received[-1].message
    assert str(update["Subject"]).startswith("Modification : ")
    event = calendar_of(update).events[0]
    assert event.sequence == 1

    response = await coordinator.client.patch(
        f"/api/v1/meetings/{meeting['id']}", json={"version": moved["version"], "status": "annulee"}
    )
    assert response.json()["ical_sequence"] == 2
    await settle(sender)
    cancel = smtp_server.handler.received[-1].message
    assert str(cancel["Subject"]).startswith("Annulation : ")
    calendar = calendar_of(cancel)
    assert calendar.method == "CANCEL"
    assert calendar.events[0].sequence == 2
    assert len(smtp_server.handler.received) == 3
    report = (
        await coordinator.client.post(f"/api/v1/meetings/{meeting['id']}/invitations/send")
    ).json()
    assert report["queued"] == 0  # nothing was left for « send »


async def test_a_draft_meeting_cannot_be_sent(coordinator, body):
    meeting = body.meeting
    await coordinator.client.patch(
        f"/api/v1/meetings/{meeting['id']}",
        json={"version": meeting["version"], "status": "brouillon"},
    )
    response = await coordinator.client.post(f"/api/v1/meetings/{meeting['id']}/invitations/send")
    assert response.status_code == 400
    assert "brouillon" in response.json()["errors"][0]["message"]


async def test_an_invalid_address_is_reported_per_recipient(coordinator, body, database):
    # An address stored before validation existed (an old import) must not stop the others.
    await SERVICES["contacts"].get(body.people["marc"]["id"])
    from maillage.tables import Contact

    await Contact.update({Contact.email: "marc.durand@@mairie"}).where(
        Contact.id == body.people["marc"]["id"]
    )
    meeting_id = body.meeting["id"]
    await coordinator.client.post(
        f"/api/v1/meetings/{meeting_id}/invitations", json={"group_members": True}
    )
    report = (
        await coordinator.client.post(f"/api/v1/meetings/{meeting_id}/invitations/send")
    ).json()
    assert report["queued"] == 1
    reasons = {p["name"]: p["reason"] for p in report["problems"]}
    assert "adresse invalide" in reasons["Marc Durand"]
    assert "pas d'adresse" in reasons["Paul Sansmail"]


async def test_the_outbox_is_listed_retried_and_cancelled(coordinator, reader, body, settings):
    await invitations.invite(CLI, body.meeting["id"], invitations.InviteRequest(group_members=True))
    await invitations.queue(CLI, settings, body.meeting["id"])
    page = (await reader.client.get("/api/v1/outbox")).json()
    assert page["total"] == 2
    assert {item["status"] for item in page["items"]} == {"en_attente"}
    first = page["items"][0]["id"]
    cancelled = await coordinator.client.post(f"/api/v1/outbox/{first}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "annule"
    retried = await coordinator.client.post(f"/api/v1/outbox/{first}/retry")
    assert retried.json()["status"] == "en_attente"
    assert retried.json()["message_id"] == page["items"][0]["message_id"]
    assert (await reader.client.post(f"/api/v1/outbox/{first}/cancel")).status_code == 403
    assert (await coordinator.client.get("/api/v1/outbox/999999")).status_code == 404
