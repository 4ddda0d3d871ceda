"""Vectorised (scipy.sparse) versions of the measures NetworkX computes node by node.

Burt's constraint and effective size in NetworkX loop over every neighbour of every neighbour in
Python (seconds per hundred nodes on a département), or, for the whole graph, form the full
two-step product (and for effective size a dense n×n matrix: 1.8 GB at 15,000 people). Here the
two-step products are computed a block of rows at a time and kept only on existing ties, so the
memory stays bounded. Closeness and the average path length come from C breadth-first searches
(``scipy.sparse.csgraph``), also a block of sources at a time. Each function matches its NetworkX
counterpart to 1e-9 on the test graphs (tests/graph/test_sparse.py).

Betweenness is Brandes' algorithm run for a block of sources at once: each breadth-first level
is one sparse × dense product (path counts forward, dependencies backward) instead of a Python
loop over every edge from every source. Sampled sources are drawn exactly as NetworkX draws them
(``random.Random(seed).sample``) and rescaled the same way, so the estimate is NetworkX's too.
"""

from __future__ import annotations

import math
import random

import networkx as nx
import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

BLOCK = 512
BETWEENNESS_CELLS = 2_000_000  # nodes × sources held at once (16 MB per array)


def _matrices(graph: nx.Graph, weight: str | None):
    nodes = list(graph)
    adjacency = nx.to_scipy_sparse_array(graph, nodelist=nodes, weight=weight, format="csr")
    adjacency = sp.csr_array(adjacency, dtype=float)
    adjacency.setdiag(0)  # a self-tie is no contact with someone else
    adjacency.eliminate_zeros()
    return nodes, adjacency


def _row_scaled(matrix: sp.csr_array, scale: np.ndarray) -> sp.csr_array:
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = np.where(scale > 0, 1.0 / scale, 0.0)
    return sp.csr_array(sp.diags_array(factors) @ matrix)


def constraint(graph: nx.Graph, weight: str | None = "weight") -> dict:
    """Burt's constraint c(u) = Σ_{v∈N(u)} (p_uv + Σ_w p_uw p_wv)²; NaN for isolates."""
    nodes, adjacency = _matrices(graph, weight)
    p = _row_scaled(adjacency, np.asarray(adjacency.sum(axis=1)).ravel())
    mask = (adjacency > 0).astype(float)
    result = np.zeros(len(nodes))
    for start in range(0, len(nodes), BLOCK):
        rows = slice(start, start + BLOCK)
        local = mask[rows].multiply(p[rows] + p[rows] @ p)
        result[rows] = np.asarray(local.power(2).sum(axis=1)).ravel()
    return _with_isolates_nan(nodes, adjacency, result)


def effective_size(graph: nx.Graph, weight: str | None = "weight") -> dict:
    """Burt's effective size e(u) = Σ_{v∈N(u)} (1 − Σ_w p_uw m_vw); NaN for isolates."""
    nodes, adjacency = _matrices(graph, weight)
    p = _row_scaled(adjacency, np.asarray(adjacency.sum(axis=1)).ravel())
    m = _row_scaled(adjacency, adjacency.max(axis=1).toarray().ravel())
    mask = (adjacency > 0).astype(float)
    degree = np.asarray(mask.sum(axis=1)).ravel()
    result = np.zeros(len(nodes))
    m_t = sp.csr_array(m.T)
    for start in range(0, len(nodes), BLOCK):
        rows = slice(start, start + BLOCK)
        redundancy = mask[rows].multiply(p[rows] @ m_t)
        result[rows] = degree[rows] - np.asarray(redundancy.sum(axis=1)).ravel()
    return _with_isolates_nan(nodes, adjacency, result)


def _with_isolates_nan(nodes: list, adjacency: sp.csr_array, values: np.ndarray) -> dict:
    isolated = np.diff(adjacency.indptr) == 0
    values[isolated] = math.nan
    return dict(zip(nodes, values.tolist(), strict=True))


