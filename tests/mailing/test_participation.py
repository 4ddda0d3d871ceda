"""An inhabitant's registration mailed with the event (#22): through the outbox to a real SMTP
server, METHOD:PUBLISH built by icalendar, no other person disclosed; the waiting list gets its
rank and no event; no address, no mail."""

from __future__ import annotations

import dataclasses
import datetime as dt

from icalendar import Calendar

from maillage.crm.inhabitants import RegistrationForm
from maillage.mailing import participation
from maillage.tables import InhabitantRegistration, OutboxMessage
from tests.crm.test_inhabitants import public_meeting
from tests.mailing.conftest import settle, smtp_sender


def _form(name: str, email: str = "") -> RegistrationForm:
    return RegistrationForm(name=name, commune="Ardoise", email=email, consent=True)


async def test_the_confirmation_carries_the_event_and_the_waiting_list_its_rank(
    settings, database, smtp_server
):
    meeting = await public_meeting(capacity=1)
    await participation.register(settings, meeting, _form("Hélène Lefèvre", "helene@exemple.fr"))
    await participation.register(settings, meeting, _form("Sans adresse"))
    await participation.register(settings, meeting, _form("Zoé", "zoe@exemple.fr"))
    rows = await OutboxMessage.select(OutboxMessage.kind, OutboxMessage.recipient).order_by(
        OutboxMessage.id
    )
    assert rows == [
        {"kind": "inscription", "recipient": "helene@exemple.fr"},
        {"kind": "inscription", "recipient": "zoe@exemple.fr"},
    ]
    await settle(smtp_sender(smtp_server))
    received = {r.recipients[0]: r.message for r in smtp_server.handler.received}

    confirmed = received["helene@exemple.fr"]
    assert str(confirmed["Subject"]).startswith("Inscription confirmée : ")
    assert "Hélène Lefèvre" in str(confirmed["To"])
    text = confirmed.get_body(("plain",)).get_content()
    assert "Votre inscription à la réunion publique" in text
    assert "effacées automatiquement le " in text
    [ics] = [p for p in confirmed.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert ics.get_filename() == "reunion.ics"
    calendar = Calendar.from_ical(ics.get_content())
    assert str(calendar["METHOD"]) == "PUBLISH"
    [event] = calendar.walk("VEVENT")
    assert "Réunion publique sur l'accueil du jeune enfant" in str(event["SUMMARY"])
    assert "ATTENDEE" not in event
    starts = event.decoded("DTSTART")
    assert starts.utcoffset() in (dt.timedelta(hours=1), dt.timedelta(hours=2))

    waiting = received["zoe@exemple.fr"]
    assert str(waiting["Subject"]).startswith("Liste d'attente : ")
    waiting_text = waiting.get_body(("plain",)).get_content()
    assert "en position 2" in waiting_text, waiting_text
    assert not [p for p in waiting.iter_attachments() if p.get_content_type() == "text/calendar"]


async def test_a_wrong_sender_setting_keeps_the_registration_without_mail(
    settings, database, caplog
):
    meeting = await public_meeting(capacity=3)
    broken = dataclasses.replace(settings, mail_from="pas une adresse")
    done = await participation.register(broken, meeting, _form("Hélène", "helene@exemple.fr"))
    assert done.status == "inscrit"
    assert await InhabitantRegistration.count() == 1
    assert await OutboxMessage.count() == 0
    assert "non envoyée" in caplog.text


async def test_the_background_worker_deletes_expired_registrations(settings, database, tmp_path):
    import asyncio

    from maillage.mailing import background
    from maillage.tables import AuditEvent, Meeting

    expired = await public_meeting()
    kept = await public_meeting()
    for meeting in (expired, kept):
        await participation.register(settings, meeting, _form("Hélène", "helene@exemple.fr"))
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    await Meeting.update(
        {
            Meeting.starts_at: past,
            Meeting.ends_at: past + dt.timedelta(hours=2),
            Meeting.retention_days: 30,
        }
    ).where(Meeting.id == expired)
    local = dataclasses.replace(settings, data_dir=tmp_path, reminder_days=())
    stop = asyncio.Event()
    task = asyncio.create_task(background.run(local, stop, poll=60))
    try:
        for _ in range(100):
            if await InhabitantRegistration.count() == 1:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    left = await InhabitantRegistration.select(InhabitantRegistration.meeting)
    assert left == [{"meeting": kept}]
    [event] = await AuditEvent.select().where(AuditEvent.action == "purge")
    assert (event["actor"], event["entity"]) == ("conservation", "inhabitant_registration")
    assert "Hélène" not in repr(event) and "helene" not in repr(event)


async def test_the_purge_runs_at_most_once_an_hour(database):
    from maillage.mailing import background

    now = dt.datetime.now(dt.UTC)
    assert await background.purge_if_due(None, now) == now
    assert await background.purge_if_due(now, now + dt.timedelta(minutes=59)) == now
    later = now + dt.timedelta(minutes=61)
    assert await background.purge_if_due(now, later) == later


async def test_a_place_given_from_the_waiting_list_is_confirmed_by_mail(settings, database):
    from maillage.actor import CLI

    meeting = await public_meeting(capacity=1)
    first = await participation.register(settings, meeting, _form("Hélène"))
    waiting = await participation.register(settings, meeting, _form("Zoé", "zoe@exemple.fr"))
    assert await OutboxMessage.count() == 1  # Zoé's waiting-list mail
    from maillage.crm import inhabitants

    await inhabitants.cancel(CLI, first.id)
    await participation.promote(CLI, settings, waiting.id)
    subjects = await OutboxMessage.select(OutboxMessage.subject).order_by(OutboxMessage.id)
    assert subjects[0]["subject"].startswith("Liste d'attente : ")
    assert subjects[1]["subject"].startswith("Inscription confirmée : ")
