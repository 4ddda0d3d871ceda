"""The yearly evaluation of a fiche action with its budget: API, page, command line and bilan."""

from __future__ import annotations

import html

import msgspec
import pytest

from maillage.reports.actions import EvaluationIn, evaluation_problem
from maillage.reports.annual import build_annual_report
from tests.reports.test_report_command import run
from tests.reports.world import TODAY

EVALUATION = {
    "version": 1,
    "year": 2026,
    "done": "Deux tournées par semaine dans les communes rurales.",
    "results": "66 familles pour 60 visées : la demande est au rendez-vous.",
    "partners": "Caf, crèche Les Lutins",
    "decision": "poursuivre",
    "budget": [
        {"financer": "caf", "planned": 30000, "spent": 28500},
        {"financer": "commune", "planned": 10000, "spent": 10000, "note": "Mairie"},
    ],
}


def spaced(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


async def test_an_evaluation_is_recorded_through_the_api_and_replaced_by_year(world, coordinator):
    path = f"/api/v1/actions/{world.actions['rpe']}/evaluations"
    first = await coordinator.client.post(path, json=EVALUATION)
    assert first.status_code == 200, first.text
    assert first.json()["evaluations"][0]["budget"][1] == {
        "financer": "commune",
        "planned": 10000.0,
        "spent": 10000.0,
        "note": "Mairie",
    }
    earlier = {**EVALUATION, "version": 2, "year": 2025, "decision": "ajuster", "budget": []}
    assert (await coordinator.client.post(path, json=earlier)).status_code == 200
    replaced = await coordinator.client.post(
        path, json={**EVALUATION, "version": 3, "decision": "arreter"}
    )
    evaluations = replaced.json()["evaluations"]
    assert [(e["year"], e["decision"]) for e in evaluations] == [
        (2025, "ajuster"),
        (2026, "arreter"),
    ]
    stale = await coordinator.client.post(path, json=EVALUATION)
    assert stale.status_code == 409


async def test_bad_evaluations_are_refused_in_french(world, coordinator, reader):
    path = f"/api/v1/actions/{world.actions['rpe']}/evaluations"
    negative = {**EVALUATION, "budget": [{"financer": "caf", "planned": -5}]}
    assert (await coordinator.client.post(path, json=negative)).status_code == 400
    unknown = {**EVALUATION, "budget": [{"financer": "mecene", "planned": 5}]}
    assert (await coordinator.client.post(path, json=unknown)).status_code == 400
    assert (await reader.client.post(path, json=EVALUATION)).status_code == 403
    twice = await coordinator.client.patch(
        f"/api/v1/actions/{world.actions['rpe']}",
        json={"version": 1, "evaluations": [{"year": 2026}, {"year": 2026}]},
    )
    assert twice.status_code == 400
    assert "Une seule évaluation par année (2026 en double)" in twice.text


async def test_the_page_records_an_evaluation_with_french_amounts(world, coordinator):
    action = world.actions["rpe"]
    page = await coordinator.client.get(f"/plan-d-action/{action}", params={"annee": 2026})
    assert "L'année 2026 n'est pas encore évaluée." in html.unescape(page.text)
    posted = await coordinator.client.post(
        f"/plan-d-action/{action}/evaluation",
        data={
            "version": "1",
            "year": "2026",
            "done": "Tournées",
            "results": "Cible dépassée",
            "partners": "Caf",
            "decision": "ajuster",
            "financer_0": "caf",
            "planned_0": "12 500,50",
            "spent_0": "12\u202f000 €",
            "financer_2": "epci",
            "planned_2": "3000",
        },
    )
    assert posted.status_code == 303 and "erreur" not in posted.headers["location"]
    shown = spaced((await coordinator.client.get(posted.headers["location"])).text)
    assert "Évaluation 2026" in shown and "Ajuster" in shown
    assert "12 500,50 €" in shown and "12 000,00 €" in shown and "15 500,50 €" in shown
    # Saved unchanged: the form shows the amounts back as typed numbers, which read again.
    again = await coordinator.client.post(
        f"/plan-d-action/{action}/evaluation",
        data={
            "version": "2",
            "year": "2026",
            "financer_0": "caf",
            "planned_0": "12 500,5",
            "spent_0": "12 000",
            "financer_1": "epci",
            "planned_1": "3 000",
        },
    )
    assert "erreur" not in again.headers["location"]


async def test_the_page_names_what_is_wrong(world, coordinator):
    action = world.actions["rpe"]
    for form, message in (
        ({"planned_0": "12000"}, "Ligne de budget n° 1 : choisissez le financeur."),
        ({"financer_0": "caf", "planned_0": "nan"}, "« nan » n'est pas un nombre."),
        ({"financer_0": "caf", "planned_0": "-3"}, "Montant : indiquez un nombre positif"),
        ({"financer_0": "mecene"}, "Financeur inconnu"),
        ({"decision": "peut-etre"}, "Suite décidée inconnue"),
    ):
        posted = await coordinator.client.post(
            f"/plan-d-action/{action}/evaluation", data={"version": "1", "year": "2026", **form}
        )
        assert posted.status_code == 303
        shown = html.unescape((await coordinator.client.get(posted.headers["location"])).text)
        assert message in shown, form


async def test_the_bilan_sums_the_budget_per_financer_and_per_axis(world, coordinator):
    path = f"/api/v1/actions/{world.actions['rpe']}/evaluations"
    assert (await coordinator.client.post(path, json=EVALUATION)).status_code == 200
    other = f"/api/v1/actions/{world.actions['numerique']}/evaluations"
    ajuster = {
        **EVALUATION,
        "decision": "ajuster",
        "budget": [{"financer": "caf", "planned": 10000, "spent": None}],
    }
    assert (await coordinator.client.post(other, json=ajuster)).status_code == 200
    report = await build_annual_report(2026, None, TODAY)
    section = report.section("plan_action")
    assert section.figures["evaluated"] == 2
    assert section.figures["evaluation_decisions"] == {"poursuivre": 1, "ajuster": 1}
    assert section.figures["budget"]["planned"] == 50000
    assert section.figures["budget"]["spent"] == 38500
    text = spaced(" ".join(section.paragraphs))
    assert "2 fiches action évaluées sur 2 pour 2026 : 1 à poursuivre, 1 à ajuster." in text
    assert (
        "Budget 2026 : 50 000,00 € prévus, 38 500,00 € dépensés ; Caf 80 %, Commune 20 %." in text
    )
    sheets = {sheet.key: sheet for sheet in section.sheets}
    assert sheets["Budget par financeur"].rows == [["Caf", 40000, 28500], ["Commune", 10000, 10000]]
    assert [row[0] for row in sheets["Budget par axe"].rows] == [
        "Inclusion numérique",
        "Petite enfance",
    ]


@pytest.mark.slow
async def test_the_command_line_records_an_evaluation(world, settings):
    action = str(world.actions["rpe"])
    result = run(
        settings,
        *("evaluate", "--action", action, "--year", "2026", "--decision", "poursuivre"),
        *("--budget", "caf:12000:9500", "--budget", "departement:3 000,50"),
    )
    assert result.returncode == 0, result.stderr
    assert "Évaluation 2026 enregistrée pour « Ouvrir un relais petite enfance itinérant »" in (
        result.stdout
    )
    refused = run(settings, "evaluate", "--action", action, "--year", "2026", "--budget", "caf:x")
    assert refused.returncode == 1
    assert "« x » n'est pas un montant positif en euros" in refused.stderr
    unknown = run(settings, "evaluate", "--action", action, "--year", "2026", "--budget", "don:5")
    assert "le financeur parmi caf, commune, epci" in unknown.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"year": 1999}, "Année : indiquez une année entre 2000 et 2100."),
        ({"budget": [{"financer": "caf", "planned": -3}]}, "Montant : indiquez un nombre"),
        ({"budget": [{"financer": "don"}]}, "Financeur inconnu"),
        ({"budget": [{"financer": "caf", "note": "x" * 301}]}, "Précision d'une ligne de budget"),
        ({"budget": [{"financer": "caf"}] * 31}, "Budget : 30 lignes au plus."),
        ({"results": "x" * 20_001}, "Texte trop long"),
    ],
)
def test_a_refused_evaluation_is_named_by_the_field_msgspec_points_at(values, message):
    with pytest.raises(msgspec.ValidationError) as refused:
        msgspec.convert({"version": 1, "year": 2026, **values}, EvaluationIn)
    assert evaluation_problem(refused.value).startswith(message)
