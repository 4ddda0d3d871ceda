"""The dashboard tells admins when the links written in mails would not reach the service (#21)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from maillage.settings import Settings
from tests.web.helpers import html_text


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Left at its default while the pages are opened at http://testserver.
    return dataclasses.replace(settings, base_url="http://127.0.0.1:8000")


@pytest.mark.slow
async def test_it_warns_admins_that_answer_links_miss_the_service(admin_web):
    page = html_text(await admin_web.get("/"))
    assert "MAILLAGE_BASE_URL vaut « http://127.0.0.1:8000 »" in page
    assert "« http://testserver »" in page


async def test_it_does_not_worry_coordinators_who_cannot_change_it(coordinator_web):
    page = html_text(await coordinator_web.get("/"))
    assert "MAILLAGE_BASE_URL" not in page


async def test_the_bilan_alert_links_to_the_bilan(admin_web):
    if dt.date.today().month not in (12, 1):
        pytest.skip("the bilan alert shows from 1 December to 31 January")
    response = await admin_web.get("/")
    assert "Bilan annuel" in response.text
    assert 'href="/bilan">Préparer le bilan</a>' in response.text
