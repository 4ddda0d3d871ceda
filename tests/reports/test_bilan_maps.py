"""The bilan's map of zones blanches (PNG in the DOCX and the HTML) and its petite enfance
table, on a real territory loaded from the public registers (#18)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from docx import Document

from maillage.actor import CLI, REGISTERS
from maillage.crm.childcare import record_childcare
from maillage.geo import svg
from maillage.opendata import registers
from maillage.opendata.load import load_territory
from maillage.reports.annual import build_annual_report
from maillage.reports.collect import collect
from maillage.reports.maps import coverage_areas
from maillage.reports.render_docx import render_docx
from maillage.reports.render_html import render_html
from maillage.reports.scope import resolve_scope
from maillage.tables import Axis, Commune, CommuneOutline, Organisation

SIREN = "247300015"
TODAY = dt.date.today()


@pytest.fixture(scope="module")
def snapshot() -> registers.Snapshot:
    return registers.read_territory(
        SIREN, key=registers.mandate_key("test-secret-key-not-for-production")
    )


@pytest.fixture
async def territory(database, snapshot) -> int:
    report = await load_territory(REGISTERS, SIREN, dry_run=False, snapshot=snapshot)
    await Commune.update({Commune.population: 12_500}).where(Commune.insee_code == "73187")
    return report.territory_id


@pytest.mark.slow
async def test_the_bilan_draws_the_map_in_the_docx_and_the_html(territory):
    report = await build_annual_report(TODAY.year, territory, TODAY)

    coverage = report.section("couverture")
    chart = coverage.charts[0]
    assert chart.key == "carte" and chart.png.startswith(b"\x89PNG")
    assert chart.sheet == "Couverture"
    document = Document(io.BytesIO(render_docx(report, "bilan.xlsx")))
    captions = [p.text for p in document.paragraphs]
    assert any(text.startswith("Carte des zones blanches") for text in captions)
    html = render_html(report, "bilan.xlsx")
    assert "Carte des communes du territoire : plus une commune est foncée" in html
    charts = sum(len(section.charts) for section in report.sections)
    assert html.count("data:image/png;base64,") == charts
    assert len(document.inline_shapes) == charts


async def test_the_map_hatches_communes_without_any_partner_and_darkens_gaps(
    territory, coordinator
):
    axes = await Axis.select(Axis.id).order_by(Axis.position)
    lechere = await Commune.select(Commune.id).where(Commune.insee_code == "73187").first()
    created = await coordinator.client.post(
        "/api/v1/organisations",
        json={
            "name": "Centre social des Cimes",
            "kind": "association",
            "commune": lechere["id"],
            "axes": [a["id"] for a in axes[:6]],
        },
    )
    assert created.status_code == 201, created.text
    scope = await resolve_scope(territory)
    rows = await collect(scope, TODAY.year)
    report = await build_annual_report(TODAY.year, territory, TODAY, with_charts=False)
    sheet = next(s for s in report.section("couverture").sheets if s.key == "Couverture")

    areas = {area.code: area for area in coverage_areas(sheet, rows)}

    assert not areas["73187"].hatched  # six axes out of eight covered
    assert areas["73187"].fill == svg.PALETTE[1]  # 2 axes of 8 without a partner: light
    assert areas["73024"].hatched  # no partner on any axis
    assert all(area.shapes for area in areas.values())


@pytest.mark.slow
async def test_without_outlines_there_is_no_map(territory):
    await CommuneOutline.delete(force=True)
    report = await build_annual_report(TODAY.year, territory, TODAY)
    assert "carte" not in [c.key for c in report.section("couverture").charts]
    assert "carte-partenaires" not in [c.key for c in report.section("reseau").charts]


@pytest.mark.slow
async def test_the_bilan_places_the_partners_at_their_commune_sized_by_centrality(territory):
    located = await Organisation.count().where(
        Organisation.commune.is_not_null() & (Organisation.archived == False)  # noqa: E712
    )
    report = await build_annual_report(TODAY.year, territory, TODAY)

    chart = report.section("reseau").charts[0]
    assert chart.key == "carte-partenaires" and chart.png.startswith(b"\x89PNG")
    assert chart.title.startswith(f"Carte des partenaires : {located} partenaires à leur commune")
    assert chart.sheet == "Carte des partenaires"
    document = Document(io.BytesIO(render_docx(report, "bilan.xlsx")))
    assert any(p.text.startswith("Carte des partenaires") for p in document.paragraphs)
    html = render_html(report, "bilan.xlsx")
    assert "chaque partenaire est un disque posé sur sa commune" in html


async def test_the_partners_map_has_its_table_beside_it_in_the_html_and_the_docx(territory):
    """What the map shows, for those who do not see it (as the maps of /diagnostic): each
    commune, its partners, the under-connected and the most central."""
    report = await build_annual_report(TODAY.year, territory, TODAY)
    network = report.section("reseau")
    sheet = next(s for s in network.sheets if s.key == "Carte des partenaires")
    assert sheet.columns == [
        "Code INSEE",
        "Commune",
        "Partenaires",
        "Sous-connectés",
        "Le plus central",
    ]
    town_halls = await Organisation.select(Organisation.name).where(
        Organisation.source_ref.like("mairie:%")
    )
    assert len(sheet.rows) == 3  # the three communes
    lechere = next(r for r in sheet.rows if r[0] == "73187")
    assert lechere[1] == "La Léchère" and lechere[2] >= 1
    assert "Mairie de la Léchère" in {t["name"] for t in town_halls}
    assert lechere[4] == "—" or "centralité" in lechere[4] or lechere[4].startswith("aucun")

    html = render_html(report, "bilan.xlsx")
    figure = html.index("chaque partenaire est un disque posé sur sa commune")
    table = html.index("Partenaires par commune : le tableau de la carte")
    assert figure < table < html.index("</section>", figure)  # right after the map
    assert html.count("Partenaires par commune : le tableau de la carte") == 1
    assert '<th scope="col">Le plus central</th>' in html
    assert '<td class="">La Léchère</td>' in html

    document = Document(io.BytesIO(render_docx(report, "bilan.xlsx")))
    headers = [[c.text for c in t.rows[0].cells] for t in document.tables]
    assert headers.count(sheet.columns) == 1
    table = document.tables[headers.index(sheet.columns)]
    assert {row.cells[1].text for row in table.rows[1:]} == {r[1] for r in sheet.rows}


async def test_the_bilan_reports_the_petite_enfance_duties(territory):
    lechere = await Commune.select(Commune.id).where(Commune.insee_code == "73187").first()
    await record_childcare(CLI, lechere["id"], True, None)

    report = await build_annual_report(TODAY.year, territory, TODAY, with_charts=False)

    coverage = report.section("couverture")
    sheet = next(s for s in coverage.sheets if s.key == "Petite enfance")
    row = next(r for r in sheet.rows if r[0] == "73187")
    assert row[2:] == [
        12_500,
        "Plus de 10 000 habitants : schéma pluriannuel de l'offre d'accueil et relais petite "
        "enfance (depuis le 1er janvier 2026, art. D.214-10-1 CASF)",
        "existe",
        "non renseigné",
    ]
    paragraph = next(p for p in coverage.paragraphs if "petite enfance" in p)
    assert "Schéma ou relais absent ou non renseigné : La Léchère." in paragraph
    assert coverage.figures["childcare"]["schema"] == 1
