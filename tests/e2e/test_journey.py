"""The coordinator's day in a real browser, a reader who cannot write, and pages that only
talk to their own server. axe-core checks every page visited."""

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
from maillage.crm.schemas import UserIn
from maillage.tables import Meeting
from tests.e2e.accessibility import serious_violations

PASSWORD = "une phrase de passe de test"


def field(label: str) -> re.Pattern[str]:
    """A field's accessible name: its label, with « (obligatoire) » when it is required."""
    return re.compile(rf"^{re.escape(label)}( \(obligatoire\))?$")


async def make_user(email: str, role: str) -> None:
    await SERVICES["users"].create(CLI, UserIn(email=email, role=role, password=PASSWORD))


class Journey:
    def __init__(self, tab) -> None:
        self.tab = tab
        self.page = tab.page
        self.problems: dict[str, list[str]] = {}

    async def check(self) -> None:
        """Accessibility of the page now shown, kept to report them all at the end."""
        await expect(self.page.locator("h1")).to_have_count(1)
        violations = await serious_violations(self.page)
        if violations:
            self.problems[self.page.url] = violations

    async def sign_in(self, email: str) -> None:
        await self.page.goto("/connexion")
        await self.check()
        await self.page.get_by_label(field("Adresse électronique")).fill(email)
        await self.page.get_by_label(field("Mot de passe")).fill(PASSWORD)
        await self.page.get_by_role("button", name="Se connecter").click()
        await expect(self.page.get_by_role("heading", level=1)).to_have_text("Tableau de bord")
        await self.check()


async def answer_link(outbox: Path, recipient: str) -> str:
    """The answer link of the invitation the background sender wrote as a .eml file."""
    for _ in range(100):
        for path in sorted(outbox.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if recipient not in str(message["To"]):
                continue
            text = message.get_body(preferencelist=("plain",)).get_content()
            found = re.search(r"https?://\S+/r/[A-Za-z0-9._~-]+", text)
            if found:
                return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"aucune invitation écrite pour {recipient} dans {outbox}")


async def a_week_passes(meeting_url: str) -> None:
    """The meeting took place: moved back to yesterday, as if the week had gone by."""
    meeting_id = int(re.search(r"/reunions/(\d+)", meeting_url)[1])
    row = (
        await Meeting.select(Meeting.starts_at, Meeting.ends_at)
        .where(Meeting.id == meeting_id)
        .first()
    )
    shift = dt.timedelta(days=8)
    await Meeting.update(
        {Meeting.starts_at: row["starts_at"] - shift, Meeting.ends_at: row["ends_at"] - shift}
    ).where(Meeting.id == meeting_id)


