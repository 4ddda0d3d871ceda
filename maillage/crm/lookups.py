"""Small reads the pages need around a record: names of linked records, choices for forms.

Each function is one query whatever the number of ids, so list pages stay bounded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from maillage.crm import scope as territory_scope
from maillage.crm.registry import scoped
from maillage.db import french_order, is_sqlite
from maillage.folding import french_key
from maillage.tables import (
    ROW_ID_MAX,
    Affiliation,
    Axis,
    Commune,
    Organisation,
    Territory,
    WorkingGroup,
)


async def axes() -> list[dict[str, Any]]:
    return await Axis.select(Axis.id, Axis.name).order_by(Axis.position).run()


async def communes(where: Any = None, *also: Any) -> list[dict[str, Any]]:
    """Every commune (or those ``where`` keeps) by name in French order, with the columns
    ``also`` names besides id and name. On SQLite sorted here
    (#16): the collation (`folding.french_compare`) is the same Python comparison, called from
    SQLite about n·log₂(n) times (5,000 times for a département's 500 communes, most of the
    list pages' filter read); one fold per name, kept, does the same order."""
    query = Commune.select(Commune.id, Commune.name, *also)
    if where is not None:
        query = query.where(where)
    if not is_sqlite():
        return await query.order_by(french_order(Commune.name)).run()
    rows = await query.order_by(Commune.id).run()
    return sorted(rows, key=lambda row: french_key(row["name"]))


async def _scoped_communes() -> Any:
    """The communes of a scoped user (#20), a condition on ``commune``: those of their
    territories, of the other territories of their territories' départements and those of no
    territory of these départements (by INSEE code: the open data leave the country's 35,000
    of no territory); None for a user without territories. The départements are constants,
    read with the user's territories (`Scope.departements`)."""
    scope = territory_scope.current()
    if scope is None:
        return None
    departements = scope.departements
    if departements is None:
        departements = await territory_scope.departements_of(scope.territories)
    where = Commune.territory.is_in(scope.territories)
    if departements:
        territories = Territory.select(Territory.id).where(
            Territory.departement.is_in(list(departements))
        )
        loose = territory_scope.communes_without_territory(departements)
        where = where | Commune.territory.is_in(territories) | loose
    return where


async def filter_communes() -> list[dict[str, Any]]:
    """The communes a list may be filtered by (#20): every commune for a user without
    territories; for a scoped user those of their territories' départements, of a territory or
    not (the partners they see are there, or shared nationally), not the whole country's (a
    national instance: the partners and contacts pages spent most of their time on this list)."""
    return await communes(await _scoped_communes())


async def form_communes(keep: Iterable[Any] = ()) -> list[dict[str, Any]]:
    """The communes an edit or creation form offers (#20): those of `filter_communes`, and the
    record's own (``keep``: its commune or communes) even when outside them, so that a form
    saved unchanged keeps them (a select without its value would send another one)."""
    where = await _scoped_communes()
    kept = sorted({int(i) for i in keep if isinstance(i, int) and not isinstance(i, bool)})
    if where is not None and kept:
        where = where | Commune.id.is_in(kept)
    return await communes(where)


async def territory_communes(territory: int | None) -> list[dict[str, Any]]:
    """The communes of ``territory`` (None: every commune), with their INSEE code, for a
    picker that names them (« Melesse (35173) »)."""
    where = None if territory is None else Commune.territory == territory
    return await communes(where, Commune.insee_code)


async def commune_territory(commune: int | None) -> int | None:
    """The territory of ``commune``; None: none, or no such commune."""
    if commune is None:
        return None
    row = await Commune.select(Commune.territory).where(Commune.id == commune).first().run()
    return row["territory"] if row else None


async def territories() -> list[dict[str, Any]]:
    return (
        await Territory.select(Territory.id, Territory.name)
        .order_by(french_order(Territory.name))
        .run()
    )


async def placeable_territories() -> tuple[list[dict[str, Any]], bool]:
    """Where the request's user may put a partner (#20): the territories where they write, by
    name, and whether they may make it shared (users without territories only)."""
    rows = await territories()
    scope = territory_scope.current()
    if scope is None:
        return rows, True
    mine = set(territory_scope.writable(scope))
    return [row for row in rows if row["id"] in mine], False


async def groups(include_inactive: bool = False) -> list[dict[str, Any]]:
    select = WorkingGroup.select(WorkingGroup.id, WorkingGroup.name, WorkingGroup.kind)
    query = scoped(select, "groups").where(
        WorkingGroup.archived == False  # noqa: E712 - SQL expression
    )
    if not include_inactive:
        query = query.where(WorkingGroup.active == True)  # noqa: E712
    rows: list[dict[str, Any]] = await query.order_by(french_order(WorkingGroup.name)).run()
    return rows


async def organisation_names(ids: list[int]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = (
        await Organisation.select(Organisation.id, Organisation.name)
        .where(Organisation.id.is_in(wanted))
        .run()
    )
    return {row["id"]: row["name"] for row in rows}


async def visible_organisation_name(organisation_id: int) -> str | None:
    """The name of an organisation the request's user sees, else None (#20: no probing)."""
    if not 1 <= organisation_id <= ROW_ID_MAX:
        return None
    row = (
        await scoped(Organisation.select(Organisation.name), "organisations")
        .where(Organisation.id == organisation_id)
        .first()
        .run()
    )
    return None if row is None else str(row["name"])


async def commune_names(ids: list[int]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await Commune.select(Commune.id, Commune.name).where(Commune.id.is_in(wanted)).run()
    return {row["id"]: row["name"] for row in rows}


async def contact_organisations(contact_id: int) -> list[dict[str, Any]]:
    """Organisations the contact is attached to, the primary one first: whom they represent."""
    rows = (
        await Affiliation.select(
            Affiliation.organisation,
            Affiliation.organisation.name,
            Affiliation.is_primary,
            Affiliation.end_date,
        )
        .where(Affiliation.contact == contact_id)
        .order_by(Affiliation.is_primary, ascending=False)
        .run()
    )
    return [
        {"id": row["organisation"], "name": row["organisation.name"], "primary": row["is_primary"]}
        for row in rows
        if row["end_date"] is None
    ]


async def main_affiliations(contact_ids: list[int]) -> dict[int, dict[str, Any]]:
    """For a page of contacts, in one query: where each works now (the primary affiliation,
    else the first current one) and as what."""
    if not contact_ids:
        return {}
    rows = (
        await Affiliation.select(
            Affiliation.contact,
            Affiliation.organisation,
            Affiliation.organisation.name,
            Affiliation.function,
        )
        .where(Affiliation.contact.is_in(contact_ids) & Affiliation.end_date.is_null())
        .order_by(Affiliation.is_primary, ascending=False)
        .order_by(Affiliation.id)
        .run()
    )
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        found.setdefault(
            row["contact"],
            {
                "id": row["organisation"],
                "name": row["organisation.name"],
                "function": row["function"] or "",
            },
        )
    return found


async def organisations() -> list[dict[str, Any]]:
    """Every partner still in use, for a form's choice of organisations."""
    query = scoped(Organisation.select(Organisation.id, Organisation.name), "organisations")
    query = query.where(Organisation.archived == False)  # noqa: E712 - SQL expression
    rows: list[dict[str, Any]] = await query.order_by(french_order(Organisation.name)).run()
    return rows
