"""The accessibility statement (#21): public, linked from every page, naming what is checked."""

from __future__ import annotations

from maillage.web.pages.accessibility import CHECKED_PAGES
from tests.web.helpers import html_text


async def test_the_statement_is_public_and_linked_from_every_page(visitor, coordinator_web):
    page = await visitor.get("/accessibilite")
    assert page.status_code == 200
    text = html_text(page)
    assert "Déclaration d'accessibilité" in text and "partiellement conforme" in text
    assert "Défenseur des droits" in text and "axe-core" in text
    for path, name in CHECKED_PAGES:
        assert f'<a href="{path}">{name.replace(chr(39), "&#39;")}</a>' in page.text
    assert "ctg@maillage.example" in text  # whom to write to
    for url in ("/connexion", "/"):
        client = visitor if url == "/connexion" else coordinator_web
        assert 'href="/accessibilite"' in (await client.get(url)).text