async def test_a_coordinator_runs_a_commission(tab, data_dir):
    await make_user("coordination@cc-exemple.fr", "coordinateur")
    journey = Journey(tab)
    page = tab.page
    await journey.sign_in("coordination@cc-exemple.fr")

    # A partner, from the list page.
    await page.get_by_role("link", name="Partenaires").first.click()
    await journey.check()
    await page.get_by_role("link", name="Ajouter un partenaire").click()
    await journey.check()
    await page.get_by_label(field("Nom")).fill("Centre social Les Tilleuls")
    await page.get_by_label(field("Type")).select_option("association")
    await page.get_by_label("Parentalité").check()
    await page.get_by_role("button", name="Enregistrer").click()
    await expect(page.locator(".flash")).to_contain_text("Centre social Les Tilleuls")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Centre social Les Tilleuls")
    await journey.check()

    # A validation error, in French, next to its field.
    await page.goto("/contacts/nouveau")
    await page.get_by_label(field("Prénom")).fill("Élodie")
    await page.get_by_role("button", name="Enregistrer").click()
    await expect(page.locator("#f-last_name-erreur")).to_contain_text("Ce champ est obligatoire")
    await expect(page.locator(".error-summary")).to_be_focused()  # announced at once (RGAA)
    await journey.check()

    # The contact, attached to the partner.
    await page.get_by_label(field("Nom")).fill("Dupont")
    await page.get_by_label(field("Adresse électronique")).fill("elodie.dupont@tilleuls.example")
    await page.get_by_role("button", name="Enregistrer").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Élodie Dupont")
    await page.get_by_label("Chercher une organisation").fill("tilleuls")
    await page.get_by_role("button", name="Chercher").click()
    await page.get_by_label("Centre social Les Tilleuls").check()
    await page.get_by_label("Fonction").fill("Directrice")
    await page.get_by_role("button", name="Ajouter le rattachement").click()
    await expect(page.locator("#rattachements + table")).to_contain_text(
        "Centre social Les Tilleuls"
    )
    await journey.check()

    # A thematic commission with Élodie as titulaire.
    await page.goto("/instances/nouvelle")
    await page.get_by_label(field("Nom")).fill("Commission parentalité")
    await page.get_by_label(field("Type d'instance")).select_option("commission_thematique")
    await page.get_by_role("button", name="Enregistrer").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Commission parentalité")
    group_url = page.url
    await page.get_by_label("Chercher un contact").fill("elodie")
    await page.get_by_role("button", name="Chercher").click()
    await page.get_by_role("link", name="Choisir Élodie Dupont").click()
    await page.get_by_label(field("Rôle")).select_option("titulaire")
    await expect(page.get_by_label("Organisation représentée")).to_have_value(re.compile(r"\d+"))
    await journey.check()
    await page.get_by_role("button", name="Ajouter à l'instance").click()
    members = page.locator("#membres + table")
    await expect(members).to_contain_text("Élodie Dupont")
    await expect(members).to_contain_text("Centre social Les Tilleuls")
    await journey.check()

    # A meeting next week, its sign-in sheet, and who came.
    await page.get_by_role("link", name="Planifier une réunion").click()
    day = dt.date.today() + dt.timedelta(days=7)
    await page.get_by_label(field("Titre")).fill("Commission parentalité de rentrée")
    await page.get_by_label(field("Date")).fill(day.isoformat())
    await page.get_by_label(field("Heure de début")).fill("14:00")
    await page.get_by_label(field("Heure de fin")).fill("16:30")
    await page.get_by_label("Lieu").fill("Salle des fêtes")
    await journey.check()
    await page.get_by_role("button", name="Planifier", exact=True).click()
    await page.wait_for_load_state()
    # A date on a weekend or in school holidays asks for a confirmation first (#21).
    confirm = page.get_by_role("button", name="Planifier quand même")
    if await confirm.count():
        await confirm.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Commission parentalité de rentrée"
    )
    await expect(page.locator(".facts")).to_contain_text("14 h 00")
    await journey.check()
    meeting_url = page.url

    # Invite the commission in one click, send (file backend), answer from the written message.
    await page.get_by_role("button", name="Inviter les membres de l'instance").click()
    await expect(page.locator(".flash").first).to_contain_text("1 personne invitée.")
    # Read the invitation before it goes: the preview, then the confirmation.
    await page.get_by_role("link", name="Envoyer les invitations…").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Aperçu avant l'envoi")
    await expect(page.locator("pre.message-text")).to_contain_text("Bonjour")
    await journey.check()
    await page.get_by_role("button", name="Confirmer l'envoi de 1 message").click()
    await expect(page.locator(".flash").first).to_contain_text(
        "Mis en file d'envoi : 1 invitation."
    )
    await journey.check()
    link = await answer_link(data_dir / "e2e" / "outbox", "elodie.dupont@tilleuls.example")
    await page.goto(link)
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Commission parentalité de rentrée"
    )
    await journey.check()
    await page.get_by_label("Je participe").check()
    await page.get_by_role("button", name="Enregistrer ma réponse").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Merci, votre réponse est enregistrée"
    )
    await journey.check()
    await page.goto(meeting_url)
    await expect(page.locator("#titre-participants ~ table")).to_contain_text("Acceptée")
    await page.goto("/envois")
    await expect(page.locator("table")).to_contain_text("elodie.dupont@tilleuls.example")
    await journey.check()
    await page.get_by_role("link", name="voir le message").first.click()
    await expect(page.locator(".message-text")).to_contain_text("Commission parentalité")
    await journey.check()

    # A mass mailing is previewed (a rendered sample, who is left out) before anything is queued.
    await page.goto("/envois/nouveau")
    await page.get_by_label("Objet").fill("Lettre du réseau")
    await page.get_by_label("Texte du message").fill("Bonjour {{ prenom }},")
    await page.get_by_role("button", name="Prévisualiser").click()
    await expect(page.locator("#apercu")).to_contain_text("recevr")
    await expect(page.get_by_role("button", name="Confirmer l'envoi")).to_be_visible()
    await journey.check()
    # The meeting is next week: attendance is refused until it has begun (#21).
    await page.goto(meeting_url)
    await expect(page.get_by_role("link", name="Enregistrer les présences")).to_have_count(0)
    await a_week_passes(meeting_url)
    await page.goto(meeting_url)
    await page.get_by_role("link", name="Feuille d'émargement").click()
    await expect(page.locator("table.sheet")).to_contain_text("DUPONT Élodie")
    await journey.check()
    await page.go_back()
    await page.get_by_role("link", name="Enregistrer les présences").click()
    await page.get_by_label("Présence", exact=True).check()
    await journey.check()
    await page.get_by_role("button", name="Enregistrer les présences").click()
    await expect(page.locator(".flash")).to_contain_text("Présences enregistrées")
    await expect(page.locator("#titre-participants ~ table")).to_contain_text("Présence")

    # The body shows it.
    await page.goto(group_url)
    await expect(page.locator(".facts")).to_contain_text("100 % de présence")
    await expect(page.locator("#titre-reunions + table")).to_contain_text(
        "Commission parentalité de rentrée"
    )
    await journey.check()

    # The meeting is over: the dashboard's to-do asks for its minutes (#21); search as you
    # type finds the partner without accents.
    await page.goto("/")
    todo = page.locator("#a-faire, section.todo")
    await expect(todo).to_contain_text("Compte rendu à envoyer : Commission parentalité de rentrée")
    await expect(
        todo.get_by_role("link", name=re.compile("Envoyer le compte rendu"))
    ).to_be_visible()
    await journey.check()
    await page.goto("/partenaires")
    await page.get_by_label("Rechercher").fill("TILLEUL")
    await expect(page.locator("#resultats")).to_contain_text("1 partenaire pour « TILLEUL »")

    # The network page counts the partner met in the commission; the drawing loads in its frame.
    await page.goto("/reseau")
    await expect(page.locator("main")).to_contain_text("Centre social Les Tilleuls")
    drawing = page.frame_locator("iframe.network-frame")
    await expect(drawing.get_by_role("heading", level=1)).to_contain_text("Réseau partenarial")
    await journey.check()

    # The Caf export, prominent on the exports page.
    await page.goto("/exports")
    await journey.check()
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Télécharger l'Export Caf (XLSX)").click()
    download = await download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = Path(await download.path())  # waits for the whole file
    assert saved.read_bytes()[:2] == b"PK"  # a workbook (zip)

    assert journey.problems == {}, journey.problems
    assert tab.foreign_requests() == []


