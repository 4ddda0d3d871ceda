"""The interactive drawing: pyvis builds the vis-network data, our template renders the page.

pyvis's own page loads Bootstrap from the internet and turns titles into ``innerHTML`` when they
contain ``href``; here pyvis only produces the node and edge records, and the page is rendered
by our auto-escaping Jinja template with the vis-network copy that the pyvis package ships —
served by maillage (``/static/vis-network/``) or inlined in the standalone export. Node names
reach the browser as JSON in a ``<script type="application/json">`` block and are shown through
``textContent`` and vis-network's plain-text titles: nothing is parsed as HTML.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import networkx as nx
import pyvis
from pyvis.edge import Edge
from pyvis.network import Network

from maillage import french, templating
from maillage.french import plural
from maillage.graph.diagnosis import KIND_LABELS
from maillage.graph.layout import positions
from maillage.graph.report import LEVEL_LABELS, Report
from maillage.vocabulary import ORGANISATION_KIND_COLOURS

VIS_DIR = Path(pyvis.__file__).parent / "lib" / "vis-9.1.2"
STATIC_PREFIX = "/static/vis-network"
TEMPLATES = Path(__file__).parent / "templates"
PHYSICS_MAX_NODES = 300  # above, positions are fixed: a 2,000-node graph opens at once

KIND_COLOURS = {**ORGANISATION_KIND_COLOURS, "personne": "#bcbd22"}
PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#1b9e77", "#d95f02",
]  # fmt: skip
NO_AXIS = "#c8c8c8"
SIZE_METRICS = {
    "degree": "nombre de liens",
    "weighted_degree": "force des liens",
    "betweenness": "intermédiarité",
    "pagerank": "PageRank",
}

_environment = templating.environment(TEMPLATES)


def _number(value: object) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}".replace(".", ",") if isinstance(value, float) else str(value)


def _tooltip(report: Report, node: str, attrs: dict[str, Any], reasons: list[str]) -> str:
    measures = report.metrics.nodes.get(node, {})
    lines = [
        attrs["label"],
        f"Type : {KIND_LABELS.get(attrs['kind'], attrs['kind'])}",
        f"Liens : {measures.get('degree', 0)} (force {_number(measures.get('weighted_degree'))})",
        f"Intermédiarité : {_number(measures.get('betweenness'))}",
        f"Communauté : {measures.get('community', '—')}",
    ]
    axes = [report.axis_names.get(a, str(a)) for a in attrs.get("axes") or ()]
    if axes:
        lines.append(f"Axes : {', '.join(axes)}")
    contact = report.last_contact.get(node)
    if contact and contact.day:
        lines.append(f"Dernier échange : {french.format_date(contact.day, 'short')}")
    lines += [f"⚠ {reason}" for reason in reasons]
    return "\n".join(lines)


def _scaled(values: dict[str, float | None]) -> dict[str, float]:
    """Node sizes from 8 to 40 pixels, proportional to the chosen measure."""
    top = max((v for v in values.values() if v), default=0) or 1
    return {node: round(8 + 32 * ((value or 0) / top), 1) for node, value in values.items()}


def network_data(report: Report) -> dict[str, Any]:
    """Nodes, edges and options for vis-network, built with pyvis's records."""
    graph = report.graph
    physics = graph.number_of_nodes() <= PHYSICS_MAX_NODES
    pos = positions(graph)
    flagged = {f.node: [r.message for r in f.reasons] for f in report.under_connected}
    sizes = {
        name: _scaled({n: report.metrics.nodes[n].get(name) for n in graph})
        for name in SIZE_METRICS
    }
    axis_order = {axis: i for i, axis in enumerate(sorted(report.axis_names))}
    net = Network(height="100%", width="100%", cdn_resources="local")
    for node, attrs in graph.nodes(data=True):
        community = report.metrics.nodes[node]["community"]
        first_axis = (attrs.get("axes") or (None,))[0]
        colours = {
            "kind": KIND_COLOURS.get(attrs["kind"], KIND_COLOURS["autre"]),
            "community": PALETTE[(community - 1) % len(PALETTE)],
            "axis": NO_AXIS
            if first_axis is None
            else PALETTE[axis_order.get(first_axis, 0) % len(PALETTE)],
        }
        x, y = pos[node]
        net.add_node(
            node,
            label=attrs["label"] or node,
            title=_tooltip(report, node, attrs, flagged.get(node, [])),
            color=colours["kind"],
            size=sizes["degree"][node],
            x=x,
            y=y,
            physics=physics,
            colours=colours,
            sizes={name: sizes[name][node] for name in SIZE_METRICS},
            flagged=node in flagged,
            kind=attrs["kind"],
            community=community,
            axis=first_axis,
        )
    # pyvis's add_edge scans every edge already added (quadratic); NetworkX already merged the
    # duplicates, so pyvis's Edge records are appended directly.
    for a, b, attrs in graph.edges(data=True):
        net.edges.append(
            Edge(a, b, value=attrs["weight"], title=_edge_title(graph, a, b, attrs)).options
        )
    nodes, edges, _heading, _height, _width, _options = net.get_network_data()
    return {"nodes": nodes, "edges": edges, "options": _options_for(physics)}


