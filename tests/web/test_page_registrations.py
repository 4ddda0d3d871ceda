"""The coordinator's side of inhabitants' registrations (#22): the meeting page lists them with
their counts, cancels, gives a place from the waiting list; the API reads (lecteur) and writes
(coordinateur) the same."""

from __future__ import annotations

import datetime as dt

from maillage.crm import inhabitants
from maillage.crm.inhabitants import RegistrationForm
from maillage.tables import InhabitantRegistration, Meeting
from tests.crm.test_inhabitants import public_meeting
from tests.web.helpers import html_text


async def _three(capacity: int = 2) -> tuple[int, list[int]]:
    meeting = await public_meeting(capacity=capacity)
    ids = []
    for name, email in (("Hélène", "helene@exemple.fr"), ("Marc", ""), ("Zoé", "")):
        form = RegistrationForm(name=name, commune="Ardoise", email=email, consent=True)
        ids.append((await inhabitants.register(meeting, form)).id)
    return meeting, ids


async def test_the_meeting_page_lists_counts_and_changes_registrations(coordinator_web, database):
    meeting, (helene, _marc, zoe) = await _three()
    page = await coordinator_web.get(f"/reunions/{meeting}")
    text = html_text(page)
    assert "Inscriptions des habitants" in text
    assert f"http://testserver/participer/{meeting}" in text
    assert "2 personnes inscrites sur 2 places, 1 personne en liste d'attente." in text
    assert "helene@exemple.fr" in text and "Liste d'attente" in text

    full = await coordinator_web.post(f"/reunions/{meeting}/inscriptions/{zoe}/promouvoir", {})
    assert full.status_code == 303
    after = html_text(await coordinator_web.get(full.headers["location"]))
    assert "La réunion est complète" in after

    done = await coordinator_web.post(f"/reunions/{meeting}/inscriptions/{helene}/annuler", {})
    assert "Hélène : inscription annulée." in html_text(
        await coordinator_web.get(done.headers["location"])
    )
    await coordinator_web.post(f"/reunions/{meeting}/inscriptions/{zoe}/promouvoir", {})
    rows = await InhabitantRegistration.select(InhabitantRegistration.status).order_by(
        InhabitantRegistration.id
    )
    assert [r["status"] for r in rows] == ["annule", "inscrit", "inscrit"]
    text = html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    assert "2 personnes inscrites sur 2 places, 1 annulation." in text


async def test_a_reader_sees_the_list_without_the_buttons(reader_web, database):
    meeting, _ids = await _three()
    page = await reader_web.get(f"/reunions/{meeting}")
    assert "Inscriptions des habitants" in html_text(page)
    assert "/promouvoir" not in page.text and '/annuler"' not in page.text


async def test_a_private_meeting_has_no_registration_section(coordinator_web, database):
    meeting = await public_meeting(public=False)
    assert "Inscriptions des habitants" not in html_text(
        await coordinator_web.get(f"/reunions/{meeting}")
    )


async def test_the_api_reads_and_changes_registrations_by_role(reader, coordinator, database):
    meeting, (helene, _marc, zoe) = await _three()
    listing = await reader.client.get(f"/api/v1/meetings/{meeting}/registrations")
    assert listing.status_code == 200, listing.text
    body = listing.json()
    assert (body["registered"], body["waiting"], body["places_left"], body["total"]) == (2, 1, 0, 3)
    assert body["items"][0]["consent_text"] == inhabitants.CONSENT_VERSION
    assert body["open"] is True

    refused = await reader.client.post(f"/api/v1/registrations/{helene}/cancel")
    assert refused.status_code == 403
    full = await coordinator.client.post(f"/api/v1/registrations/{zoe}/promote")
    assert full.status_code == 409
    assert "complète" in full.json()["detail"]
    cancelled = await coordinator.client.post(f"/api/v1/registrations/{helene}/cancel")
    assert cancelled.json()["status"] == "annule"
    promoted = await coordinator.client.post(f"/api/v1/registrations/{zoe}/promote")
    assert promoted.json()["status"] == "inscrit"
    again = await coordinator.client.post(f"/api/v1/registrations/{helene}/cancel")
    assert again.status_code == 409
    missing = await coordinator.client.post("/api/v1/registrations/999999/cancel")
    assert missing.status_code == 404
    assert (await reader.client.get("/api/v1/meetings/999999/registrations")).status_code == 404


async def test_attendance_on_the_day_shows_beside_the_registrations(coordinator_web, database):
    meeting, _ids = await _three()
    await Meeting.update({Meeting.attendance_count: 17}).where(Meeting.id == meeting)
    assert "Présents le jour même : 17" in html_text(
        await coordinator_web.get(f"/reunions/{meeting}")
    )


async def test_the_journal_tells_the_purge_without_personal_data(admin_web, database):
    meeting, _ids = await _three()
    await Meeting.update({Meeting.retention_days: 1}).where(Meeting.id == meeting)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    assert await inhabitants.purge_expired(moment=later) == {meeting: 3}
    text = html_text(await admin_web.get("/journal"))
    assert "a effacé à la fin de leur conservation" in text
    assert "Hélène" not in text and "Ardoise" not in text
