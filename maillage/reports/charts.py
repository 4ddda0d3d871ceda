"""Charts of the bilan, drawn with matplotlib (Agg, no pyplot state) from the sheets the XLSX
holds, so every picture has its rows next to it. The Agg canvas is used directly (no pyplot,
no global state, no display needed). Readable in black and white: year N-1 hatched,
year N solid dark grey, values written on the bars, zones blanches cross-hatched."""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Sequence
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.patches import Polygon as MplPolygon

from maillage.french import number, percent
from maillage.reports.model import Chart, Section, Sheet

DPI = 150
# Patch properties passed as keyword arguments to barh() / Rectangle.set().
PREVIOUS: dict[str, Any] = {
    "facecolor": "white",
    "edgecolor": "black",
    "hatch": "///",
    "linewidth": 0.8,
}
CURRENT: dict[str, Any] = {"facecolor": "0.3", "edgecolor": "black", "linewidth": 0.8}
MAX_BODIES = 30
MAX_COMMUNES = 60


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


_PATH = re.compile(r'<path d="([^"]+)"')
_RING = re.compile(r"M([^Z]+)Z")
_VIEW = re.compile(r'viewBox="0 0 ([0-9.]+) ([0-9.]+)"')


def map_png(svg: str) -> bytes:
    """The SVG map of ``maillage.geo.svg`` as a PNG for the DOCX: its rings (pixels, y down)
    drawn again, outlines dark on a light fill, readable in black and white."""
    view = _VIEW.search(svg)
    width, height = (float(view[1]), float(view[2])) if view else (640.0, 480.0)
    figure = Figure(figsize=(6.4, 6.4 * height / width))
    axes = figure.add_axes((0, 0, 1, 1))
    for d in _PATH.findall(svg):
        for ring in _RING.findall(d):
            numbers = [float(n) for n in ring.replace("L", " ").split()]
            points = list(zip(numbers[0::2], numbers[1::2], strict=False))
            if len(points) >= 3:
                axes.add_patch(
                    MplPolygon(
                        points, closed=True, facecolor="#dce8f4", edgecolor="#24466f", linewidth=0.6
                    )
                )
    axes.set_xlim(0, width)
    axes.set_ylim(height, 0)
    axes.set_aspect("equal")
    axes.axis("off")
    return _png(figure)


def _plain(label: str) -> str:
    """A name as typed: matplotlib reads text between two « $ » as a formula (mathtext), and
    « Commission $\\foo$ » made the whole report fail; an escaped « $ » is drawn as is."""
    return label.replace("$", r"\$")


def _wrap(label: str, width: int = 34) -> str:
    return "\n".join(textwrap.wrap(_plain(label), width)[:2])


