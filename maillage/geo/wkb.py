"""Well-Known Binary (hex) outlines: points, polygons and multipolygons in longitude/latitude.

The registers give each commune's outline as OGC WKB (the PostGIS ``geometry`` column written
as hex), little- or big-endian, possibly with an SRID (EWKB). Only 2D points, polygons and
multipolygons are read; anything else is a ``BadGeometry`` with a French message.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

Point = tuple[float, float]  # longitude, latitude
Ring = list[Point]
Polygon = list[Ring]  # the outer ring, then the holes

POINT, POLYGON, MULTIPOLYGON = 1, 3, 6
EWKB_SRID = 0x20000000
EWKB_FLAGS = 0xE0000000  # Z, M, SRID


class BadGeometry(ValueError):
    """An outline that cannot be read; the message is French."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        try:
            values = struct.unpack_from(fmt, self.data, self.offset)
        except struct.error as error:
            raise BadGeometry("contour tronqué (WKB incomplet)") from error
        self.offset += struct.calcsize(fmt)
        return values

    def header(self) -> tuple[str, int]:
        (order,) = self.take("B")
        if order not in (0, 1):
            raise BadGeometry(f"contour illisible (ordre des octets {order})")
        endian = "<" if order == 1 else ">"
        (kind,) = self.take(f"{endian}I")
        if kind & ~EWKB_FLAGS not in (POINT, POLYGON, MULTIPOLYGON) or kind & 0xC0000000:
            raise BadGeometry(f"type de géométrie non pris en charge ({kind})")
        if kind & EWKB_SRID:
            self.take(f"{endian}I")
        return endian, kind & ~EWKB_FLAGS

    def ring(self, endian: str) -> Ring:
        (count,) = self.take(f"{endian}I")
        if count > (len(self.data) - self.offset) // 16:
            raise BadGeometry("contour tronqué (nombre de points impossible)")
        flat = self.take(f"{endian}{2 * count}d")
        return list(zip(flat[0::2], flat[1::2], strict=True))

    def polygon(self, endian: str) -> Polygon:
        (count,) = self.take(f"{endian}I")
        return [self.ring(endian) for _ in range(count)]


def _decode(text: str) -> bytes:
    try:
        return bytes.fromhex(text.strip())
    except ValueError as error:
        raise BadGeometry("contour illisible (hexadécimal attendu)") from error


def polygons(text: str) -> list[Polygon]:
    """The polygons of a WKB polygon or multipolygon (hex); [] for an empty value."""
    if not text.strip():
        return []
    reader = _Reader(_decode(text))
    endian, kind = reader.header()
    if kind == POLYGON:
        return [reader.polygon(endian)]
    if kind != MULTIPOLYGON:
        raise BadGeometry("un contour (polygone) était attendu, pas un point")
    (count,) = reader.take(f"{endian}I")
    result = []
    for _ in range(count):
        inner_endian, inner_kind = reader.header()
        if inner_kind != POLYGON:
            raise BadGeometry("multipolygone contenant autre chose qu'un polygone")
        result.append(reader.polygon(inner_endian))
    return result


def point(text: str) -> Point | None:
    """A WKB point (hex) as (longitude, latitude); None for an empty value."""
    if not text.strip():
        return None
    reader = _Reader(_decode(text))
    endian, kind = reader.header()
    if kind != POINT:
        raise BadGeometry("un point était attendu")
    x, y = reader.take(f"{endian}2d")
    return (x, y)


def bbox(shapes: list[Polygon]) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the outer rings."""
    xs = [x for shape in shapes for x, _ in shape[0]] if shapes else [0.0]
    ys = [y for shape in shapes for _, y in shape[0]] if shapes else [0.0]
    return min(xs), min(ys), max(xs), max(ys)


def _in_ring(ring: Ring, x: float, y: float) -> bool:
    inside = False
    x1, y1 = ring[-1]
    for x2, y2 in ring:
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
        x1, y1 = x2, y2
    return inside


def contains(shapes: list[Polygon], at: Point) -> bool:
    """Whether the point lies inside one of the polygons (holes excluded)."""
    x, y = at
    for shape in shapes:
        if shape and _in_ring(shape[0], x, y) and not any(_in_ring(h, x, y) for h in shape[1:]):
            return True
    return False


def inner_points(shapes: list[Polygon], per_side: int = 5) -> Iterator[Point]:
    """Points of a regular grid over the outline that fall inside it: where a large commune
    is split between cantons or constituencies, one of them lands in each part."""
    if not shapes:
        return
    west, south, east, north = bbox(shapes)
    for i in range(per_side):
        for j in range(per_side):
            at = (
                west + (east - west) * (i + 0.5) / per_side,
                south + (north - south) * (j + 0.5) / per_side,
            )
            if contains(shapes, at):
                yield at
