"""The « Territoire » select of the partner and contact forms (#20): shown when the user may
place the record in more than one territory, with only those (and « Partagé » for the host
team); « — » leaves the placing to the rule; saving unchanged keeps the territory."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import AsyncIterator

from maillage.tables import Contact, Organisation
from tests.crm.test_scope import SIREN_A, SIREN_B, _account
from tests.crm.test_scope_partners import Partners, partners  # noqa: F401 - the fixture
from tests.web.helpers import Browser, html_text, open_browser, sign_in

RGPD = {"legal_basis": "mission_interet_public"}


def _options(page: str) -> list[str]:
    select = re.search(r'<select[^>]*id="f-territory".*?</select>', page, re.S)
    assert select is not None, "pas de champ « Territoire »"
    return [html.unescape(o) for o in re.findall(r"<option[^>]*>([^<]*)</option>", select[0])]


@contextlib.asynccontextmanager
async def _browser(app, email: str, sirens: list[str]) -> AsyncIterator[Browser]:
    await _account(email, "coordinateur", sirens)
    async with await open_browser(app) as client:
        browser = Browser(client)
        assert (await sign_in(browser, email)).status_code == 303
        yield browser


async def test_a_coordinator_of_two_territories_chooses_one(app, partners: Partners):  # noqa: F811
    async with _browser(app, "deux@maillage.example", [SIREN_A, SIREN_B]) as browser:
        form = await browser.get("/contacts/nouveau")
        assert _options(form.text) == ["—", "CA des Deux Rives", "CC du Val d'Ardoise"]
        # Without a commune and without a choice: the message sits next to the field shown.
        response = await browser.post(
            "/contacts/nouveau", {"first_name": "Léa", "last_name": "Sans-Commune", **RGPD}
        )
        assert response.status_code == 400
        assert 'id="f-territory-erreur"' in response.text, html_text(response)[:1500]
        assert "Choisissez un de vos territoires" in response.text
        response = await browser.post(
            "/contacts/nouveau",
            {"first_name": "Léa", "last_name": "Rives", "territory": str(partners.b["id"]), **RGPD},
        )
        assert response.status_code == 303, response.text
        lea = await Contact.select(Contact.id, Contact.territory).where(
            Contact.last_name == "Rives", Contact.first_name == "Léa"
        )
        assert lea[0]["territory"] == partners.b["id"]
        # The edit form shows it; saving it unchanged keeps it.
        path = f"/contacts/{lea[0]['id']}/modifier"
        form = await browser.get(path)
        selected = re.search(r'<option value="(\d+)" selected>', form.text)
        assert selected is not None and int(selected[1]) == partners.b["id"]
        response = await browser.post(
            path,
            {
                "first_name": "Léa",
                "last_name": "Rives",
                "territory": str(partners.b["id"]),
                "version": "1",
                **RGPD,
            },
        )
        assert response.status_code == 303, response.text
        assert (await Contact.select(Contact.territory).where(Contact.id == lea[0]["id"]))[0][
            "territory"
        ] == partners.b["id"]
        # A partner too; a territory out of the list is refused.
        response = await browser.post(
            "/partenaires/nouveau",
            {"name": "Club", "kind": "association", "territory": str(partners.a["id"])},
        )
        assert response.status_code == 303, response.text
        club = await Organisation.select(Organisation.territory).where(Organisation.name == "Club")
        assert club[0]["territory"] == partners.a["id"]
        response = await browser.post(
            "/partenaires/nouveau",
            {"name": "Club 2", "kind": "association", "territory": "partage"},
        )
        assert response.status_code == 400
        assert "Choix non reconnu" in response.text


async def test_one_territory_shows_no_select_and_the_host_team_may_share(
    app,
    partners: Partners,  # noqa: F811
):
    async with _browser(app, "un@maillage.example", [SIREN_A]) as browser:
        form = await browser.get("/partenaires/nouveau")
        assert form.status_code == 200
        assert 'id="f-territory"' not in form.text
    async with _browser(app, "hote@maillage.example", []) as browser:
        form = await browser.get(f"/partenaires/{partners.mairie_a['id']}/modifier")
        assert _options(form.text) == [
            "—",
            "Partagé entre les territoires",
            "CA des Deux Rives",
            "CC du Val d'Ardoise",
        ]
        response = await browser.post(
            "/partenaires/nouveau",
            {"name": "Fédération", "kind": "association", "territory": "partage"},
        )
        assert response.status_code == 303, response.text
        made = await Organisation.select(Organisation.territory).where(
            Organisation.name == "Fédération"
        )
        assert made[0]["territory"] is None


async def test_the_contacts_filter_names_only_an_organisation_the_user_sees(
    app,
    partners: Partners,  # noqa: F811
):
    """/contacts?organisation=N names a partner of the user's territories or a shared one, and
    says « introuvable » for another territory's, as for an unknown number (no probing)."""
    async with _browser(app, "filtre@maillage.example", [SIREN_A]) as browser:
        own = html_text(await browser.get(f"/contacts?organisation={partners.mairie_a['id']}"))
        assert f"Rattachés à : {partners.mairie_a['name']}" in own
        shared = html_text(await browser.get(f"/contacts?organisation={partners.caf['id']}"))
        assert f"Rattachés à : {partners.caf['name']}" in shared
        other = html_text(await browser.get(f"/contacts?organisation={partners.asso_b['id']}"))
        assert f"Rattachés à : n° {partners.asso_b['id']} (introuvable)" in other
        assert partners.asso_b["name"] not in other
