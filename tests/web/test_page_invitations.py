"""The meeting page: invite the body in one click, add people, send, follow the answers."""

from __future__ import annotations

from tests.web.helpers import HOSTILE, create, html_text, small_network


async def test_it_invites_the_body_members_in_one_click(coordinator_web, admin):
    net = await small_network(admin.client)
    meeting = net["meeting"]["id"]
    page = html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    assert "Personne n'est encore invité" in page
    assert "Membres de l'instance pas encore invités Hélène Durand" in page
    response = await coordinator_web.post(f"/reunions/{meeting}/inviter", {"membres": "on"})
    assert response.status_code == 303
    page = html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    assert "1 personne invitée." in page
    assert "pas d'adresse électronique" in page
    assert "Hélène Durand Centre social des Lilas Titulaire pas encore En attente" in page


async def test_it_invites_extra_people_found_by_search(coordinator_web, admin):
    net = await small_network(admin.client)
    meeting = net["meeting"]["id"]
    guest = await create(
        admin.client,
        "contacts",
        {"first_name": "Karim", "last_name": "Benali", "email": "k.benali@example.fr"},
    )
    page = html_text(await coordinator_web.get(f"/reunions/{meeting}?contact_q=benali"))
    assert "Karim Benali (k.benali@example.fr)" in page
    await coordinator_web.post(f"/reunions/{meeting}/inviter", {"contacts": guest["id"]})
    page = html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    assert "Karim Benali hors instance pas encore En attente" in page


async def test_it_sends_the_invitations_and_shows_when(coordinator_web, admin):
    net = await small_network(admin.client)
    meeting = net["meeting"]["id"]
    guest = await create(
        admin.client,
        "contacts",
        {"first_name": "Karim", "last_name": "Benali", "email": "k.benali@example.fr"},
    )
    await coordinator_web.post(f"/reunions/{meeting}/inviter", {"contacts": guest["id"]})
    response = await coordinator_web.post(f"/reunions/{meeting}/envoyer")
    assert response.status_code == 303
    page = html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    assert "Mis en file d'envoi : 1 invitation." in page
    await coordinator_web.post(f"/reunions/{meeting}/envoyer")
    page = html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    assert "Rien à envoyer" in page


async def test_it_links_the_meeting_calendar_file(coordinator_web, admin):
    net = await small_network(admin.client)
    meeting = net["meeting"]["id"]
    page = await coordinator_web.get(f"/reunions/{meeting}")
    assert f'href="/calendar/meetings/{meeting}.ics"' in page.text
    ics = await coordinator_web.get(f"/calendar/meetings/{meeting}.ics")
    assert ics.status_code == 200 and "BEGIN:VEVENT" in ics.text


async def test_it_refuses_invitations_to_a_reader_and_without_csrf(
    reader_web, coordinator_web, admin
):
    net = await small_network(admin.client)
    meeting = net["meeting"]["id"]
    page = html_text(await reader_web.get(f"/reunions/{meeting}"))
    assert "Inviter les membres" not in page and "Envoyer les invitations" not in page
    for url in (f"/reunions/{meeting}/inviter", f"/reunions/{meeting}/envoyer"):
        assert (await reader_web.post(url, {"membres": "on"})).status_code == 403
    response = await coordinator_web.post(
        f"/reunions/{meeting}/inviter", {"membres": "on"}, csrf=False
    )
    assert response.status_code == 403
    assert "Personne n'est encore invité" in html_text(
        await coordinator_web.get(f"/reunions/{meeting}")
    )


async def test_it_escapes_a_hostile_name_in_the_invitation_search(coordinator_web, admin):
    net = await small_network(admin.client, name=HOSTILE)
    meeting = net["meeting"]["id"]
    await coordinator_web.post(f"/reunions/{meeting}/inviter", {"membres": "on"})
    for url in (f"/reunions/{meeting}", f"/reunions/{meeting}?contact_q={HOSTILE}"):
        page = await coordinator_web.get(url)
        assert "<script>alert" not in page.text, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text, url


async def test_it_says_who_was_already_invited_without_brackets(coordinator_web, admin):
    net = await small_network(admin.client)
    meeting = net["meeting"]["id"]
    await coordinator_web.post(f"/reunions/{meeting}/inviter", {"membres": "on"})
    await coordinator_web.post(f"/reunions/{meeting}/inviter", {"membres": "on"})
    page = html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    assert "0 personne invitée. 1 personne l'était déjà." in page
    assert "(s)" not in page and "(en)" not in page


