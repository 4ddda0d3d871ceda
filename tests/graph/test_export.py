import io
import json

import networkx as nx
import pytest

from maillage.graph import export
from maillage.graph.data import PartnershipRow
from maillage.graph.report import analyse
from maillage.vocabulary import ORGANISATION_KINDS, PARTNERSHIP_KINDS

from .factory import JEUNESSE, body, group, org, staffed

HOSTILE = "Centre <script>alert('x')</script> « l'été » 🎉"


@pytest.fixture
def report():
    return analyse(
        staffed(
            [org(1, HOSTILE, axes=(JEUNESSE,), commune=1), org(2, "=SOMME(A1)"), org(3), org(4)],
            groups=[group(1)],
            memberships=body(1, 1, 2, 3),
        )
    )


def test_gexf_round_trip_keeps_graph_and_measures(report):
    read = nx.read_gexf(io.BytesIO(export.to_gexf(report)))
    assert set(read.nodes) == set(report.graph.nodes)
    assert {frozenset(e) for e in read.edges} == {frozenset(e) for e in report.graph.edges}
    assert read.nodes["o1"]["label"] == HOSTILE
    # (#21) Gephi shows French attribute titles.
    assert read.nodes["o1"]["liens"] == 2
    assert read.nodes["o1"]["axes"] == "Jeunesse"
    assert "peu relié" in read.nodes["o1"] and "under_connected" not in read.nodes["o1"]
    assert "contrainte de Burt" not in read.nodes["o4"]  # isolated: no value, not None or NaN
    edge = next(iter(read.edges(data=True)))[2]
    assert "instances en commun" in edge and "weight" in edge


@pytest.fixture
def coded():
    """Organisations of coded kinds, tied by coded partnerships."""
    return staffed(
        [org(1, kind="collectivite"), org(2, kind="operateur_dsp"), org(3, kind="association")],
        groups=[group(1)],
        memberships=body(1, 1, 3),
        partnerships=[
            PartnershipRow(1, 2, "delegation_dsp"),
            PartnershipRow(1, 2, "cofinancement"),
        ],
    )


def _codes() -> set[str]:
    return {"organisation", "contact", "personne", *ORGANISATION_KINDS, *PARTNERSHIP_KINDS}


def test_gexf_values_are_french_labels_not_codes(coded):
    """(#21) Gephi shows the vocabulary's labels, never « collectivite » or « delegation_dsp »."""
    for level in ("organisations", "contacts"):
        read = nx.read_gexf(io.BytesIO(export.to_gexf(analyse(coded, level=level))))
        for _, attrs in read.nodes(data=True):
            assert not {str(v) for v in attrs.values()} & _codes(), attrs
        for _, _, attrs in read.edges(data=True):
            assert not {str(v) for v in attrs.values()} & _codes(), attrs
    read = nx.read_gexf(io.BytesIO(export.to_gexf(analyse(coded))))
    assert read.nodes["o1"]["type"] == "Collectivité"
    assert read.nodes["o2"]["type"] == "Opérateur en DSP"
    assert read.nodes["o1"]["nature du nœud"] == "Organisation"
    assert read["o1"]["o2"]["types de partenariat"] == (
        "Cofinancement, Délégation de service public"
    )
    people = nx.read_gexf(io.BytesIO(export.to_gexf(analyse(coded, level="contacts"))))
    assert people.nodes["c1"]["nature du nœud"] == "Contact"
    assert people.nodes["c1"]["type"] == "Collectivité"  # the kind of her organisation


def test_graphml_and_csv_values_are_french_labels(coded):
    graphml = nx.read_graphml(io.BytesIO(export.to_graphml(analyse(coded))))
    assert graphml.nodes["o2"]["kind"] == "Opérateur en DSP"
    assert graphml["o1"]["o2"]["partnership_kinds"] == "Cofinancement, Délégation de service public"
    text = export.to_csv(analyse(coded)).decode("utf-8-sig")
    row = next(line for line in text.split("\r\n") if line.startswith("o2;"))
    assert ";Opérateur en DSP;" in row and "operateur_dsp" not in text
    # The JSON node-link export is read by programs: it keeps the codes.
    assert {n["kind"] for n in export.to_node_link(analyse(coded))["nodes"]} >= {"operateur_dsp"}


def test_gexf_has_no_attribute_the_schema_refuses(report):
    """GEXF 1.2/1.3: <graph> has no « name » attribute (NetworkX writes an empty one)."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(export.to_gexf(report))
    graph = next(child for child in root if child.tag.endswith("graph"))
    assert "name" not in graph.attrib
    assert set(graph.attrib) <= {"defaultedgetype", "mode", "idtype", "timeformat",
                                 "timerepresentation", "timezone", "start", "end"}  # fmt: skip


def test_graphml_round_trip_keeps_graph_and_measures(report):
    read = nx.read_graphml(io.BytesIO(export.to_graphml(report)))
    original = export.with_labels(export.export_graph(report))
    assert dict(read.nodes(data=True)) == dict(original.nodes(data=True))
    assert read["o1"]["o2"]["weight"] == original["o1"]["o2"]["weight"]


def test_node_link_json_has_the_measures(report):
    data = export.to_node_link(report)
    assert data["graph"]["network"]["nodes"] == 4
    assert {n["id"] for n in data["nodes"]} == {"o1", "o2", "o3", "o4"}
    json.dumps(data, allow_nan=False)


def test_csv_opens_in_french_excel(report):
    raw = export.to_csv(report)
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0].startswith("identifiant;n° de fiche;nom;type")
    assert HOSTILE in text
    assert ";'=SOMME(A1);" in text  # never a formula
    row = next(line for line in lines if line.startswith("o1;"))
    assert ";0,5;" in row or ";1;" in row  # decimal comma, no dot
    assert "." not in row.split(";")[9]
