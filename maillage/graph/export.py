"""Exports of an analysed network: GEXF and GraphML for Gephi, node-link JSON, CSV for Excel.

GEXF and GraphML writers refuse ``None``: a measure without value (Burt's constraint of an
isolated partner) is left out of that node's attributes rather than written as a fake number.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import networkx as nx

from maillage.graph.diagnosis import KIND_LABELS
from maillage.graph.metrics import NODE_METRICS
from maillage.graph.report import Report
from maillage.vocabulary import ENTITIES, ORGANISATION_KINDS, PARTNERSHIP_KINDS

CSV_COLUMNS = [
    ("id", "identifiant"),
    ("record_id", "n° de fiche"),
    ("name", "nom"),
    ("kind", "type"),
    ("category", "catégorie"),
    ("commune", "commune"),
    ("axes", "axes"),
    ("degree", "liens"),
    ("weighted_degree", "force des liens"),
    ("betweenness", "intermédiarité"),
    ("closeness", "proximité"),
    ("pagerank", "PageRank"),
    ("core_number", "k-cœur"),
    ("clustering", "regroupement"),
    ("constraint", "contrainte de Burt"),
    ("effective_size", "taille effective"),
    ("community", "communauté"),
    ("component_size", "taille du groupe connexe"),
    ("in_main_component", "dans le réseau principal"),
    ("articulation_point", "point d'articulation"),
    ("last_contact", "dernier échange"),
    ("interactions", "échanges"),
    ("under_connected", "peu relié"),
    ("reasons", "raisons"),
]


# What a person reads in Gephi or Excel instead of the codes kept in the graph (#21): the
# vocabulary's labels, as the other exports write them. A person's node is of kind « personne »
# (the drawing's legend word); the JSON node-link export, read by programs, keeps the codes.
NODE_TYPES = {"organisation": ENTITIES["organisation"], "contact": ENTITIES["contact"]}
KINDS = {**ORGANISATION_KINDS, "personne": KIND_LABELS["personne"].capitalize()}


def _kind_label(code: str) -> str:
    return KINDS.get(code, code)


def _partnership_kinds(codes: str) -> str:
    """« convention,delegation_dsp » → « Convention, Délégation de service public »."""
    return ", ".join(PARTNERSHIP_KINDS.get(c, c) for c in codes.split(",") if c)


def with_labels(graph: nx.Graph) -> nx.Graph:
    """A copy of an exported graph whose coded values read as their French labels."""
    french = nx.Graph()
    for node, attrs in graph.nodes(data=True):
        values = dict(attrs)
        values["type"] = NODE_TYPES.get(values["type"], values["type"])
        values["kind"] = _kind_label(values["kind"])
        french.add_node(node, **values)
    for a, b, attrs in graph.edges(data=True):
        values = dict(attrs)
        if "partnership_kinds" in values:
            values["partnership_kinds"] = _partnership_kinds(values["partnership_kinds"])
        french.add_edge(a, b, **values)
    return french


def export_graph(report: Report) -> nx.Graph:
    """A copy of the graph with the measures as attributes and nothing a writer refuses."""
    graph = nx.Graph()
    flagged = {f.node: f for f in report.under_connected}
    for node, attrs in report.graph.nodes(data=True):
        values = {
            "label": attrs["label"],
            "type": attrs["type"],
            "record_id": attrs["record_id"],
            "kind": attrs["kind"],
            "category": attrs.get("category") or "",
            "commune": report.commune_names.get(attrs.get("commune"), ""),
            "axes": ", ".join(report.axis_names.get(a, str(a)) for a in attrs.get("axes") or ()),
            "archived": bool(attrs.get("archived")),
            "under_connected": node in flagged,
            "reasons": "; ".join(r.message for r in flagged[node].reasons)
            if node in flagged
            else "",
        }
        for name in NODE_METRICS:
            value = report.metrics.nodes.get(node, {}).get(name)
            if value is not None:
                values[name] = value
        graph.add_node(node, **values)
    for a, b, attrs in report.graph.edges(data=True):
        graph.add_edge(a, b, **{k: v for k, v in attrs.items() if not k.startswith("_")})
    return graph


# Gephi shows attribute titles as they are written: French ones for French users. The ids
# of the attributes stay the positions NetworkX gives them, so a saved Gephi project still maps.
GEXF_TITLES = {
    **dict(CSV_COLUMNS),
    "type": "nature du nœud",
    "archived": "archivé",
    "weight": "poids",
    "shared_bodies": "instances en commun",
    "meetings_together": "réunions ensemble",
    "meetings_weight": "poids des réunions",
    "partnerships": "partenariats",
    "partnership_kinds": "types de partenariat",
    "shared_people": "personnes en commun",
    "colleagues": "collègues",
    "interactions": "échanges",
    "role": "rôle",
}


def _french_titles(graph: nx.Graph) -> nx.Graph:
    french = nx.Graph()
    for node, attrs in graph.nodes(data=True):
        # « label » is not an attribute in GEXF but the node's own label: kept as NetworkX
        # expects it.
        french.add_node(
            node, **{(k if k == "label" else GEXF_TITLES.get(k, k)): v for k, v in attrs.items()}
        )
    for a, b, attrs in graph.edges(data=True):
        # « weight » keeps its name: Gephi reads it as the edge's thickness.
        french.add_edge(
            a, b, **{(k if k == "weight" else GEXF_TITLES.get(k, k)): v for k, v in attrs.items()}
        )
    return french


def to_gexf(report: Report) -> bytes:
    buffer = io.BytesIO()
    nx.write_gexf(_french_titles(with_labels(export_graph(report))), buffer, encoding="utf-8")
    # NetworkX writes <graph name=""> although GEXF 1.2 and 1.3 give <graph> no such
    # attribute: the official schema refuses the file.
    return re.sub(rb'(<graph\b[^>]*?) name="[^"]*"', rb"\1", buffer.getvalue(), count=1)


def to_graphml(report: Report) -> bytes:
    buffer = io.BytesIO()
    nx.write_graphml(with_labels(export_graph(report)), buffer, encoding="utf-8")
    return buffer.getvalue()


def to_node_link(report: Report) -> dict[str, Any]:
    data: dict[str, Any] = nx.node_link_data(export_graph(report), edges="links")
    data["graph"] = {"level": report.level, "network": report.metrics.network}
    return data


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2, allow_nan=False)


def _french(value: object) -> str:
    """A cell French Excel reads as intended: decimal comma, oui/non, no formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        return f"{value:.6g}".replace(".", ",")
    text = str(value)
    # A cell starting with = + - @ would be run as a formula by the spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(report: Report) -> bytes:
    flagged = {f.node: f for f in report.under_connected}
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([label for _, label in CSV_COLUMNS])
    for row in report.node_rows():
        row["kind"] = _kind_label(row["kind"])
        row["commune"] = report.commune_names.get(row["commune"], "")
        row["axes"] = ", ".join(report.axis_names.get(a, str(a)) for a in row["axes"])
        row["under_connected"] = row["id"] in flagged
        row["reasons"] = (
            " ; ".join(r.message for r in flagged[row["id"]].reasons)
            if row["id"] in flagged
            else ""
        )
        writer.writerow([_french(row.get(key)) for key, _ in CSV_COLUMNS])
    # The byte-order mark tells Excel the file is UTF-8 (accents, « », emoji).
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
