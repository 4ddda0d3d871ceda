"""The pages on a phone (390 × 844) and on a laptop (1,366 × 768), in Chromium, on the demo
territory (#21): nothing wider than the screen, a folded menu on the phone that opens and
closes, a one-line menu on the laptop, tables that reflow, no serious accessibility fault."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.async_api import expect

from maillage.crm.demo import load_demo
from maillage.tables import Contact, Meeting, Organisation, WorkingGroup
from maillage.web.pages.accessibility import CHECKED_PAGES
from tests.e2e.accessibility import serious_violations
from tests.e2e.test_journey import PASSWORD, field, make_user

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
# The pages the accessibility statement says are checked: the same list, so they agree.
LISTS = [path for path, _ in CHECKED_PAGES]
PUBLIC = {"/accessibilite"}


async def _details() -> list[str]:
    """One record of each kind with a detail page: the largest, where widths break first."""
    organisation = await Organisation.select(Organisation.id).order_by(Organisation.id).first()
    contact = await Contact.select(Contact.id).order_by(Contact.id).first()
    group = await WorkingGroup.select(WorkingGroup.id).order_by(WorkingGroup.id).first()
    meeting = await Meeting.select(Meeting.id).order_by(Meeting.id).first()
    return [
        f"/partenaires/{organisation['id']}",
        f"/contacts/{contact['id']}",
        f"/instances/{group['id']}",
        f"/reunions/{meeting['id']}",
    ]


async def _signed_in(chromium, server, viewport):
    context = await chromium.new_context(locale="fr-FR", base_url=server, viewport=viewport)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto("/connexion")
    await page.get_by_label(field("Adresse électronique")).fill("coordination@cc-exemple.fr")
    await page.get_by_label(field("Mot de passe")).fill(PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord")
    return context, page, errors


async def _overflow(page) -> int:
    """How many pixels the page is wider than the screen (0: nothing to scroll sideways)."""
    return await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


@pytest.fixture
async def demo(database) -> None:
    await load_demo(seed=1, today=dt.date.today())
    await make_user("coordination@cc-exemple.fr", "coordinateur")


async def test_every_page_fits_a_phone_with_a_folded_menu(chromium, server, demo):
    context, page, errors = await _signed_in(chromium, server, PHONE)
    problems: dict[str, list[str]] = {}
    try:
        for url in LISTS + await _details():
            await page.goto(url)
            found = []
            if (extra := await _overflow(page)) > 0:
                found.append(f"{extra} px plus large que l'écran")
            menu = page.get_by_role("button", name="Menu")
            if url in PUBLIC:
                pass  # a public page shows no menu: nobody is signed in there
            elif not await menu.is_visible():
                found.append("pas de bouton « Menu »")
            elif await page.locator("#menu-principal").is_visible():
                found.append("menu déplié à l'ouverture")
            found += await serious_violations(page)
            if found:
                problems[url] = found
        # The menu opens, shows its groups, and reaches a page inside a group.
        await page.goto("/")
        menu = page.get_by_role("button", name="Menu")
        await menu.click()
        await expect(menu).to_have_attribute("aria-expanded", "true")
        await expect(page.locator("#menu-principal")).to_be_visible()
        await page.locator(".nav-group summary", has_text="Pilotage").click()
        nav = page.get_by_role("navigation", name="Menu principal")
        await nav.get_by_role("link", name="Plan d'action").click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text("Plan d'action")
        # Tables reflow: each value is shown under its column's name.
        await page.goto("/partenaires")
        cell = page.locator("table.table tbody tr").first.locator("td").first
        await expect(cell).to_have_attribute("data-label", "Nom")
        assert await _overflow(page) <= 0
    finally:
        await context.close()
    assert not problems, problems
    assert not errors, errors


async def test_the_menu_holds_on_one_line_on_a_laptop(chromium, server, demo):
    context, page, errors = await _signed_in(chromium, server, LAPTOP)
    try:
        await expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        links = page.locator("#menu-principal > li")
        tops = {round((await item.bounding_box())["y"]) for item in await links.all()}
        assert len(tops) == 1, f"menu sur {len(tops)} lignes"
        # A group opens over the page and closes with Escape.
        await page.locator(".nav-group summary", has_text="Données").click()
        await expect(page.get_by_role("link", name="Doublons")).to_be_visible()
        await page.keyboard.press("Escape")
        await expect(page.get_by_role("link", name="Doublons")).to_be_hidden()
        for url in LISTS:
            await page.goto(url)
            assert await _overflow(page) <= 0, url
    finally:
        await context.close()
    assert not errors, errors


async def test_the_territory_field_of_the_forms_fits_a_phone(chromium, server, demo):
    """The « Territoire » select of the partner and contact forms (#20) on a phone: shown to
    the host team (« Partagé » and the demo's territory), no wider than the screen."""
    context, page, errors = await _signed_in(chromium, server, PHONE)
    contact = await Contact.select(Contact.id).order_by(Contact.id).first()
    problems: dict[str, list[str]] = {}
    try:
        for url in ("/partenaires/nouveau", f"/contacts/{contact['id']}/modifier"):
            await page.goto(url)
            select = page.get_by_label("Territoire", exact=True)
            await expect(select).to_be_visible()
            box = await select.bounding_box()
            found = []
            if box is None or box["x"] + box["width"] > PHONE["width"]:
                found.append(f"champ « Territoire » hors de l'écran : {box}")
            if (extra := await _overflow(page)) > 0:
                found.append(f"{extra} px plus large que l'écran")
            found += await serious_violations(page)
            if found:
                problems[url] = found
        # Saving the contact unchanged keeps its territory.
        before = await Contact.select(Contact.territory).where(Contact.id == contact["id"])
        await page.get_by_role("button", name="Enregistrer").click()
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        after = await Contact.select(Contact.territory).where(Contact.id == contact["id"])
        assert after == before
    finally:
        await context.close()
    assert not problems, problems
    assert not errors, errors
