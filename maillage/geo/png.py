"""The same map as ``svg.render``, as a PNG for documents (the bilan's DOCX and HTML):
matplotlib's Agg canvas used directly (no pyplot state), the same projection, fills and
hatching, so the picture reads in black and white too."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Patch, PathPatch
from matplotlib.path import Path

from maillage.geo.svg import PLAIN, Area, Frame, Marker

DPI = 150
WIDTH_INCHES = 6.3  # 16 cm, the width of the bilan's charts


def render_png(
    areas: list[Area],
    title: str,
    markers: Sequence[Marker] = (),
    legend: Sequence[tuple[str | None, bool, str]] = (),
) -> bytes:
    """``legend``: (fill, hatched, label) keys drawn under the map."""
    drawn = [a for a in areas if a.shapes]
    if not drawn:
        return b""
    frame = Frame([s for a in drawn for s in a.shapes])
    figure = Figure(figsize=(WIDTH_INCHES, WIDTH_INCHES * frame.height / frame.width))
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    for area in drawn:
        vertices: list[tuple[float, float]] = []
        codes: list[Any] = []
        for shape in area.shapes:
            for ring in shape:
                points = frame.ring(ring)
                if len(points) < 3:
                    continue
                vertices += points
                codes += [Path.MOVETO] + [Path.LINETO] * (len(points) - 2) + [Path.CLOSEPOLY]
        if not vertices:
            continue
        axes.add_patch(
            PathPatch(
                Path(vertices, codes),
                facecolor="white" if area.hatched else (area.fill or PLAIN),
                edgecolor="#24466f",
                linewidth=0.5,
                hatch="////" if area.hatched else None,
            )
        )
    for marker in sorted(markers, key=lambda m: -m.radius):
        x, y = frame.point(*marker.at)
        axes.add_patch(
            Circle(
                (x, y),
                marker.radius,
                facecolor="white" if marker.marked else "#e6842a",
                edgecolor="#b00020" if marker.marked else "#3a2000",
                linestyle="--" if marker.marked else "-",
                linewidth=1.2 if marker.marked else 0.6,
                alpha=0.9,
            )
        )
    axes.set_xlim(0, frame.width)
    axes.set_ylim(frame.height, 0)
    axes.set_aspect("equal")
    axes.axis("off")
    if legend:
        _legend(axes, legend)
    axes.set_title(title.replace("$", r"\$"), fontsize=9)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _legend(axes: Any, legend: Sequence[tuple[str | None, bool, str]]) -> None:
    handles = [
        Patch(
            facecolor="white" if hatched else (fill or PLAIN),
            edgecolor="#24466f",
            hatch="////" if hatched else None,
            label=label.replace("$", r"\$"),
        )
        for fill, hatched, label in legend
    ]
    axes.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=2,
        fontsize=7,
        frameon=False,
    )