def _edge_title(graph: nx.Graph, a: str, b: str, attrs: dict[str, Any]) -> str:
    parts = [f"{graph.nodes[a]['label']} — {graph.nodes[b]['label']}"]
    labels = [
        ("shared_bodies", "instance en commun", "instances en commun"),
        ("meetings_together", "réunion ensemble", "réunions ensemble"),
        ("partnerships", "partenariat", "partenariats"),
        ("shared_people", "personne en commun", "personnes en commun"),
        ("interactions", "échange", "échanges"),
    ]
    parts += [plural(attrs[key], one, many) for key, one, many in labels if attrs.get(key)]
    if attrs.get("colleagues"):
        parts.append("même organisation")
    return "\n".join(parts)


def _options_for(physics: bool) -> dict[str, Any]:
    return {
        "physics": {"enabled": physics, "stabilization": {"iterations": 150}},
        "edges": {
            "smooth": False,
            "color": {"inherit": False, "color": "#b0b0b0", "opacity": 0.6},
            "scaling": {"min": 1, "max": 6},
        },
        "nodes": {
            "shape": "dot",
            "font": {"size": 12, "face": "sans-serif", "strokeWidth": 3, "strokeColor": "#ffffff"},
            # a label drawn smaller than 8 px on screen is left out until one zooms in
            "scaling": {"label": {"drawThreshold": 8}},
        },
        "interaction": {
            "hover": True,
            "tooltipDelay": 150,
            "hideEdgesOnDrag": not physics,
            "navigationButtons": False,
        },
        "layout": {"improvedLayout": False},
    }


def legend(report: Report) -> dict[str, Any]:
    axis_order = sorted(report.axis_names)
    kinds = sorted({attrs["kind"] for _, attrs in report.graph.nodes(data=True)})
    return {
        "kind": [
            {"label": KIND_LABELS.get(k, k), "colour": KIND_COLOURS.get(k, "#7f7f7f")}
            for k in kinds
        ],
        "community": [
            {"label": f"Communauté {i + 1} ({len(c)})", "colour": PALETTE[i % len(PALETTE)]}
            for i, c in enumerate(report.metrics.communities[: len(PALETTE)])
        ],
        "axis": [
            {"label": report.axis_names[a], "colour": PALETTE[i % len(PALETTE)]}
            for i, a in enumerate(axis_order)
        ]
        + [{"label": "sans axe", "colour": NO_AXIS}],
    }


def render_html(report: Report, standalone: bool = False, nonce: str | None = None) -> str:
    """The page; ``standalone`` inlines vis-network so the file works with no network at all."""
    payload = {
        **network_data(report),
        "legend": legend(report),
        "size_metrics": SIZE_METRICS,
    }
    context = {
        "title": f"Réseau partenarial ({LEVEL_LABELS[report.level]})",
        "report": report,
        "network": report.metrics.network,
        "findings": report.under_connected,
        "payload": payload,
        "standalone": standalone,
        "static_prefix": STATIC_PREFIX,
        "nonce": nonce or secrets.token_urlsafe(16),
        "vis_js": (VIS_DIR / "vis-network.min.js").read_text(encoding="utf-8")
        if standalone
        else "",
        "vis_css": (VIS_DIR / "vis-network.css").read_text(encoding="utf-8") if standalone else "",
        "page_js": (TEMPLATES / "network.js").read_text(encoding="utf-8"),
        "page_css": (TEMPLATES / "network.css").read_text(encoding="utf-8"),
    }
    return _environment.get_template("network.html").render(**context)


# The drawing is made once per analysis in a heavy-work process with this mark for its nonce;
# each request puts its own nonce in its place (``with_nonce``).
NONCE_MARK = "maillage-nonce-a-remplacer"


def render_marked(report: Report) -> str:
    """The served page, its nonce still to set (``with_nonce``)."""
    return render_html(report, nonce=NONCE_MARK)


def with_nonce(html: str, nonce: str) -> str:
    """The marked page with the request's nonce: only in ``nonce="…"`` attributes, where the
    data (JSON in a script, escaped text) cannot put a bare quote."""
    return html.replace(f'nonce="{NONCE_MARK}"', f'nonce="{nonce}"')


def content_security_policy(nonce: str) -> str:
    """For the served page: scripts and styles from maillage itself, nothing from elsewhere."""
    return (
        "default-src 'none'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        f"style-src 'self' 'nonce-{nonce}'; "
        "img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
    )


def render_standalone(report: Report) -> str:
    """The ``.html`` export: vis-network inlined, opens from a USB stick."""
    return render_html(report, standalone=True)
