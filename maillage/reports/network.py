"""The network section of the bilan: the partner network of year N against year N-1.

The analysis belongs to ``maillage.graph`` (network issue). The report only needs the handful of
figures below, through ``NetworkYear``; ``network_year`` is the one place that asks for them.
Until ``maillage.graph`` provides its builders and metrics, a minimal stand-in computes them with
NetworkX's own functions: organisations tied by attending the same held meeting or by a
partnership running during the year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from maillage.reports.collect import ReportRows

COMMUNITY_SEED = 1


@dataclass
class NetworkYear:
    year: int
    organisations: int
    ties: int
    density: float | None
    isolates: int
    largest_component_share: float | None
    communities: int
    core: set[int] = field(default_factory=set)  # organisation ids in the main core
    periphery: set[int] = field(default_factory=set)  # in the network, outside the core
    under_connected: list[dict[str, Any]] = field(default_factory=list)  # id, reasons


def network_year(rows: ReportRows, year: int, presence_rows: list[dict[str, Any]]) -> NetworkYear:
    """The network figures of ``year`` (``presence_rows``: who attended which meeting for whom)."""
    graph = _organisation_graph(rows, year, presence_rows)
    return _figures(graph, year)


def _organisation_graph(
    rows: ReportRows, year: int, presence_rows: list[dict[str, Any]]
) -> nx.Graph:
    graph = nx.Graph()
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    for membership in rows.memberships:
        running = (membership["start_date"] is None or membership["start_date"] <= end) and (
            membership["end_date"] is None or membership["end_date"] >= start
        )
        organisation = rows.organisations.get(membership["organisation"])
        # A membership may be back-dated: the partner counts once it is registered.
        if running and organisation and organisation["created_at"].year <= year:
            graph.add_node(membership["organisation"])
    by_meeting: dict[int, set[int]] = {}
    for presence in presence_rows:
        if presence["organisation"] is not None:
            graph.add_node(presence["organisation"])
            by_meeting.setdefault(presence["meeting"]["id"], set()).add(presence["organisation"])
    for present in by_meeting.values():
        ordered = sorted(present)
        for index, first in enumerate(ordered):
            for second in ordered[index + 1 :]:
                weight = graph.get_edge_data(first, second, {"weight": 0})["weight"]
                graph.add_edge(first, second, weight=weight + 1)
    for partnership in rows.partnerships:
        running = (partnership["start_date"] is None or partnership["start_date"] <= end) and (
            partnership["end_date"] is None or partnership["end_date"] >= start
        )
        ends = (partnership["organisation"], partnership["partner"])
        if running and ends[0] != ends[1] and all(e in graph for e in ends):
            graph.add_edge(*ends, weight=graph.get_edge_data(*ends, {"weight": 0})["weight"] + 1)
    return graph


def _figures(graph: nx.Graph, year: int) -> NetworkYear:
    size = graph.number_of_nodes()
    if size == 0:
        return NetworkYear(year, 0, 0, None, 0, None, 0)
    largest = max(nx.connected_components(graph), key=len)
    cores = nx.core_number(graph)
    top = max(cores.values())
    core = {node for node, k in cores.items() if k == top and top > 0}
    communities = nx.community.louvain_communities(graph, seed=COMMUNITY_SEED)
    under = []
    for node in sorted(graph.nodes):
        degree = graph.degree(node)
        if degree == 0:
            under.append({"id": node, "reasons": ["isolé : aucun lien dans l'année"]})
        elif degree == 1:
            under.append({"id": node, "reasons": ["un seul lien dans l'année"]})
        elif node not in largest:
            under.append({"id": node, "reasons": ["hors du réseau principal"]})
    return NetworkYear(
        year=year,
        organisations=size,
        ties=graph.number_of_edges(),
        density=nx.density(graph) if size > 1 else None,
        isolates=nx.number_of_isolates(graph),
        largest_component_share=len(largest) / size,
        communities=len([c for c in communities if len(c) > 1]),
        core=core,
        periphery=set(graph.nodes) - core,
        under_connected=under,
    )


def movements(previous: NetworkYear, current: NetworkYear) -> dict[str, set[int]]:
    """Partners that moved from the edge to the core, and those that drifted away from it."""
    return {
        "to_core": previous.periphery & current.core,
        "drifted": previous.core - current.core,
    }
