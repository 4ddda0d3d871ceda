"""A calendar client's iTIP REPLY updates the same invitation, by API or command line."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

from click.testing import CliRunner
from icalendar import Calendar, Event, vCalAddress

from maillage.actor import CLI
from maillage.mailing import invitations
from maillage.tables import Invitation, Meeting


def reply(
    uid: str, address: str, partstat: str, sequence: int = 0, stamp: dt.datetime | None = None
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Client d'agenda//FR")
    calendar.add("version", "2.0")
    calendar.add("method", "REPLY")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp or dt.datetime.now(dt.UTC))
    event.add("sequence", sequence)
    attendee = vCalAddress(f"mailto:{address}")
    attendee.params["PARTSTAT"] = partstat
    event.add("attendee", attendee)
    calendar.add_component(event)
    return calendar.to_ical()


async def test_the_api_records_a_reply(coordinator, body):
    await invitations.invite(
        CLI, body.meeting["id"], invitations.InviteRequest((body.people["marc"]["id"],))
    )
    data = reply(body.meeting["ical_uid"], "Marc.Durand@mairie.example", "ACCEPTED")
    response = await coordinator.client.post(
        "/api/v1/replies", content=data, headers={"Content-Type": "text/calendar"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["recorded"] == 1
    row = await Invitation.select().where(Invitation.contact == body.people["marc"]["id"]).first()
    assert row["response"] == "acceptee" and row["answered_at"] is not None


async def test_a_forwarded_message_is_read_and_unknown_meetings_are_reported(coordinator, body):
    await invitations.invite(
        CLI, body.meeting["id"], invitations.InviteRequest((body.people["marc"]["id"],))
    )
    message = EmailMessage()
    message["Subject"] = "Refusé : COPIL"
    message.set_content("Je ne pourrai pas venir.")
    message.add_attachment(
        reply(body.meeting["ical_uid"], "marc.durand@mairie.example", "DECLINED"),
        maintype="text",
        subtype="calendar",
        filename="reply.ics",
    )
    response = await coordinator.client.post(
        "/api/v1/replies", content=message.as_bytes(), headers={"Content-Type": "message/rfc822"}
    )
    assert response.json()["recorded"] == 1
    row = await Invitation.select().where(Invitation.contact == body.people["marc"]["id"]).first()
    assert row["response"] == "declinee"
    unknown = await coordinator.client.post(
        "/api/v1/replies",
        content=reply("inconnu@ailleurs", "marc.durand@mairie.example", "ACCEPTED"),
        headers={"Content-Type": "text/calendar"},
    )
    assert unknown.json()["replies"][0]["reason"] == "Réunion inconnue (UID introuvable)."


async def test_an_answer_to_an_earlier_version_is_recorded_as_such(coordinator, body):
    """(#19) The meeting was moved (SEQUENCE 2) after the person answered version 0."""
    await invitations.invite(
        CLI, body.meeting["id"], invitations.InviteRequest((body.people["marc"]["id"],))
    )
    await Meeting.update({Meeting.ical_sequence: 2}).where(Meeting.id == body.meeting["id"])
    data = reply(body.meeting["ical_uid"], "marc.durand@mairie.example", "ACCEPTED", sequence=0)
    response = await coordinator.client.post(
        "/api/v1/replies", content=data, headers={"Content-Type": "text/calendar"}
    )
    answer = response.json()["replies"][0]
    assert answer["status"] == "enregistree"
    assert (
        "Réponse à la version n° 0 de l'invitation, la réunion en est à la version n° 2"
        in (answer["reason"])
    )
    row = await Invitation.select().where(Invitation.contact == body.people["marc"]["id"]).first()
    assert row["response"] == "acceptee" and row["response_source"] == "agenda_ancien"
    page = await coordinator.client.get(f"/api/v1/meetings/{body.meeting['id']}")
    assert page.status_code == 200


async def test_a_later_link_answer_wins_over_an_earlier_calendar_answer(coordinator, body):
    """(#19) The person declined in Outlook, then accepted by the link: the mailbox, read
    afterwards, must not bring the older answer back."""
    await invitations.invite(
        CLI, body.meeting["id"], invitations.InviteRequest((body.people["marc"]["id"],))
    )
    clicked = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    await Invitation.update(
        {
            Invitation.response: "acceptee",
            Invitation.answered_at: clicked + dt.timedelta(hours=1),
            Invitation.response_source: "lien",
        }
    ).where(Invitation.contact == body.people["marc"]["id"])
    data = reply(body.meeting["ical_uid"], "marc.durand@mairie.example", "DECLINED", stamp=clicked)
    response = await coordinator.client.post(
        "/api/v1/replies", content=data, headers={"Content-Type": "text/calendar"}
    )
    answer = response.json()["replies"][0]
    assert answer["status"] == "ignoree"
    assert answer["reason"] == (
        "Une réponse plus récente est déjà enregistrée (par le lien de l'invitation)."
    )
    row = await Invitation.select().where(Invitation.contact == body.people["marc"]["id"]).first()
    assert row["response"] == "acceptee"
    # A calendar answer given after the link answer replaces it.
    newer = reply(
        body.meeting["ical_uid"],
        "marc.durand@mairie.example",
        "DECLINED",
        stamp=clicked + dt.timedelta(hours=1, minutes=5),
    )
    await coordinator.client.post(
        "/api/v1/replies", content=newer, headers={"Content-Type": "text/calendar"}
    )
    row = await Invitation.select().where(Invitation.contact == body.people["marc"]["id"]).first()
    assert row["response"] == "declinee" and row["response_source"] == "agenda"


async def test_the_command_line_ingests_a_file(migrated_database, body, tmp_path):
    from tests.mailing.test_cli import environment, maillage

    await invitations.invite(
        CLI, body.meeting["id"], invitations.InviteRequest((body.people["marc"]["id"],))
    )
    path = tmp_path / "reponse.ics"
    path.write_bytes(reply(body.meeting["ical_uid"], "marc.durand@mairie.example", "TENTATIVE"))
    code, output = await maillage(
        "mail", "ingest", str(path), env=environment(migrated_database, tmp_path)
    )
    assert code == 0, output
    assert output.strip() == "Réponse enregistrée : marc.durand@mairie.example → « Peut-être »."
    row = await Invitation.select().where(Invitation.contact == body.people["marc"]["id"]).first()
    assert row["response"] == "incertaine"


def test_the_ingest_command_is_documented_in_french():
    from maillage.cli import main

    result = CliRunner().invoke(main, ["mail", "ingest", "--help"])
    assert result.exit_code == 0
    assert "iTIP REPLY" in result.output
