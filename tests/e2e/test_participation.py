"""Inhabitants register to a public meeting in a real browser (#22): the coordinator opens
registration on the meeting's form, two inhabitants register without an account (a place, then
the waiting list), the coordinator cancels one and gives the place to the other. axe-core checks
every page; nothing is requested from another server."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import re
from email import policy
from pathlib import Path

from playwright.async_api import expect

from maillage.actor import CLI
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import MeetingIn, WorkingGroupIn
from tests.e2e.conftest import Visit
from tests.e2e.test_journey import Journey, field, make_user

# The page refuses a form sent back faster than a person types (3 s).
FILL_TIME_MS = 3200


async def _register(
    chromium, server: str, url: str, name: str, email_address: str
) -> tuple[str, dict[str, list[str]]]:
    """An inhabitant without an account, in a fresh browser: the heading of the answer and
    the accessibility problems met on the way."""
    context = await chromium.new_context(locale="fr-FR", base_url=server)
    page = await context.new_page()
    visit = Visit(page=page, base=server)
    page.on("request", lambda request: visit.requests.append(request.url))
    journey = Journey(visit)
    await page.goto(url)
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "S'inscrire à la réunion publique"
    )
    await journey.check()
    await page.get_by_label(field("Nom ou pseudonyme")).fill(name)
    await page.get_by_label(field("Commune de résidence")).fill("Bréal-sous-Montfort")
    await page.get_by_label("Adresse électronique (facultative)").fill(email_address)
    await page.get_by_role("checkbox").check()
    await page.wait_for_timeout(FILL_TIME_MS)
    await page.get_by_role("button", name="M'inscrire").click()
    await journey.check()
    assert visit.foreign_requests() == []
    heading = await page.get_by_role("heading", level=1).inner_text()
    assert [c["name"] for c in await context.cookies()] == ["maillage_csrf"]
    await context.close()
    return heading, journey.problems


async def _calendar_mail(outbox: Path, recipient: str) -> email.message.EmailMessage:
    for _ in range(100):
        for path in sorted(outbox.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if recipient in str(message["To"]):
                return message  # type: ignore[return-value]
        await asyncio.sleep(0.1)
    raise AssertionError(f"aucune confirmation écrite pour {recipient}")


async def test_inhabitants_register_and_the_coordinator_manages_the_list(
    tab, chromium, server, data_dir
):
    await make_user("coordination@cc-exemple.fr", "coordinateur")
    group = await SERVICES["groups"].create(
        CLI, WorkingGroupIn(name="Ateliers de concertation", kind="reseau")
    )
    day = dt.date.today() + dt.timedelta(days=12)
    starts = dt.datetime.combine(day, dt.time(18, 30), dt.timezone(dt.timedelta(hours=1)))
    meeting = await SERVICES["meetings"].create(
        CLI,
        MeetingIn(
            working_group=group["id"],
            title="Atelier « Grandir à Bréal »",
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=2),
            location="Salle polyvalente",
        ),
    )
    coordinator = Journey(tab)
    page = tab.page
    await coordinator.sign_in("coordination@cc-exemple.fr")
    await page.goto(f"/reunions/{meeting['id']}/modifier")
    await page.get_by_label("Réunion publique (avec des habitants)").check()
    await page.get_by_label(re.compile("^Inscriptions en ligne ouvertes")).check()
    await page.get_by_label(field("Nombre de places")).fill("1")
    await page.get_by_role("button", name="Enregistrer").click()
    await expect(page.get_by_role("heading", name="Inscriptions des habitants")).to_be_visible()
    await coordinator.check()
    url = await page.locator("#inscriptions a[href*='/participer/']").get_attribute("href")
    assert url == f"{server}/participer/{meeting['id']}"

    assert await _register(chromium, server, url, "Hélène L.", "helene@exemple.fr") == (
        "Inscription enregistrée",
        {},
    )
    assert await _register(chromium, server, url, "Marc", "") == (
        "Vous êtes sur la liste d'attente",
        {},
    )

    await page.reload()
    section = page.locator("#inscriptions")
    await expect(section).to_contain_text("1 personne inscrite sur 1 place")
    await expect(section).to_contain_text("1 personne en liste d'attente")
    await page.get_by_role("button", name="Annuler l'inscription de Hélène L.").click()
    await expect(page.locator(".flash")).to_contain_text("Hélène L. : inscription annulée.")
    await page.get_by_role("button", name="Donner une place à Marc").click()
    await expect(page.locator(".flash")).to_contain_text("Marc a maintenant une place.")
    await coordinator.check()
    assert coordinator.problems == {}, coordinator.problems
    assert tab.foreign_requests() == []

    mail = await _calendar_mail(data_dir / "e2e" / "outbox", "helene@exemple.fr")
    assert str(mail["Subject"]).startswith("Inscription confirmée : ")
    assert any(p.get_content_type() == "text/calendar" for p in mail.iter_attachments())
