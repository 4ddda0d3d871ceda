"""The network analysis on the demo territory shows the story the demo was built with.

README « Le territoire de démonstration »: central partners, a handful of isolated organisations,
the CCAS manager invited six times who never came, the « aller-vers » group resting on the Caf,
the deputy mayor of Montgerval who alone ties the housing commission to the other bodies. Runs on
SQLite, and on PostgreSQL when MAILLAGE_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import datetime as dt

import pytest

from maillage import db
from maillage.crm.demo import load_demo
from maillage.crm.seed import ensure_axes
from maillage.graph.data import NetworkFilter
from maillage.graph.network import load_network_data, network_service
from maillage.graph.report import analyse

TODAY = dt.date(2026, 11, 29)
AS_OF_DEMO = NetworkFilter(end=TODAY)  # the demo's dates are placed relative to its « today »
# What the README lists as left out on purpose: sports clubs, the theatre company, two
# companies, libraries.
ISOLATED_ON_PURPOSE = ("Tir à l'arc", "Judo", "Compagnie théâtrale", "Médiathèque", "Football")
NEVER_CAME = "invité 6 fois, jamais venu"


@pytest.fixture
async def demo(database: str) -> str:
    await load_demo(seed=1, today=TODAY)
    return database


async def report(level: str = "organisations"):
    return await network_service.report(AS_OF_DEMO, level, TODAY)


def reasons(finding) -> set[str]:
    return {reason.code for reason in finding.reasons}


def by_name(result, name: str) -> str:
    (node,) = [n for n, label in result.graph.nodes(data="label") if label == name]
    return node


async def test_the_isolated_organisations_are_flagged_isolated(demo):
    result = await report()
    isolated = {f.name: f for f in result.under_connected if "isole" in reasons(f)}
    assert 7 <= len(isolated) <= 10
    for name, finding in isolated.items():
        kind = result.graph.nodes[finding.node]["kind"]
        assert name.startswith(ISOLATED_ON_PURPOSE) or kind == "entreprise", name
        assert "isolé : aucun lien" in [r.message for r in finding.reasons]
    assert {"Tir à l'arc des Schistes", "Judo club intercommunal"} <= set(isolated)
    assert result.metrics.network["isolates"] == len(isolated)


@pytest.mark.slow
async def test_the_person_invited_six_times_who_never_came(demo):
    people = await report("contacts")
    never = [f for f in people.under_connected if "jamais_venu" in reasons(f)]
    assert len(never) == 1  # the demo keeps that the story of one person
    (person,) = never
    assert NEVER_CAME in [r.message for r in person.reasons]
    organisations = await report()
    ccas = next(f for f in organisations.under_connected if f.name.startswith("CCAS"))
    assert ccas.name == "CCAS de Saint-Aubin-d'Ardoise"
    assert NEVER_CAME in [r.message for r in ccas.reasons]


async def test_the_aller_vers_group_rests_on_the_caf(demo):
    result = await report()
    (point,) = [p for p in result.fragile_points if p["name"].startswith("Groupe de travail Aller")]
    assert point["type"] == "instance_dependante"
    caf = result.graph.nodes[point["organisation"]]["label"]
    assert caf.startswith("Caf ")
    assert point["presences"] == point["total"]  # only the Caf's agents ever came
    assert point["message"].startswith(f"la présence aux réunions repose sur « {caf} »")


async def test_the_deputy_mayor_is_the_bridge_to_the_housing_commission(demo):
    people = await report("contacts")
    (held,) = [p for p in people.fragile_points if p["type"] == "instance_reliee_par_une_personne"]
    assert held["name"] == "Commission thématique Logement"
    deputy = held["contact"]
    assert f"que par {people.graph.nodes[deputy]['label']} :" in held["message"]
    data = await load_network_data(TODAY)
    functions = {a.function for a in data.affiliations if f"c{a.contact}" == deputy}
    assert any(f.startswith("Adjoint") for f in functions) and functions & {
        "Présidente",
        "Président",
    }
    # Between the housing people and the rest: among the top brokers of the person network.
    ranking = sorted(people.graph, key=lambda n: -people.metrics.nodes[n]["betweenness"])
    assert ranking.index(deputy) < 5
    # The organisations level names the same body: the flag does not depend on the level.
    organisations = await report()
    assert held in organisations.fragile_points
    # She ties the bodies, not the partners: her colleagues at the EPCI and the housing partners'
    # own ties keep the commission's members in the network without her, so neither she nor
    # her association is a cut point (README « Le pont »).
    assert not people.metrics.nodes[deputy]["articulation_point"]
    association = by_name(organisations, "Logement Jeunes du Val")
    assert not organisations.metrics.nodes[association]["articulation_point"]


async def test_the_epci_is_the_cut_point_of_its_dsp_operators(demo):
    """The real articulation point of the demo: the five operators hold to the network only
    by their delegation contracts with the EPCI."""
    result = await report()
    cuts = [p for p in result.fragile_points if p["type"] == "point_d_articulation"]
    assert [(p["name"], p["cut_off"]) for p in cuts] == [
        ("Communauté de communes du Val d'Ardoise", 5)
    ]
    assert cuts[0]["message"] == "son départ couperait 5 partenaires du reste du réseau"
    epci = cuts[0]["id"]
    operators = {n for n in result.graph if result.graph.nodes[n]["kind"] == "operateur_dsp"}
    assert len(operators) == 5 and all(set(result.graph[n]) == {epci} for n in operators)


@pytest.mark.slow
async def test_central_partners_rank_first_by_pagerank(demo):
    result = await report()
    top = sorted(result.graph, key=lambda n: -result.metrics.nodes[n]["pagerank"])[:3]
    names = [result.graph.nodes[n]["label"] for n in top]
    assert names[0] == "Communauté de communes du Val d'Ardoise"
    assert any(name.startswith("Caf ") for name in names)
    assert "Centre social Les Ardoisiers" in names
    people = await report("contacts")
    first = max(people.graph, key=lambda n: people.metrics.nodes[n]["pagerank"])
    data = await load_network_data(TODAY)
    functions = {a.function for a in data.affiliations if f"c{a.contact}" == first}
    assert functions == {"Chargée de coopération CTG"}


async def test_an_isolated_partner_gets_bodies_and_partners_with_reasons(demo):
    result = await report()
    node = by_name(result, "Judo club intercommunal")
    (suggestion,) = [s for s in result.suggestions if s["id"] == node]
    assert suggestion["bodies"] and suggestion["partners"]
    assert "Réseau des acteurs jeunesse" in [b["name"] for b in suggestion["bodies"]]
    for proposal in suggestion["bodies"] + suggestion["partners"]:
        assert proposal["reasons"] and all(isinstance(r, str) and r for r in proposal["reasons"])
    action = suggestion["bodies"][0]["action"]
    assert action["method"] == "POST" and action["path"] == "/api/v1/network/memberships"


async def test_same_seed_same_communities(demo):
    def named(result) -> list[list[str]]:
        labels = dict(result.graph.nodes(data="label"))
        return [sorted(labels[n] for n in community) for community in result.metrics.communities]

    first = analyse(await load_network_data(TODAY), AS_OF_DEMO)
    await db.clear_all()
    await ensure_axes()
    await load_demo(seed=1, today=TODAY)
    second = analyse(await load_network_data(TODAY), AS_OF_DEMO)
    assert named(first) == named(second)
    assert first.metrics.network == second.metrics.network
    assert len(first.metrics.communities) > 3


async def test_the_api_tells_the_same_story(demo, reader):
    response = await reader.client.get(
        "/api/v1/network/under-connected", params={"end": TODAY.isoformat()}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    messages = {f["name"]: [r["message"] for r in f["reasons"]] for f in body["under_connected"]}
    assert messages["Judo club intercommunal"] == ["isolé : aucun lien"]
    assert NEVER_CAME in messages["CCAS de Saint-Aubin-d'Ardoise"]
    types = {p["name"]: p["type"] for p in body["fragile_points"]}
    assert types["Groupe de travail Aller-vers les familles"] == "instance_dependante"
    assert types["Commission thématique Logement"] == "instance_reliee_par_une_personne"
    people = await reader.client.get(
        "/api/v1/network/report", params={"end": TODAY.isoformat(), "level": "contacts"}
    )
    assert people.status_code == 200
    never = [
        f for f in people.json()["under_connected"]
        if NEVER_CAME in [r["message"] for r in f["reasons"]]
    ]  # fmt: skip
    assert len(never) == 1
    suggestions = await reader.client.get(
        "/api/v1/network/suggestions", params={"end": TODAY.isoformat()}
    )
    judo = next(s for s in suggestions.json()["suggestions"] if s["name"].startswith("Judo"))
    assert judo["bodies"] and judo["partners"]
