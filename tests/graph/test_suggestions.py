import math
import random

import networkx as nx

from maillage.graph import suggestions
from maillage.graph.data import PartnershipRow
from maillage.graph.report import analyse
from maillage.graph.suggestions import COMPLEMENTARY

from .factory import JEUNESSE, PETITE_ENFANCE, body, group, org, staffed


def youth_network():
    return staffed(
        [
            org(1, "Caf", "institution", axes=(JEUNESSE, PETITE_ENFANCE), commune=1),
            org(2, "Mairie", "collectivite", axes=(JEUNESSE,), commune=1),
            org(3, "Club ados", "association", axes=(JEUNESSE,), commune=1),
            org(4, "Crèche", "etablissement", axes=(PETITE_ENFANCE,), commune=2),
        ],
        groups=[
            group(
                1, "Commission jeunesse", "commission_thematique", axes=(JEUNESSE,), communes=(1,)
            ),
            group(2, "Commission petite enfance", "commission_thematique", axes=(PETITE_ENFANCE,)),
        ],
        memberships=body(1, 1, 2) + body(2, 1, 4),
    )


def suggestions_for(report, node):
    return next(s for s in report.suggestions if s["id"] == node)


def test_an_isolated_association_is_invited_to_the_body_of_its_axis_and_commune():
    report = analyse(youth_network())
    bodies = suggestions_for(report, "o3")["bodies"]
    assert bodies[0]["name"] == "Commission jeunesse"
    assert bodies[0]["reasons"] == ["axe Jeunesse en commun", "couvre Ville-Centre"]
    assert bodies[0]["action"] == {
        "method": "POST",
        "path": "/api/v1/network/memberships",
        "body": {"working_group": 1, "organisation": 3, "contact": 3},
        "person": "Mme Prénom3 Nom3",  # the page names whom it would enrol (#21)
    }
    assert all(b["name"] != "Commission petite enfance" for b in bodies)


def test_partners_to_meet_come_with_their_reasons():
    partners = suggestions_for(analyse(youth_network()), "o3")["partners"]
    names = [p["name"] for p in partners]
    assert names[0] in {"Caf", "Mairie"}
    mairie = next(p for p in partners if p["name"] == "Mairie")
    assert "axe Jeunesse en commun" in mairie["reasons"]
    assert "même commune (Ville-Centre)" in mairie["reasons"]
    assert "complémentaires : association et collectivité" in mairie["reasons"]


def test_two_step_neighbours_are_scored_by_resource_allocation():
    partners = suggestions_for(analyse(youth_network()), "o4")["partners"]
    mairie = next(p for p in partners if p["name"] == "Mairie")
    # common neighbour: the Caf, with 2 ties (Mairie, Crèche) → 1/2
    assert "1 partenaire en commun (indice de proximité : 0,50)" in mairie["reasons"]


def test_no_action_when_the_organisation_has_nobody_to_register():
    data = youth_network()
    data.affiliations = [a for a in data.affiliations if a.organisation != 3]
    bodies = suggestions_for(analyse(data), "o3")["bodies"]
    assert bodies[0]["action"] is None


def random_network(seed: int = 5):
    """60 organisations on two axes and two communes, 8 bodies, some partnerships."""
    rng = random.Random(seed)
    kinds = ["association", "collectivite", "institution", "etablissement", "entreprise"]
    orgs = [
        org(
            i,
            f"Partenaire {i}",
            rng.choice(kinds),
            axes=tuple(sorted(rng.sample([JEUNESSE, PETITE_ENFANCE], rng.randint(0, 2)))),
            commune=rng.choice([1, 2, None]),
        )
        for i in range(1, 61)
    ]
    groups = [
        group(
            g, f"Instance {g}", "groupe_travail", axes=((JEUNESSE,), (PETITE_ENFANCE,), ())[g % 3]
        )
        for g in range(1, 9)
    ]
    memberships = [m for g in range(1, 9) for m in body(g, *rng.sample(range(1, 50), 5))]
    partnerships = [PartnershipRow(rng.randint(1, 60), rng.randint(1, 60), "convention")]
    return staffed(orgs, groups=groups, memberships=memberships, partnerships=partnerships * 3)


def expected_partner_score(graph, node, other):
    """The score of a pair, from its definition, with NetworkX's resource allocation."""
    ((_, _, allocation),) = nx.resource_allocation_index(graph, [(node, other)])
    mine, theirs = graph.nodes[node], graph.nodes[other]
    shared = len(set(mine["axes"]) & set(theirs["axes"]))
    score = 3 * allocation + 1.5 * shared
    score += mine["commune"] is not None and mine["commune"] == theirs["commune"]
    score += frozenset((mine["kind"], theirs["kind"])) in COMPLEMENTARY
    if shared or set(graph[node]) & set(graph[other]):
        score += 0.5 * math.log1p(graph.degree(other))
    return allocation, score


def test_vectorised_partner_scores_match_their_definition():
    report = analyse(random_network())
    graph = report.graph
    checked = 0
    for item in report.suggestions:
        scores = [p["score"] for p in item["partners"]]
        assert scores == sorted(scores, reverse=True)
        for partner in item["partners"]:
            assert partner["id"] != item["id"] and partner["id"] not in graph[item["id"]]
            allocation, score = expected_partner_score(graph, item["id"], partner["id"])
            assert partner["score"] == round(score, 3)
            if allocation:
                shown = f"{allocation:.2f}".replace(".", ",")
                assert any(f"indice de proximité : {shown}" in r for r in partner["reasons"])
            checked += 1
    assert checked > 20


def test_blocks_do_not_change_the_suggestions(monkeypatch):
    whole = analyse(random_network()).suggestions
    monkeypatch.setattr(suggestions, "BLOCK_CELLS", 7)  # one partner per block
    assert analyse(random_network()).suggestions == whole
