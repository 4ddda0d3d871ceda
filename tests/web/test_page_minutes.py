"""Sending a meeting's minutes from its page: text, attached files, and to whom."""

from __future__ import annotations

import datetime as dt
from email import message_from_string
from email.policy import default

from maillage.tables import Meeting
from tests.support import outbox_rows
from tests.web.helpers import create, html_text, small_network

PDF = b"%PDF-1.4 compte rendu"


async def _meeting_with_guests(admin, coordinator_web) -> dict:
    """Two guests with an address, one present and one absent, plus the member (no address)."""
    net = await small_network(admin.client)
    meeting = net["meeting"]["id"]
    guests = []
    for first, last in (("Karim", "Benali"), ("Sophie", "Martin")):
        guest = await create(
            admin.client,
            "contacts",
            {"first_name": first, "last_name": last, "email": f"{first.lower()}@example.fr"},
        )
        guests.append(guest)
    await coordinator_web.post(
        f"/reunions/{meeting}/inviter", [("contacts", g["id"]) for g in guests]
    )
    yesterday = dt.date.today() - dt.timedelta(days=1)  # attendance once begun (#21)
    await admin.client.patch(
        f"/api/v1/meetings/{meeting}",
        json={
            "version": 1,
            "starts_at": f"{yesterday}T14:00:00+01:00",
            "ends_at": f"{yesterday}T16:00:00+01:00",
        },
    )
    await coordinator_web.post(
        f"/reunions/{meeting}/presences",
        {f"presence-{guests[0]['id']}": "present", f"presence-{guests[1]['id']}": "absent"},
    )
    return {**net, "guests": guests}


async def _send(browser, meeting: int, fields: dict, files: list | None = None):
    await browser.get(f"/reunions/{meeting}/envoyer-compte-rendu")
    data = {**fields, "_csrf_token": browser.client.cookies["maillage_csrf"]}
    return await browser.client.post(
        f"/reunions/{meeting}/envoyer-compte-rendu", data=data, files=files or []
    )


async def _sent() -> list:
    rows = await outbox_rows("compte_rendu")
    return [
        (row["recipient"], message_from_string(row["raw_message"], policy=default)) for row in rows
    ]


async def test_it_sends_the_text_and_files_to_those_present_and_excused(coordinator_web, admin):
    net = await _meeting_with_guests(admin, coordinator_web)
    meeting = net["meeting"]["id"]
    form = await coordinator_web.get(f"/reunions/{meeting}/envoyer-compte-rendu")
    assert form.text.count("<h1") == 1 and '<label for="f-pieces">' in form.text
    version = (await Meeting.select(Meeting.version).first())["version"]
    response = await _send(
        coordinator_web,
        meeting,
        {
            "audience": "presents_excuses",
            "minutes": "Décisions : ouvrir un LAEP.",
            "version": version,
        },
        [("pieces", ("C:\\Users\\moi\\cr.pdf", PDF, "application/pdf"))],
    )
    assert response.status_code == 303, response.text
    page = html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    assert "Compte rendu mis en file d'envoi pour 1 destinataire." in page
    assert "Décisions : ouvrir un LAEP." in page  # saved on the meeting too
    [(recipient, message)] = await _sent()
    assert recipient == "karim@example.fr"
    assert "ouvrir un LAEP" in message.get_body(("plain",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "cr.pdf" and attachment.get_content() == PDF


async def test_every_invitee_gets_it_and_those_without_address_are_named(coordinator_web, admin):
    net = await _meeting_with_guests(admin, coordinator_web)
    meeting = net["meeting"]["id"]
    await coordinator_web.post(f"/reunions/{meeting}/inviter", {"membres": "on"})
    version = (await Meeting.select(Meeting.version).first())["version"]
    response = await _send(
        coordinator_web, meeting, {"audience": "invites", "minutes": "Texte", "version": version}
    )
    assert response.status_code == 303
    assert sorted(r for r, _ in await _sent()) == ["karim@example.fr", "sophie@example.fr"]
    page = html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    assert "pour 2 destinataires" in page
    assert "Non envoyé, adresse inutilisable : Hélène Durand" in page


async def test_nothing_to_send_is_explained_next_to_the_field(coordinator_web, admin):
    net = await _meeting_with_guests(admin, coordinator_web)
    meeting = net["meeting"]["id"]
    response = await _send(coordinator_web, meeting, {"audience": "invites", "minutes": ""})
    assert response.status_code == 400
    assert 'id="f-minutes-erreur"' in response.text
    assert "Rédigez le compte rendu ou joignez-le" in html_text(response)
    big = b"x" * 1_600_000
    response = await _send(
        coordinator_web,
        meeting,
        {"audience": "invites", "minutes": "Texte"},
        [("pieces", ("annexe.pdf", big, "application/pdf"))],
    )
    assert response.status_code == 400 and 'id="f-pieces-erreur"' in response.text
    assert "« annexe.pdf » est trop lourd" in html_text(response)
    assert await _sent() == []


async def test_a_reader_cannot_send_minutes(reader_web, coordinator_web, admin):
    net = await _meeting_with_guests(admin, coordinator_web)
    meeting = net["meeting"]["id"]
    assert "Envoyer le compte rendu" not in html_text(await reader_web.get(f"/reunions/{meeting}"))
    assert (await reader_web.get(f"/reunions/{meeting}/envoyer-compte-rendu")).status_code == 403
    response = await reader_web.post(
        f"/reunions/{meeting}/envoyer-compte-rendu", {"audience": "invites", "minutes": "x"}
    )
    assert response.status_code == 403 and await _sent() == []