async def test_a_reader_sees_but_cannot_write(tab):
    await make_user("lecture@caf.example", "lecteur")
    organisation = await SERVICES["organisations"].create(
        CLI, SERVICES["organisations"].spec.input(name="Mairie de Bréal", kind="collectivite")
    )
    journey = Journey(tab)
    page = tab.page
    await journey.sign_in("lecture@caf.example")
    await page.goto("/partenaires")
    await expect(page.get_by_role("link", name="Ajouter un partenaire")).to_have_count(0)
    await page.get_by_role("link", name="Mairie de Bréal").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mairie de Bréal")
    await expect(page.get_by_role("link", name="Modifier")).to_have_count(0)
    await expect(page.get_by_role("button", name="Archiver")).to_have_count(0)
    await journey.check()
    await page.goto(f"/partenaires/{organisation['id']}/modifier")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Accès refusé")
    await journey.check()
    assert journey.problems == {}, journey.problems
    assert tab.foreign_requests() == []


async def test_pages_work_without_javascript(chromium, server, database):
    await make_user("coordination@cc-exemple.fr", "coordinateur")
    context = await chromium.new_context(base_url=server, java_script_enabled=False)
    page = await context.new_page()
    await page.goto("/connexion")
    await page.get_by_label(field("Adresse électronique")).fill("coordination@cc-exemple.fr")
    await page.get_by_label(field("Mot de passe")).fill(PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await page.goto("/partenaires/nouveau")
    await page.get_by_label(field("Nom")).fill("Ludothèque")
    await page.get_by_label(field("Type")).select_option("association")
    await page.get_by_role("button", name="Enregistrer").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ludothèque")
    await page.goto("/partenaires?q=ludotheque")
    await expect(page.locator("#resultats")).to_contain_text("Ludothèque")
    await context.close()


async def test_the_accessibility_check_catches_a_real_problem(chromium):
    """A guard on the guard: an image without text alternative is a critical violation."""
    page = await chromium.new_page()
    await page.set_content(
        '<html lang="fr"><title>t</title><main><h1>t</h1><img src="x.png"></main>'
    )
    assert any(v.startswith("image-alt") for v in await serious_violations(page))
    await page.close()