async def test_moving_then_cancelling_on_the_page_tells_those_invited(coordinator_web, admin):
    """No « pensez à prévenir les invités »: the page sends the update, then the cancel (#21)."""
    net = await small_network(admin.client)
    meeting = net["meeting"]["id"]
    guest = await create(
        admin.client,
        "contacts",
        {"first_name": "Karim", "last_name": "Benali", "email": "k.benali@example.fr"},
    )
    await coordinator_web.post(f"/reunions/{meeting}/inviter", {"contacts": guest["id"]})
    await admin.client.post(f"/api/v1/meetings/{meeting}/invitations/send")
    day = net["meeting"]["starts_at"][:10]
    form = {"version": 1, "date": day, "start": "10:00", "end": "12:00", "location": "Mairie"}
    form["confirmer"] = "1"  # the day may fall on a weekend: confirmed
    response = await coordinator_web.post(f"/reunions/{meeting}/deplacer", form)
    assert response.status_code == 303, html_text(response)
    page = html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    assert "Réunion déplacée." in page
    assert "La modification part à 1 personne invitée" in page
    assert "Pensez à prévenir" not in page
    # Cancelling asks first, and says who will be told.
    assert (
        f'href="/reunions/{meeting}/annuler"'
        in (await coordinator_web.get(f"/reunions/{meeting}")).text
    )
    confirm = html_text(await coordinator_web.get(f"/reunions/{meeting}/annuler"))
    assert "L'annulation partira aussitôt à la personne qui a reçu l'invitation" in confirm
    assert "Confirmer l'annulation" in confirm
    assert "annulée" not in html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    await coordinator_web.post(f"/reunions/{meeting}/annuler")
    page = html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    assert "L'annulation part à 1 personne invitée" in page
    kinds = [m["kind"] for m in (await admin.client.get("/api/v1/outbox")).json()["items"]]
    assert sorted(kinds) == ["annulation", "invitation", "modification"]


async def test_it_previews_the_invitation_before_sending(coordinator_web, admin):
    net = await small_network(admin.client)
    meeting = net["meeting"]["id"]
    guest = await create(
        admin.client,
        "contacts",
        {"first_name": "Karim", "last_name": "Benali", "email": "k.benali@example.fr"},
    )
    await coordinator_web.post(f"/reunions/{meeting}/inviter", {"contacts": guest["id"]})
    page = await coordinator_web.get(f"/reunions/{meeting}")
    assert f'href="/reunions/{meeting}/apercu"' in page.text
    preview = html_text(await coordinator_web.get(f"/reunions/{meeting}/apercu"))
    assert "Aperçu avant l'envoi" in preview and "1 invitation" in preview
    assert "Karim Benali <k.benali@example.fr>" in preview
    assert "[lien personnel de réponse]" in preview
    assert "Confirmer l'envoi de 1 message" in preview
    assert "Mis en file" not in html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    await coordinator_web.post(f"/reunions/{meeting}/envoyer")
    after = html_text(await coordinator_web.get(f"/reunions/{meeting}/apercu"))
    assert "Rien à envoyer" in after and "Confirmer" not in after


async def test_it_relaunches_those_who_have_not_answered(coordinator_web, admin):
    import datetime as dt

    from maillage.tables import Invitation, OutboxMessage

    net = await small_network(admin.client)
    meeting = net["meeting"]["id"]
    guest = await create(
        admin.client,
        "contacts",
        {"first_name": "Karim", "last_name": "Benali", "email": "k.benali@example.fr"},
    )
    await coordinator_web.post(f"/reunions/{meeting}/inviter", {"contacts": guest["id"]})
    await coordinator_web.post(f"/reunions/{meeting}/envoyer")
    assert "Relancer" not in html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    await Invitation.update({Invitation.sent_at: dt.datetime.now(dt.UTC)}).where(
        Invitation.sent_sequence.is_not_null()
    )
    page = html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    assert "Relancer la personne qui n'a pas répondu" in page
    response = await coordinator_web.post(f"/reunions/{meeting}/relancer")
    assert response.status_code == 303
    page = html_text(await coordinator_web.get(f"/reunions/{meeting}"))
    assert "Relance mise en file pour 1 personne." in page
    assert await OutboxMessage.count().where(OutboxMessage.kind == "relance") == 1
