"""The pack of a meeting in a real browser (#22): from the meeting's page, one click gives the
printable document (A4 when printed) and one the DOCX."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from docx import Document
from playwright.async_api import expect

from maillage.actor import CLI
from maillage.crm.registry import SERVICES
from tests.e2e.accessibility import serious_violations
from tests.e2e.test_journey import Journey, make_user

pytestmark = pytest.mark.slow


async def _copil() -> int:
    groups, meetings = SERVICES["groups"], SERVICES["meetings"]
    group = await groups.create(CLI, groups.spec.input(name="COPIL CTG", kind="copil"))
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=10)
    meeting = await meetings.create(
        CLI,
        meetings.spec.input(
            working_group=group["id"],
            title="COPIL CTG — décembre",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
            agenda="Suites données\nAvancement des fiches action",
        ),
    )
    return meeting["id"]


async def test_a_reader_opens_and_downloads_the_pack_of_a_meeting(tab):
    await make_user("lecture@caf.example", "lecteur")
    meeting = await _copil()
    journey = Journey(tab)
    page = tab.page
    await journey.sign_in("lecture@caf.example")
    await page.goto(f"/reunions/{meeting}")
    await page.get_by_role("link", name="Dossier de séance", exact=True).click()
    await expect(page).to_have_url(re.compile(rf"/reunions/{meeting}/dossier$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Dossier de séance")
    for title in ("1. Ordre du jour", "2. Points appelant un arbitrage", "7. Chiffres clés"):
        await expect(page.get_by_role("heading", level=2, name=re.compile(title))).to_be_visible()
    await expect(page.locator("#ordre_du_jour ol li")).to_have_text(
        ["Suites données", "Avancement des fiches action"]
    )
    assert await serious_violations(page) == []
    # Printed: A4, the links and the hint left out.
    pdf = await page.pdf(prefer_css_page_size=True)
    boxes = re.findall(rb"/MediaBox\s*\[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert boxes and all(
        abs(float(w) - 595.3) < 1.5 and abs(float(h) - 841.9) < 1.5 for w, h in boxes
    )  # A4 in points, not Letter (612 × 792)
    await page.emulate_media(media="print")
    await expect(page.locator(".downloads")).to_be_hidden()
    await page.emulate_media(media="screen")
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Télécharger le document (DOCX)").click()
    download = await download_info.value
    assert re.fullmatch(rf"dossier-de-seance-\d{{4}}-\d\d-\d\d-{meeting}\.docx",
                        download.suggested_filename)  # fmt: skip
    document = Document(io.BytesIO(Path(await download.path()).read_bytes()))
    assert document.paragraphs[0].text == "Dossier de séance"
    assert tab.foreign_requests() == []
