"""Steering the CTG in a real browser (#22): a decision recorded at one COPIL comes back as a
« suite à donner » at the next and is marked done; a fiche action is evaluated with its budget,
which the bilan sums per financer."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.async_api import expect

from maillage.actor import CLI
from maillage.crm.registry import SERVICES
from maillage.crm.resources import ListQuery
from tests.e2e.test_journey import Journey, make_user

pytestmark = pytest.mark.slow


async def _two_copils() -> tuple[int, int]:
    groups, meetings = SERVICES["groups"], SERVICES["meetings"]
    group = await groups.create(CLI, groups.spec.input(name="COPIL de la CTG", kind="copil"))
    ids = []
    for days in (-20, 15):
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=days)
        meeting = await meetings.create(
            CLI,
            meetings.spec.input(
                working_group=group["id"],
                title=f"COPIL de la CTG ({'passé' if days < 0 else 'à venir'})",
                starts_at=start,
                ends_at=start + dt.timedelta(hours=2),
            ),
        )
        ids.append(meeting["id"])
    return ids[0], ids[1]


async def _action() -> int:
    actions = SERVICES["actions"]
    action = await actions.create(
        CLI, actions.spec.input(title="Relais petite enfance itinérant", status="en_cours")
    )
    return action["id"]


async def test_a_coordinator_follows_a_decision_and_evaluates_a_fiche_action(tab):
    await make_user("coordination@ctg.example", "coordinateur")
    past, coming = await _two_copils()
    action = await _action()
    journey = Journey(tab)
    page = tab.page
    await journey.sign_in("coordination@ctg.example")

    # A decision taken at the last COPIL…
    await page.goto(f"/reunions/{past}")
    await page.get_by_label("Nouvelle décision").fill("Lancer l'étude sur les horaires atypiques")
    await page.get_by_label("Échéance").fill((dt.date.today() + dt.timedelta(days=60)).isoformat())
    await page.get_by_role("button", name="Enregistrer la décision").click()
    await expect(
        page.get_by_role("cell", name="Lancer l'étude sur les horaires atypiques", exact=True)
    ).to_be_visible()
    await journey.check()

    # … comes back on the next one as a follow-up, and is marked done from there.
    await page.goto(f"/reunions/{coming}")
    follow_ups = page.get_by_role("heading", name=re.compile("Suites à donner"))
    await expect(follow_ups).to_be_visible()
    status = page.get_by_label(re.compile("Nouveau statut de « Lancer l'étude"))
    await status.select_option(label="Faite")
    await page.locator("form", has=status).get_by_role("button", name="Enregistrer").click()
    await expect(page.get_by_role("status")).to_be_visible()
    await expect(page).to_have_url(re.compile(rf"/reunions/{coming}"))
    await expect(page.get_by_role("heading", name=re.compile("Suites à donner"))).to_have_count(0)
    done = await SERVICES["decisions"].page(ListQuery())
    assert [d["status"] for d in done["items"]] == ["faite"]
    await journey.check()

    # The fiche action evaluated for this year, with two financers.
    year = dt.date.today().year
    await page.goto(f"/plan-d-action/{action}")
    await expect(page.get_by_text(f"L'année {year} n'est pas encore évaluée.")).to_be_visible()
    await page.get_by_label("Réalisé dans l'année").fill("Deux tournées par semaine.")
    await page.get_by_label("Suite décidée").select_option(label="Poursuivre")
    await page.get_by_label("Financeur, ligne 1").select_option(label="Caf")
    await page.get_by_label("Montant prévu, ligne 1").fill("12 000")
    await page.get_by_label("Montant dépensé, ligne 1").fill("11 500,50")
    await page.get_by_label("Financeur, ligne 2").select_option(label="Commune")
    await page.get_by_label("Montant prévu, ligne 2").fill("3 000")
    await page.get_by_role("button", name="Enregistrer l'évaluation").click()
    budget = page.get_by_role("table", name=f"Budget {year}")
    await expect(budget).to_contain_text("11\u202f500,50\xa0€")
    await expect(budget.locator("tfoot")).to_contain_text("15\u202f000,00\xa0€")
    await journey.check()

    # The bilan of the year sums the budget per financer.
    await page.goto(f"/bilan?year={year}")
    await expect(
        page.get_by_text(re.compile(r"Budget \d{4} : 15\u202f000,00\xa0€ prévus"))
    ).to_be_visible()
    assert journey.problems == {}
    assert tab.foreign_requests() == []


VIEWPORTS = {
    "ordinateur": {"width": 1366, "height": 768},
    "téléphone": {"width": 390, "height": 844},
}
FILL_TIME_MS = 3200  # the public form refuses an answer sent faster than a person types


async def _tab(chromium, server, viewport) -> tuple[object, Journey]:
    from tests.e2e.conftest import Visit

    context = await chromium.new_context(locale="fr-FR", base_url=server, viewport=viewport)
    page = await context.new_page()
    visit = Visit(page=page, base=server)
    page.on("request", lambda request: visit.requests.append(request.url))
    return context, Journey(visit)


async def _overflow(page) -> int:
    return await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


async def _copil_with_a_member() -> int:
    from maillage.crm.schemas import ContactIn, MembershipIn
    from maillage.mailing import invitations

    groups, meetings = SERVICES["groups"], SERVICES["meetings"]
    group = await groups.create(CLI, groups.spec.input(name="COPIL de la CTG", kind="copil"))
    member = await SERVICES["contacts"].create(
        CLI, ContactIn(first_name="Hélène", last_name="Lefèvre", email="helene@caf.example")
    )
    await SERVICES["memberships"].create(
        CLI, MembershipIn(contact=member["id"], working_group=group["id"])
    )
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=20)
    meeting = await meetings.create(
        CLI,
        meetings.spec.input(
            working_group=group["id"],
            title="COPIL de printemps",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
        ),
    )
    await invitations.invite(CLI, meeting["id"], invitations.InviteRequest(group_members=True))
    return meeting["id"]


@pytest.mark.parametrize("screen", list(VIEWPORTS))
async def test_a_theme_consultation_and_the_pack_joined_to_the_invitations(
    chromium, server, database, data_dir, screen
):
    await make_user("coordination@ctg.example", "coordinateur")
    meeting = await _copil_with_a_member()
    context, journey = await _tab(chromium, server, VIEWPORTS[screen])
    page = journey.page
    await journey.sign_in("coordination@ctg.example")

    # The invitations leave with the pack when the coordinator ticks the box.
    await page.goto(f"/reunions/{meeting}/apercu")
    await page.get_by_label(re.compile("Joindre le dossier de séance")).check()
    await journey.check()
    assert await _overflow(page) <= 1
    await page.get_by_role("button", name=re.compile("Confirmer l'envoi")).click()
    await expect(page.locator(".flash").first).to_contain_text("avec le dossier de séance")

    # A consultation on a theme: created, two questions, reordered, edited, opened.
    await page.goto("/consultations")
    await page.get_by_label(re.compile("^Titre")).fill("Les familles et les écrans")
    await page.get_by_label("Axe de la CTG").select_option(index=0)
    await page.get_by_role("button", name="Créer la consultation").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Les familles et les écrans")
    for label, kind, choices in (
        ("Quel âge ont vos enfants ?", "Choix dans une liste", "Moins de 6 ans\nPlus de 6 ans"),
        ("Une idée pour le territoire ?", "Texte libre", ""),
    ):
        await page.get_by_label(re.compile("^Question")).last.fill(label)
        await page.get_by_label("Type de réponse").select_option(label=kind)
        await page.get_by_label(re.compile("^Réponses possibles \\(pour")).fill(choices)
        await page.get_by_role("button", name="Ajouter la question").click()
        await expect(page.locator(".flash").first).to_contain_text("Question ajoutée")
    await page.get_by_role(
        "button", name="Monter la question « Une idée pour le territoire ? »"
    ).click()
    await expect(page.locator(".flash").first).to_contain_text("Question déplacée")
    await page.get_by_text("Modifier la question « Quel âge ont vos enfants ? »").click()
    await page.get_by_label("Question", exact=True).last.fill("Quel âge a votre aîné ?")
    await page.get_by_role("button", name="Enregistrer la question").last.click()
    await expect(page.locator(".flash").first).to_contain_text("Question modifiée")
    await page.get_by_role("button", name="Ouvrir la consultation au public").click()
    public_url = await page.locator("a[href*='/consulter/']").get_attribute("href")
    await journey.check()
    assert await _overflow(page) <= 1

    # An inhabitant answers without an account.
    public, visitor = await _tab(chromium, server, VIEWPORTS[screen])
    await visitor.page.goto(public_url)
    await expect(visitor.page.get_by_role("heading", level=1)).to_have_text("Donner votre avis")
    await visitor.check()
    assert await _overflow(visitor.page) <= 1
    await visitor.page.get_by_label("Une idée pour le territoire ?").fill("Un café des parents")
    await visitor.page.get_by_label("Plus de 6 ans").check()
    await visitor.page.wait_for_timeout(FILL_TIME_MS)
    await visitor.page.get_by_role("button", name="Envoyer mes réponses").click()
    await expect(visitor.page.get_by_role("heading", level=1)).to_have_text(
        "Merci pour vos réponses"
    )
    assert visitor.tab.foreign_requests() == []
    await public.close()

    await page.reload()
    await expect(page.locator("#questions")).to_contain_text("1 personne a répondu")
    await expect(page.locator("#questions")).to_contain_text("Plus de 6 ans : 1")
    assert journey.problems == {} and visitor.problems == {}, (journey.problems, visitor.problems)
    assert journey.tab.foreign_requests() == []
    await context.close()
