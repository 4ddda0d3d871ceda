"""Calendar links on a body's page and the personal link on « Mon compte »."""

from __future__ import annotations

import contextlib
import re

from maillage.tables import User
from tests.web.helpers import HOSTILE, Browser, html_text, open_browser, sign_in, small_network


def _secret_path(text: str) -> str:
    return re.search(r"/calendar/feeds/mlf_[A-Za-z0-9_-]+\.ics", text)[0]


async def test_it_shows_the_body_calendar_links(reader_web, admin):
    net = await small_network(admin.client)
    group = net["group"]["id"]
    page = await reader_web.get(f"/instances/{group}")
    assert f'href="http://127.0.0.1:8000/calendar/groups/{group}.ics"' in page.text or (
        f"/calendar/groups/{group}.ics" in page.text
    )
    assert "webcal://" in page.text
    assert "Créer un lien d'abonnement" not in html_text(page)


async def test_it_creates_a_shareable_secret_link_and_revokes_it(coordinator_web, visitor, admin):
    net = await small_network(admin.client)
    group = net["group"]["id"]
    response = await coordinator_web.post(f"/instances/{group}/lien-agenda")
    assert response.status_code == 200
    assert "il ne sera plus affiché" in html_text(response)
    path = _secret_path(response.text)
    feed = await visitor.get(path)
    assert feed.status_code == 200 and "BEGIN:VCALENDAR" in feed.text
    page = (await coordinator_web.get(f"/instances/{group}")).text
    token_id = re.search(rf"/instances/{group}/lien-agenda/(\d+)/revoquer", page)[1]
    await coordinator_web.post(f"/instances/{group}/lien-agenda/{token_id}/revoquer")
    assert "révoqué" in html_text(await coordinator_web.get(f"/instances/{group}"))
    assert (await visitor.get(path)).status_code == 404


async def test_a_reader_cannot_create_or_revoke_links(reader_web, coordinator_web, admin):
    net = await small_network(admin.client)
    group = net["group"]["id"]
    assert (await reader_web.post(f"/instances/{group}/lien-agenda")).status_code == 403
    assert (
        await coordinator_web.post(f"/instances/{group}/lien-agenda", csrf=False)
    ).status_code == 403


async def test_the_account_page_gives_the_personal_link_of_the_linked_contact(app, reader, admin):
    net = await small_network(admin.client, name=HOSTILE)
    await User.update({User.contact: net["contact"]["id"]}).where(User.email == reader.email)
    async with await open_browser(app) as client:
        browser = Browser(client)
        await sign_in(browser, reader.email)
        page = await browser.get("/compte")
        assert "Créer mon lien d'abonnement" in html_text(page)
        response = await browser.post("/compte/agenda")
        assert response.status_code == 200
        assert "Votre lien d'abonnement personnel" in html_text(response)
        feed = await client.get(_secret_path(response.text))
        assert "BEGIN:VCALENDAR" in feed.text and "VEVENT" in feed.text
        assert "<script>alert" not in response.text


async def test_the_account_page_explains_a_missing_contact(reader_web):
    page = html_text(await reader_web.get("/compte"))
    assert "n'est lié à aucune fiche contact" in page
    response = await reader_web.post("/compte/agenda")
    assert response.status_code == 303
    assert "introuvable" in html_text(await reader_web.get("/compte")).lower()


async def _linked_reader(app, reader, admin, stack) -> tuple[Browser, dict]:
    net = await small_network(admin.client)
    await User.update({User.contact: net["contact"]["id"]}).where(User.email == reader.email)
    browser = Browser(await stack.enter_async_context(await open_browser(app)))
    await sign_in(browser, reader.email)
    return browser, net


def _revoke_path(text: str) -> str:
    return re.search(r"/compte/agenda/\d+/revoquer", text)[0]


async def test_a_person_revokes_their_own_link_then_makes_a_new_one(app, reader, admin):
    async with contextlib.AsyncExitStack() as stack:
        browser, _ = await _linked_reader(app, reader, admin, stack)
        created = await browser.post("/compte/agenda")
        old = _secret_path(created.text)
        page = await browser.get("/compte")
        assert "Vos liens d'abonnement en service" in html_text(page)
        response = await browser.post(_revoke_path(page.text))
        assert response.status_code == 303
        page = await browser.get("/compte")
        assert "Lien d'abonnement révoqué : il ne fonctionne plus." in html_text(page)
        assert "Vous n'avez aucun lien d'abonnement en service." in html_text(page)
        assert (await browser.get(old)).status_code == 404
        renewed = await browser.post("/compte/agenda")
        assert "BEGIN:VCALENDAR" in (await browser.get(_secret_path(renewed.text))).text


async def test_replacing_the_links_revokes_the_older_ones(app, reader, admin):
    async with contextlib.AsyncExitStack() as stack:
        browser, _ = await _linked_reader(app, reader, admin, stack)
        first = _secret_path((await browser.post("/compte/agenda")).text)
        second = _secret_path((await browser.post("/compte/agenda")).text)
        assert "Remplacer mes liens par un nouveau" in html_text(await browser.get("/compte"))
        response = await browser.post("/compte/agenda", {"remplacer": "on"})
        assert "Vos liens précédents sont révoqués" in html_text(response)
        newest = _secret_path(response.text)
        assert [(await browser.get(p)).status_code for p in (first, second)] == [404, 404]
        assert (await browser.get(newest)).status_code == 200


async def test_nobody_revokes_a_link_that_is_not_theirs(app, reader, admin, coordinator_web):
    async with contextlib.AsyncExitStack() as stack:
        browser, net = await _linked_reader(app, reader, admin, stack)
        group = net["group"]["id"]
        await coordinator_web.post(f"/instances/{group}/lien-agenda")
        group_page = (await coordinator_web.get(f"/instances/{group}")).text
        token_id = re.search(rf"/instances/{group}/lien-agenda/(\d+)/revoquer", group_page)[1]
        response = await browser.post(f"/compte/agenda/{token_id}/revoquer")
        assert response.status_code == 303
        assert "introuvable" in html_text(await browser.get("/compte")).lower()
        group_page = (await coordinator_web.get(f"/instances/{group}")).text
        assert f"/lien-agenda/{token_id}/revoquer" in group_page  # still live
        own = _revoke_path((await browser.post("/compte/agenda")).text)
        assert (await browser.post(own, csrf=False)).status_code == 403
