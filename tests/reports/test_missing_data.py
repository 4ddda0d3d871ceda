"""Deadline awareness: what weakens the bilan is listed before anything else."""

from __future__ import annotations

from maillage.reports.annual import build_annual_report
from tests.reports.world import TODAY


async def messages(year: int = 2026) -> dict[str, list[str]]:
    report = await build_annual_report(year, None, TODAY, with_charts=False)
    found: dict[str, list[str]] = {}
    for warning in report.warnings:
        found.setdefault(warning.topic, []).append(warning.message)
    return found


async def test_it_flags_held_meetings_without_recorded_attendance(world):
    found = await messages()
    assert found["présence"] == [
        "1 réunion tenue sans présence saisie : « jeunesse du 12/5 » (Groupe jeunesse, "
        "12/05/2026). Saisissez la feuille d'émargement de chacune."
    ]


async def test_it_flags_bodies_that_never_met(world):
    found = await messages()
    assert found["instances"] == [
        "1 instance active sans aucune réunion tenue en 2026 : Réseau parentalité."
    ]


async def test_it_flags_public_meetings_without_a_count_and_stale_statuses(world):
    found = await messages()
    assert "pe du 3/10" in found["habitants"][0]
    assert "pe du 8/12" in found["statut"][0]


async def test_it_flags_indicators_without_a_value_for_the_year(world):
    found = await messages()
    assert found["indicateurs"] == [
        "1 indicateur sans valeur pour 2026 : « Communes desservies » "
        "(Ouvrir un relais petite enfance itinérant)."
    ]


async def test_the_previous_year_has_its_own_gaps(world):
    found = await messages(2025)
    assert "Réseau parentalité" in found["instances"][0]
    assert "Groupe jeunesse" in found["instances"][0]  # its only 2025 meeting was cancelled
    assert "présence" not in found


async def test_it_agrees_the_actions_without_indicators_with_their_count(world):
    from maillage.tables import Action

    await Action.update({Action.status: "en_cours"}).where(Action.id == world.actions["numerique"])
    found = await messages()
    line = next(m for m in found["indicateurs"] if "sans indicateur" in m)
    assert line.startswith("1 fiche action en cours ou réalisée sans indicateur")
    assert "(s)" not in line
