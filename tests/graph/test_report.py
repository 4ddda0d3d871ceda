import datetime as dt
import gc
import json

import pytest

from maillage.graph.data import ContactRow, NetworkFilter, PartnershipRow
from maillage.graph.export import to_json
from maillage.graph.report import analyse, collector_paused
from maillage.graph.text import render

from .factory import JEUNESSE, body, group, meeting, network, org, staffed


def test_an_empty_network_says_so_in_french():
    report = analyse(network())
    assert report.empty_reason == (
        "Le réseau est vide : aucune fiche (organisations) n'est encore enregistrée."
    )
    body_ = json.loads(to_json(report))
    assert body_["nodes"] == [] and body_["under_connected"] == []
    assert "Le réseau est vide" in render(report)


def test_a_filter_that_selects_nothing_says_which_filter():
    report = analyse(staffed([org(1)]), NetworkFilter(kinds=frozenset({"entreprise"})))
    assert report.empty_reason.startswith(
        "Aucune fiche (organisations) ne correspond à la sélection"
    )
    assert "types entreprise" in report.empty_reason


def test_one_organisation_alone():
    report = analyse(staffed([org(1)]))
    assert report.metrics.network["nodes"] == 1
    assert report.metrics.network["density"] is None
    assert [r.message for r in report.under_connected[0].reasons] == ["isolé : aucun lien"]
    json.loads(to_json(report))  # allow_nan=False: raises on any NaN


def test_a_group_without_members_and_self_ties_do_not_break_anything():
    report = analyse(
        staffed([org(1), org(2)], groups=[group(1)], partnerships=[PartnershipRow(1, 1)])
    )
    assert report.metrics.network["ties"] == 0
    assert "NaN" not in to_json(report)


def test_same_data_same_report():
    data = staffed(
        [org(i, axes=(JEUNESSE,)) for i in range(1, 30)],
        groups=[group(g) for g in range(1, 6)],
        memberships=[m for g in range(1, 6) for m in body(g, *range(g, 30, g + 1))],
    )
    assert to_json(analyse(data)) == to_json(analyse(data))


def test_archived_partners_are_left_out_unless_asked():
    data = staffed([org(1), org(2, archived=True)])
    assert analyse(data).metrics.network["nodes"] == 1
    assert analyse(data, NetworkFilter(include_archived=True)).metrics.network["nodes"] == 2


def test_the_period_keeps_links_active_then_and_meetings_inside_it():
    held, answers = meeting(1, 1, dt.date(2024, 5, 1), present=[1, 2])
    data = staffed(
        [org(1), org(2)],
        groups=[group(1)],
        meetings=[held],
        invitations=answers,
        partnerships=[PartnershipRow(1, 2, end_date=dt.date(2024, 12, 31))],
    )
    in_2024 = analyse(data, NetworkFilter(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31)))
    assert in_2024.graph["o1"]["o2"]["partnerships"] == 1
    assert in_2024.graph["o1"]["o2"]["meetings_together"] == 1
    in_2025 = analyse(data, NetworkFilter(start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31)))
    assert in_2025.metrics.network["ties"] == 0


def test_axis_and_commune_filters():
    data = staffed(
        [
            org(1, axes=(JEUNESSE,), commune=1),
            org(2, commune=1),
            org(3, axes=(JEUNESSE,), commune=2),
        ]
    )
    by_axis = analyse(data, NetworkFilter(axes=frozenset({JEUNESSE})))
    assert sorted(by_axis.graph) == ["o1", "o3"]
    by_commune = analyse(data, NetworkFilter(communes=frozenset({1})))
    assert sorted(by_commune.graph) == ["o1", "o2"]


def test_the_person_level_flags_people():
    data = staffed(
        [org(1), org(2)],
        contacts=[ContactRow(1, "Ana", "B", "Mme"), ContactRow(2, "Léo", "C", "M.")],
    )
    report = analyse(data, level="contacts")
    assert {f.name for f in report.under_connected} == {"Mme Ana B", "M. Léo C"}


def test_the_text_report_is_french_markdown():
    text = render(analyse(staffed([org(1), org(2)], groups=[group(1)], memberships=body(1, 1, 2))))
    assert text.startswith("# Réseau partenarial (organisations) au 01/06/2026")
    assert "## Partenaires peu reliés" in text


def test_the_collector_resumes_after_an_analysis_even_a_failing_one():
    assert gc.isenabled()
    analyse(network())
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("analyse interrompue")
    assert gc.isenabled()
