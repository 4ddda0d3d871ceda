"""Bad input gets a French answer or a report that says what is missing, never a broken file."""

from __future__ import annotations

import datetime as dt

import pytest

from maillage.errors import InvalidData, NotFound
from maillage.reports.annual import build_annual_report
from maillage.tables import Territory
from tests.reports.world import TODAY, insert


async def test_a_future_year_is_refused_in_french(world, coordinator):
    response = await coordinator.client.get("/api/v1/reports/annual", params={"year": 2099})
    assert response.status_code == 400
    message = response.json()["errors"][0]["message"]
    assert message.startswith("L'année 2099 n'a pas commencé")


async def test_a_year_without_any_data_is_explained(world):
    with pytest.raises(InvalidData) as caught:
        await build_annual_report(2019, None, TODAY)
    message = caught.value.errors[0].message
    assert "Aucune donnée pour 2019" in message
    assert "La première réunion enregistrée date de 2025." in message


async def test_an_empty_database_is_explained(database):
    with pytest.raises(InvalidData) as caught:
        await build_annual_report(2026, None, TODAY)
    assert "Aucune réunion n'est encore enregistrée." in caught.value.errors[0].message


async def test_a_territory_without_communes_gets_a_report_that_says_so(world):
    empty = await insert(Territory(name="Territoire vide", search="vide"))
    with pytest.raises(InvalidData):  # two territories now: the report must be told which
        await build_annual_report(2026, None, TODAY)
    report = await build_annual_report(2026, empty, TODAY, with_charts=False)
    assert "Territoire vide" in report.section("couverture").paragraphs[0]
    assert "aucune commune rattachée" in report.section("couverture").paragraphs[0]
    assert any(w.topic == "communes" for w in report.warnings)
    assert "Dates de la CTG non renseignées" in report.context[1]


async def test_a_territory_without_communes_has_no_diagnostic(world, coordinator):
    empty = await insert(Territory(name="Territoire vide", search="vide"))
    response = await coordinator.client.get(
        "/api/v1/reports/diagnostic", params={"territory": empty}
    )
    assert response.status_code == 400
    assert "n'a aucune commune" in response.json()["errors"][0]["message"]


async def test_several_territories_need_a_choice(world, coordinator):
    await insert(Territory(name="Autre territoire", search="autre"))
    response = await coordinator.client.get("/api/v1/reports/annual", params={"year": 2026})
    assert response.status_code == 400
    assert "précisez lequel" in response.json()["errors"][0]["message"]
    assert "Val d'Ardoise" in response.json()["errors"][0]["message"]


async def test_an_unknown_territory_is_not_found(world):
    with pytest.raises(NotFound):
        await build_annual_report(2026, 999, TODAY)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/reports/annual", {"year": 2026, "format": "pdf"}),
        ("/api/v1/reports/diagnostic", {"format": "ods"}),
        ("/api/v1/reports/diagnostic", {"kind": "ovni"}),
        ("/api/v1/reports/annual", {"year": "deux-mille"}),
    ],
)
async def test_bad_parameters_are_refused_in_french(world, coordinator, path, params):
    response = await coordinator.client.get(path, params=params)
    assert response.status_code == 400
    assert response.json()["detail"]


async def test_a_year_outside_the_ctg_is_said(world):
    report = await build_annual_report(2026, None, TODAY, with_charts=False)
    assert "2e année" in report.context[1]
    from maillage.tables import Territory as T

    await (
        T.update({T.ctg_start: dt.date(2018, 1, 1), T.ctg_end: dt.date(2022, 12, 31)})
        .where(T.id == world.territory)
        .run()
    )
    report = await build_annual_report(2026, None, TODAY, with_charts=False)
    assert report.context[1] == "2026 est hors de la période de la CTG (2018–2022)."
