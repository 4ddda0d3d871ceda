"""Envois groupés: compose, preview (sample, count, who is left out), confirm; a message's page."""

from __future__ import annotations

from maillage import offloop
from maillage.tables import OutboxMessage
from tests.web.helpers import HOSTILE, create, html_text, small_network

BODY = "Bonjour {{ civilite }} {{ nom }},\n\nLa commission se réunit bientôt.\n{{ organisation }}"


async def _audience(admin) -> dict:
    """In the body: one reachable member, one opted out, one without an address."""
    net = await small_network(admin.client)
    group = net["group"]["id"]
    await admin.client.patch(
        f"/api/v1/contacts/{net['contact']['id']}",
        json={"email": "helene.durand@example.fr", "civility": "Mme", "version": 1},
    )
    others = {}
    for key, payload in {
        "opted_out": {"first_name": "Paul", "last_name": "Refus", "email": "paul@example.fr"},
        "no_email": {"first_name": "Zoé", "last_name": "Sansmail"},
    }.items():
        contact = await create(admin.client, "contacts", payload)
        await create(
            admin.client,
            "memberships",
            {"contact": contact["id"], "working_group": group, "role": "membre"},
        )
        others[key] = contact
    await admin.client.patch(
        f"/api/v1/contacts/{others['opted_out']['id']}",
        json={"mailing_opt_out": True, "version": 1},
    )
    return {**net, **others}


def _form(net: dict, **changes) -> dict:
    return {
        "group": net["group"]["id"],
        "subject": "Commission du {{ nom }}",
        "body": BODY,
        **changes,
    }


async def test_the_preview_shows_a_sample_the_count_and_who_is_left_out(coordinator_web, admin):
    net = await _audience(admin)
    response = await coordinator_web.post("/envois/nouveau", _form(net))
    assert response.status_code == 200, response.text
    page = html_text(response)
    assert "1 destinataire recevra ce message." in page
    assert "Bonjour Mme Durand," in page and "Commission du Durand" in page
    assert "Centre social des Lilas" in page  # the {{ organisation }} merge field
    assert "Exclus : opposés aux envois (1) Paul Refus" in page
    assert "Sans adresse électronique (1) Zoé Sansmail" in page
    assert "Confirmer l'envoi à 1 destinataire" in page
    assert await OutboxMessage.count() == 0  # a preview queues nothing


