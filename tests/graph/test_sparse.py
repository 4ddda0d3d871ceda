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
