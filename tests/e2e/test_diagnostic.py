"""« Diagnostic » in Chromium (#18): a real territory's two maps and their tables on a laptop
(1,366 px) and a phone (390 px) — nothing wider than the screen, no console error, no serious
accessibility fault, French words only — and the coordinator records a commune's schéma and
relais through the form."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from maillage.actor import CLI, REGISTERS
from maillage.crm.registry import SERVICES
from maillage.opendata import registers
from maillage.opendata.load import load_territory
from maillage.tables import Axis, Commune, CommuneChildcare
from tests.e2e.accessibility import serious_violations
from tests.e2e.test_journey import PASSWORD, field, make_user
from tests.e2e.test_week import ENGLISH
from tests.web.test_page_words import BAD

pytestmark = pytest.mark.slow

COORDINATOR = "coordination@cc-aigueblanche.fr"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
SIREN = "247300015"


async def _territory() -> None:
    key = registers.mandate_key("test-secret-key-not-for-production")
    snapshot = registers.read_territory(SIREN, key=key)
    await load_territory(REGISTERS, SIREN, dry_run=False, snapshot=snapshot)
    await Commune.update({Commune.population: 12_500}).where(Commune.insee_code == "73187")
    lechere = await Commune.select(Commune.id).where(Commune.insee_code == "73187").first()
    axes = await Axis.select(Axis.id).order_by(Axis.position)
    service = SERVICES["organisations"]
    await service.create(
        CLI,
        service.spec.input(
            name="Crèche des Cimes",
            kind="etablissement",
            commune=lechere["id"],
            axes=[axes[0]["id"]],
        ),
    )


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
async def test_the_diagnostic_maps_fit_the_screen_and_read_in_french(
    chromium, server, database, viewport
):
    await _territory()
    await make_user(COORDINATOR, "coordinateur")
    context = await chromium.new_context(locale="fr-FR", base_url=server, viewport=viewport)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    problems: list[str] = []
    try:
        await page.goto("/connexion")
        await page.get_by_label(field("Adresse électronique")).fill(COORDINATOR)
        await page.get_by_label(field("Mot de passe")).fill(PASSWORD)
        await page.get_by_role("button", name="Se connecter").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord")

        await page.goto("/diagnostic")
        heading = page.get_by_role("heading", level=1)
        await expect(heading).to_contain_text("Diagnostic")
        maps = page.locator("svg.territory-map")
        await expect(maps).to_have_count(2)
        assert await maps.nth(0).locator("path").count() == 3
        assert await maps.nth(1).locator("circle").count() >= 1
        box = await maps.nth(0).bounding_box()
        assert box is not None and box["width"] > 200 and box["width"] <= viewport["width"]
        table = page.get_by_role("table", name="Communes : population, partenaires", exact=False)
        await expect(table.get_by_role("row")).to_have_count(4)

        enfance = (await Axis.select(Axis.id).where(Axis.name == "Enfance").first())["id"]
        await page.get_by_label("Axe de la CTG").select_option(label="Enfance")
        await page.get_by_role("button", name="Afficher").click()
        await expect(
            page.get_by_role("heading", name="Partenaires sur l'axe « Enfance »")
        ).to_be_visible()

        overflow = await page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 0:
            problems.append(f"{overflow} px plus large que l'écran")
        problems += await serious_violations(page)
        text = await page.inner_text("main")
        problems += sorted({m.group(0) for m in ENGLISH.finditer(text)})
        problems += [f"{what} : {m.group(0)}" for what, rule in BAD.items() for m in rule.finditer(text)]  # fmt: skip

        await page.get_by_label("Schéma de La Léchère").select_option(label="existe")
        await page.get_by_label("Relais de La Léchère").select_option(label="absent")
        await page.get_by_role("button", name="Enregistrer pour La Léchère").click()
        await expect(page.get_by_text("Petite enfance de La Léchère enregistrée.")).to_be_visible()
        # Back on the same view: the axis chosen before is still the one shown.
        await expect(page.get_by_label("Axe de la CTG")).to_have_value(str(enfance))
    finally:
        await context.close()

    row = await CommuneChildcare.select().first()
    assert (row["schema_exists"], row["relais_exists"]) == (True, False)
    assert not problems, problems
    assert not errors, errors
