"""Forms: records made and changed through the pages, French messages next to the fields,
attendance, and a number of queries per page that does not grow with the rows."""

from __future__ import annotations

import datetime as dt
import re

from maillage.crm.registry import SERVICES
from maillage.crm.resources import ListQuery
from tests.web.helpers import create, html_text, small_network


async def test_it_creates_a_partner_and_shows_it(coordinator_web):
    response = await coordinator_web.post(
        "/partenaires/nouveau",
        [("name", "Crèche Les Écureuils"), ("kind", "etablissement"), ("axes", "1"), ("axes", "2")],
    )
    assert response.status_code == 303
    page = await coordinator_web.get(response.headers["location"])
    text = html_text(page)
    assert "Partenaire « Crèche Les Écureuils » créé." in text
    assert "Petite enfance, Enfance" in text
    assert "Création" in text  # history from the audit log


async def test_it_puts_french_messages_next_to_the_fields(coordinator_web):
    response = await coordinator_web.post(
        "/partenaires/nouveau",
        {"name": "", "kind": "association", "siret": "12345678901234", "email": "pas-une-adresse"},
    )
    assert response.status_code == 400
    text = html_text(response)
    assert text.startswith("Erreur :") or "<title>Erreur" in response.text
    assert "Nom : Ce champ est obligatoire." in text
    nom = re.search(r'<input[^>]*id="f-name"[^>]*>', response.text)[0]
    assert 'aria-invalid="true"' in nom and 'aria-describedby="f-name-erreur"' in nom
    assert 'value="pas-une-adresse"' in response.text  # what was typed is kept


async def test_it_reports_service_rules_on_the_field(coordinator_web):
    response = await coordinator_web.post(
        "/partenaires/nouveau",
        {"name": "Club", "kind": "association", "siret": "12345678901234"},
    )
    assert response.status_code == 400
    assert "SIRET invalide" in html_text(response)
    assert 'id="f-siret-erreur"' in response.text


async def test_it_edits_with_the_version_read(coordinator_web, admin):
    net = await small_network(admin.client)
    organisation = net["organisation"]
    form = await coordinator_web.get(f"/partenaires/{organisation['id']}/modifier")
    assert 'name="version" value="1"' in form.text
    await admin.client.patch(
        f"/api/v1/organisations/{organisation['id']}", json={"version": 1, "notes": "vu"}
    )
    response = await coordinator_web.post(
        f"/partenaires/{organisation['id']}/modifier",
        {"version": 1, "name": "Nouveau nom", "kind": "association", "axes": "4"},
    )
    assert response.status_code == 400
    assert "une autre modification a été enregistrée entre-temps" in html_text(response)


async def test_it_finds_contacts_without_accents(coordinator_web, admin):
    await small_network(admin.client)
    page = html_text(await coordinator_web.get("/contacts?q=helene"))
    assert "1 contact pour « helene »" in page and "Durand" in page


async def test_it_sorts_and_paginates_partners(coordinator_web, admin):
    for index in range(30):
        await create(
            admin.client, "organisations", {"name": f"Asso {index:02}", "kind": "association"}
        )
    first = html_text(await coordinator_web.get("/partenaires?tri=-nom"))
    assert "30 partenaires" in first and "Asso 29" in first and "Asso 00" not in first
    assert "Page 1 sur 2" in first
    second = html_text(await coordinator_web.get("/partenaires?tri=-nom&page=2"))
    assert "Asso 00" in second


async def test_it_adds_changes_and_removes_a_member(coordinator_web, admin):
    net = await small_network(admin.client)
    other = await create(admin.client, "contacts", {"first_name": "Paul", "last_name": "Martin"})
    group = net["group"]["id"]
    picker = html_text(await coordinator_web.get(f"/instances/{group}?contact_q=martin"))
    assert "Paul Martin" in picker
    response = await coordinator_web.post(
        f"/instances/{group}/membres", {"contact": other["id"], "role": "membre"}
    )
    assert response.status_code == 303
    page = await coordinator_web.get(f"/instances/{group}")
    assert "Paul Martin" in html_text(page)
    membership = (await SERVICES["memberships"].page(ListQuery(filters={"contact": other["id"]})))[
        "items"
    ][0]
    await coordinator_web.post(
        f"/instances/{group}/membres/{membership['id']}/role", {"role": "animateur"}
    )
    assert (await SERVICES["memberships"].get(membership["id"]))["role"] == "animateur"
    await coordinator_web.post(f"/instances/{group}/membres/{membership['id']}/retirer")
    assert "Paul Martin" not in html_text(await coordinator_web.get(f"/instances/{group}"))


