"""Every page answers for each role and shows what its person expects to read."""

from __future__ import annotations

import pytest

from tests.web.helpers import html_text, small_network

READ_PAGES = [
    "/",
    "/partenaires",
    "/partenaires/{organisation}",
    "/contacts",
    "/contacts/{contact}",
    "/instances",
    "/instances/{group}",
    "/reunions",
    "/reunions/{meeting}",
    "/reunions/{meeting}/presences",
    "/reunions/{meeting}/emargement",
    "/compte",
]


@pytest.mark.parametrize("path", READ_PAGES)
async def test_it_shows_every_page_to_a_reader(reader_web, admin, path):
    net = await small_network(admin.client)
    url = path.format(**{k: v["id"] for k, v in net.items()})
    response = await reader_web.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.count("<h1") == 1
    assert "Se déconnecter" in html_text(response)


async def test_it_shows_the_network_on_detail_pages(coordinator_web, admin):
    net = await small_network(admin.client)
    page = html_text(await coordinator_web.get(f"/partenaires/{net['organisation']['id']}"))
    assert "Hélène Durand" in page and "Commission Centre social des Lilas" in page
    page = html_text(await coordinator_web.get(f"/instances/{net['group']['id']}"))
    assert "Hélène Durand" in page and "Titulaire" in page and "Réunion Centre social" in page
    page = html_text(await coordinator_web.get(f"/contacts/{net['contact']['id']}"))
    assert "Centre social des Lilas" in page and "Parentalité" in page


async def test_it_shows_admin_pages_to_admins_only(admin_web, coordinator_web):
    for path in ("/journal", "/utilisateurs"):
        assert (await admin_web.get(path)).status_code == 200
        refused = await coordinator_web.get(path)
        assert refused.status_code == 403
        assert "Accès refusé" in html_text(refused)
    nav = html_text(await coordinator_web.get("/"))
    assert "Journal" not in nav and "Utilisateurs" not in nav


async def test_it_answers_404_in_french_html(coordinator_web):
    response = await coordinator_web.get("/partenaires/999999")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "introuvable" in html_text(response)
