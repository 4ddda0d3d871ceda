"""The analysis as a French Markdown report, for the terminal or a note to the Caf."""

from __future__ import annotations

from maillage import french
from maillage.french import plural
from maillage.graph.report import LEVEL_LABELS, Report

TOP = 20


def _number(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}".replace(".", ",")
    return str(value)


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def render(report: Report) -> str:
    what = LEVEL_LABELS[report.level]
    lines = [
        f"# Réseau partenarial ({what}) au {french.format_date(report.today, 'short')}",
        "",
        f"Sélection : {report.selection.describe()}.",
        "",
    ]
    if report.empty_reason:
        return "\n".join([*lines, report.empty_reason, ""])
    net = report.metrics.network
    lines += [
        "## Vue d'ensemble",
        "",
        f"- {net['nodes']} {what}, {net['ties']} liens (densité {_number(net['density'], 3)})",
        f"- {plural(net['components'], 'groupe connexe', 'groupes connexes')} ; réseau principal : "
        f"{net['main_component_size']} ({_share(net['main_component_share'])})",
        f"- {plural(net['isolates'], 'isolé')}, "
        f"{plural(net['articulation_points'], 'point', 'points')} d'articulation, "
        f"{plural(net['bridges'], 'lien pont', 'liens ponts')}",
        f"- distance moyenne dans le réseau principal : {_number(net['average_path_length'])}",
        f"- {plural(net['communities'], 'communauté')}, modularité {_number(net['modularity'])}",
        f"- intermédiarité : {net['betweenness_method']}",
        "",
    ]
    lines += _section(
        "Partenaires peu reliés",
        [
            f"**{f.name}** : {' ; '.join(r.message for r in f.reasons)}"
            for f in report.under_connected
        ],
        len(report.under_connected),
    )
    lines += _section(
        "Points fragiles",
        [f"**{p['name']}** : {p['message']}" for p in report.fragile_points],
        len(report.fragile_points),
    )
    lines += _section(
        "Zones non couvertes",
        [g["message"] for g in report.coverage_gaps],
        len(report.coverage_gaps),
    )
    lines += _section("Que faire ?", _suggestion_lines(report), len(report.suggestions))
    lines += _section(
        "Relances dues", [f["message"] for f in report.follow_ups], len(report.follow_ups)
    )
    return "\n".join(lines)


def _section(title: str, items: list[str], total: int) -> list[str]:
    lines = [f"## {title}", ""]
    if not items:
        return [*lines, "Rien à signaler.", ""]
    lines += [f"- {item}" for item in items[:TOP]]
    if total > TOP:
        lines.append(f"- … et {plural(total - TOP, 'autre')} (voir l'export JSON ou CSV)")
    return [*lines, ""]


def _suggestion_lines(report: Report) -> list[str]:
    lines = []
    for item in report.suggestions:
        ideas = [f"inviter à « {b['name']} » ({', '.join(b['reasons'])})" for b in item["bodies"]]
        ideas += [
            f"présenter à « {p['name']} » ({', '.join(p['reasons'])})" for p in item["partners"]
        ]
        if ideas:
            lines.append(f"**{item['name']}** : " + " ; ".join(ideas))
    return lines
