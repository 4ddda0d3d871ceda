"""N against N-1 on two seeded years: the 2026 report's 2025 column is the 2025 report."""

from __future__ import annotations

from conftest import TODAY, held_meetings, mobilised

from maillage.reports.annual import build_annual_report


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


async def test_the_network_grows_and_the_centre_social_reaches_the_core(world):
    report = await build_annual_report(2026, None, TODAY, with_charts=False)
    figures = report.section("reseau").figures
    # 2025: Caf, mairie and CCAS co-attended the COPIL, mairie and crèche the commission;
    # the centre social sat in bodies but never came.
    assert figures["2025"]["organisations"] == 5
    assert figures["2025"]["isolates"] == 1
    assert figures["2026"]["isolates"] == 1  # the club: its only meeting had no attendance
    assert figures["2026"]["ties"] > figures["2025"]["ties"]
    assert figures["to_core"] == ["Centre social des Landes"]
    under = next(s for s in report.section("reseau").sheets if s.key == "Partenaires peu reliés")
    club = next(r for r in under.rows if r[0] == "Club de foot de Carnoët")
    assert "2 échanges" in club[2] and "01/09/2026" in club[2]


async def test_attendance_rates_per_body_for_both_years(world):
    report = await build_annual_report(2026, None, TODAY, with_charts=False)
    by_body = {b["body"]: b for b in report.section("gouvernance").figures["attendance_by_body"]}
    assert by_body["COPIL CTG"]["rate"] == 7 / 8
    assert by_body["COPIL CTG"]["previous_rate"] == 3 / 4
    assert by_body["Groupe jeunesse"]["rate"] is None  # nothing recorded: no rate, a warning
