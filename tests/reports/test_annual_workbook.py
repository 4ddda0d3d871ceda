"""The XLSX holds the rows behind each figure: they add up to what the text says."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from maillage.reports.annual import build_annual_report
from maillage.reports.render_xlsx import render_xlsx
from tests.reports.world import TODAY


async def workbook_and_report(year: int = 2026):
    report = await build_annual_report(year, None, TODAY, with_charts=False)
    workbook = load_workbook(io.BytesIO(render_xlsx(report)))
    return workbook, report


def rows(workbook, name: str) -> list[dict]:
    sheet = workbook[name]
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


async def test_meeting_rows_add_up_to_the_governance_figures(world):
    workbook, report = await workbook_and_report()
    figures = report.section("gouvernance").figures["2026"]
    meetings = rows(workbook, "Réunions 2026")
    assert sum(1 for m in meetings if m["Statut"] == "Tenue") == figures["held"] == 6
    assert sum(1 for m in meetings if m["Statut"] == "Annulée") == figures["cancelled"] == 1
    bodies = rows(workbook, "Instances")
    assert sum(b["Tenues 2026"] for b in bodies) == figures["held"]
    assert sum(b["Présents"] for b in bodies) == figures["present"]
    recorded = sum(b["Présents"] + b["Absents"] + b["Excusés"] for b in bodies)
    assert recorded == figures["recorded"]
    assert sum(m["Présents"] for m in meetings) == figures["present"]


async def test_mobilised_and_new_partners_are_listed_one_per_row(world):
    workbook, report = await workbook_and_report()
    figures = report.section("gouvernance").figures
    assert (
        len(rows(workbook, "Organisations mobilisées"))
        == figures["2026"]["organisations_mobilised"]
    )
    newcomers = rows(workbook, "Nouveaux partenaires")
    assert [n["Organisation"] for n in newcomers] == [
        "Club de foot de Carnoët",
        "Habitat de la Vallée",
    ]
    assert figures["new_partners"] == 2
    public = rows(workbook, "Habitants")
    assert sum(p["Participants"] or 0 for p in public) == figures["2026"]["inhabitants"] == 45


async def test_coverage_rows_count_the_zones_blanches_of_the_text(world):
    workbook, report = await workbook_and_report()
    matrix = rows(workbook, "Couverture")
    axes = [
        c
        for c in matrix[0]
        if c not in ("Code INSEE", "Commune", "Population", "Axes sans partenaire")
    ]
    zeros = sum(1 for row in matrix for axis in axes if row[axis] == 0)
    assert zeros == report.section("couverture").figures["gaps"]
    assert f"{zeros} zones blanches" in report.section("couverture").paragraphs[0]
    assert sum(r["Axes sans partenaire"] for r in matrix) == zeros
    assert sum(r["Population"] for r in matrix) == 6650


async def test_each_chart_names_a_sheet_that_exists(world):
    report = await build_annual_report(2026, None, TODAY)
    workbook = load_workbook(io.BytesIO(render_xlsx(report)))
    charts = [c for s in report.sections for c in s.charts]
    assert {c.sheet for c in charts} == {"Instances", "Réseau", "Couverture"}
    assert all(c.sheet in workbook.sheetnames for c in charts)
    assert rows(workbook, "Points d'attention")  # the missing data travels with the numbers
