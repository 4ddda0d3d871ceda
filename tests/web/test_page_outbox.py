"""The outbox page: every message with its status, and retry or cancel."""

from __future__ import annotations

import re

from tests.web.helpers import HOSTILE, create, html_text, small_network


async def _queued_invitation(browser, admin, last_name: str = "Benali", **network) -> dict:
    net = await small_network(admin.client, **network)
    guest = await create(
        admin.client,
        "contacts",
        {"first_name": "Karim", "last_name": last_name, "email": "k.benali@example.fr"},
    )
    meeting = net["meeting"]["id"]
    await browser.post(f"/reunions/{meeting}/inviter", {"contacts": guest["id"]})
    await browser.post(f"/reunions/{meeting}/envoyer")
    return net


async def test_it_lists_queued_messages_and_cancels_then_retries(coordinator_web, admin):
    await _queued_invitation(coordinator_web, admin)
    page = html_text(await coordinator_web.get("/envois"))
    assert "Invitation k.benali@example.fr" in page
    assert "En attente (1)" in page
    assert "fichiers .eml" in page or ".eml" in page
    item = (await coordinator_web.get("/envois")).text
    message_id = int(item.split('action="/envois/')[1].split("/")[0])
    response = await coordinator_web.post(f"/envois/{message_id}/annuler")
    assert response.status_code == 303
    page = html_text(await coordinator_web.get("/envois"))
    assert f"Envoi du message n° {message_id} annulé." in page and "Annulé (1)" in page
    await coordinator_web.post(f"/envois/{message_id}/renvoyer")
    page = html_text(await coordinator_web.get("/envois?statut=en_attente"))
    assert "remis en file" in page and "k.benali@example.fr" in page


async def test_it_explains_a_retry_it_refuses(coordinator_web, admin):
    await _queued_invitation(coordinator_web, admin)
    item = (await coordinator_web.get("/envois")).text
    message_id = int(item.split('action="/envois/')[1].split("/")[0])
    await coordinator_web.post(f"/envois/{message_id}/annuler")
    await coordinator_web.post(f"/envois/{message_id}/annuler")
    assert "seul un message en attente ou en échec" in html_text(
        await coordinator_web.get("/envois")
    )


async def test_a_reader_sees_the_outbox_but_cannot_act(reader_web, coordinator_web, admin):
    await _queued_invitation(coordinator_web, admin)
    page = await reader_web.get("/envois")
    assert "k.benali@example.fr" in html_text(page) and "Annuler" not in html_text(page)
    assert (await reader_web.post("/envois/1/annuler")).status_code == 403
    assert (await coordinator_web.post("/envois/1/annuler", csrf=False)).status_code == 403


async def test_it_escapes_a_hostile_subject(coordinator_web, admin):
    await _queued_invitation(coordinator_web, admin, last_name=HOSTILE, name=HOSTILE)
    page = await coordinator_web.get("/envois")
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text


async def test_no_reader_sees_a_live_answer_or_unsubscribe_link(reader_web, coordinator_web, admin):
    """The outbox shows that a link was sent, not the link: with it a lecteur could answer for
    the invitee, name replacements (each one sends an invitation) or unsubscribe them."""
    await _queued_invitation(coordinator_web, admin)
    mailing = await admin.client.post(
        "/api/v1/mailings", json={"subject": "Nouvelles", "body": "Bonjour {{ prenom }}"}
    )
    assert mailing.status_code == 201, mailing.text
    rows = (await admin.client.get("/api/v1/outbox")).json()["items"]
    assert {row["kind"] for row in rows} == {"invitation", "envoi_groupe"}
    for row in rows:
        for browser in (reader_web, coordinator_web):
            page = await browser.get(f"/envois/{row['id']}")
            assert page.status_code == 200
            assert not re.search(r"/[ru]/[1-9][0-9]*\.", page.text), page.text
            assert "lien personnel masqué" in page.text


async def test_it_names_a_reminder_in_words_not_by_its_code(coordinator_web, admin):
    from maillage.tables import OutboxMessage

    await _queued_invitation(coordinator_web, admin)
    await OutboxMessage.update({OutboxMessage.kind: "rappel_7j"}).where(
        OutboxMessage.recipient == "k.benali@example.fr"
    )
    listing = html_text(await coordinator_web.get("/envois"))
    assert "Rappel 7 jours avant" in listing and "rappel_7j" not in listing
    item = (await coordinator_web.get("/envois")).text
    message_id = int(item.split('action="/envois/')[1].split("/")[0])
    page = html_text(await coordinator_web.get(f"/envois/{message_id}"))
    assert "Rappel 7 jours avant" in page and "rappel_7j" not in page
