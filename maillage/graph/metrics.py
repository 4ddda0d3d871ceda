"""Node and network measures, with NetworkX's algorithms wherever they are fast enough.

Choices:
- betweenness and closeness count hops (a tie is a tie, whatever its strength): they answer
  « who stands between whom », which the strength of a tie does not change; PageRank, weighted
  degree, Louvain and Burt's measures use the tie weights;
- betweenness is exact up to ``EXACT_BETWEENNESS_MAX_NODES`` (500) nodes: Brandes' algorithm
  costs one breadth-first search per node, so exact stays within 5× the cost of the estimate
  below. Both run block-wise in ``maillage.graph.sparse`` and give NetworkX's values (same
  pivots, same scaling).
  Above, it is estimated from ``BETWEENNESS_PIVOTS`` (100) sources drawn with the fixed
  ``SEED``, which keeps the ranking (Spearman 0.97 against igraph's exact values on a 5,000-partner network, see
  bench/README.md); the output says which method was used;
- closeness (with the average path length, from the same distances), clustering, PageRank, Burt's
  constraint and effective size come from the block-wise scipy versions in
  ``maillage.graph.sparse``, which give NetworkX's values (tests/graph/test_sparse.py) orders of
  magnitude faster on a département, from one set of matrices built once per analysis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from maillage.graph import sparse

SEED = 42
EXACT_BETWEENNESS_MAX_NODES = 500
BETWEENNESS_PIVOTS = 100

NODE_METRICS = (
    "degree",
    "weighted_degree",
    "betweenness",
    "closeness",
    "pagerank",
    "core_number",
    "clustering",
    "constraint",
    "effective_size",
    "community",
    "component_size",
    "in_main_component",
    "articulation_point",
)


@dataclass
class Metrics:
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    network: dict[str, Any] = field(default_factory=dict)
    communities: list[list[str]] = field(default_factory=list)
    articulation_cuts: dict[str, int] = field(default_factory=dict)
    bridges: list[tuple[str, str]] = field(default_factory=list)
    main_component: set[str] = field(default_factory=set)
    # the graph's matrices, kept for the suggestions of the same analysis
    adjacency: sparse.Adjacency | None = field(default=None, repr=False)


def clean(value: Any) -> Any:
    """NaN and infinities have no place in JSON or Gephi: they become None."""
    if isinstance(value, float | np.floating):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else round(value, 9)
    if isinstance(value, np.integer):
        return int(value)
    return value


def betweenness(
    graph: nx.Graph, matrices: sparse.Adjacency | None = None
) -> tuple[dict[str, float], str]:
    n = graph.number_of_nodes()
    if n <= EXACT_BETWEENNESS_MAX_NODES:
        return sparse.betweenness(graph, matrices=matrices), "exacte"
    values = sparse.betweenness(graph, k=BETWEENNESS_PIVOTS, seed=SEED, matrices=matrices)
    return values, f"échantillonnée ({BETWEENNESS_PIVOTS} sources tirées, graine {SEED})"


def communities(graph: nx.Graph) -> list[list[str]]:
    """Louvain with a fixed seed, numbered from the largest community (ties: first node)."""
    if graph.number_of_edges() == 0:
        return [[node] for node in graph]
    found = nx.community.louvain_communities(graph, weight="weight", seed=SEED)
    order = {node: rank for rank, node in enumerate(graph)}
    groups = [sorted(c, key=order.__getitem__) for c in found]
    return sorted(groups, key=lambda c: (-len(c), order[c[0]]))


def articulation_cuts(graph: nx.Graph) -> dict[str, int]:
    """For each articulation point: how many partners its departure would cut from the rest."""
    return cut_points_and_bridges(graph)[0]


def cut_points_and_bridges(graph: nx.Graph) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Articulation points (with what each cuts off) and bridges, from one depth-first search.

    Low-points (Hopcroft–Tarjan) and subtree sizes: the pieces left by removing v are its
    separated DFS subtrees and the rest of its component; what is cut off is everything outside
    the largest piece. A tree edge whose child cannot climb above it (low > disc) is a bridge:
    the same search replaces NetworkX's second one (chain decomposition) for ``nx.bridges``.
    """
    found_bridges: list[tuple[str, str]] = []
    disc: dict[str, int] = {}
    low: dict[str, int] = {}
    size: dict[str, int] = {}
    cuts: dict[str, int] = {}
    clock = 0
    for root in graph:
        if root in disc:
            continue
        disc[root] = low[root] = clock
        clock += 1
        size[root] = 1
        pieces: dict[str, list[int]] = {root: []}
        stack = [(root, None, iter(graph[root]))]
        while stack:
            node, parent, neighbours = stack[-1]
            for other in neighbours:
                if other in (parent, node):
                    continue
                if other in disc:
                    low[node] = min(low[node], disc[other])
                    continue
                disc[other] = low[other] = clock
                clock += 1
                size[other] = 1
                pieces[other] = []
                stack.append((other, node, iter(graph[other])))
                break
            else:
                stack.pop()
                if parent is not None:
                    low[parent] = min(low[parent], low[node])
                    size[parent] += size[node]
                    if low[node] > disc[parent]:
                        found_bridges.append((parent, node))
                    if parent == root or low[node] >= disc[parent]:
                        pieces[parent].append(size[node])
        component = size[root]
        for node, separated in pieces.items():
            if node == root:
                if len(separated) >= 2:
                    cuts[node] = component - 1 - max(separated)
            elif separated:
                rest = component - 1 - sum(separated)
                cuts[node] = component - 1 - max([*separated, rest])
    return cuts, found_bridges


