"""The territorial diagnostic: communes × axes, weighted by population, zones blanches first."""

from __future__ import annotations

import csv
import datetime as dt
import io

from openpyxl import load_workbook

from maillage.actor import CLI
from maillage.crm.childcare import record_childcare
from maillage.reports.coverage import coverage_gaps, diagnostic
from maillage.tables import Axis, Commune, CommuneIndicator


async def test_it_counts_partners_per_commune_and_axis(world):
    coverage = await diagnostic(None)
    ardoise = next(c for c in coverage.communes if c.name == "Ardoise")
    axes = {a["name"]: a["id"] for a in coverage.axes}
    # mairie and crèche on petite enfance; the Caf has no commune and counts nowhere
    assert ardoise.counts[axes["Petite enfance"]] == 2
    assert ardoise.counts[axes["Logement"]] == 0
    by_axis = {a.name: a for a in coverage.by_axis()}
    assert by_axis["Jeunesse"].population_covered == 4200 + 650
    assert by_axis["Jeunesse"].population_uncovered == 1800
    assert by_axis["Inclusion numérique"].population_share == 0


async def test_a_kind_filter_keeps_only_that_kind(world):
    coverage = await diagnostic(None, ("etablissement",))
    total = sum(n for c in coverage.communes for n in c.counts.values())
    assert total == 1  # the crèche


async def test_the_dashboard_alert_lists_the_most_populated_gaps_first(world):
    alert = await coverage_gaps(limit=3)
    assert alert["total"] == 16
    assert [g["commune_name"] for g in alert["items"]] == ["Ardoise"] * 3
    assert {g["axis_name"] for g in alert["items"]} == {
        "Accès aux droits",
        "Logement",
        "Inclusion numérique",
    }


async def test_it_exports_csv_for_french_excel(world, reader):
    response = await reader.client.get("/api/v1/reports/diagnostic", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-disposition"].endswith('"diagnostic-territorial.csv"')
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeffCode INSEE;Commune;Population;Petite enfance")
    assert "35901;Ardoise;4200;2;1;1;1;1;0;0;0;3" in text


async def test_names_typed_as_formulas_reach_the_csv_as_text(world, reader):
    formula = '=HYPERLINK("https://evil.example";"Ardoise")'
    await Commune.update({Commune.name: formula}).where(Commune.name == "Ardoise")
    await Axis.update({Axis.name: "+" + formula}).where(Axis.name == "Logement")
    response = await reader.client.get("/api/v1/reports/diagnostic", params={"format": "csv"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff")), delimiter=";"))
    cells = [cell for row in rows for cell in row]
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert "'" + formula in cells and "'+" + formula in rows[0]


async def test_it_exports_xlsx_with_the_zones_blanches_coloured(world, reader):
    response = await reader.client.get(
        "/api/v1/reports/diagnostic", params={"format": "xlsx", "kind": ["association"]}
    )
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == [
        "Lisez-moi",
        "Matrice",
        "Par axe",
        "Zones blanches",
        "Petite enfance",
    ]
    assert "association" in workbook["Lisez-moi"]["A2"].value
    matrix = workbook["Matrice"]
    coloured = [
        cell.value
        for row in matrix.iter_rows(min_row=2, min_col=4, max_col=matrix.max_column - 1)
        for cell in row
        if cell.fill.fgColor.rgb.endswith("F4B183")
    ]
    assert coloured and set(coloured) == {0}
    gaps = workbook["Zones blanches"].max_row - 1
    assert len(coloured) == gaps == sum(row[-1].value for row in matrix.iter_rows(min_row=2))


async def _ardoise_figures() -> int:
    """Ardoise (4,200 inhabitants) has a schéma recorded and two dated figures, one older."""
    ardoise = await Commune.select(Commune.id).where(Commune.name == "Ardoise").first()
    await record_childcare(CLI, ardoise["id"], True, None)
    for code, value, day, source in (
        ("places_eaje", 12, dt.date(2024, 12, 31), "Cafdata 2024"),
        ("places_eaje", 18, dt.date(2025, 12, 31), "Cafdata 2025"),
        ("enfants_moins_3_ans", 120, dt.date(2025, 1, 1), "=INSEE"),
    ):
        await CommuneIndicator.insert(
            CommuneIndicator(
                commune=ardoise["id"], code=code, value=value, measured_on=day, source=source
            )
        )
    return ardoise["id"]


async def test_the_json_gives_each_commune_its_duty_its_indicators_and_its_rate(world, reader):
    await _ardoise_figures()
    response = await reader.client.get("/api/v1/reports/diagnostic")
    assert response.status_code == 200
    data = response.json()
    assert [i["code"] for i in data["indicators"]] == ["places_eaje", "enfants_moins_3_ans"]
    ardoise = next(c for c in data["communes"] if c["name"] == "Ardoise")
    assert ardoise["childcare"]["duty"] == "planification"
    assert ardoise["childcare"]["schema_exists"] is True
    assert ardoise["childcare"]["relais_exists"] is None
    assert ardoise["indicators"]["places_eaje"] == {
        "value": 18,
        "measured_on": "2025-12-31",
        "source": "Cafdata 2025",
    }
    assert ardoise["coverage_rate"] == 15
    other = next(c for c in data["communes"] if c["name"] != "Ardoise")
    assert other["indicators"] == {} and other["coverage_rate"] is None


async def test_the_files_carry_the_duty_the_indicators_and_the_rate_in_french(world, reader):
    await _ardoise_figures()
    response = await reader.client.get("/api/v1/reports/diagnostic", params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff")), delimiter=";"))
    header = rows[0]
    ardoise = dict(zip(header, next(r for r in rows if r[1] == "Ardoise"), strict=True))
    assert ardoise["Obligation petite enfance"] == "Planification de l'offre"
    assert ardoise["Schéma pluriannuel"] == "oui"
    assert ardoise["Relais petite enfance"] == "non renseigné"
    assert ardoise["Places en EAJE"] == "18"
    assert ardoise["Places en EAJE : date"] == "31/12/2025"
    assert ardoise["Enfants de moins de 3 ans : source"] == "'=INSEE"  # neutralised
    assert ardoise["Places en EAJE pour 100 enfants de moins de 3 ans"] == "15"

    response = await reader.client.get("/api/v1/reports/diagnostic", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content))["Petite enfance"]
    values = list(sheet.iter_rows(values_only=True))
    row = dict(zip(values[0], next(r for r in values if r[1] == "Ardoise"), strict=True))
    assert row["Places en EAJE : date"] == dt.datetime(2025, 12, 31)
    assert row["Places en EAJE pour 100 enfants de moins de 3 ans"] == 15
    assert row["Schéma pluriannuel"] == "oui"
