"""Inhabitants registered to a public meeting are told when it is cancelled and reminded two
days before (#22): once each, only with an address, the reminder only under a consent that
promised it."""

from __future__ import annotations

import datetime as dt

from maillage.actor import CLI
from maillage.crm import inhabitants
from maillage.crm.inhabitants import RegistrationForm
from maillage.mailing import invitations, notices, participation
from maillage.mailing.reminders import delay_words
from maillage.tables import InhabitantRegistration, Meeting, OutboxMessage
from tests.crm.test_inhabitants import public_meeting
from tests.mailing.conftest import settle, smtp_sender


def _form(name: str, email: str = "") -> RegistrationForm:
    return RegistrationForm(name=name, commune="Ardoise", email=email, consent=True)


async def _notices(kind: str) -> list[str]:
    rows = await OutboxMessage.select(OutboxMessage.recipient).where(OutboxMessage.kind == kind)
    return sorted(row["recipient"] for row in rows)


async def test_cancelling_tells_every_registered_inhabitant_once(
    coordinator, settings, database, smtp_server
):
    meeting = await public_meeting(capacity=1)
    await participation.register(settings, meeting, _form("Hélène", "helene@exemple.fr"))
    await participation.register(settings, meeting, _form("Zoé", "zoe@exemple.fr"))  # waiting
    await participation.register(settings, meeting, _form("Sans adresse"))
    version = (await Meeting.select(Meeting.version).where(Meeting.id == meeting).first())[
        "version"
    ]
    response = await coordinator.client.post(
        f"/api/v1/calendar/meetings/{meeting}/cancel", json={"version": version}
    )
    assert response.status_code == 200, response.text
    assert await _notices(notices.CANCEL_KIND) == ["helene@exemple.fr", "zoe@exemple.fr"]
    # Told once: the sender's loop and a later edit find nobody left to tell.
    assert await notices.queue_due(settings, invitations.load_meeting) == {
        "annulation": 0,
        "rappel": 0,
    }
    await invitations.queue_changes(CLI, settings, meeting)
    assert len(await _notices(notices.CANCEL_KIND)) == 2
    await settle(smtp_sender(smtp_server))
    [message] = [
        r.message
        for r in smtp_server.handler.received
        if r.recipients == ["helene@exemple.fr"]
        and str(r.message["Subject"]).startswith("Annulation : ")
    ]
    text = message.get_body(("plain",)).get_content()
    assert "est annulée" in text and "Salle des fêtes" in text


async def test_a_cancellation_made_elsewhere_is_told_by_the_sender_loop(settings, database):
    meeting = await public_meeting()
    await participation.register(settings, meeting, _form("Hélène", "helene@exemple.fr"))
    await Meeting.update({Meeting.status: "annulee"}).where(Meeting.id == meeting)
    counts = await notices.queue_due(settings, invitations.load_meeting)
    assert counts["annulation"] == 1
    assert await _notices(notices.CANCEL_KIND) == ["helene@exemple.fr"]


async def test_the_reminder_goes_two_days_before_only_to_those_who_agreed(
    settings, database, smtp_server
):
    meeting = await public_meeting(days=10)
    await participation.register(settings, meeting, _form("Hélène", "helene@exemple.fr"))
    await participation.register(settings, meeting, _form("Ancien", "ancien@exemple.fr"))
    await participation.register(settings, meeting, _form("Sans adresse"))
    # Registered under the earlier wording, which promised only the confirmation.
    await InhabitantRegistration.update(
        {InhabitantRegistration.consent_text: "participer-2026-12"}
    ).where(InhabitantRegistration.email == "ancien@exemple.fr")
    assert "rappel" in inhabitants.CONSENT_TEXT
    load = invitations.load_meeting
    assert await notices.queue_due(settings, load) == {"annulation": 0, "rappel": 0}  # J-10
    start = (await Meeting.select(Meeting.starts_at).where(Meeting.id == meeting).first())[
        "starts_at"
    ]
    two_days_before = start - dt.timedelta(days=2, hours=-1)
    assert (await notices.queue_due(settings, load, two_days_before))["rappel"] == 1
    assert (await notices.queue_due(settings, load, two_days_before))["rappel"] == 0
    assert await _notices(notices.REMINDER_KIND) == ["helene@exemple.fr"]
    await settle(smtp_sender(smtp_server))
    [message] = [
        r.message
        for r in smtp_server.handler.received
        if str(r.message["Subject"]).startswith("Rappel : ")
    ]
    assert message["To"].addresses[0].addr_spec == "helene@exemple.fr"
    assert f", {delay_words(start, two_days_before)} (" in str(message["Subject"])
    assert "Si vous ne pouvez plus venir" in message.get_body(("plain",)).get_content()