async def test_it_schedules_moves_and_cancels_a_meeting(coordinator_web, admin):
    net = await small_network(admin.client)
    day = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    response = await coordinator_web.post(
        "/reunions/nouvelle",
        {
            "working_group": net["group"]["id"],
            "title": "Commission de décembre",
            "date": day,
            "start": "14:00",
            "end": "13:00",
        },
    )
    assert response.status_code == 400
    assert "La réunion doit finir après son début." in html_text(response)
    assert 'id="f-end-erreur"' in response.text
    response = await coordinator_web.post(
        "/reunions/nouvelle",
        {
            "working_group": net["group"]["id"],
            "title": "Commission de décembre",
            "date": day,
            "start": "14:00",
            "end": "16:00",
        },
    )
    assert response.status_code == 303
    meeting_url = response.headers["location"]
    page = html_text(await coordinator_web.get(meeting_url))
    assert "14 h 00" in page and "16 h 00" in page
    response = await coordinator_web.post(
        meeting_url + "/deplacer",
        {"version": 1, "date": day, "start": "09:30", "end": "11:00", "location": "Mairie"},
    )
    assert response.status_code == 303
    page = html_text(await coordinator_web.get(meeting_url))
    assert "9 h 30" in page and "Mairie" in page
    await coordinator_web.post(meeting_url + "/annuler")
    assert "annulée" in html_text(await coordinator_web.get(meeting_url))


async def test_it_records_attendance_and_shows_it_on_the_body(coordinator_web, admin):
    net = await small_network(admin.client)
    meeting, contact = net["meeting"]["id"], net["contact"]["id"]
    sheet = html_text(await coordinator_web.get(f"/reunions/{meeting}/emargement"))
    assert "Feuille d'émargement" in sheet and "DURAND Hélène" in sheet
    day = dt.date.today() - dt.timedelta(days=1)  # attendance once the meeting has begun (#21)
    await admin.client.patch(
        f"/api/v1/meetings/{meeting}",
        json={
            "version": 1,
            "starts_at": f"{day}T14:00:00+01:00",
            "ends_at": f"{day}T16:00:00+01:00",
        },
    )
    response = await coordinator_web.post(
        f"/reunions/{meeting}/presences", {f"presence-{contact}": "present", "held": "on"}
    )
    assert response.status_code == 303
    body = html_text(await coordinator_web.get(f"/instances/{net['group']['id']}"))
    assert "100 % de présence" in body
    detail = html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    assert "Présence" in detail and "Tenue" in detail


async def test_it_refuses_attendance_for_a_stranger(coordinator_web, admin):
    net = await small_network(admin.client)
    stranger = await create(admin.client, "contacts", {"first_name": "X", "last_name": "Y"})
    response = await coordinator_web.post(
        f"/reunions/{net['meeting']['id']}/presences", {f"presence-{stranger['id']}": "present"}
    )
    assert response.status_code == 303
    assert "ni invitée ni membre" in html_text(
        await coordinator_web.get(response.headers["location"])
    )


async def test_it_warns_about_dsp_contracts_and_the_annual_report(coordinator_web, admin):
    net = await small_network(admin.client)
    operator = await create(
        admin.client, "organisations", {"name": "Crèches & Cie", "kind": "operateur_dsp"}
    )
    await create(
        admin.client,
        "partnerships",
        {
            "organisation": net["organisation"]["id"],
            "partner": operator["id"],
            "kind": "delegation_dsp",
            "contract_reference": "DSP-2024-01",
            "end_date": (dt.date.today() + dt.timedelta(days=90)).isoformat(),
        },
    )
    page = html_text(await coordinator_web.get("/"))
    assert "Contrat de DSP DSP-2024-01" in page and "Crèches & Cie" in page
    assert "Réunion Centre social des Lilas" in page


def test_it_reminds_the_annual_report_from_december():
    from maillage.crm.dashboard import annual_report_reminder

    assert annual_report_reminder(dt.date(2026, 11, 30)) is None
    december = annual_report_reminder(dt.date(2026, 12, 1))
    assert december["due"] == dt.date(2027, 1, 31) and december["year"] == 2026
    assert annual_report_reminder(dt.date(2027, 1, 31))["days_left"] == 0
    assert annual_report_reminder(dt.date(2027, 2, 1)) is None


async def test_list_and_detail_pages_keep_a_bounded_number_of_queries(
    coordinator_web, admin, queries
):
    async def count(url: str) -> int:
        queries.reset()
        response = await coordinator_web.get(url)
        assert response.status_code == 200, url
        return queries.count

    net = await small_network(admin.client)
    urls = [
        "/",
        "/partenaires",
        f"/partenaires/{net['organisation']['id']}",
        "/contacts",
        f"/contacts/{net['contact']['id']}",
        "/instances",
        f"/instances/{net['group']['id']}",
        "/reunions",
        f"/reunions/{net['meeting']['id']}",
    ]
    before = {url: await count(url) for url in urls}
    for index in range(12):
        organisation = await create(
            admin.client,
            "organisations",
            {"name": f"Org {index}", "kind": "association", "axes": [1, 2]},
        )
        contact = await create(
            admin.client, "contacts", {"first_name": "P", "last_name": f"N{index}"}
        )
        await create(
            admin.client,
            "affiliations",
            {"contact": contact["id"], "organisation": net["organisation"]["id"]},
        )
        await create(
            admin.client,
            "memberships",
            {
                "contact": contact["id"],
                "working_group": net["group"]["id"],
                "organisation": organisation["id"],
            },
        )
        await create(
            admin.client, "invitations", {"meeting": net["meeting"]["id"], "contact": contact["id"]}
        )
    after = {url: await count(url) for url in urls}
    assert after == before
    # 13: a meeting to come also reads its scheduling warnings (school zone, clashes) (#21);
    # 16: and its decisions, the body's open ones and who may carry a new one (#22);
    # 18: and the mailbox's messages to review and proposed times (#19).
    assert max(after.values()) <= 18, after
