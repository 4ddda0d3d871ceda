"""Vectorised (scipy.sparse) versions of the measures NetworkX computes node by node.

Burt's constraint and effective size in NetworkX loop over every neighbour of every neighbour in
Python (seconds per hundred nodes on a département), or, for the whole graph, form the full
two-step product (and for effective size a dense n×n matrix: 1.8 GB at 15,000 people). Here the
two-step products are computed a block of rows at a time and kept only on existing ties, so the
memory stays bounded; clustering counts triangles the same way. Closeness and the average path
length come from bit-parallel breadth-first searches (64 sources per machine word). Each function
matches its NetworkX counterpart to 1e-9 on the test graphs (tests/graph/test_sparse.py). One
``Adjacency`` (the matrices of the graph) is built per analysis and shared by every measure.

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

# A measure per node (NaN where NetworkX gives none), keyed by the graph's node names.
NodeValues = dict[str, float]

BLOCK = 512
BETWEENNESS_CELLS = 2_000_000  # nodes × sources held at once (16 MB per array)
BFS_SOURCES = 1024  # sources per bit-parallel search: n × 16 words, ties × 16 words at once


class Adjacency:
    """The graph's matrices, built once and shared by every sparse measure of one analysis.

    ``weighted`` holds the tie weights (zero-weight ties dropped, as Burt's measures ignore
    them), ``binary`` one per tie (hops, for betweenness, closeness and clustering). Self-ties
    are left out: a self-tie is no contact with someone else.
    """

    def __init__(self, graph: nx.Graph, weight: str | None = "weight") -> None:
        self.nodes = list(graph)
        position = {node: i for i, node in enumerate(self.nodes)}
        n = len(self.nodes)
        rows, columns, values = [], [], []
        for u, v, w in graph.edges(data=weight or "_", default=1.0):
            if u != v:
                rows.append(position[u])
                columns.append(position[v])
                values.append(float(w) if weight else 1.0)
        rows_a = np.array(rows + columns, dtype=np.int64)
        columns_a = np.array(columns + rows, dtype=np.int64)
        values_a = np.array(values + values, dtype=float)
        weighted = sp.csr_array((values_a, (rows_a, columns_a)), shape=(n, n))
        weighted.sum_duplicates()
        self.binary = sp.csr_array(weighted, copy=True)
        self.binary.data[:] = 1.0
        weighted.eliminate_zeros()
        self.weighted = weighted


def _row_scaled(matrix: sp.csr_array, scale: np.ndarray) -> sp.csr_array:
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = np.where(scale > 0, 1.0 / scale, 0.0)
    return sp.csr_array(sp.diags_array(factors) @ matrix)


def constraint(graph: nx.Graph, weight: str | None = "weight") -> NodeValues:
    """Burt's constraint c(u) = Σ_{v∈N(u)} (p_uv + Σ_w p_uw p_wv)²; NaN for isolates."""
    return constraint_of(Adjacency(graph, weight))


def constraint_of(matrices: Adjacency) -> NodeValues:
    nodes, adjacency = matrices.nodes, matrices.weighted
    p = _row_scaled(adjacency, np.asarray(adjacency.sum(axis=1)).ravel())
    mask = (adjacency > 0).astype(float)
    result = np.zeros(len(nodes))
    for start in range(0, len(nodes), BLOCK):
        rows = slice(start, start + BLOCK)
        local = mask[rows].multiply(p[rows] + p[rows] @ p)
        result[rows] = np.asarray(local.power(2).sum(axis=1)).ravel()
    return _with_isolates_nan(nodes, adjacency, result)


def effective_size(graph: nx.Graph, weight: str | None = "weight") -> NodeValues:
    """Burt's effective size e(u) = Σ_{v∈N(u)} (1 − Σ_w p_uw m_vw); NaN for isolates."""
    return effective_size_of(Adjacency(graph, weight))


def effective_size_of(matrices: Adjacency) -> NodeValues:
    nodes, adjacency = matrices.nodes, matrices.weighted
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


def clustering(graph: nx.Graph) -> NodeValues:
    """NetworkX's unweighted ``clustering``: 2 T(v) / (d(v) (d(v) − 1)), by blocks of rows."""
    return clustering_of(Adjacency(graph, None))


def clustering_of(matrices: Adjacency) -> NodeValues:
    nodes, binary = matrices.nodes, matrices.binary
    degree = np.diff(binary.indptr).astype(float)
    twice_triangles = np.zeros(len(nodes))
    for start in range(0, len(nodes), BLOCK):
        rows = slice(start, start + BLOCK)
        closed = binary[rows].multiply(binary[rows] @ binary)
        twice_triangles[rows] = np.asarray(closed.sum(axis=1)).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(twice_triangles > 0, twice_triangles / (degree * (degree - 1)), 0.0)
    return dict(zip(nodes, values.tolist(), strict=True))


def pagerank(graph: nx.Graph, weight: str | None = "weight") -> NodeValues:
    """NetworkX's ``pagerank(graph, weight=weight)`` (graphs without self-ties)."""
    return pagerank_of(Adjacency(graph, weight))


