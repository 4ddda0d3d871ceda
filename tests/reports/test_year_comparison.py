"""N against N-1 on two seeded years: the 2026 report's 2025 column is the 2025 report."""

from __future__ import annotations

from maillage.reports.annual import build_annual_report
from maillage.reports.network import NetworkYear, movements
from tests.reports.world import TODAY, held_meetings, mobilised


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
