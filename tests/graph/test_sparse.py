"""The block-wise scipy measures give NetworkX's values."""

import math
import random

import networkx as nx
import pytest

from maillage.graph import sparse


def weighted_graphs():
    for seed in range(4):
        graph = nx.gnm_random_graph(50, 120, seed=seed)
        rng = random.Random(seed)
        for u, v in graph.edges:
            graph[u][v]["weight"] = rng.choice([0.25, 1.0, 2.5, 4.0])
        graph.add_node("isolé")
        yield graph


def same(ours: dict, theirs: dict) -> None:
    for node, value in theirs.items():
        if math.isnan(value):
            assert math.isnan(ours[node])
        else:
            assert ours[node] == pytest.approx(value, abs=1e-9)


@pytest.mark.parametrize("graph", list(weighted_graphs()))
def test_constraint_matches_networkx(graph):
    same(sparse.constraint(graph), nx.constraint(graph, nodes=list(graph), weight="weight"))


@pytest.mark.parametrize("graph", list(weighted_graphs()))
def test_effective_size_matches_networkx(graph):
    same(sparse.effective_size(graph), nx.effective_size(graph, nodes=list(graph), weight="weight"))


def test_unweighted_effective_size_matches_borgatti():
    graph = nx.karate_club_graph()
    same(sparse.effective_size(graph, weight=None), nx.effective_size(graph))


@pytest.mark.parametrize("graph", list(weighted_graphs()))
def test_closeness_matches_networkx(graph):
    same(sparse.closeness(graph), nx.closeness_centrality(graph))


def test_blocks_do_not_change_the_result(monkeypatch):
    graph = next(weighted_graphs())
    whole = sparse.constraint(graph)
    monkeypatch.setattr(sparse, "BLOCK", 7)
    same(sparse.constraint(graph), whole)
    same(sparse.closeness(graph), nx.closeness_centrality(graph))


def unweighted_graphs():
    yield nx.karate_club_graph()
    yield nx.path_graph(6)  # every inner node a cut point
    yield nx.complete_graph(5)  # nobody between anyone
    yield from weighted_graphs()
    yield nx.disjoint_union(nx.cycle_graph(7), nx.star_graph(4))


@pytest.mark.parametrize("graph", list(unweighted_graphs()))
def test_betweenness_matches_networkx(graph):
    same(sparse.betweenness(graph), nx.betweenness_centrality(graph))


@pytest.mark.parametrize("graph", list(unweighted_graphs())[3:])
def test_sampled_betweenness_matches_networkx_with_the_same_seed(graph):
    ours = sparse.betweenness(graph, k=12, seed=42)
    same(ours, nx.betweenness_centrality(graph, k=12, seed=42))


def test_betweenness_blocks_do_not_change_the_result(monkeypatch):
    graph = nx.karate_club_graph()
    monkeypatch.setattr(sparse, "BETWEENNESS_CELLS", 5 * 34)
    same(sparse.betweenness(graph), nx.betweenness_centrality(graph))


@pytest.mark.parametrize("graph", list(unweighted_graphs()))
def test_clustering_matches_networkx(graph):
    same(sparse.clustering(graph), nx.clustering(graph))


@pytest.mark.parametrize("graph", list(unweighted_graphs()))
def test_bit_parallel_distances_give_networkx_closeness(graph, monkeypatch):
    # 7 sources per search: several blocks, and a block that is not a whole machine word
    monkeypatch.setattr(sparse, "BFS_SOURCES", 7)
    same(sparse.closeness(graph), nx.closeness_centrality(graph))


def test_distance_sums_count_hops_and_reached_nodes():
    graph = nx.disjoint_union(nx.path_graph(4), nx.empty_graph(1))  # 0-1-2-3 and an isolate
    nodes, totals, reached = sparse.distance_sums(graph)
    assert nodes == [0, 1, 2, 3, 4]
    assert totals.tolist() == [6, 4, 4, 6, 0]  # 1+2+3, 1+1+2, …
    assert reached.tolist() == [4, 4, 4, 4, 1]  # itself included


def test_bit_parallel_distances_over_several_machine_words(monkeypatch):
    graph = nx.gnm_random_graph(200, 500, seed=3)  # 200 sources: four 64-bit words per node
    graph.add_edge(200, 201)  # and a second component
    monkeypatch.setattr(sparse, "BFS_SOURCES", 130)
    same(sparse.closeness(graph), nx.closeness_centrality(graph))


@pytest.mark.parametrize("graph", list(weighted_graphs()))
def test_pagerank_matches_networkx(graph):
    graph.add_edge("feuille", 0, weight=3.0)
    same(sparse.pagerank(graph), nx.pagerank(graph, weight="weight"))
