import datetime as dt

import networkx as nx
import pytest

from maillage.graph import build
from maillage.graph.data import AffiliationRow, InteractionRow, MembershipRow, PartnershipRow

from .factory import TODAY, body, group, meeting, org, staffed


def test_a_shared_body_ties_two_organisations_with_weight_one():
    data = staffed([org(1), org(2), org(3)], groups=[group(1)], memberships=body(1, 1, 2))
    graph = build.organisation_graph(data)
    assert list(graph.edges) == [("o1", "o2")]
    assert graph["o1"]["o2"]["weight"] == 1.0
    assert graph["o1"]["o2"]["shared_bodies"] == 1
    assert graph.degree("o3") == 0


def test_meetings_attended_together_weigh_more_when_recent():
    recent, recent_invitations = meeting(1, 1, TODAY, present=[1, 2])
    old, old_invitations = meeting(2, 1, TODAY - dt.timedelta(days=365), present=[1, 2])
    data = staffed(
        [org(1), org(2)],
        groups=[group(1)],
        memberships=body(1, 1, 2),
        meetings=[recent, old],
        invitations=recent_invitations + old_invitations,
    )
    tie = build.organisation_graph(data)["o1"]["o2"]
    # 1 shared body + 0.5 × (1 for today's meeting + 0.5 for last year's)
    assert tie["weight"] == pytest.approx(1 + 0.5 * 1.5)
    assert tie["meetings_together"] == 2


def test_duplicate_partnerships_add_up_and_self_ties_are_ignored():
    data = staffed(
        [org(1), org(2)],
        partnerships=[
            PartnershipRow(1, 2, "convention"),
            PartnershipRow(2, 1, "delegation_dsp"),
            PartnershipRow(1, 1, "convention"),
        ],
    )
    graph = build.organisation_graph(data)
    assert nx.number_of_selfloops(graph) == 0
    assert graph["o1"]["o2"]["partnerships"] == 2
    assert graph["o1"]["o2"]["partnership_kinds"] == "convention,delegation_dsp"


def test_one_person_in_two_organisations_ties_them():
    data = staffed(
        [org(1), org(2, kind="collectivite")],
        affiliations=[AffiliationRow(1, 1), AffiliationRow(1, 2, elected_mandate=True)],
    )
    graph = build.organisation_graph(data)
    assert graph["o1"]["o2"]["shared_people"] == 1
    assert graph["o1"]["o2"]["_carriers"] == {"o1": {1}, "o2": {1}}


def test_a_member_without_represented_organisation_counts_for_her_affiliations():
    data = staffed(
        [org(1), org(2)],
        groups=[group(1)],
        memberships=[MembershipRow(1, 1), MembershipRow(2, 1, organisation=2)],
    )
    assert build.organisation_graph(data).has_edge("o1", "o2")


def test_people_are_tied_by_bodies_and_by_their_organisation():
    data = staffed(
        [org(1), org(2)],
        affiliations=[AffiliationRow(1, 1), AffiliationRow(2, 2), AffiliationRow(3, 2)],
        contacts=[*staffed([org(1), org(2), org(3)]).contacts],
        groups=[group(1)],
        memberships=body(1, 1, 2),
    )
    graph = build.person_graph(data)
    assert graph["c1"]["c2"]["shared_bodies"] == 1
    assert graph["c2"]["c3"]["colleagues"] == 1
    assert graph.nodes["c1"]["label"] == "Mme Prénom1 Nom1"


def test_the_affiliation_graph_is_bipartite():
    data = staffed([org(1), org(2)], groups=[group(1), group(2)], memberships=body(1, 1, 2))
    graph = build.affiliation_graph(data)
    assert nx.is_bipartite(graph)
    assert {n for n, side in graph.nodes(data="bipartite") if side == 1} == {"g1", "g2"}
    assert graph.has_edge("o1", "g1") and graph.has_edge("c1", "g1")


def test_interactions_add_weak_ties_and_date_the_last_contact():
    data = staffed(
        [org(1), org(2)],
        interactions=[
            InteractionRow(1, dt.date(2026, 1, 5), organisations=(1, 2)),
            InteractionRow(2, dt.date(2026, 3, 9), contacts=(2,), follow_up_on=dt.date(2026, 4, 1)),
        ],
    )
    graph = build.organisation_graph(data)
    assert graph["o1"]["o2"]["weight"] == build.INTERACTION
    last = build.last_contacts(data)
    assert last["o2"].day == dt.date(2026, 3, 9) and last["o2"].count == 2
    assert last["o1"].day == dt.date(2026, 1, 5)
