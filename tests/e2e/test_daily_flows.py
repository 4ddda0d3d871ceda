"""Two flows a coordinator reaches for every week, in Chromium on a laptop (1,366 px) and on a
phone (390 px) (#21): finding and merging duplicate contacts from `/doublons`, and adding
several people to a body from its page. Never a 5xx, never a console error, and the result is
saved in the database."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from playwright.async_api import expect

from maillage.actor import CLI
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import (
    AffiliationIn,
    ContactIn,
    MembershipIn,
    OrganisationIn,
    WorkingGroupIn,
)
from maillage.tables import Contact, Membership
from tests.e2e.test_journey import PASSWORD, make_user
from tests.e2e.test_journey import field as label

pytestmark = pytest.mark.slow

VIEWPORTS = {
    "ordinateur": {"width": 1366, "height": 768},
    "téléphone": {"width": 390, "height": 844},
}


@dataclass
class Watched:
    """A signed-in tab that keeps every 5xx answer and every console or script error."""

    page: object
    server_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert not self.server_errors, self.server_errors
        assert not self.console_errors, self.console_errors


async def signed_in(chromium, server, viewport) -> tuple[object, Watched]:
    await make_user("coordination@cc-exemple.fr", "coordinateur")
    context = await chromium.new_context(locale="fr-FR", base_url=server, viewport=viewport)
    page = await context.new_page()
    watched = Watched(page)
    page.on(
        "response",
        lambda r: watched.server_errors.append(f"{r.status} {r.url}") if r.status >= 500 else None,
    )
    page.on(
        "console",
        lambda m: watched.console_errors.append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda error: watched.console_errors.append(str(error)))
    await page.goto("/connexion")
    await page.get_by_label(label("Adresse électronique")).fill("coordination@cc-exemple.fr")
    await page.get_by_label(label("Mot de passe")).fill(PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord")
    return context, watched


async def _overflow(page) -> int:
    return await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


async def _duplicates() -> tuple[dict, dict]:
    create = {name: SERVICES[name].create for name in ("contacts", "groups", "memberships")}
    kept = await create["contacts"](
        CLI,
        ContactIn(
            first_name="Hélène", last_name="Durand", email="h.durand@mairie.example",
            phone="0299000001",
        ),
    )  # fmt: skip
    other = await create["contacts"](
        CLI, ContactIn(first_name="Helene", last_name="Durand", phone="0299000002")
    )
    group = await create["groups"](CLI, WorkingGroupIn(name="COPIL CTG", kind="copil"))
    await create["memberships"](
        CLI, MembershipIn(contact=other["id"], working_group=group["id"], role="titulaire")
    )
    return kept, group


@pytest.mark.parametrize("screen", VIEWPORTS)
async def test_duplicate_contacts_are_compared_then_merged(chromium, server, database, screen):
    kept, group = await _duplicates()
    context, watched = await signed_in(chromium, server, VIEWPORTS[screen])
    page = watched.page
    try:
        await page.goto("/doublons")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Doublons probables")
        await expect(page.get_by_text("1 paire à examiner")).to_be_visible()
        await page.get_by_role("link", name=re.compile("^Comparer")).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Comparer deux fiches")
        assert await _overflow(page) <= 1
        # Keep the accented first name (A) and the second telephone (B).
        await page.locator("#champ-first_name-a").check()
        await page.locator("#champ-phone-b").check()
        await page.get_by_label(re.compile("^Garder la fiche A")).check()
        await page.get_by_role("button", name="Fusionner les deux fiches").click()
        await expect(page.locator(".flash")).to_contain_text("Fiches fusionnées")
        await expect(page.get_by_text("Aucun doublon probable")).to_be_visible()

        rows = await Contact.select().where(Contact.last_name == "Durand")
        assert [(r["id"], r["first_name"], r["phone"]) for r in rows] == [
            (kept["id"], "Hélène", "+33299000002")
        ]
        assert rows[0]["email"] == "h.durand@mairie.example"
        moved = await Membership.select().where(Membership.working_group == group["id"])
        assert [m["contact"] for m in moved] == [kept["id"]]
        await page.goto(f"/contacts/{kept['id']}")
        await expect(page.get_by_role("main")).to_contain_text("COPIL CTG")
        watched.assert_clean()
    finally:
        await context.close()


async def _town() -> dict:
    create = {
        name: SERVICES[name].create
        for name in ("organisations", "contacts", "affiliations", "groups")
    }
    mairie = await create["organisations"](
        CLI, OrganisationIn(name="Mairie de Melesse", kind="collectivite")
    )
    people = {}
    for first, last, function in [
        ("Anne", "Morel", "Adjointe à l'enfance"),
        ("Marc", "Roux", "Conseiller municipal délégué à l'enfance"),
        ("Lina", "Petit", "Secrétaire de mairie"),
    ]:
        person = await create["contacts"](CLI, ContactIn(first_name=first, last_name=last))
        await create["affiliations"](
            CLI,
            AffiliationIn(
                contact=person["id"], organisation=mairie["id"], function=function,
                is_primary=True,
            ),
        )  # fmt: skip
        people[first] = person
    group = await create["groups"](
        CLI, WorkingGroupIn(name="Commission enfance", kind="commission_thematique")
    )
    return {"mairie": mairie, "people": people, "group": group}


@pytest.mark.parametrize("screen", VIEWPORTS)
async def test_members_are_added_to_a_body_from_its_page(chromium, server, database, screen):
    town = await _town()
    group = town["group"]["id"]
    context, watched = await signed_in(chromium, server, VIEWPORTS[screen])
    page = watched.page
    try:
        await page.goto(f"/instances/{group}")
        await expect(page.get_by_text("Cette instance n'a pas encore de membre.")).to_be_visible()
        await page.get_by_role("link", name="Ajouter plusieurs membres").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Ajouter des membres")
        await page.get_by_label("Fonction").fill("enfance")
        await page.get_by_role("button", name="Chercher").click()
        await expect(page.locator("legend")).to_have_text("2 personnes trouvées")
        await expect(page.get_by_label(re.compile("^Anne Morel"))).to_be_checked()
        await expect(page.get_by_label(re.compile("^Marc Roux"))).to_be_checked()
        await expect(page.get_by_text("Lina Petit")).to_have_count(0)
        assert await _overflow(page) <= 1
        await page.get_by_label("Rôle").select_option("titulaire")
        await page.get_by_role("button", name="Inscrire les personnes cochées").click()
        await expect(page.locator(".flash")).to_contain_text("2 personnes inscrites.")
        members = page.locator("#membres ~ table")
        await expect(members).to_contain_text("Anne Morel")
        await expect(members).to_contain_text("Marc Roux")
        await expect(members).to_contain_text("Titulaire")
        assert await _overflow(page) <= 1

        rows = await Membership.select().where(Membership.working_group == group)
        people = town["people"]
        assert sorted(r["contact"] for r in rows) == sorted(
            [people["Anne"]["id"], people["Marc"]["id"]]
        )
        assert {r["role"] for r in rows} == {"titulaire"}
        assert {r["organisation"] for r in rows} == {town["mairie"]["id"]}
        watched.assert_clean()
    finally:
        await context.close()
