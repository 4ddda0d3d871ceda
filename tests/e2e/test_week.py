"""A coordinator's whole week on the demo territory, in Chromium at 1,366 px (#21): partners
saved unchanged, a new meeting, the invitations previewed then sent, an answer, attendance,
the network, the Caf export and the bilan. Never a 5xx, never a console error, never an English
word (nor a hand-written « (s) », an internal code or a Python value) on screen."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import re
from email import policy
from pathlib import Path

import pytest
from playwright.async_api import expect

from maillage.crm.demo import load_demo
from maillage.tables import Organisation, WorkingGroup
from tests.e2e.test_daily_flows import VIEWPORTS, signed_in
from tests.e2e.test_hostile_forms import ENGLISH as ENGLISH_ERRORS
from tests.e2e.test_journey import a_week_passes, field
from tests.web.test_page_words import BAD

pytestmark = pytest.mark.slow

TITLE = "Point d'étape de la semaine"
# English a page could leak: interface words of a framework or a browser, dates, Python values.
ENGLISH = re.compile(
    r"\b(the|and|with|from|your|please|click|here|submit|save|cancel|delete|edit|search|"
    r"loading|error|warning|next|previous|back|show|hide|undefined|required|invalid|"
    r"forbidden|not found|meeting|partner|member|answer|attendance|network|today|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|"
    r"april|june|july|august|september|october|november|december)\b",
    re.IGNORECASE,
)


class Week:
    def __init__(self, watched) -> None:
        self.watched = watched
        self.page = watched.page
        self.words: dict[str, list[str]] = {}

    async def read(self) -> None:
        """What the page shows, kept if a word is not French."""
        # Addresses are left out: « ctg@maillage.invalid » is a reserved domain, not a word.
        text = re.sub(r"\S+@\S+", " ", await self.page.locator("body").inner_text())
        found = sorted({m.group(0) for m in ENGLISH.finditer(text)})
        found += sorted({m.group(0) for m in ENGLISH_ERRORS.finditer(text)})
        for what, rule in BAD.items():
            found += [f"{what} : {m.group(0)}" for m in rule.finditer(text)]
        if found:
            self.words[self.page.url] = found[:8]


async def _answer_link(outbox: Path, title: str) -> str:
    """The answer link of an invitation to ``title`` the background sender wrote."""
    for _ in range(150):
        for path in sorted(outbox.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if title not in str(message["Subject"]):
                continue
            text = message.get_body(preferencelist=("plain",)).get_content()
            found = re.search(r"https?://\S+/r/[A-Za-z0-9._~-]+", text)
            if found:
                return found[0]
        await asyncio.sleep(0.2)
    raise AssertionError(f"aucune invitation à « {title} » dans {outbox}")


async def test_the_coordinators_week_reads_in_french(chromium, server, database, data_dir):
    await load_demo(seed=1, today=dt.date.today())
    context, watched = await signed_in(chromium, server, VIEWPORTS["ordinateur"])
    week = Week(watched)
    page = week.page
    try:
        await page.goto("/")
        await week.read()

        # Monday: partners opened and saved without a change (first, middle and last).
        ids = [
            r["id"] for r in await Organisation.select(Organisation.id).order_by(Organisation.id)
        ]
        for record_id in sorted({ids[0], ids[len(ids) // 2], ids[-1]}):
            await page.goto(f"/partenaires/{record_id}/modifier")
            await week.read()
            await page.get_by_role("button", name="Enregistrer").click()
            await expect(page).to_have_url(re.compile(rf"/partenaires/{record_id}$"))
            await expect(page.locator(".error-summary")).to_have_count(0)
            await week.read()

        # Tuesday: a meeting of the first body a week ahead (the journey's « a week passes »
        # brings it to yesterday), then its invitations previewed and sent.
        group = await WorkingGroup.select(WorkingGroup.id).order_by(WorkingGroup.id).first()
        await page.goto(f"/instances/{group['id']}")
        await week.read()
        await page.get_by_role("link", name="Planifier une réunion").click()
        await page.get_by_label(field("Titre")).fill(TITLE)
        await page.get_by_label(field("Date")).fill(
            (dt.date.today() + dt.timedelta(days=7)).isoformat()
        )
        await page.get_by_label(field("Heure de début")).fill("14:00")
        await page.get_by_label(field("Heure de fin")).fill("16:00")
        await week.read()
        await page.get_by_role("button", name="Planifier", exact=True).click()
        await page.wait_for_load_state()
        confirm = page.get_by_role("button", name="Planifier quand même")
        if await confirm.count():
            await week.read()
            await confirm.click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
        meeting_url = page.url
        await week.read()
        await page.get_by_role("button", name="Inviter les membres de l'instance").click()
        await expect(page.locator(".flash").first).to_contain_text("invité")
        await week.read()
        await page.get_by_role("link", name="Envoyer les invitations…").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Aperçu avant l'envoi")
        await week.read()
        await page.get_by_role("button", name=re.compile("^Confirmer l'envoi")).click()
        await expect(page.locator(".flash").first).to_contain_text("Mis en file d'envoi")
        await week.read()

        # Wednesday: an answer comes back through its link.
        await page.goto(await _answer_link(data_dir / "e2e" / "outbox", TITLE))
        await expect(page.get_by_role("heading", level=1)).to_contain_text(TITLE)
        await week.read()
        await page.get_by_label("Je participe").check()
        await page.get_by_role("button", name="Enregistrer ma réponse").click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text(
            "réponse est enregistrée"
        )
        await week.read()
        await page.goto(meeting_url)
        await expect(page.locator("#titre-participants ~ table")).to_contain_text("Acceptée")
        await week.read()

        # Thursday: the meeting took place; attendance is recorded.
        await a_week_passes(meeting_url)
        await page.goto(meeting_url)
        await page.get_by_role("link", name="Enregistrer les présences").click()
        await week.read()
        await page.get_by_label("Présence", exact=True).first.check()
        await page.get_by_role("button", name="Enregistrer les présences").click()
        await expect(page.locator(".flash")).to_contain_text("Présences enregistrées")
        await expect(page.locator("#titre-participants ~ table")).to_contain_text("Présence")
        await week.read()

        # Friday: the network, the Caf export and the bilan.
        await page.goto("/reseau")
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        await week.read()
        await page.goto("/exports")
        await week.read()
        async with page.expect_download() as download_info:
            await page.get_by_role("link", name="Télécharger l'Export Caf (XLSX)").click()
        download = await download_info.value
        assert Path(await download.path()).read_bytes()[:2] == b"PK"
        await page.goto("/bilan")
        await expect(page.get_by_role("heading", level=1)).to_contain_text("Bilan")
        await week.read()
        await page.goto("/")
        await week.read()
    finally:
        await context.close()
    watched.assert_clean()
    assert not week.words, "\n".join(f"{url} — {'; '.join(w)}" for url, w in week.words.items())