async def test_confirming_queues_one_message_per_recipient(coordinator_web, admin):
    net = await _audience(admin)
    response = await coordinator_web.post(
        "/envois/nouveau/envoyer", {**_form(net), "destinataires": 1}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/envois?statut=en_attente"
    rows = await OutboxMessage.select(OutboxMessage.recipient, OutboxMessage.kind)
    assert rows == [{"recipient": "helene.durand@example.fr", "kind": "envoi_groupe"}]
    page = html_text(await coordinator_web.get("/envois?statut=en_attente"))
    assert "Envoi groupé « Commission du {{ nom }} » : 1 message mis en file." in page


async def test_a_changed_audience_goes_back_to_the_preview(coordinator_web, admin):
    net = await _audience(admin)
    response = await coordinator_web.post(
        "/envois/nouveau/envoyer", {**_form(net), "destinataires": 2}
    )
    assert response.status_code == 409
    page = html_text(response)
    assert "La liste des destinataires a changé depuis l'aperçu (1 aujourd'hui)" in page
    assert "1 destinataire recevra ce message." in page  # the preview as it is now
    assert "Confirmer l'envoi à 1 destinataire" in page
    assert await OutboxMessage.count() == 0


async def test_confirming_looks_up_the_audience_once(coordinator_web, admin):
    """The « audience changed » check is made by the service in the pass that sends: one job
    (in a heavy-work process, #16) per confirmation, sent or refused, and no preview's."""
    net = await _audience(admin)
    before = offloop.dispatched.copy()
    sent = await coordinator_web.post("/envois/nouveau/envoyer", {**_form(net), "destinataires": 1})
    assert sent.status_code == 303 and await OutboxMessage.count() == 1
    changed = await coordinator_web.post(
        "/envois/nouveau/envoyer", {**_form(net), "destinataires": 5}
    )
    assert changed.status_code == 409 and await OutboxMessage.count() == 1
    jobs = offloop.dispatched - before
    assert (jobs["send_job"], jobs["preview_job"]) == (2, 0)


async def test_an_unknown_merge_field_is_shown_next_to_the_body(coordinator_web, admin):
    net = await _audience(admin)
    response = await coordinator_web.post(
        "/envois/nouveau", _form(net, body="Bonjour {{ surnom }}")
    )
    assert response.status_code == 400
    assert 'id="f-body-erreur"' in response.text
    assert "Champ de fusion inconnu" in html_text(response)
    response = await coordinator_web.post("/envois/nouveau", _form(net, subject=""))
    assert 'id="f-subject-erreur"' in response.text and "obligatoire" in html_text(response)


async def test_filters_that_reach_nobody_are_explained(coordinator_web, admin):
    net = await _audience(admin)
    other = await create(admin.client, "communes", {"insee_code": "35001", "name": "Acigné"})
    response = await coordinator_web.post("/envois/nouveau", _form(net, commune=other["id"]))
    assert "Aucun destinataire joignable avec ces filtres" in html_text(response)
    assert "Confirmer l'envoi" not in html_text(response)
    response = await coordinator_web.post(
        "/envois/nouveau/envoyer", {**_form(net, commune=other["id"]), "destinataires": 0}
    )
    assert response.status_code == 400 and 'id="f-filters-erreur"' in response.text


async def test_a_reader_can_neither_compose_nor_send(reader_web, admin):
    net = await _audience(admin)
    assert "Nouvel envoi groupé" not in html_text(await reader_web.get("/envois"))
    assert (await reader_web.get("/envois/nouveau")).status_code == 403
    assert (await reader_web.post("/envois/nouveau", _form(net))).status_code == 403
    sent = await reader_web.post("/envois/nouveau/envoyer", {**_form(net), "destinataires": 1})
    assert sent.status_code == 403 and await OutboxMessage.count() == 0


async def test_the_compose_form_is_labelled(coordinator_web, admin):
    await _audience(admin)
    response = await coordinator_web.get("/envois/nouveau")
    assert response.text.count("<h1") == 1
    for name in ("axis", "kind", "group", "commune", "subject", "body"):
        assert f'<label for="f-{name}">' in response.text
    assert "{{ prenom }} (prénom)" in html_text(response)


async def test_the_message_page_shows_headers_status_and_escaped_text(coordinator_web, admin):
    net = await _audience(admin)
    await admin.client.patch(
        f"/api/v1/contacts/{net['contact']['id']}", json={"last_name": HOSTILE, "version": 2}
    )
    await coordinator_web.post("/envois/nouveau/envoyer", {**_form(net), "destinataires": 1})
    message_id = (await OutboxMessage.select(OutboxMessage.id).first())["id"]
    response = await coordinator_web.get(f"/envois/{message_id}")
    assert response.status_code == 200
    page = html_text(response)
    assert "Statut En attente" in page and "Tentatives 0" in page
    assert "Dernière erreur aucune" in page
    assert "To " in page and "helene.durand@example.fr" in page and "List-Unsubscribe" in page
    assert f"Bonjour Mme {HOSTILE}," in page
    assert "<script>alert" not in response.text and "&lt;script&gt;" in response.text
    cancelled = await coordinator_web.post(f"/envois/{message_id}/annuler", {"retour": "fiche"})
    assert cancelled.headers["location"] == f"/envois/{message_id}"
    page = html_text(await coordinator_web.get(f"/envois/{message_id}"))
    assert "Statut Annulé" in page and "Renvoyer" in page and "Annuler l'envoi" not in page


async def test_a_reader_sees_the_message_without_buttons(reader_web, coordinator_web, admin):
    net = await _audience(admin)
    await coordinator_web.post("/envois/nouveau/envoyer", {**_form(net), "destinataires": 1})
    message_id = (await OutboxMessage.select(OutboxMessage.id).first())["id"]
    page = html_text(await reader_web.get(f"/envois/{message_id}"))
    assert "helene.durand@example.fr" in page and "Annuler l'envoi" not in page
    assert (await reader_web.get("/envois/999999")).status_code == 404


async def test_control_characters_and_overlong_subjects_are_refused(coordinator_web, admin):
    net = await _audience(admin)
    response = await coordinator_web.post("/envois/nouveau", _form(net, subject="Lettre\x00"))
    assert response.status_code == 400 and 'id="f-subject-erreur"' in response.text
    assert "Caractère de contrôle interdit (position 7)." in html_text(response)
    response = await coordinator_web.post("/envois/nouveau", _form(net, subject="x" * 301))
    assert response.status_code == 400 and "300 caractères au plus" in html_text(response)
