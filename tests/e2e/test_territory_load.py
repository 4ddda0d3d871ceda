"""« Nouveau territoire depuis les répertoires publics » in Chromium (#18): an administrator
finds the EPCI by name, reads the preview, confirms, and lands on the map of its communes; the
same pages on a phone (390 px) fit the screen and have no serious accessibility fault."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from maillage.tables import Affiliation, Commune, Territory
from tests.e2e.accessibility import serious_violations
from tests.e2e.test_journey import PASSWORD, field, make_user

pytestmark = pytest.mark.slow

ADMIN = "admin@cc-aigueblanche.fr"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}


async def _signed_in(chromium, server, viewport):
    context = await chromium.new_context(locale="fr-FR", base_url=server, viewport=viewport)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto("/connexion")
    await page.get_by_label(field("Adresse électronique")).fill(ADMIN)
    await page.get_by_label(field("Mot de passe")).fill(PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord")
    return context, page, errors


async def _overflow(page) -> int:
    return await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
async def test_an_admin_loads_a_real_epci_from_the_registers(chromium, server, database, viewport):
    await make_user(ADMIN, "admin")
    context, page, errors = await _signed_in(chromium, server, viewport)
    problems: dict[str, list[str]] = {}

    async def check(where: str) -> None:
        found = []
        if (extra := await _overflow(page)) > 0:
            found.append(f"{extra} px plus large que l'écran")
        found += await serious_violations(page)
        if found:
            problems[where] = found

    try:
        await page.goto("/territoires")
        await page.get_by_role("link", name="Nouveau territoire depuis les répertoires publics").click()  # fmt: skip
        heading = page.get_by_role("heading", level=1)
        await expect(heading).to_have_text("Nouveau territoire depuis les répertoires publics")
        await page.get_by_label("Nom de l'intercommunalité (ou début de son SIREN)").fill(
            "vallées d'aigueblanche"
        )
        await page.get_by_role("button", name="Chercher").click()
        await expect(page.get_by_role("heading", name="1 intercommunalité trouvée")).to_be_visible()
        await check("recherche")

        await page.get_by_role(
            "link", name="Communauté de communes des Vallées d'Aigueblanche"
        ).click()
        status = page.get_by_role("status")
        await expect(status).to_contain_text("Simulation (rien n'a été écrit) : 3 communes créées")
        await page.get_by_text("Détail des changements (103 lignes)").click()
        await expect(page.get_by_text("Commune La Léchère (73187) : création")).to_be_visible()
        await check("aperçu")
        assert await Territory.count() == 0

        await page.get_by_role("button", name="Confirmer le chargement").click()
        await expect(heading).to_have_text("Communauté de communes des Vallées d'Aigueblanche")
        await expect(page.get_by_text("Chargement effectué : 3 communes créées")).to_be_visible()
        assert await page.locator("svg.territory-map path").count() == 3
        table = page.get_by_role("table", name="Communes du territoire")
        await expect(table.get_by_role("row")).to_have_count(4)
        await check("carte")

        # Confirmed twice (a second tab, a reload): a refresh that changes nothing.
        await page.goto("/territoires/nouveau?epci=247300015")
        await expect(status).to_have_text(
            "Rien à changer : la base est à jour avec les répertoires publics."
        )
        await expect(page.get_by_role("button", name="Confirmer le chargement")).to_have_count(0)
    finally:
        await context.close()

    assert await Commune.count() == 3
    assert await Affiliation.count() == 52
    assert not problems, problems
    assert not errors, errors