def distance_sums(graph: nx.Graph) -> tuple[list, np.ndarray, np.ndarray]:
    """Per node: the sum of hop distances to the nodes it reaches, and how many it reaches."""
    nodes, adjacency = _matrices(graph, None)
    totals = np.zeros(len(nodes))
    reached = np.zeros(len(nodes))
    for start in range(0, len(nodes), BLOCK):
        sources = np.arange(start, min(start + BLOCK, len(nodes)))
        distances = csgraph.shortest_path(
            adjacency, method="D", directed=False, unweighted=True, indices=sources
        )
        finite = np.isfinite(distances)
        totals[sources] = np.where(finite, distances, 0.0).sum(axis=1)
        reached[sources] = finite.sum(axis=1)  # includes the node itself
    return nodes, totals, reached


def closeness(graph: nx.Graph) -> dict:
    """NetworkX's closeness (Wasserman–Faust scaling for disconnected graphs), by blocks."""
    nodes, totals, reached = distance_sums(graph)
    return closeness_from_sums(nodes, totals, reached)


def closeness_from_sums(nodes: list, totals: np.ndarray, reached: np.ndarray) -> dict:
    n = len(nodes)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(
            (totals > 0) & (n > 1),
            (reached - 1) / totals * (reached - 1) / max(n - 1, 1),
            0.0,
        )
    return dict(zip(nodes, values.tolist(), strict=True))


def betweenness(graph: nx.Graph, k: int | None = None, seed: int | None = None) -> dict:
    """NetworkX's ``betweenness_centrality(graph, k, normalized=True, seed=seed)``, in hops."""
    nodes, adjacency = _matrices(graph, None)
    n = len(nodes)
    adjacency.data[:] = 1.0
    if k is None:
        sources = np.arange(n)
    else:
        position = {node: i for i, node in enumerate(nodes)}
        sources = np.array([position[node] for node in random.Random(seed).sample(nodes, k)])
    totals = np.zeros(n)
    block = max(16, min(n, BETWEENNESS_CELLS // max(n, 1)))
    for start in range(0, len(sources), block):
        totals += _dependencies(adjacency, sources[start : start + block])
    return dict(zip(nodes, _rescaled(totals, sources, k).tolist(), strict=True))


def _dependencies(adjacency: sp.csr_array, sources: np.ndarray) -> np.ndarray:
    """Σ over the given sources of Brandes' dependency δ_s(v), for every node v."""
    n, columns = adjacency.shape[0], np.arange(len(sources))
    paths = np.zeros((n, len(sources)))  # σ_s(v): shortest paths from s to v
    paths[sources, columns] = 1.0
    depth = np.full((n, len(sources)), -1, dtype=np.int32)
    depth[sources, columns] = 0
    frontier, level = paths.copy(), 0
    while True:
        reached = adjacency @ frontier
        new = (reached > 0) & (depth < 0)
        if not new.any():
            break
        level += 1
        depth[new] = level
        frontier = np.where(new, reached, 0.0)
        paths += frontier
    dependency = np.zeros_like(paths)
    for current in range(level, 0, -1):
        at = depth == current
        share = np.where(at, (1.0 + dependency) / np.where(at, paths, 1.0), 0.0)
        parents = depth == current - 1
        dependency += np.where(parents, paths * (adjacency @ share), 0.0)
    dependency[sources, columns] = 0.0  # a source is not between itself and the others
    return dependency.sum(axis=1)


def _rescaled(totals: np.ndarray, sources: np.ndarray, k: int | None) -> np.ndarray:
    """NetworkX's normalisation (endpoints excluded), with its correction for sampled sources."""
    pairs = len(totals) - 1  # possible targets other than v
    if pairs < 2:
        return totals
    if k is None:
        return totals / (pairs * (pairs - 1))
    scale = np.full(len(totals), 1 / (k * (pairs - 1)))
    scale[sources] = 1 / ((k - 1) * (pairs - 1)) if k > 1 else math.nan
    return totals * scale
