"""An SVG map of communes, drawn by the server: no tiles, no script, nothing from another host.

Longitude and latitude are projected equirectangularly at the territory's mean latitude (a
territory spans a few dozen kilometres: the distortion is invisible), outlines are thinned to
what a pixel can show, and each commune is one ``<path>`` with a ``<title>`` (name, population)
that browsers show on hover and screen readers announce. The same figures go in a table beside
the map (the page's job).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from maillage import french
from maillage.geo.wkb import Point, Polygon, Ring, bbox, contains, inner_points

WIDTH = 640
PADDING = 4
TOLERANCE = 0.6  # pixels: closer points add bytes, not shape


HATCH = "#000000"
NO_FILL = "#ffffff"
PLAIN = "#dce8f4"  # a commune without a value
# Sequential blues from light to dark: distinct in grey too (lightness steps of ~15 %).
PALETTE = ("#deebf7", "#9ecae1", "#4292c6", "#08519c", "#08306b")


@dataclass
class Area:
    name: str
    code: str
    population: int | None
    shapes: list[Polygon]
    fill: str | None = None  # None: the map's plain fill
    hatched: bool = False  # zones blanches: hatched, readable in black and white
    note: str = ""  # added to the hover title (« 2 partenaires sur l'axe … »)

    @property
    def title(self) -> str:
        if self.population is None:
            text = f"{self.name} ({self.code})"
        else:
            text = f"{self.name} ({self.code}) : {french.plural(self.population, 'habitant')}"
        return f"{text} ; {self.note}" if self.note else text


@dataclass
class Marker:
    """A partner drawn at a point: a disc of ``radius`` pixels, hollow and dashed when
    ``marked`` (under-connected), with its hover title."""

    at: Point
    radius: float
    title: str
    marked: bool = False


class Frame:
    """The equirectangular projection of a set of outlines onto ``width`` pixels."""

    def __init__(self, shapes: list[Polygon], width: int = WIDTH) -> None:
        west, south, east, north = bbox(shapes)
        self.west, self.north = west, north
        self.ratio = math.cos(math.radians((south + north) / 2))
        span_x = max((east - west) * self.ratio, 1e-9)
        span_y = max(north - south, 1e-9)
        self.scale = (width - 2 * PADDING) / span_x
        self.width = width
        self.height = round(span_y * self.scale + 2 * PADDING)

    def point(self, x: float, y: float) -> tuple[float, float]:
        return (
            PADDING + (x - self.west) * self.ratio * self.scale,
            PADDING + (self.north - y) * self.scale,
        )

    def ring(self, ring: Ring) -> list[tuple[float, float]]:
        return [self.point(x, y) for x, y in ring]


def render(
    areas: list[Area],
    label: str,
    width: int = WIDTH,
    *,
    markers: Sequence[Marker] = (),
    map_id: str = "carte",
) -> str:
    """The map as an SVG document fragment (inline in a page). ``map_id`` keeps the ids of two
    maps on one page apart."""
    drawn = [a for a in areas if a.shapes]
    if not drawn:
        return ""
    frame = Frame([s for a in drawn for s in a.shapes], width)
    hatch = f"{map_id}-hachures"
    paths = []
    for area in drawn:
        d = " ".join(_ring_path(frame.ring(ring)) for shape in area.shapes for ring in shape)
        if not d:
            continue
        fill = f"url(#{hatch})" if area.hatched else area.fill
        style = f' fill="{escape(fill)}"' if fill else ""
        paths.append(
            f'<path d="{d}"{style} data-code="{escape(area.code)}"><title>{escape(area.title)}'
            "</title></path>"
        )
    defs = (
        f'<defs><pattern id="{hatch}" patternUnits="userSpaceOnUse" width="6" height="6" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{NO_FILL}"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{HATCH}" stroke-width="1.6"/></pattern></defs>'
        if any(a.hatched for a in drawn)
        else ""
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {frame.width} {frame.height}" '
        f'class="territory-map" role="img" aria-labelledby="{map_id}-titre">'
        f'<title id="{map_id}-titre">{escape(label)}</title>{defs}'
        f'<g fill-rule="evenodd" fill="{PLAIN}" stroke="#24466f" stroke-width="1" '
        f'stroke-linejoin="round">{"".join(paths)}</g>{_markers(frame, markers)}</svg>'
    )


def _markers(frame: Frame, markers: Sequence[Marker]) -> str:
    if not markers:
        return ""
    circles = []
    # The biggest first, so that small discs stay on top and can be hovered.
    for marker in sorted(markers, key=lambda m: -m.radius):
        x, y = frame.point(*marker.at)
        look = (
            'fill="#ffffff" fill-opacity="0.85" stroke="#b00020" stroke-width="2" '
            'stroke-dasharray="3 2"'
            if marker.marked
            else 'fill="#e6842a" fill-opacity="0.85" stroke="#3a2000" stroke-width="1"'
        )
        circles.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{marker.radius:.1f}" {look}>'
            f"<title>{escape(marker.title)}</title></circle>"
        )
    return f'<g class="map-markers">{"".join(circles)}</g>'


def swatch(fill: str | None, hatched: bool = False, marked: bool | None = None) -> str:
    """A legend key (16 × 16 pixels): a filled square, a hatched one, or a partner's disc."""
    head = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16" '
        'aria-hidden="true" focusable="false">'
    )
    if marked is not None:
        look = (
            'fill="#ffffff" stroke="#b00020" stroke-width="2" stroke-dasharray="3 2"'
            if marked
            else 'fill="#e6842a" stroke="#3a2000" stroke-width="1"'
        )
        return f'{head}<circle cx="8" cy="8" r="6" {look}/></svg>'
    if hatched:
        lines = "".join(
            f'<line x1="{i}" y1="16" x2="{i + 16}" y2="0" stroke="{HATCH}" stroke-width="1.4"/>'
            for i in range(-16, 16, 5)
        )
        return (
            f'{head}<rect width="16" height="16" fill="{NO_FILL}"/>{lines}'
            f'<rect width="16" height="16" fill="none" stroke="#24466f"/></svg>'
        )
    return (
        f'{head}<rect width="16" height="16" fill="{escape(fill or PLAIN)}" '
        'stroke="#24466f"/></svg>'
    )


def inside_point(shapes: list[Polygon]) -> Point | None:
    """A point inside the outline, near the middle of its box: where a commune's partners go."""
    if not shapes:
        return None
    west, south, east, north = bbox(shapes)
    middle = ((west + east) / 2, (south + north) / 2)
    if contains(shapes, middle):
        return middle
    candidates = list(inner_points(shapes, 7))
    if not candidates:
        return shapes[0][0][0]
    return min(candidates, key=lambda p: (p[0] - middle[0]) ** 2 + (p[1] - middle[1]) ** 2)


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
