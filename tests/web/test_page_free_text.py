"""Free text with suggestions (#21): a partner's category is any short text, the form saves a
record unchanged whatever category it holds, and a form shown again never crashes."""

from __future__ import annotations

import re

from tests.web.helpers import create, html_text


async def _partner(client, category: str) -> dict:
    return await create(
        client,
        "organisations",
        {"name": "Amicale laïque", "kind": "association", "category": category},
    )


async def test_it_saves_a_partner_whose_category_is_not_a_suggestion(coordinator_web, admin):
    partner = await _partner(admin.client, "Association d'éducation populaire")
    form = await coordinator_web.get(f"/partenaires/{partner['id']}/modifier")
    assert 'list="f-category-suggestions"' in form.text and "<datalist" in form.text
    response = await coordinator_web.post(
        f"/partenaires/{partner['id']}/modifier",
        {"name": "Amicale laïque", "kind": "association",
         "category": "Association d'éducation populaire", "version": "1"},
    )  # fmt: skip
    assert response.status_code == 303, html_text(response)
    saved = (await admin.client.get(f"/api/v1/organisations/{partner['id']}")).json()
    assert saved["category"] == "Association d'éducation populaire"


async def test_it_shows_an_edit_form_again_with_what_was_typed(coordinator_web, admin):
    partner = await _partner(admin.client, "Information logement")
    response = await coordinator_web.post(
        f"/partenaires/{partner['id']}/modifier",
        {"name": "", "kind": "association", "category": "Catégorie tapée", "version": "1"},
    )
    assert response.status_code == 400
    assert "Nom : Ce champ est obligatoire." in html_text(response)
    assert 'value="Catégorie tapée"' in response.text
    assert re.search(r'name="version" value="1"', response.text)


async def test_it_refuses_control_characters_in_a_category(coordinator_web, admin):
    partner = await _partner(admin.client, "Caf")
    response = await coordinator_web.post(
        f"/partenaires/{partner['id']}/modifier",
        {"name": "Amicale", "kind": "association", "category": "Caf\x07", "version": "1"},
    )
    assert response.status_code == 400
    assert 'id="f-category-erreur"' in response.text or "Catégorie" in html_text(response)


async def test_it_records_an_indicator_value_from_the_action_page(coordinator_web, admin):
    action = await create(
        admin.client,
        "actions",
        {"title": "Accueil du jeune enfant",
         "indicators": [{"name": "Places", "unit": "places", "targets": {"2026": 40}}]},
    )  # fmt: skip
    page = await coordinator_web.get(f"/plan-d-action/{action['id']}")
    form = re.search(r'<form[^>]*/indicateurs">.*?</form>', page.text, flags=re.S)[0]
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form)
    assert token, "the indicator form carries no anti-forgery token"
    response = await coordinator_web.client.post(
        f"/plan-d-action/{action['id']}/indicateurs",
        data={"_csrf_token": token[1], "version": str(action["version"]),
              "indicator": "Places", "year": "2026", "value": "32"},
    )  # fmt: skip
    assert response.status_code == 303
    saved = (await admin.client.get(f"/api/v1/actions/{action['id']}")).json()
    assert saved["indicators"][0]["values"] == {"2026": 32}


async def test_it_creates_and_edits_a_fiche_action_from_the_pages(coordinator_web, admin):
    pilot = await _partner(admin.client, "Caf")
    listing = await coordinator_web.get("/plan-d-action")
    assert 'href="/plan-d-action/nouvelle"' in listing.text
    form = await coordinator_web.get("/plan-d-action/nouvelle")
    assert form.status_code == 200 and "Amicale laïque" in form.text
    response = await coordinator_web.post(
        "/plan-d-action/nouvelle",
        {"title": "Accueil du jeune enfant", "status": "en_cours", "pilot": str(pilot["id"]),
         "partners": str(pilot["id"]), "start_date": "2026-01-05", "objective": "Plus de places"},
    )  # fmt: skip
    assert response.status_code == 303, html_text(response)
    path = response.headers["location"]
    action_id = int(path.rsplit("/", 1)[1])
    page = await coordinator_web.get(path)
    assert "Modifier la fiche action" in page.text
    edit = await coordinator_web.get(f"/plan-d-action/{action_id}/modifier")
    assert 'name="version" value="1"' in edit.text
    response = await coordinator_web.post(
        f"/plan-d-action/{action_id}/modifier",
        {"title": "Accueil du jeune enfant", "status": "realisee", "pilot": str(pilot["id"]),
         "version": "1"},
    )  # fmt: skip
    assert response.status_code == 303, html_text(response)
    saved = (await admin.client.get(f"/api/v1/actions/{action_id}")).json()
    assert saved["status"] == "realisee" and saved["version"] == 2
