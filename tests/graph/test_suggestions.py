from maillage.graph.report import analyse

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
    assert "1 partenaire en commun (allocation de ressources : 0,50)" in mairie["reasons"]


def test_no_action_when_the_organisation_has_nobody_to_register():
    data = youth_network()
    data.affiliations = [a for a in data.affiliations if a.organisation != 3]
    bodies = suggestions_for(analyse(data), "o3")["bodies"]
    assert bodies[0]["action"] is None
