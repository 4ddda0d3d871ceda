"""Coloured, hatched and dotted maps (#18): the diagnostic's SVG and the bilan's PNG."""

from __future__ import annotations

import io

from matplotlib.image import imread

from maillage.geo import svg
from maillage.geo.png import render_png
from maillage.reports.territory_maps import classes

SQUARE = [(6.0, 45.0), (6.1, 45.0), (6.1, 45.1), (6.0, 45.1), (6.0, 45.0)]
RIGHT = [[[(x + 0.1, y) for x, y in SQUARE]]]


def _areas() -> list[svg.Area]:
    return [
        svg.Area("Aigues-Mortes", "30003", 8325, [[SQUARE]], fill=svg.PALETTE[2], note="2"),
        svg.Area("Le Grau-du-Roi", "30133", 8517, RIGHT, hatched=True, note="zone blanche"),
    ]


def test_a_zone_blanche_is_hatched_and_the_others_keep_their_colour():
    drawn = svg.render(_areas(), "Carte", map_id="essai")
    assert '<pattern id="essai-hachures"' in drawn
    assert drawn.count('fill="url(#essai-hachures)"') == 1
    assert f'fill="{svg.PALETTE[2]}"' in drawn
    assert "Le Grau-du-Roi (30133) : 8\u202f517 habitants ; zone blanche" in drawn
    assert 'aria-labelledby="essai-titre"' in drawn


def test_a_plain_map_is_drawn_as_before():
    plain = svg.render([svg.Area("A", "00001", 1, [[SQUARE]])], "Carte")
    assert "<pattern" not in plain and "<circle" not in plain
    assert 'aria-labelledby="carte-titre"' in plain


def test_partners_are_discs_and_the_under_connected_are_dashed():
    markers = [
        svg.Marker((6.05, 45.05), 12, "Centre social"),
        svg.Marker((6.15, 45.05), 4, "Club <isolé>", marked=True),
    ]
    drawn = svg.render(_areas(), "Partenaires", markers=markers)
    assert drawn.count("<circle ") == 2
    big, small = drawn.split("<circle ")[1:]
    assert 'r="12.0"' in big and 'r="4.0"' in small  # the small one on top, to be hovered
    assert 'stroke-dasharray="3 2"' in small and "stroke-dasharray" not in big
    assert "Club &lt;isolé&gt;" in small


def test_a_commune_point_falls_inside_a_hollow_commune():
    ring = [(0, 0), (3, 0), (3, 3), (0, 3), (0, 0)]
    hole = [(1, 1), (2, 1), (2, 2), (1, 2), (1, 1)]
    at = svg.inside_point([[ring, hole]])
    assert at is not None and not (1 < at[0] < 2 and 1 < at[1] < 2)


def test_classes_split_the_values_in_quantiles_without_repeating_a_bound():
    assert classes([1, 1, 1, 1]) == [1]
    assert classes([1, 2, 3, 4, 5, 6, 7, 8]) == [2, 4, 6, 8]
    assert classes([]) == []


def test_the_png_hatches_the_zone_blanche_in_black_and_white():
    png = render_png(_areas(), "Carte $x$", legend=[(None, True, "Zone blanche")])
    pixels = imread(io.BytesIO(png))
    assert png.startswith(b"\x89PNG")
    height, width = pixels.shape[:2]
    # The hatched commune (right half) holds dark hatch lines, the filled one a flat colour.
    right = pixels[height // 3 : 2 * height // 3, width * 6 // 10 : width * 8 // 10, :3]
    left = pixels[height // 3 : 2 * height // 3, width * 2 // 10 : width * 4 // 10, :3]
    assert right.min() < 0.4 and right.max() > 0.9
    assert (left.max(axis=(0, 1)) - left.min(axis=(0, 1))).max() < 0.05


def test_nothing_to_draw_gives_no_png():
    assert render_png([svg.Area("A", "00001", 1, [])], "Carte") == b""
