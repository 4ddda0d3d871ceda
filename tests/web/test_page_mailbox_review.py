"""The meeting page's « À examiner » (#19): answers from another address with a one-click
« Rattacher à … », proposed new times in French, return dates of automatic replies; the API
says the same."""

from __future__ import annotations

import datetime as dt

from maillage.actor import CLI
from maillage.mailing import invitations, replies
from maillage.tables import Invitation
from tests.mailing.conftest import body  # noqa: F401 - the COPIL, its people and meeting
from tests.mailing.mail_samples import sample
from tests.web.helpers import html_text

ORGANIZER = "ctg@maillage.example"


async def test_messages_to_review_are_attached_in_one_click(coordinator_web, coordinator, body):  # noqa: F811
    meeting = body.meeting["id"]
    people = body.people
    await invitations.invite(
        CLI, meeting, invitations.InviteRequest((people["helene"]["id"], people["marc"]["id"]))
    )
    uid = body.meeting["ical_uid"]
    forwarded = sample(
        "reply-gmail-forwarded",
        uid=uid,
        attendee="h.lefevre@caf.example",
        organizer=ORGANIZER,
        person="H. Lefèvre",
    )
    counter = sample(
        "counter-outlook", uid=uid, attendee=people["marc"]["email"], organizer=ORGANIZER
    )
    for raw in (forwarded, counter):
        await replies.ingest(CLI, raw, replies.Origin(message_key="<x@y>"))
    await Invitation.update({Invitation.absent_until: dt.date(2027, 1, 4)}).where(
        Invitation.contact == people["marc"]["id"]
    )

    page = html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    assert "À examiner" in page
    assert (
        "H. Lefèvre <h.lefevre@caf.example> répond « Acceptée » "
        "(message du 7 déc. 2026 à 12 h 03 ; cette adresse n'est celle d'aucun invité)"
    ) in page
    assert "Rattacher à Hélène Lefèvre" in page  # the invitee at the sender's domain
    assert "Rattacher à Marc Durand" not in page
    assert (
        "Marc Durand propose un nouvel horaire : vendredi 8 janvier 2027 à 14 h 00 – 16 h 00"
        in page
    )
    assert "absent jusqu'au 4 janvier 2027" in page

    api = await coordinator.client.get(f"/api/v1/meetings/{meeting}/inbound-items")
    assert api.status_code == 200
    items = {item["kind"]: item for item in api.json()}
    assert items["contre_proposition"]["proposed_start"].startswith("2027-01-08T13:00:00")
    assert items["a_rattacher"]["response"] == "acceptee"

    helene = (
        await Invitation.select(Invitation.id)
        .where(Invitation.contact == people["helene"]["id"])
        .first()
    )
    item = items["a_rattacher"]["id"]
    response = await coordinator_web.post(
        f"/reunions/{meeting}/messages/{item}/rattacher", {"cible": f"invitation-{helene['id']}"}
    )
    assert response.status_code == 303
    page = html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    assert "Message rattaché : réponse enregistrée." in page
    assert "message à examiner rattaché" in page
    assert "h.lefevre@caf.example" not in page

    ignored = await coordinator.client.post(
        f"/api/v1/meetings/{meeting}/inbound-items/{items['contre_proposition']['id']}/ignore"
    )
    assert ignored.status_code == 204
    page = html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    assert "À examiner" not in page
    everything = await coordinator.client.get(f"/api/v1/meetings/{meeting}/inbound-items?tous=true")
    assert {i["status"] for i in everything.json()} == {"rattache", "ignore"}
    twice = await coordinator.client.post(
        f"/api/v1/meetings/{meeting}/inbound-items/{item}/attach",
        json={"invitation": helene["id"]},
    )
    assert twice.status_code == 400
    assert "déjà été traité" in twice.text


async def test_a_counter_posted_to_the_api_is_kept_not_applied(coordinator, body):  # noqa: F811
    raw = sample(
        "counter-outlook",
        uid=body.meeting["ical_uid"],
        attendee=body.people["marc"]["email"],
        organizer=ORGANIZER,
    )
    response = await coordinator.client.post("/api/v1/replies", content=raw)
    assert response.status_code == 200, response.text
    [item] = response.json()["replies"]
    assert item["status"] == "contre_proposition"
    assert item["proposed_start"].startswith("2027-01-08T13:00:00")
    assert response.json()["recorded"] == 0