def compute(graph: nx.Graph) -> Metrics:
    n = graph.number_of_nodes()
    result = Metrics()
    if n == 0:
        result.network = network_figures(graph, result, "sans objet", None)
        return result
    matrices = result.adjacency = sparse.Adjacency(graph)  # built once, shared by the measures
    between, method = betweenness(graph, matrices)
    # One pass of breadth-first searches gives both closeness and the average path length.
    nodes, totals, reached = sparse.distance_sums(graph, matrices)
    close = sparse.closeness_from_sums(nodes, totals, reached)
    pagerank = sparse.pagerank_of(matrices) if graph.number_of_edges() else {}
    cores = nx.core_number(graph)
    clustering = sparse.clustering_of(matrices)
    burt = sparse.constraint_of(matrices)
    effective = sparse.effective_size_of(matrices)
    result.communities = communities(graph)
    community_of = {node: i + 1 for i, c in enumerate(result.communities) for node in c}
    components = sorted(nx.connected_components(graph), key=lambda c: (-len(c), min(c)))
    component_size = {node: len(c) for c in components for node in c}
    result.main_component = components[0] if len(components[0]) > 1 else set()
    result.articulation_cuts, bridges = cut_points_and_bridges(graph)
    result.bridges = sorted((min(a, b), max(a, b)) for a, b in bridges)
    for node in graph:
        result.nodes[node] = {
            "degree": graph.degree(node),
            "weighted_degree": clean(float(graph.degree(node, weight="weight"))),
            "betweenness": clean(between[node]),
            "closeness": clean(close[node]),
            "pagerank": clean(pagerank.get(node, 1.0 / n)),
            "core_number": cores[node],
            "clustering": clean(float(clustering[node])),
            "constraint": clean(burt[node]),
            "effective_size": clean(effective[node]),
            "community": community_of[node],
            "component_size": component_size[node],
            "in_main_component": node in result.main_component,
            "articulation_point": node in result.articulation_cuts,
        }
    lcc_index = [i for i, node in enumerate(nodes) if node in result.main_component]
    k = len(lcc_index)
    average_path = float(totals[lcc_index].sum()) / (k * (k - 1)) if k > 1 else None
    result.network = network_figures(graph, result, method, average_path, components)
    return result


def network_figures(
    graph: nx.Graph,
    result: Metrics,
    method: str,
    average_path: float | None,
    components: Sequence[object] = (),
) -> dict[str, Any]:
    n = graph.number_of_nodes()
    modularity = None
    if graph.number_of_edges():
        modularity = nx.community.modularity(graph, result.communities, weight="weight")
    return {
        "nodes": n,
        "ties": graph.number_of_edges(),
        "density": clean(nx.density(graph)) if n > 1 else None,
        "components": len(components),
        "main_component_size": len(result.main_component),
        "main_component_share": clean(len(result.main_component) / n) if n else None,
        "isolates": sum(1 for node in graph if graph.degree(node) == 0),
        "average_path_length": clean(average_path),
        "modularity": clean(modularity),
        "communities": len(result.communities),
        "articulation_points": len(result.articulation_cuts),
        "bridges": len(result.bridges),
        "betweenness_method": method,
    }
