"""What a report covers: a territory (its communes, its bodies) and a civil year.

A database usually holds one territory (one CTG); the ``departement`` data holds many. With one
territory or none, everything in the database belongs to the report, including bodies and fiches
action that were never tied to a territory. With several, the report needs ``--territory`` and
covers the bodies of that territory, and those tied to none but covering one of its communes.

Territories (#20): a user limited to territories gets the report of one of theirs (another is
404, as if it did not exist); without ``--territory``, a user holding one territory gets its
report, and a user holding several (a Caf conseiller's portfolio) the consolidated report of
all of them: their communes, their bodies, their meetings, one set of figures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TypedDict, cast
from zoneinfo import ZoneInfo

from maillage import french
from maillage.crm import reach
from maillage.db import french_order
from maillage.errors import InvalidData, NotFound
from maillage.tables import Commune, Territory, WorkingGroup

PARIS = ZoneInfo("Europe/Paris")
FIRST_YEAR = 2000


class TerritoryRow(TypedDict):
    """A territory as a report reads it (the columns ``resolve_scope`` selects)."""

    id: int
    name: str
    ctg_start: dt.date | None
    ctg_end: dt.date | None


class CommuneRow(TypedDict):
    """A commune of a report's scope."""

    id: int
    insee_code: str
    name: str
    population: int | None


@dataclass
class Scope:
    territory: TerritoryRow | None  # None: the whole database
    everything: bool  # True when the database holds at most one territory
    communes: list[CommuneRow] = field(default_factory=list)
    group_ids: set[int] = field(default_factory=set)
    # A consolidated report (#20): the territories it covers; empty for one territory or all.
    consolidated: list[TerritoryRow] = field(default_factory=list)

    @property
    def name(self) -> str:
        if self.consolidated:
            names = ", ".join(t["name"] for t in self.consolidated)
            return f"{french.plural(len(self.consolidated), 'territoire')} ({names})"
        return self.territory["name"] if self.territory else "l'ensemble du réseau"

    @property
    def territory_ids(self) -> list[int] | None:
        """The territories covered; None: the whole database."""
        if self.everything:
            return None
        if self.consolidated:
            return [t["id"] for t in self.consolidated]
        return [self.territory["id"]] if self.territory else None

    @property
    def commune_ids(self) -> set[int]:
        return {c["id"] for c in self.communes}


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """1 January 00:00 to the next 1 January, Paris time (a meeting on 31 December at 23:30 in
    Paris is in year N even though it is already N+1 in UTC)."""
    return (
        dt.datetime(year, 1, 1, tzinfo=PARIS),
        dt.datetime(year + 1, 1, 1, tzinfo=PARIS),
    )


def check_year(year: int, today: dt.date) -> None:
    if year > today.year:
        raise InvalidData.one(
            "year",
            f"L'année {year} n'a pas commencé (nous sommes le {french.short_date(today)}) : "
            f"le bilan porte sur une année passée ou en cours ({today.year} au plus).",
        )
    if year < FIRST_YEAR:
        raise InvalidData.one("year", f"Année {year} invalide : indiquez une année à 4 chiffres.")


async def resolve_scope(territory_id: int | None, territory_ids: list[int] | None = None) -> Scope:
    """The scope of a report: ``territory_id``, or the consolidation of ``territory_ids``, or
    (neither given) the user's portfolio, or the database's only territory."""
    if territory_id is not None:
        reach.check_territory(territory_id)
    portfolio = reach.portfolio()
    for chosen in territory_ids or []:
        reach.check_territory(chosen)
    territories = cast(  # the columns selected are a TerritoryRow's
        list[TerritoryRow],
        await Territory.select(Territory.id, Territory.name, Territory.ctg_start, Territory.ctg_end)
        .order_by(french_order(Territory.name))
        .run(),
    )
    if territory_id is None and not territory_ids and portfolio is not None:
        territory_ids = portfolio
    if territory_ids and len(set(territory_ids)) == 1:
        territory_id, territory_ids = territory_ids[0], None
    if territory_ids:
        return await _consolidated(territories, sorted(set(territory_ids)))
    territory = _pick_territory(territories, territory_id)
    everything = len(territories) <= 1
    communes_query = Commune.select(
        Commune.id, Commune.insee_code, Commune.name, Commune.population
    ).order_by(french_order(Commune.name))
    if territory is not None:
        communes_query = communes_query.where(Commune.territory == territory["id"])
    communes = cast(list[CommuneRow], await communes_query.run())
    scope = Scope(territory=territory, everything=everything, communes=communes)
    scope.group_ids = await _group_ids(scope)
    return scope


async def _consolidated(territories: list[TerritoryRow], chosen: list[int]) -> Scope:
    """Several territories as one report: their communes and bodies together (#20)."""
    covered = [t for t in territories if t["id"] in chosen]
    missing = sorted(set(chosen) - {t["id"] for t in covered})
    if missing:
        raise NotFound("Territoire", missing[0])
    communes = cast(
        list[CommuneRow],
        await Commune.select(Commune.id, Commune.insee_code, Commune.name, Commune.population)
        .where(Commune.territory.is_in(chosen))
        .order_by(french_order(Commune.name))
        .run(),
    )
    scope = Scope(territory=None, everything=False, communes=communes, consolidated=covered)
    scope.group_ids = await reach.group_ids(chosen)
    return scope


def _pick_territory(
    territories: list[TerritoryRow], territory_id: int | None
) -> TerritoryRow | None:
    if territory_id is not None:
        for territory in territories:
            if territory["id"] == territory_id:
                return territory
        raise NotFound("Territoire", territory_id)
    if len(territories) == 1:
        return territories[0]
    if not territories:
        return None
    names = ", ".join(f"{t['name']} (n° {t['id']})" for t in territories[:10])
    more = " …" if len(territories) > 10 else ""
    raise InvalidData.one(
        "territory",
        f"La base contient {len(territories)} territoires : précisez lequel ({names}{more}).",
    )


async def _group_ids(scope: Scope) -> set[int]:
    if scope.everything:
        rows = await WorkingGroup.select(WorkingGroup.id).run()
        return {r["id"] for r in rows}
    assert scope.territory is not None
    return await reach.group_ids([scope.territory["id"]])
