"""N against N-1 on two seeded years: the 2026 report's 2025 column is the 2025 report."""

from __future__ import annotations

import datetime as dt

from maillage.graph.data import NetworkFilter
from maillage.graph.network import NetworkService
from maillage.reports.annual import build_annual_report
from maillage.reports.network import NetworkYear, movements
from maillage.tables import Affiliation, Contact
from tests.reports.world import TODAY, held_meetings, insert, mobilised


async def test_previous_year_figures_match_the_report_of_that_year(world):
    current = await build_annual_report(2026, None, TODAY, with_charts=False)
    previous = await build_annual_report(2025, None, TODAY, with_charts=False)
    assert (
        current.section("gouvernance").figures["2025"]
        == previous.section("gouvernance").figures["2025"]
    )
    assert current.section("reseau").figures["2025"] == previous.section("reseau").figures["2025"]
    assert current.section("gouvernance").figures["2025"]["held"] == len(await held_meetings(2025))
    assert current.section("gouvernance").figures["2025"]["organisations_mobilised"] == len(
        await mobilised(2025)
    )


async def test_the_network_of_each_year_is_the_network_analysis_of_that_year(world):
    report = await build_annual_report(2026, None, TODAY, with_charts=False)
    figures = report.section("reseau").figures
    # 2025: Caf, mairie, CCAS and centre social sit together in the COPIL (6 ties), the
    # commission adds mairie–crèche and centre–crèche; club and bailleur arrive in 2026.
    assert figures["2025"]["organisations"] == 5
    assert figures["2025"]["ties"] == 8 and figures["2025"]["isolates"] == 0
    # 2026: the club joins the jeunesse group with the centre social; the bailleur sits nowhere.
    assert figures["2026"]["organisations"] == 7
    assert figures["2026"]["ties"] == 9 and figures["2026"]["isolates"] == 1
    under = next(s for s in report.section("reseau").sheets if s.key == "Partenaires peu reliés")
    found = {row[0]: row for row in under.rows}
    assert found["Habitat de la Vallée"][1] == "isolé : aucun lien"
    assert found["Habitat de la Vallée"][2] == "aucun échange enregistré dans l'année"
    assert "2 échanges" in found["Club de foot de Carnoët"][2]
    assert "01/09/2026" in found["Club de foot de Carnoët"][2]


def test_partners_moving_to_the_core_and_drifting_away_are_named():
    before = NetworkYear(2025, 4, 4, 0.5, 0, 1.0, 1, core={1, 2, 3}, periphery={4})
    after = NetworkYear(2026, 4, 4, 0.5, 0, 1.0, 1, core={1, 2, 4}, periphery={3})
    assert movements(before, after) == {"to_core": {4}, "drifted": {3}}


async def test_attendance_rates_per_body_for_both_years(world):
    report = await build_annual_report(2026, None, TODAY, with_charts=False)
    by_body = {b["body"]: b for b in report.section("gouvernance").figures["attendance_by_body"]}
    assert by_body["COPIL CTG"]["rate"] == 7 / 8
    assert by_body["COPIL CTG"]["previous_rate"] == 3 / 4
    assert by_body["Groupe jeunesse"]["rate"] is None  # nothing recorded: no rate, a warning


async def test_the_reports_network_is_the_network_page_s_on_the_same_data(world):
    """One loader (#17): the bilan's network of 2026 is what /reseau shows for 2026, down to a
    person working for both the bailleur and the club who sits in no body (a tie of its own)."""
    both = await insert(Contact(first_name="Lou", last_name="Deux-Maisons", search="lou"))
    for partner in ("bailleur", "club"):
        await insert(Affiliation(contact=both, organisation=world.organisations[partner]))
    report = await build_annual_report(2026, None, TODAY, with_charts=False)
    figures = report.section("reseau").figures["2026"]
    selection = NetworkFilter(start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31))
    page = await NetworkService().report(selection, "organisations", dt.date(2026, 12, 31))
    network = page.metrics.network
    assert (figures["organisations"], figures["ties"], figures["isolates"]) == (
        network["nodes"],
        network["ties"],
        network["isolates"],
    )
    assert figures["density"] == network["density"]
    sheet = next(s for s in report.section("reseau").sheets if s.key == "Partenaires peu reliés")
    reasons = {row[0]: row[1] for row in sheet.rows}
    assert reasons == {
        f.name: "; ".join(r.message for r in f.reasons) for f in page.under_connected
    }
    assert reasons["Habitat de la Vallée"].startswith("un seul lien")  # Lou ties it to the club
