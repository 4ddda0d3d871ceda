"""Meeting pages through the calendar service: the API's warnings, a confirmation, an edit
form, and « tenue » only once the meeting has begun (#21, #17)."""

from __future__ import annotations

import datetime as dt

from maillage.crm.registry import SERVICES
from tests.web.helpers import PARIS_OFFSET, html_text, small_network

VICTORY_DAY = {"date": "2027-05-08", "start": "10:00", "end": "12:00"}


async def _meeting_count(admin) -> int:
    return (await admin.client.get("/api/v1/meetings")).json()["total"]


async def test_it_asks_to_confirm_a_meeting_on_a_saturday_holiday(coordinator_web, admin):
    net = await small_network(admin.client)
    before = await _meeting_count(admin)
    form = {"working_group": net["group"]["id"], "title": "Commission de mai", **VICTORY_DAY}
    response = await coordinator_web.post("/reunions/nouvelle", form)
    assert response.status_code == 200
    page = html_text(response)
    assert "Le samedi 8 mai 2027 est un jour férié (Fête de la Victoire)." in page
    assert "Le samedi 8 mai 2027 tombe un week-end" in page
    assert "Planifier quand même" in page
    assert await _meeting_count(admin) == before
    response = await coordinator_web.post("/reunions/nouvelle", {**form, "confirmer": "1"})
    assert response.status_code == 303
    page = html_text(await coordinator_web.get(response.headers["location"]))
    assert "Le samedi 8 mai 2027 est un jour férié (Fête de la Victoire)." in page


async def test_an_ordinary_day_is_scheduled_without_a_question(coordinator_web, admin):
    net = await small_network(admin.client)
    form = {"working_group": net["group"]["id"], "title": "Commission", "date": "2027-01-12"}
    response = await coordinator_web.post(
        "/reunions/nouvelle", {**form, "start": "14:00", "end": "16:00"}
    )
    assert response.status_code == 303


async def test_moving_onto_a_holiday_asks_first(coordinator_web, admin):
    net = await small_network(admin.client)
    url = f"/reunions/{net['meeting']['id']}/deplacer"
    form = {"version": 1, **VICTORY_DAY, "location": "Mairie"}
    response = await coordinator_web.post(url, form)
    assert response.status_code == 200
    assert "Déplacer quand même" in html_text(response)
    assert (await SERVICES["meetings"].get(net["meeting"]["id"]))["location"] == "Salle du conseil"
    assert (await coordinator_web.post(url, {**form, "confirmer": "1"})).status_code == 303
    moved = await SERVICES["meetings"].get(net["meeting"]["id"])
    assert moved["location"] == "Mairie" and moved["ical_sequence"] == 1


async def test_it_names_double_booked_people_on_the_meeting_page(coordinator_web, admin):
    net = await small_network(admin.client)
    other = net["meeting"]
    await admin.client.post(
        "/api/v1/invitations", json={"meeting": other["id"], "contact": net["contact"]["id"]}
    )
    day = other["starts_at"][:10]
    form = {"working_group": net["group"]["id"], "title": "Groupe parentalité", "date": day}
    response = await coordinator_web.post(
        "/reunions/nouvelle", {**form, "start": "15:00", "end": "17:00"}
    )
    page = html_text(response)
    assert "Hélène Durand a déjà une invitation à « Réunion Centre social des Lilas »" in page


async def test_the_edit_form_changes_everything_a_meeting_holds(coordinator_web, admin):
    net = await small_network(admin.client)
    meeting = net["meeting"]
    url = f"/reunions/{meeting['id']}/modifier"
    page = html_text(await coordinator_web.get(url))
    assert "Modifier « Réunion Centre social des Lilas »" in page
    day = meeting["starts_at"][:10]
    form = {
        "version": 1,
        "working_group": net["group"]["id"],
        "title": "Commission parentalité",
        "date": day,
        "start": "14:00",
        "end": "16:00",
        "location": "Salle du conseil",
        "video_url": "https://visio.example.org/parentalite",
        "agenda": "1. Bilan\n2. Projets",
    }
    response = await coordinator_web.post(url, form)
    assert response.status_code == 303, html_text(response)
    saved = await SERVICES["meetings"].get(meeting["id"])
    assert saved["title"] == "Commission parentalité"
    assert saved["video_url"] == "https://visio.example.org/parentalite"
    assert saved["agenda"] == "1. Bilan\n2. Projets"
    # Title, agenda and video link are in the invitees' calendars: SEQUENCE rises (#21).
    assert saved["ical_sequence"] == 1
    response = await coordinator_web.post(url, {**form, "version": 2, "location": "Mairie"})
    assert response.status_code == 303
    assert (await SERVICES["meetings"].get(meeting["id"]))["ical_sequence"] == 2


async def test_a_meeting_to_come_cannot_be_held(coordinator_web, admin):
    net = await small_network(admin.client)
    meeting, contact = net["meeting"]["id"], net["contact"]["id"]
    response = await admin.client.patch(
        f"/api/v1/meetings/{meeting}", json={"version": 1, "status": "tenue"}
    )
    assert response.status_code == 400
    assert "pas encore commencé" in response.text
    response = await coordinator_web.post(
        f"/reunions/{meeting}/presences", {f"presence-{contact}": "present", "held": "on"}
    )
    page = html_text(await coordinator_web.get(response.headers["location"]))
    assert "Cette réunion n'a pas encore commencé" in page
    saved = await SERVICES["meetings"].get(meeting)
    assert saved["status"] == "planifiee"
    assert "Enregistrer les présences" not in html_text(
        await coordinator_web.get(f"/reunions/{meeting}")
    )


async def test_a_meeting_that_has_begun_can_be_held(admin):
    net = await small_network(admin.client)
    day = dt.date.today() - dt.timedelta(days=1)
    response = await admin.client.patch(
        f"/api/v1/meetings/{net['meeting']['id']}",
        json={
            "version": 1,
            "starts_at": f"{day}T14:00:00{PARIS_OFFSET}",
            "ends_at": f"{day}T16:00:00{PARIS_OFFSET}",
            "status": "tenue",
        },
    )
    assert response.status_code == 200, response.text


async def test_the_list_counts_answers_and_declines_are_preset_as_excused(coordinator_web, admin):
    net = await small_network(admin.client)
    meeting, contact = net["meeting"], net["contact"]
    response = await admin.client.post(
        "/api/v1/invitations",
        json={"meeting": meeting["id"], "contact": contact["id"], "response": "declinee"},
    )
    assert response.status_code == 201, response.text
    page = html_text(await coordinator_web.get("/reunions"))
    assert "Réponses" in page and "0 oui, 1 non, 0 en attente" in page
    sheet = await coordinator_web.get(f"/reunions/{meeting['id']}/presences")
    assert (
        f'id="presence-{contact["id"]}-excuse" name="presence-{contact["id"]}" value="excuse" checked'
        in sheet.text
    )


async def test_the_link_in_the_calendar_event_opens_the_meeting_page(coordinator_web, admin):
    net = await small_network(admin.client)
    ics = (await coordinator_web.get(f"/calendar/meetings/{net['meeting']['id']}.ics")).text
    url = next(line for line in ics.splitlines() if line.startswith("URL"))
    path = url.split(":", 1)[1].strip().removeprefix("http://testserver")
    response = await coordinator_web.get(path)
    assert response.status_code == 200
    assert "Réunion Centre social des Lilas" in html_text(response)
