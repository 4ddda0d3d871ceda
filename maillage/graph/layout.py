"""Node positions computed on the server, so that a large network opens without physics.

NetworkX's spring layout is quadratic per iteration (≈ 25 s for 2,000 partners on this machine).
The layout here is recursive by community: each Louvain community is laid out on its own (spring
layout, small), the communities are placed by a spring layout of the graph of communities, and
a community too large to lay out quickly is split again by Louvain. Isolated partners are set in
rows under the network, where a coordinator sees them at once.
"""

from __future__ import annotations

import math
from typing import Any

import networkx as nx
import numpy as np

from maillage.graph.metrics import SEED

DIRECT_MAX_NODES = 300  # spring layout below, split by community above
SPACING = 40.0  # pixels between neighbouring nodes, roughly

# Node → (x, y) while laying out: NumPy or Python floats, rounded to floats at the end.
_Points = dict[str, tuple[Any, ...]]


def positions(graph: nx.Graph) -> dict[str, tuple[float, float]]:
    """The main component in the middle; smaller groups, then isolated partners, in rows below.

    Components are laid out one by one: laid out together, a spring layout pushes two partners
    tied only to each other to the far edge, and the whole network shrinks to a dot.
    """
    components = sorted(
        (sorted(c) for c in nx.connected_components(graph)), key=lambda c: (-len(c), c[0])
    )
    pos: _Points = {}
    if components and len(components[0]) > 1:
        main = _layout(graph.subgraph(components[0]), depth=0)
        pos.update({node: (x * SPACING, y * SPACING) for node, (x, y) in main.items()})
    rest = [c for c in components if len(c) > 1 and c[0] not in pos]
    isolated = [c[0] for c in components if len(c) == 1]
    left = min((x for x, _ in pos.values()), default=0.0)
    right = max((x for x, _ in pos.values()), default=40 * SPACING)
    top = max((y for _, y in pos.values()), default=0.0) + 3 * SPACING
    x, row_height = left, 0.0
    for component in rest:
        local = _layout(graph.subgraph(component), depth=0)
        width = 2 * (math.sqrt(len(component)) + 1) * SPACING
        if x + width > right and x > left:
            x, top, row_height = left, top + row_height, 0.0
        for node, (dx, dy) in local.items():
            pos[node] = (x + width / 2 + dx * SPACING, top + width / 2 + dy * SPACING)
        x += width
        row_height = max(row_height, width)
    top += row_height + SPACING
    per_row = max(int((right - left) / SPACING), 10)
    for i, node in enumerate(isolated):
        pos[node] = (left + (i % per_row) * SPACING, top + (i // per_row) * SPACING)
    return {node: (round(float(x), 1), round(float(y), 1)) for node, (x, y) in pos.items()}


def _layout(graph: nx.Graph, depth: int) -> _Points:
    """Positions in « node units »: a cluster of n nodes spans about √n units."""
    n = graph.number_of_nodes()
    if n == 1:
        return {next(iter(graph)): (0.0, 0.0)}
    if n <= DIRECT_MAX_NODES or depth >= 4:
        return _spring(graph, math.sqrt(n))
    parts = nx.community.louvain_communities(
        graph, weight="weight", seed=SEED, resolution=1 + depth
    )
    if len(parts) < 2:
        return _spring(graph, math.sqrt(n), iterations=15)
    return _pack(graph, [sorted(p) for p in parts], depth)


def _spring(graph: nx.Graph, radius: float, iterations: int = 50) -> _Points:
    raw = nx.spring_layout(graph, seed=SEED, weight="weight", iterations=iterations)
    points = np.array([raw[node] for node in graph])
    points -= points.mean(axis=0)
    span = np.abs(points).max() or 1.0
    points *= radius / span
    return {node: tuple(p) for node, p in zip(graph, points, strict=True)}


def _pack(graph: nx.Graph, parts: list[list[str]], depth: int) -> _Points:
    parts.sort(key=lambda p: (-len(p), p[0]))
    member = {node: i for i, part in enumerate(parts) for node in part}
    quotient = nx.Graph()
    quotient.add_nodes_from(range(len(parts)))
    for u, v, weight in graph.edges(data="weight", default=1.0):
        a, b = member[u], member[v]
        if a != b:
            previous = quotient.get_edge_data(a, b, {"weight": 0.0})["weight"]
            quotient.add_edge(a, b, weight=previous + weight)
    centres = nx.spring_layout(quotient, seed=SEED, weight="weight")
    radii = np.array([math.sqrt(len(p)) + 1 for p in parts])
    xy = np.array([centres[i] for i in range(len(parts))])
    # Spread the centres until nearly no two clusters overlap (a quantile, not the maximum:
    # two centres that the spring layout put on top of each other would blow the scale up).
    distances = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=-1)
    needed = radii[:, None] + radii[None, :]
    ratios = needed / np.maximum(distances, 1e-9)
    factor = float(np.quantile(ratios[~np.eye(len(parts), dtype=bool)], 0.95))
    pos = {}
    for i, part in enumerate(parts):
        local = _layout(graph.subgraph(part), depth + 1)
        cx, cy = xy[i] * factor
        for node, (x, y) in local.items():
            pos[node] = (cx + x, cy + y)
    return pos
