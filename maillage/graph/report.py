"""The full analysis in one call: filter, build, measure, explain, suggest.

``analyse`` returns a ``Report`` whose ``to_dict`` is the JSON contract of the API and of
``maillage network report --format json``: ``network``, ``nodes``, ``under_connected``,
``suggestions`` (plus ``fragile_points``, ``coverage_gaps``, ``follow_ups`` and ``filter``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx

from maillage import french
from maillage.graph import build, diagnosis, metrics
from maillage.graph.data import NetworkData, NetworkFilter
from maillage.graph.filters import apply_filter
from maillage.graph.suggestions import suggest

Level = Literal["organisations", "contacts"]
LEVEL_LABELS = {"organisations": "organisations", "contacts": "personnes"}


@dataclass
class Report:
    level: str
    selection: NetworkFilter
    today: dt.date
    graph: nx.Graph
    metrics: metrics.Metrics
    under_connected: list[diagnosis.Finding] = field(default_factory=list)
    fragile_points: list[dict[str, Any]] = field(default_factory=list)
    coverage_gaps: list[dict[str, Any]] = field(default_factory=list)
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    follow_ups: list[dict[str, Any]] = field(default_factory=list)
    last_contact: dict[str, build.LastContact] = field(default_factory=dict)
    empty_reason: str | None = None
    axis_names: dict[int, str] = field(default_factory=dict)
    commune_names: dict[int, str] = field(default_factory=dict)

    def node_rows(self) -> list[dict[str, Any]]:
        rows = []
        for node, attrs in self.graph.nodes(data=True):
            contact = self.last_contact.get(node)
            rows.append(
                {
                    "id": node,
                    "record_id": attrs["record_id"],
                    "type": attrs["type"],
                    "name": attrs["label"],
                    "kind": attrs["kind"],
                    "category": attrs.get("category", ""),
                    "commune": attrs.get("commune"),
                    "axes": list(attrs.get("axes") or ()),
                    "archived": attrs.get("archived", False),
                    "last_contact": contact.day.isoformat() if contact and contact.day else None,
                    "interactions": contact.count if contact else 0,
                    **self.metrics.nodes.get(node, {}),
                }
            )
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "reference_date": self.today.isoformat(),
            "filter": _filter_dict(self.selection),
            "empty_reason": self.empty_reason,
            "network": self.metrics.network,
            "nodes": self.node_rows(),
            "under_connected": [
                {
                    "id": f.node,
                    "name": f.name,
                    "kind": f.kind,
                    "score": f.score,
                    "reasons": [
                        {"code": r.code, "message": r.message, "values": r.values}
                        for r in f.reasons
                    ],
                }
                for f in self.under_connected
            ],
            "suggestions": self.suggestions,
            "fragile_points": self.fragile_points,
            "coverage_gaps": self.coverage_gaps,
            "follow_ups": self.follow_ups,
        }


def _filter_dict(selection: NetworkFilter) -> dict[str, Any]:
    return {
        "start": selection.start.isoformat() if selection.start else None,
        "end": selection.end.isoformat() if selection.end else None,
        "axes": sorted(selection.axes),
        "communes": sorted(selection.communes),
        "kinds": sorted(selection.kinds),
        "include_archived": selection.include_archived,
        "description": selection.describe(),
    }


def build_graph(data: NetworkData, level: Level) -> nx.Graph:
    return build.organisation_graph(data) if level == "organisations" else build.person_graph(data)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the duration of one analysis.

    The analysis allocates hundreds of thousands of small containers (ties, their sets, the
    graph's attribute dicts) that all live until it ends; each of the collector's passes
    rescans them, and on a département that was 40 % of the report's processor time. Nothing
    here makes reference cycles worth collecting early; the collector resumes afterwards
    (unless it was already off, or another thread's analysis turned it back on).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def analyse(
    data: NetworkData,
    selection: NetworkFilter | None = None,
    level: Level = "organisations",
) -> Report:
    with collector_paused():
        return _analyse(data, selection, level)


def _analyse(data: NetworkData, selection: NetworkFilter | None, level: Level) -> Report:
    selection = selection or NetworkFilter()
    filtered = apply_filter(data, selection)
    graph = build_graph(filtered, level)
    measured = metrics.compute(graph)
    report = Report(level, selection, filtered.today, graph, measured)
    report.last_contact = build.last_contacts(filtered, level)
    report.axis_names = {a.id: a.name for a in data.axes}
    report.commune_names = {c.id: c.name for c in data.communes}
    report.follow_ups = follow_ups(filtered, graph)
    if graph.number_of_nodes() == 0:
        report.empty_reason = _empty_reason(data, selection, level)
        return report
    report.under_connected = diagnosis.under_connected(
        graph, measured, filtered, level, report.last_contact
    )
    report.fragile_points = diagnosis.fragile_points(graph, measured, filtered)
    report.coverage_gaps = diagnosis.coverage_gaps(filtered) if level == "organisations" else []
    report.suggestions = suggest(graph, filtered, report.under_connected, level, measured.adjacency)
    return report


def _empty_reason(data: NetworkData, selection: NetworkFilter, level: str) -> str:
    what = LEVEL_LABELS[level]
    count = len(data.organisations if level == "organisations" else data.contacts)
    if count == 0:
        return f"Le réseau est vide : aucune fiche ({what}) n'est encore enregistrée."
    return (
        f"Aucune fiche ({what}) ne correspond à la sélection ({selection.describe()}) : "
        "élargissez la période ou retirez un filtre."
    )


def follow_ups(data: NetworkData, graph: nx.Graph) -> list[dict[str, Any]]:
    """Follow-ups planned in the exchanges log that are due by the reference date."""
    due = []
    for interaction in sorted(
        data.interactions, key=lambda i: (i.follow_up_on or dt.date.max, i.id)
    ):
        if interaction.follow_up_on is None or interaction.follow_up_on > data.today:
            continue
        partners = [build.org_key(o) for o in interaction.organisations] + [
            build.contact_key(c) for c in interaction.contacts
        ]
        due.append(
            {
                "interaction": interaction.id,
                "follow_up_on": interaction.follow_up_on.isoformat(),
                "occurred_on": interaction.occurred_on.isoformat(),
                "kind": interaction.kind,
                "partners": [p for p in partners if p in graph],
                "message": f"relance prévue le {french.format_date(interaction.follow_up_on, 'short')}",
            }
        )
    return due