def attendance_chart(bodies: Sequence[tuple[Any, ...]], year: int) -> bytes:
    """Horizontal bars: attendance rate per body, year N-1 (hatched) and N (solid).

    ``bodies``: (name, rate N, rate N-1, meetings held in N-1).
    """
    bodies = list(bodies)[:MAX_BODIES]
    figure = Figure(figsize=(8, 1.2 + 0.55 * max(len(bodies), 1)))
    axes = figure.add_subplot()
    positions = range(len(bodies))
    for offset, index, style, label in (
        (0.2, 2, PREVIOUS, str(year - 1)),
        (-0.2, 1, CURRENT, str(year)),
    ):
        values = [(b[index] or 0) * 100 for b in bodies]
        bars = axes.barh([p + offset for p in positions], values, height=0.38, label=label, **style)
        for bar, body in zip(bars, bodies, strict=True):
            text = percent(body[index]) if body[index] is not None else _no_rate(body, index)
            axes.text(
                bar.get_width() + 1,
                bar.get_y() + bar.get_height() / 2,
                text,
                va="center",
                fontsize=7,
            )
    axes.set_yticks(list(positions), [_wrap(b[0]) for b in bodies], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, 115)
    axes.set_xticks([0, 25, 50, 75, 100], ["0 %", "25 %", "50 %", "75 %", "100 %"], fontsize=8)
    axes.set_xlabel("Taux de présence (présents / présence saisie)", fontsize=8)
    axes.legend(loc="lower right", fontsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def _no_rate(body: tuple[Any, ...], index: int) -> str:
    """Why a bar is missing: no meeting that year, or attendance never recorded."""
    held_before = body[3] if len(body) > 3 else None
    return "aucune réunion" if index == 2 and held_before == 0 else "présence non saisie"


def network_chart(indicators: Sequence[tuple[str, Any, Any]], year: int) -> bytes:
    """Small multiples, one per indicator: N-1 (hatched) against N (solid)."""
    figure = Figure(figsize=(8, 4.6))
    for index, (label, before, now) in enumerate(indicators[:6], start=1):
        axes = figure.add_subplot(2, 3, index)
        values = [before or 0, now or 0]
        bars = axes.bar([0, 1], values, width=0.6)
        for bar, style in zip(bars, (PREVIOUS, CURRENT), strict=True):
            bar.set(**style)
        top = max(values) or 1
        for bar, value in zip(bars, (before, now), strict=True):
            text = _value_label(label, value)
            axes.text(
                bar.get_x() + bar.get_width() / 2,
                bar.get_height() + top * 0.03,
                text,
                ha="center",
                fontsize=8,
            )
        axes.set_ylim(0, top * 1.25)
        axes.set_xticks([0, 1], [str(year - 1), str(year)], fontsize=8)
        axes.set_yticks([])
        axes.set_title(_wrap(label, 24), fontsize=8)
        axes.spines[["top", "right", "left"]].set_visible(False)
    figure.tight_layout()
    return _png(figure)


def _value_label(label: str, value: Any) -> str:
    if label.startswith("Part "):
        return percent(value)
    return number(value, 3) if isinstance(value, float) else number(value)


def coverage_chart(axes_names: list[str], communes: list[tuple[str, list[int]]]) -> bytes:
    """Heat table communes × axes: darker is more partners, cross-hatched white is none."""
    communes = communes[:MAX_COMMUNES]
    width = 1.6 + 0.75 * len(axes_names)
    figure = Figure(figsize=(max(width, 6), 1.8 + 0.28 * max(len(communes), 1)))
    axes = figure.add_subplot()
    top = max([v for _, row in communes for v in row] + [1])
    for y, (_name, row) in enumerate(communes):
        for x, value in enumerate(row):
            shade = 1 - 0.8 * min(value / top, 1) if value else 1.0
            cell = Rectangle(
                (x, y),
                1,
                1,
                facecolor=str(shade),
                edgecolor="0.6",
                linewidth=0.5,
                hatch="xx" if value == 0 else None,
            )
            axes.add_patch(cell)
            colour = "white" if shade < 0.5 else "black"
            axes.text(
                x + 0.5,
                y + 0.5,
                str(value),
                ha="center",
                va="center",
                fontsize=7,
                color=colour,
                fontweight="bold" if value == 0 else "normal",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1} if value == 0 else None,
            )
    axes.set_xlim(0, len(axes_names))
    axes.set_ylim(len(communes), 0)
    axes.set_xticks(
        [x + 0.5 for x in range(len(axes_names))],
        [_wrap(a, 14) for a in axes_names],
        fontsize=7,
        rotation=45,
        ha="left",
    )
    axes.xaxis.tick_top()
    axes.set_yticks(
        [y + 0.5 for y in range(len(communes))], [_plain(c[0]) for c in communes], fontsize=7
    )
    axes.tick_params(length=0)
    axes.legend(
        handles=[Patch(facecolor="white", edgecolor="0.4", hatch="xx", label="zone blanche (0)")],
        loc="upper left",
        bbox_to_anchor=(0, -0.01),
        fontsize=7,
        frameon=False,
    )
    for spine in axes.spines.values():
        spine.set_visible(False)
    return _png(figure)


def _sheet(section: Section, key: str) -> Sheet | None:
    return next((s for s in section.sheets if s.key == key), None)


def attach(sections: list[Section]) -> None:
    """Draw each chart from the sheet that holds its rows."""
    for section in sections:
        if section.key == "gouvernance":
            _attach_attendance(section)
        elif section.key == "reseau":
            _attach_network(section)
        elif section.key == "couverture":
            _attach_coverage(section)


def _year_of(sheet: Sheet) -> int:
    return int(sheet.columns[2].split()[-1])


def _attach_attendance(section: Section) -> None:
    sheet = _sheet(section, "Instances")
    if sheet is None:
        return
    bodies = [(r[0], r[10], r[11], r[4]) for r in sheet.rows if r[2]]
    if not bodies:
        return
    section.charts.append(
        Chart(
            "presence",
            "Taux de présence par instance",
            attendance_chart(bodies, _year_of(sheet)),
            sheet="Instances",
            alt="Barres horizontales : taux de présence de chaque instance, année précédente "
            "hachurée, année du bilan en gris foncé.",
        )
    )


def _attach_network(section: Section) -> None:
    sheet = _sheet(section, "Réseau")
    if sheet is None or not any(r[2] for r in sheet.rows):
        return
    year = int(sheet.columns[2])
    section.charts.append(
        Chart(
            "reseau",
            f"Indicateurs du réseau, {year - 1} → {year}",
            network_chart([tuple(r) for r in sheet.rows], year),
            sheet="Réseau",
            alt="Six petits graphiques en barres comparant les indicateurs du réseau d'une "
            "année sur l'autre.",
        )
    )


def _attach_coverage(section: Section) -> None:
    sheet = _sheet(section, "Couverture")
    if sheet is None or not sheet.rows:
        return
    axes_names = sheet.columns[3:-1]
    communes = [(f"{r[1]} ({number(r[2])} hab.)", list(r[3:-1])) for r in sheet.rows]
    title = "Couverture : partenaires par commune et par axe"
    if len(communes) > MAX_COMMUNES:
        communes.sort(key=lambda c: -sum(1 for v in c[1] if v == 0))
        title += f" ({MAX_COMMUNES} communes aux zones blanches les plus nombreuses)"
    section.charts.append(
        Chart(
            "couverture",
            title,
            coverage_chart(axes_names, communes),
            sheet="Couverture",
            alt="Tableau coloré : nombre de partenaires par commune (lignes) et par axe "
            "(colonnes) ; les cases hachurées sont des zones blanches.",
        )
    )
