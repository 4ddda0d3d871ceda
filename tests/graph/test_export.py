import io
import json

import networkx as nx
import pytest

from maillage.graph import export
from maillage.graph.report import analyse

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
    original = export.export_graph(report)
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