def pagerank_of(
    matrices: Adjacency, alpha: float = 0.85, max_iter: int = 100, tol: float = 1.0e-6
) -> NodeValues:
    """NetworkX's own power iteration (``_pagerank_scipy``, uniform start and teleport) on the
    shared matrix: NetworkX spends nearly all its time rebuilding that matrix from the graph."""
    nodes, adjacency = matrices.nodes, matrices.weighted
    n = len(nodes)
    if n == 0:
        return {}
    out = np.asarray(adjacency.sum(axis=1)).ravel()
    transition = _row_scaled(adjacency, out)
    dangling = np.flatnonzero(out == 0)
    x = np.repeat(1.0 / n, n)
    teleport = np.repeat(1.0 / n, n)
    for _ in range(max_iter):
        last = x
        x = alpha * (x @ transition + sum(x[dangling]) * teleport) + (1 - alpha) * teleport
        if np.absolute(x - last).sum() < n * tol:
            return dict(zip(nodes, map(float, x), strict=True))
    raise nx.PowerIterationFailedConvergence(max_iter)


def _with_isolates_nan(nodes: list[str], adjacency: sp.csr_array, values: np.ndarray) -> NodeValues:
    isolated = np.diff(adjacency.indptr) == 0
    values[isolated] = math.nan
    return dict(zip(nodes, values.tolist(), strict=True))


def distance_sums(
    graph: nx.Graph, matrices: Adjacency | None = None
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per node: the sum of hop distances to the nodes it reaches, and how many it reaches.

    Breadth-first searches from every node at once, 64 sources per machine word: each node
    holds one bit per source (« reached from it »), and a level ORs the bits of its neighbours
    (``np.bitwise_or.reduceat`` over the CSR rows). The cost per level is one pass over the
    ties per 64 sources, where a search per source (scipy's, a heap-based Dijkstra even when
    unweighted) took 10 s on a département.
    """
    matrices = matrices or Adjacency(graph, None)
    binary = matrices.binary
    n = len(matrices.nodes)
    totals = np.zeros(n)
    reached = np.zeros(n)
    nonempty = np.flatnonzero(np.diff(binary.indptr) > 0)
    starts = binary.indptr[nonempty]
    for first in range(0, n, BFS_SOURCES):
        sources = np.arange(first, min(first + BFS_SOURCES, n))
        block_totals, block_reached = _bit_bfs(binary, nonempty, starts, sources)
        totals[sources] = block_totals
        reached[sources] = block_reached
    return matrices.nodes, totals, reached


def _bit_bfs(
    binary: sp.csr_array, nonempty: np.ndarray, starts: np.ndarray, sources: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n, count = binary.shape[0], len(sources)
    words = (count + 63) // 64
    columns = np.arange(count)
    seen = np.zeros((n, words), dtype=np.uint64)
    np.bitwise_or.at(
        seen,
        (sources, columns // 64),
        np.left_shift(np.uint64(1), (columns % 64).astype(np.uint64)),
    )
    frontier = seen.copy()
    totals = np.zeros(count)
    reached = np.ones(count)  # each source reaches itself, at distance 0
    level = 0
    while len(nonempty):
        level += 1
        step = np.zeros_like(seen)
        step[nonempty] = np.bitwise_or.reduceat(frontier[binary.indices], starts, axis=0)
        frontier = step & ~seen
        if not frontier.any():
            break
        seen |= frontier
        # little-endian bytes, little bit order: bit j of the row is source j of the block
        found = np.unpackbits(frontier.view(np.uint8), axis=1, bitorder="little")[:, :count]
        per_source = found.sum(axis=0, dtype=np.int64)
        totals += level * per_source
        reached += per_source
    return totals, reached


def closeness(graph: nx.Graph) -> NodeValues:
    """NetworkX's closeness (Wasserman–Faust scaling for disconnected graphs)."""
    nodes, totals, reached = distance_sums(graph)
    return closeness_from_sums(nodes, totals, reached)


def closeness_from_sums(nodes: list[str], totals: np.ndarray, reached: np.ndarray) -> NodeValues:
    n = len(nodes)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(
            (totals > 0) & (n > 1),
            (reached - 1) / totals * (reached - 1) / max(n - 1, 1),
            0.0,
        )
    return dict(zip(nodes, values.tolist(), strict=True))


def betweenness(
    graph: nx.Graph,
    k: int | None = None,
    seed: int | None = None,
    matrices: Adjacency | None = None,
) -> NodeValues:
    """NetworkX's ``betweenness_centrality(graph, k, normalized=True, seed=seed)``, in hops."""
    matrices = matrices or Adjacency(graph, None)
    nodes, adjacency = matrices.nodes, matrices.binary
    n = len(nodes)
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
    per_source: np.ndarray = dependency.sum(axis=1)
    return per_source


def _rescaled(totals: np.ndarray, sources: np.ndarray, k: int | None) -> np.ndarray:
    """NetworkX's normalisation (endpoints excluded), with its correction for sampled sources."""
    pairs = len(totals) - 1  # possible targets other than v
    if pairs < 2:
        return totals
    if k is None:
        return totals / (pairs * (pairs - 1))
    scale = np.full(len(totals), 1 / (k * (pairs - 1)))
    scale[sources] = 1 / ((k - 1) * (pairs - 1)) if k > 1 else math.nan
    rescaled: np.ndarray = totals * scale
    return rescaled
