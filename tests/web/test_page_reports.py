"""The annual report and the action plan inside the common layout, with the menu."""

from __future__ import annotations

import datetime as dt

from tests.web.helpers import create, html_text, small_network


async def test_the_annual_report_has_the_menu_and_one_heading(reader_web, admin):
    await create(admin.client, "territories", {"name": "CC du Val"})
    await small_network(admin.client)
    year = dt.date.today().year
    response = await reader_web.get(f"/bilan?year={year}")
    assert response.status_code == 200
    assert 'aria-label="Menu principal"' in response.text
    assert '<a href="/bilan" aria-current="page">Bilan annuel</a>' in response.text
    assert response.text.count("<h1") == 1
    assert "Points d'attention avant envoi" in html_text(response)
    assert 'href="/static/reports.css"' in response.text
    # The sheets as tables (one macro, shared with the meeting pack).
    assert '<table>\n      <thead><tr><th scope="col">' in response.text


async def test_the_action_plan_has_the_menu(reader_web):
    response = await reader_web.get("/plan-d-action")
    assert response.status_code == 200
    assert '<a href="/plan-d-action" aria-current="page">' in response.text
    assert "Plan d'action de la CTG" in html_text(response)
    assert response.text.count("<h1") == 1


async def test_the_downloaded_report_stays_a_standalone_document(reader_web, admin):
    await create(admin.client, "territories", {"name": "CC du Val"})
    await small_network(admin.client)
    year = dt.date.today().year
    response = await reader_web.get(f"/bilan/telecharger?year={year}&format=html")
    assert response.status_code == 200
    assert "Menu principal" not in response.text and "<style>" in response.text


async def test_a_year_without_data_says_so_on_the_report_page(reader_web, admin):
    await create(admin.client, "territories", {"name": "CC du Val"})
    year = dt.date.today().year - 3
    response = await reader_web.get(f"/bilan?year={year}")
    assert response.status_code == 200
    page = html_text(response)
    assert f"Aucune donnée pour {year} sur CC du Val" in page
    assert "Aucune réunion n'est encore enregistrée." in page
    assert response.text.count("<h1") == 1 and '<label for="f-year">Année du bilan</label>' in (
        response.text
    )
    assert '<a href="/bilan" aria-current="page">Bilan annuel</a>' in response.text


async def test_several_territories_are_offered_to_choose_from(reader_web, admin):
    for name in ("CC du Val", "CA des Monts"):
        await create(admin.client, "territories", {"name": name})
    response = await reader_web.get("/bilan")
    assert response.status_code == 200
    page = html_text(response)
    assert "La base contient 2 territoires : précisez lequel" in page
    assert '<label for="f-territory">Territoire</label>' in response.text
    assert "CA des Monts CC du Val" in page


async def test_downloading_a_year_without_data_explains_why_and_offers_another_year(
    reader_web, admin
):
    await create(admin.client, "territories", {"name": "CC du Val"})
    year = dt.date.today().year - 3
    response = await reader_web.get(f"/bilan/telecharger?year={year}&format=docx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = html_text(response)
    assert f"Aucune donnée pour {year} sur CC du Val" in page
    assert "Aucune réunion n'est encore enregistrée." in page
    assert '<form method="get" action="/bilan"' in response.text
    assert '<label for="f-year">Année du bilan</label>' in response.text
