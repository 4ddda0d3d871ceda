import re

import networkx as nx
import pytest

from maillage.graph import drawing
from maillage.graph.report import analyse

from .factory import JEUNESSE, body, group, org, staffed

HOSTILE = "Centre <script>alert('x')</script> \"guillemets\" 🎉"
OTHER_HOST = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.fixture
def report():
    return analyse(
        staffed(
            [org(1, HOSTILE, axes=(JEUNESSE,)), org(2), org(3)],
            groups=[group(1)],
            memberships=body(1, 1, 2),
        )
    )


def test_the_served_page_loads_vis_network_from_maillage_only(report):
    html = drawing.render_html(report, nonce="abc")
    assert not OTHER_HOST.search(html)
    assert '<script src="/static/vis-network/vis-network.min.js"></script>' in html
    assert "innerHTML" not in html
    assert '<script nonce="abc">' in html


def test_the_standalone_page_inlines_everything(report):
    html = drawing.render_html(report, standalone=True)
    assert not re.search(r"""<(?:script|link|img)[^>]+(?:src|href)=""", html)
    assert "default-src 'none'" in html
    assert "vis.Network" in html


def test_a_hostile_label_is_escaped_everywhere(report):
    html = drawing.render_html(report)
    assert "<script>alert" not in html
    assert "Centre &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &#34;guillemets&#34; 🎉" in html
    data = re.search(r'<script type="application/json" id="donnees">(.*?)</script>', html, re.S)
    assert "<" not in data.group(1)


def test_positions_are_fixed_and_physics_off_for_large_networks(report, monkeypatch):
    monkeypatch.setattr(drawing, "PHYSICS_MAX_NODES", 2)
    data = drawing.network_data(report)
    assert data["options"]["physics"]["enabled"] is False
    assert all(isinstance(n["x"], float) and isinstance(n["y"], float) for n in data["nodes"])
    assert all(n["physics"] is False for n in data["nodes"])


def test_every_node_gets_colours_sizes_and_a_plain_text_tooltip(report):
    node = next(n for n in drawing.network_data(report)["nodes"] if n["id"] == "o3")
    assert set(node["colours"]) == {"kind", "community", "axis"}
    assert set(node["sizes"]) == set(drawing.SIZE_METRICS)
    assert node["flagged"] is True
    assert node["title"].splitlines()[-1] == "⚠ isolé : aucun lien"


def test_the_layout_separates_every_node():
    from maillage.graph.layout import positions

    graph = nx.relabel_nodes(nx.connected_caveman_graph(30, 12), str)
    graph.add_nodes_from(["seul1", "seul2"])
    pos = positions(graph)
    assert len(set(pos.values())) == graph.number_of_nodes()


def test_an_empty_network_page_says_why():
    html = drawing.render_html(analyse(staffed([])))
    assert "Le réseau est vide" in html and "vis.Network" not in html
