import datetime as dt

from maillage.graph.data import PartnershipRow
from maillage.graph.report import analyse

from .factory import JEUNESSE, TODAY, body, group, meeting, org, staffed


def reasons_of(report, node):
    found = {f.node: f for f in report.under_connected}
    return [r.message for r in found[node].reasons] if node in found else []


def test_an_organisation_without_tie_is_isolated():
    report = analyse(
        staffed([org(1), org(2), org(3)], groups=[group(1)], memberships=body(1, 1, 2))
    )
    assert reasons_of(report, "o3") == ["isolé : aucun lien"]


def test_a_single_tie_names_the_person_who_carries_it():
    report = analyse(
        staffed(
            [org(1, "Caf"), org(2), org(3)],
            groups=[group(1), group(2)],
            memberships=body(1, 1, 2) + body(2, 1, 3),
        )
    )
    assert reasons_of(report, "o2") == ["un seul lien : avec « Caf » (via Mme Prénom2 Nom2)"]


def test_a_small_separate_group_is_outside_the_main_network():
    report = analyse(
        staffed(
            [org(i) for i in range(1, 6)],
            groups=[group(1), group(2)],
            memberships=body(1, 1, 2, 3) + body(2, 4, 5),
        )
    )
    assert "hors du réseau principal (dans un groupe à part de 2 partenaires)" in reasons_of(
        report, "o4"
    )
    assert reasons_of(report, "o1") == []


def test_a_partner_far_below_the_median_of_its_axis_is_weak():
    # o1…o9 all sit together (8 ties each); o10 only meets o1 and o2.
    orgs = [org(i, axes=(JEUNESSE,)) for i in range(1, 11)]
    report = analyse(
        staffed(
            orgs,
            groups=[group(1), group(2)],
            memberships=body(1, *range(1, 10)) + body(2, 1, 2, 10),
        )
    )
    assert reasons_of(report, "o10") == [
        "lien faible pour un acteur de l'axe Jeunesse (2 liens, médiane de l'axe : 8)"
    ]


def test_invited_often_but_never_came():
    rows, invitations = [], []
    for i in range(1, 7):
        held, answers = meeting(i, 1, TODAY - dt.timedelta(days=30 * i), present=[1], absent=[2])
        rows.append(held)
        invitations += answers
    report = analyse(
        staffed(
            [org(1), org(2)],
            groups=[group(1)],
            memberships=body(1, 1, 2),
            meetings=rows,
            invitations=invitations,
        )
    )
    assert "invité 6 fois, jamais venu" in reasons_of(report, "o2")


def test_no_meeting_for_fourteen_months():
    held, answers = meeting(1, 1, dt.date(2025, 4, 1), present=[1, 2])
    report = analyse(
        staffed(
            [org(1), org(2), org(3)],
            groups=[group(1)],
            memberships=body(1, 1, 2),
            meetings=[held],
            invitations=answers,
            partnerships=[PartnershipRow(1, 3)],
        )
    )
    assert "aucune réunion depuis 14 mois" in reasons_of(report, "o2")


def test_a_well_connected_partner_is_not_flagged():
    report = analyse(
        staffed([org(1), org(2), org(3)], groups=[group(1)], memberships=body(1, 1, 2, 3))
    )
    assert report.under_connected == []


def test_fragile_points_name_articulations_and_bodies_resting_on_one():
    rows, invitations = [], []
    for i in range(1, 5):
        held, answers = meeting(i, 1, TODAY - dt.timedelta(days=7 * i), present=[1], absent=[2])
        rows.append(held)
        invitations += answers
    report = analyse(
        staffed(
            [org(1, "Mairie"), org(2), org(3)],
            groups=[group(1, "Commission"), group(2), group(3, "Vide")],
            memberships=body(1, 1, 2) + body(2, 2, 3),
            meetings=rows,
            invitations=invitations,
        )
    )
    messages = {(p["name"], p["message"]) for p in report.fragile_points}
    assert ("Organisation 2", "son départ couperait 1 partenaire du reste du réseau") in messages
    assert (
        "Commission",
        "la présence aux réunions repose sur « Mairie » (4 présences sur 4)",
    ) in messages
    assert ("Vide", "instance sans aucun membre") in messages


def test_coverage_gaps_start_with_the_most_populated_commune():
    report = analyse(
        staffed(
            [org(1, kind="association", axes=(JEUNESSE,), commune=2)], groups=[], memberships=[]
        )
    )
    communes = [g for g in report.coverage_gaps if g["type"] == "commune_sans_partenaire"]
    assert (
        communes[0]["message"]
        == "Ville-Centre (12\u202f000 hab.) : aucun partenaire sur l'axe Jeunesse"
    )
    assert not any(g["commune"] == 2 and g["axis"] == JEUNESSE for g in communes)
    kinds = {
        (g["axis"], g["kind"]) for g in report.coverage_gaps if g["type"] == "axe_sans_type_cle"
    }
    assert (JEUNESSE, "collectivite") in kinds and (JEUNESSE, "association") not in kinds


def test_a_body_whose_only_member_sitting_elsewhere_holds_it_to_the_others():
    orgs = [org(i) for i in range(1, 7)]
    report = analyse(
        staffed(
            orgs,
            groups=[group(1, "Commission logement"), group(2, "Réseau"), group(3, "Binôme")],
            # 1 sits in both bodies; 2, 3 and 4 only in the commission; 5 and 6 only as a pair
            memberships=body(1, 1, 2, 3, 4) + body(2, 1, 5) + body(3, 5, 6),
        )
    )
    held = [p for p in report.fragile_points if p["type"] == "instance_reliee_par_une_personne"]
    assert [(p["name"], p["contact"], p["members"]) for p in held] == [
        ("Commission logement", "c1", 4)
    ]
    assert held[0]["message"] == (
        "ne tient aux autres instances que par Mme Prénom1 Nom1 : "
        "ses 3 autres membres ne siègent dans aucune autre instance"
    )
