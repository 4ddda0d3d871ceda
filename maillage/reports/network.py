"""The network section of the bilan: the partner network of year N against year N-1.

The analysis is ``maillage.graph``'s (network issue): this module only turns the report's rows
into its ``NetworkData``, asks ``analyse`` for the network of each civil year (links active
during the year, meetings and exchanges dated in it) and keeps the handful of figures the bilan
prints, as ``NetworkYear``.

Which organisations the network of year N holds: those registered by the end of N (the graph
rows carry no creation date, so it is applied here) and, when the database holds several
territories, only those located in the territory or sitting in its bodies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from maillage.graph.data import NetworkData, NetworkFilter
from maillage.graph.report import analyse
from maillage.reports.collect import ReportRows


@dataclass
class NetworkYear:
    year: int
    organisations: int
    ties: int
    density: float | None
    isolates: int
    largest_component_share: float | None
    communities: int
    core: set[int] = field(default_factory=set)  # organisation ids in the main k-core
    periphery: set[int] = field(default_factory=set)  # in the network, outside the core
    under_connected: list[dict[str, Any]] = field(default_factory=list)  # id, reasons
    empty_reason: str | None = None
    # Organisation id → PageRank, degree, under-connected and why: the bilan's partners map.
    centrality: dict[int, dict[str, Any]] = field(default_factory=dict)


def network_year(rows: ReportRows, year: int) -> NetworkYear:
    """The network figures of ``year``, computed by ``maillage.graph``."""
    data = network_data(rows, year)
    selection = NetworkFilter(start=dt.date(year, 1, 1), end=dt.date(year, 12, 31))
    report = analyse(data, selection, "organisations")
    figures = report.metrics.network
    nodes = report.metrics.nodes
    ids = {node: attrs["record_id"] for node, attrs in report.graph.nodes(data=True)}
    top = max((m["core_number"] for m in nodes.values()), default=0)
    core = {ids[n] for n, m in nodes.items() if top > 0 and m["core_number"] == top}
    return NetworkYear(
        year=year,
        organisations=figures["nodes"],
        ties=figures["ties"],
        density=figures["density"],
        isolates=figures["isolates"],
        largest_component_share=figures["main_component_share"],
        communities=sum(1 for c in report.metrics.communities if len(c) > 1),
        core=core,
        periphery=set(ids.values()) - core,
        under_connected=[
            {"id": ids[f.node], "reasons": [r.message for r in f.reasons]}
            for f in report.under_connected
            if f.node in ids
        ],
        empty_reason=report.empty_reason,
        centrality=centralities(report),
    )


def centralities(report: Any) -> dict[int, dict[str, Any]]:
    """Organisation id → PageRank and whether the analysis finds it under-connected."""
    marked = {f.node for f in report.under_connected}
    result = {}
    for node, attrs in report.graph.nodes(data=True):
        if attrs.get("type") != "organisation":
            continue
        figures = report.metrics.nodes.get(node, {})
        result[attrs["record_id"]] = {
            "pagerank": figures.get("pagerank") or 0.0,
            "degree": figures.get("degree") or 0,
            "under_connected": node in marked,
            "reasons": [
                r.message for f in report.under_connected if f.node == node for r in f.reasons
            ],
        }
    return result


def movements(previous: NetworkYear, current: NetworkYear) -> dict[str, set[int]]:
    """Partners that moved from the edge to the core, and those that drifted away from it."""
    return {
        "to_core": previous.periphery & current.core,
        "drifted": previous.core - current.core,
    }


def network_data(rows: ReportRows, year: int) -> NetworkData:
    """The network of ``year`` as ``/reseau`` reads it (`maillage.graph.network`'s one loader),
    kept to the report's territory and to the organisations registered by the end of the year."""
    return network_until(rows, dt.date(year, 12, 31))


def network_until(rows: ReportRows, end: dt.date) -> NetworkData:
    """The network as of ``end``: the report's territory, the organisations registered by then."""
    scope = rows.scope
    data = rows.network
    involved = {m["organisation"] for m in rows.memberships} | {
        a["organisation"] for a in rows.affiliations
    }
    organisations = {
        o["id"]
        for o in rows.organisations.values()
        if o["created_at"].date() <= end
        and (scope.everything or o["commune"] in scope.commune_ids or o["id"] in involved)
    }
    if scope.everything:
        return replace(
            data,
            today=end,
            organisations=[o for o in data.organisations if o.id in organisations],
        )
    meetings = [m for m in data.meetings if m.group in scope.group_ids]
    meeting_ids = {m.id for m in meetings}
    return replace(
        data,
        today=end,
        organisations=[o for o in data.organisations if o.id in organisations],
        communes=[c for c in data.communes if c.id in scope.commune_ids],
        groups=[g for g in data.groups if g.id in scope.group_ids],
        memberships=[m for m in data.memberships if m.group in scope.group_ids],
        meetings=meetings,
        invitations=[i for i in data.invitations if i.meeting in meeting_ids],
    )
