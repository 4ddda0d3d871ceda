"""WKB outlines read with struct, and the SVG map drawn from them (#18)."""

from __future__ import annotations

import struct

import pytest

from maillage.geo import svg, wkb

SQUARE = [(6.0, 45.0), (6.1, 45.0), (6.1, 45.1), (6.0, 45.1), (6.0, 45.0)]


def _polygon_wkb(rings, order="<", ewkb_srid=None) -> bytes:
    byte = b"\x01" if order == "<" else b"\x00"
    kind = wkb.POLYGON | (wkb.EWKB_SRID if ewkb_srid else 0)
    data = byte + struct.pack(f"{order}I", kind)
    if ewkb_srid:
        data += struct.pack(f"{order}I", ewkb_srid)
    data += struct.pack(f"{order}I", len(rings))
    for ring in rings:
        data += struct.pack(f"{order}I", len(ring))
        for x, y in ring:
            data += struct.pack(f"{order}2d", x, y)
    return data


def _multi(*polygons: bytes) -> str:
    return (
        b"\x01" + struct.pack("<II", wkb.MULTIPOLYGON, len(polygons)) + b"".join(polygons)
    ).hex()


def test_it_reads_a_multipolygon_big_and_little_endian():
    text = _multi(_polygon_wkb([SQUARE]), _polygon_wkb([SQUARE], order=">"))
    shapes = wkb.polygons(text)
    assert len(shapes) == 2
    assert shapes[0][0] == shapes[1][0] == SQUARE


def test_it_reads_an_ewkb_polygon_with_its_srid():
    assert wkb.polygons(_polygon_wkb([SQUARE], ewkb_srid=4326).hex()) == [[SQUARE]]


def test_a_hole_is_outside():
    hole = [(6.04, 45.04), (6.06, 45.04), (6.06, 45.06), (6.04, 45.06), (6.04, 45.04)]
    shapes = [[SQUARE, hole]]
    assert wkb.contains(shapes, (6.02, 45.02))
    assert not wkb.contains(shapes, (6.05, 45.05))
    assert not wkb.contains(shapes, (7.0, 45.05))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("zz", "hexadécimal attendu"),
        ("0103000000", "tronqué"),
        (_multi(_polygon_wkb([SQUARE]))[:-40], "tronqué"),
        ("0102000000" + "00" * 8, "non pris en charge"),
        ("05" + "00" * 8, "ordre des octets"),
        ("0101000000" + "00" * 16, "pas un point"),
    ],
)
def test_a_malformed_outline_gets_a_french_error(text, message):
    with pytest.raises(wkb.BadGeometry) as caught:
        wkb.polygons(text)
    assert message in str(caught.value)


def test_the_map_has_one_path_per_commune_with_its_name_and_population():
    left = [[SQUARE]]
    right = [[[(x + 0.1, y) for x, y in SQUARE]]]
    drawn = svg.render(
        [
            svg.Area("Aigues-Mortes", "30003", 8325, left),
            svg.Area("Le Grau-du-Roi", "30133", 8517, right),
            svg.Area("Sans contour", "30999", None, []),
        ],
        "Carte <test>",
    )
    assert drawn.count("<path ") == 2
    assert "<title>Aigues-Mortes (30003) : 8\u202f325 habitants</title>" in drawn
    assert 'role="img"' in drawn and "Carte &lt;test&gt;" in drawn
    # Equirectangular at 45° N: 0.2° of longitude is √2/2 as wide as 0.1° of latitude is twice.
    width, height = map(int, drawn.split('viewBox="0 0 ')[1].split('"')[0].split())
    assert width == 640
    assert height == pytest.approx(8 + 632 * 0.1 / (0.2 * 0.7071), abs=1)


def test_points_closer_than_a_pixel_are_dropped():
    ring = [(6.0 + i * 1e-6, 45.0) for i in range(1000)] + SQUARE
    drawn = svg.render([svg.Area("A", "00001", 1, [[ring]])], "Carte")
    assert drawn.count(" ") < 100
