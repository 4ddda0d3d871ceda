"""An SVG map of communes, drawn by the server: no tiles, no script, nothing from another host.

Longitude and latitude are projected equirectangularly at the territory's mean latitude (a
territory spans a few dozen kilometres: the distortion is invisible), outlines are thinned to
what a pixel can show, and each commune is one ``<path>`` with a ``<title>`` (name, population)
that browsers show on hover and screen readers announce. The same figures go in a table beside
the map (the page's job).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from maillage import french
from maillage.geo.wkb import Polygon, Ring, bbox

WIDTH = 640
PADDING = 4
TOLERANCE = 0.6  # pixels: closer points add bytes, not shape


@dataclass
class Area:
    name: str
    code: str
    population: int | None
    shapes: list[Polygon]

    @property
    def title(self) -> str:
        if self.population is None:
            return f"{self.name} ({self.code})"
        return f"{self.name} ({self.code}) : {french.plural(self.population, 'habitant')}"


def render(areas: list[Area], label: str, width: int = WIDTH) -> str:
    """The map as an SVG document fragment (inline in a page)."""
    drawn = [a for a in areas if a.shapes]
    if not drawn:
        return ""
    west, south, east, north = bbox([s for a in drawn for s in a.shapes])
    ratio = math.cos(math.radians((south + north) / 2))
    span_x = max((east - west) * ratio, 1e-9)
    span_y = max(north - south, 1e-9)
    scale = (width - 2 * PADDING) / span_x
    height = round(span_y * scale + 2 * PADDING)

    def project(ring: Ring) -> list[tuple[float, float]]:
        return [
            (PADDING + (x - west) * ratio * scale, PADDING + (north - y) * scale) for x, y in ring
        ]

    paths = []
    for area in drawn:
        d = " ".join(_ring_path(project(ring)) for shape in area.shapes for ring in shape)
        if d:
            paths.append(
                f'<path d="{d}" data-code="{escape(area.code)}"><title>{escape(area.title)}'
                "</title></path>"
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="territory-map" role="img" aria-labelledby="carte-titre">'
        f'<title id="carte-titre">{escape(label)}</title>'
        f'<g fill-rule="evenodd" fill="#dce8f4" stroke="#24466f" stroke-width="1" '
        f'stroke-linejoin="round">{"".join(paths)}</g></svg>'
    )


def _ring_path(points: list[tuple[float, float]]) -> str:
    kept = _thin(points)
    if len(kept) < 3:
        return ""
    first, *rest = kept
    tail = " ".join(f"{x:.1f} {y:.1f}" for x, y in rest)
    return f"M{first[0]:.1f} {first[1]:.1f}L{tail}Z"


def _thin(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Radial-distance simplification: drop a point closer than TOLERANCE to the last kept."""
    if len(points) < 4:
        return points
    kept = [points[0]]
    limit = TOLERANCE * TOLERANCE
    for x, y in points[1:-1]:
        last_x, last_y = kept[-1]
        if (x - last_x) ** 2 + (y - last_y) ** 2 >= limit:
            kept.append((x, y))
    kept.append(points[-1])
    return kept
