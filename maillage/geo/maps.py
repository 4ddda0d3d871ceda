"""The map of a territory: its communes, their population and outline, drawn as SVG."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maillage.db import read_transaction
from maillage.errors import NotFound
from maillage.geo import svg, wkb
from maillage.tables import Commune, CommuneOutline, Territory


@dataclass
class TerritoryMap:
    territory: dict[str, Any]
    communes: list[dict[str, Any]]  # name, insee_code, population, outlined
    svg: str
    problems: list[str]

    @property
    def population(self) -> int:
        return sum(c["population"] or 0 for c in self.communes)


async def territory_map(territory_id: int) -> TerritoryMap:
    async with read_transaction():
        territory = (
            await Territory.select(Territory.id, Territory.name, Territory.siren, Territory.source)
            .where(Territory.id == territory_id)
            .first()
        )
        if territory is None:
            raise NotFound("Territoire", territory_id)
        communes = await Commune.select(
            Commune.id, Commune.name, Commune.insee_code, Commune.population
        ).where(Commune.territory == territory_id)
        ids = [c["id"] for c in communes] or [0]
        outlines = {
            row["commune"]: row["wkb"]
            for row in await CommuneOutline.select(
                CommuneOutline.commune, CommuneOutline.wkb
            ).where(CommuneOutline.commune.is_in(ids))
        }
    communes.sort(key=lambda c: c["name"])
    areas, problems = [], []
    for commune in communes:
        try:
            shapes = wkb.polygons(outlines.get(commune["id"], ""))
        except wkb.BadGeometry as error:
            problems.append(f"{commune['name']} : {error}")
            shapes = []
        commune["outlined"] = bool(shapes)
        areas.append(
            svg.Area(commune["name"], commune["insee_code"], commune["population"], shapes)
        )
    label = f"Carte des communes du territoire {territory['name']}"
    return TerritoryMap(territory, communes, svg.render(areas, label), problems)
