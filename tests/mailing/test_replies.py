"""A calendar client's iTIP REPLY updates the same invitation, by API or command line."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

from click.testing import CliRunner
from icalendar import Calendar, Event, vCalAddress

from maillage.actor import CLI
from maillage.mailing import invitations
from maillage.tables import Invitation


def reply(uid: str, address: str, partstat: str, sequence: int = 0) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Client d'agenda//FR")
    calendar.add("version", "2.0")
    calendar.add("method", "REPLY")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", dt.datetime.now(dt.UTC))
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
