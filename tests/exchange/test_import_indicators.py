"""Commune indicators from a file (#18): one line per commune, one column per indicator, dated
and sourced, through the same dry run and commit as every import."""

from __future__ import annotations

import datetime as dt

import pytest

from maillage.actor import IMPORT
from maillage.exchange.imports import ImportRefused, run_import
from maillage.reports.territory_maps import coverage_rate, latest_indicators
from maillage.tables import CommuneIndicator
from tests.exchange.conftest import make

CAFDATA = (
    "Code commune;Libellé commune;Année;Source;Nombre de places en EAJE;Enfants de moins de 3 ans\n"
    "35901;Ardoise;2024;Cafdata, EAJE 2024;48;120\n"
    "35902;Brocéliande;2024;Cafdata, EAJE 2024;12,5;\n"
).encode()


@pytest.fixture
async def communes(database) -> dict[str, int]:
    ardoise = await make("communes", insee_code="35901", name="Ardoise")
    broceliande = await make("communes", insee_code="35902", name="Brocéliande")
    return {"ardoise": ardoise["id"], "broceliande": broceliande["id"]}


async def test_a_dry_run_lists_the_values_and_writes_nothing(communes):
    report = await run_import(IMPORT, CAFDATA, "cafdata.csv", kind="indicateurs")
    assert report.count("creation") == 2 and report.count("rejet") == 0
    assert report.columns["Nombre de places en EAJE"] == "Places en EAJE"
    assert await CommuneIndicator.count() == 0


async def test_a_commit_stores_dated_sourced_values_and_a_second_one_changes_nothing(communes):
    await run_import(IMPORT, CAFDATA, "cafdata.csv", kind="indicateurs", commit=True)

    rows = await CommuneIndicator.select().order_by(CommuneIndicator.id)
    assert [(r["commune"], r["code"], r["value"]) for r in rows] == [
        (communes["ardoise"], "places_eaje", 48.0),
        (communes["ardoise"], "enfants_moins_3_ans", 120.0),
        (communes["broceliande"], "places_eaje", 12.5),
    ]
    assert {r["measured_on"] for r in rows} == {dt.date(2024, 12, 31)}
    assert {r["source"] for r in rows} == {"Cafdata, EAJE 2024"}
    latest = await latest_indicators(list(communes.values()))
    assert coverage_rate(latest[communes["ardoise"]]) == pytest.approx(40.0)
    assert coverage_rate(latest[communes["broceliande"]]) is None

    again = await run_import(IMPORT, CAFDATA, "cafdata.csv", kind="indicateurs", commit=True)
    assert again.count("inchange") == 2
    assert await CommuneIndicator.count() == 3


async def test_a_corrected_figure_updates_the_same_date(communes):
    await run_import(IMPORT, CAFDATA, "cafdata.csv", kind="indicateurs", commit=True)
    corrected = CAFDATA.replace(b";48;", b";50;")
    report = await run_import(IMPORT, corrected, "cafdata.csv", kind="indicateurs", commit=True)
    assert report.count("mise_a_jour") == 1
    assert await CommuneIndicator.count() == 3


async def test_bad_lines_get_french_messages_naming_line_and_column(communes):
    data = (
        b"Code INSEE;Date;Places en EAJE\n"
        b"99999;2024;10\n"
        b"35901;hier;10\n"
        b"35901;2024;beaucoup\n"
        b"35901;2024;\n"
    )
    report = await run_import(IMPORT, data, "faux.csv", kind="indicateurs")
    problems = [str(p) for line in report.rejected for p in line.problems]
    assert len(report.rejected) == 4
    assert any("ligne 2" in p and "« 99999 »" in p and "importez d'abord" in p for p in problems)
    assert any("ligne 3" in p and "Date" in p and "date illisible" in p for p in problems)
    assert any(
        "ligne 4" in p and "Places en EAJE" in p and "n'est pas un nombre" in p for p in problems
    )
    assert any("ligne 5" in p and "aucune valeur d'indicateur" in p for p in problems)
    with pytest.raises(ImportRefused):
        await run_import(IMPORT, data, "faux.csv", kind="indicateurs", commit=True)
    assert await CommuneIndicator.count() == 0


async def test_a_file_without_date_column_is_refused(communes):
    data = b"Code INSEE;Places en EAJE\n35901;10\n"
    with pytest.raises(Exception) as caught:
        await run_import(IMPORT, data, "sans-date.csv", kind="indicateurs")
    assert "Date" in str(caught.value)
