"""The import preview of a sheet with hundreds of warnings, on a phone (390 px), in Chromium
(#18): fifty warnings, the count of the others, the whole list downloaded as CSV, nothing wider
than the screen."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.test_journey import make_user
from tests.e2e.test_small_screens import PHONE, _overflow, _signed_in

pytestmark = pytest.mark.slow

HEADER = "Mairie;Commune;Code INSEE;Adresse;Civilité;Nom;Prénom;Fonction;Téléphone;Axes"
LINES = [
    f"Mairie de Saint-Jean-de-la-Longue-Commune;Saint-Jean-de-la-Longue-Commune;{99000 + n};"
    f"12 rue de la République, 35000 Saint-Jean;M.;Nom{n};Prénom;Conseiller municipal;"
    f"02 99 00 00 00;Axe inconnu"
    for n in range(120)
]


async def test_the_preview_of_many_warnings_fits_a_phone_and_downloads_them_all(
    chromium, server, database, tmp_path
):
    await make_user("coordination@cc-exemple.fr", "coordinateur")
    sheet = tmp_path / "elus.csv"
    sheet.write_text("\n".join([HEADER, *LINES]) + "\n", encoding="utf-8")
    context, page, errors = await _signed_in(chromium, server, PHONE)
    try:
        await page.goto("/imports")
        await page.locator("#f-fichier").set_input_files(str(sheet))
        await page.get_by_role("button", name="Prévisualiser").click()
        await expect(page.get_by_role("heading", name="120 avertissements")).to_be_visible()
        warnings = page.locator("ul.warnings > li")
        await expect(warnings).to_have_count(50)
        await expect(page.get_by_text("… et 70 autres avertissements.")).to_be_visible()
        assert await _overflow(page) <= 0
        async with page.expect_download() as waiting:
            await page.get_by_role("link", name="Télécharger tous les avertissements (CSV)").click()
        download = await waiting.value
        path = await download.path()
        text = path.read_text(encoding="utf-8-sig")
        assert len(text.splitlines()) == 121
        await page.screenshot(path=str(tmp_path / "preview.png"), full_page=False)
        assert not errors, errors
    finally:
        await context.close()
