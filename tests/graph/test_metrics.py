"""A path a–b–c and an isolated d: every figure below is computed by hand."""

import networkx as nx
import pytest

from maillage.graph import metrics


@pytest.fixture
def path_and_isolate():
    graph = nx.Graph()
    graph.add_nodes_from(["a", "b", "c", "d"])
    graph.add_edge("a", "b", weight=1.0)
    graph.add_edge("b", "c", weight=1.0)
    return graph


def test_node_measures_of_a_path(path_and_isolate):
    result = metrics.compute(path_and_isolate)
    b = result.nodes["b"]
    assert b["degree"] == 2
    # one pair (a, c) of the 3 pairs not involving b passes through b
    assert b["betweenness"] == pytest.approx(1 / 3)
    # b reaches 2 of 3 others at distance 1: (2/2) × (2/3)
    assert b["closeness"] == pytest.approx(2 / 3)
    assert b["constraint"] == pytest.approx(0.5)  # (1/2)² + (1/2)²
    assert b["effective_size"] == pytest.approx(2.0)
    assert result.nodes["a"]["constraint"] == pytest.approx(1.0)
    assert b["articulation_point"] is True


def test_an_isolate_has_no_constraint_rather_than_nan(path_and_isolate):
    d = metrics.compute(path_and_isolate).nodes["d"]
    assert d["constraint"] is None and d["effective_size"] is None
    assert d["degree"] == 0 and d["in_main_component"] is False


def test_network_figures_of_a_path(path_and_isolate):
    network = metrics.compute(path_and_isolate).network
    assert network["density"] == pytest.approx(2 / 6)
    assert network["components"] == 2
    assert network["main_component_share"] == pytest.approx(0.75)
    assert network["isolates"] == 1
    assert network["average_path_length"] == pytest.approx(4 / 3)  # (1 + 1 + 2) × 2 / 6
    assert network["bridges"] == 2
    assert network["articulation_points"] == 1
    assert network["betweenness_method"] == "exacte"


def test_articulation_cuts_count_the_partners_cut_off():
    graph = nx.Graph([("a", "b"), ("b", "c"), ("c", "d"), ("c", "e"), ("d", "e"), ("e", "f")])
    cuts = metrics.articulation_cuts(graph)
    assert set(cuts) == set(nx.articulation_points(graph))
    assert cuts == {"b": 1, "c": 2, "e": 1}


def test_articulation_cuts_agree_with_removing_the_node():
    for seed in range(20):
        graph = nx.gnm_random_graph(40, 45, seed=seed)
        for node, cut in metrics.articulation_cuts(graph).items():
            component = nx.node_connected_component(graph, node) - {node}
            pieces = nx.connected_components(graph.subgraph(component))
            assert cut == len(component) - max(len(p) for p in pieces)


def test_one_search_finds_networkx_cut_points_and_bridges():
    for seed in range(20):
        graph = nx.gnm_random_graph(40, 45, seed=seed)
        graph.add_edge(0, 0)  # a self-tie cuts nothing
        cuts, bridges = metrics.cut_points_and_bridges(graph)
        assert set(cuts) == set(nx.articulation_points(graph))
        assert {frozenset(e) for e in bridges} == {frozenset(e) for e in nx.bridges(graph)}


def test_large_networks_sample_betweenness_with_a_fixed_seed(monkeypatch):
    monkeypatch.setattr(metrics, "EXACT_BETWEENNESS_MAX_NODES", 10)
    monkeypatch.setattr(metrics, "BETWEENNESS_PIVOTS", 8)
    graph = nx.relabel_nodes(nx.connected_caveman_graph(4, 5), str)
    first, second = metrics.compute(graph), metrics.compute(graph)
    assert first.network["betweenness_method"].startswith("échantillonnée (8 sources")
    assert first.nodes == second.nodes
    assert first.communities == second.communities


def test_communities_are_numbered_from_the_largest():
    graph = nx.Graph()
    nx.add_path(graph, ["a", "b", "c"])
    graph.add_edge("x", "y")
    communities = metrics.communities(graph)
    assert communities[0] == ["a", "b", "c"]


def test_empty_graph_gives_figures_without_nan():
    result = metrics.compute(nx.Graph())
    assert result.network["nodes"] == 0
    assert result.network["density"] is None
    assert result.network["betweenness_method"] == "sans objet"
