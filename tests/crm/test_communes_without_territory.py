"""Communes of no territory (#20): an instance loaded from the open data holds the country's
communes, most of them in no territory. A territory whose département changes places again
the partners of those of its départements (in SQL, not read one by one), and a scoped user is
offered those of their départements only, not the country's."""

# ruff: noqa: F811 (the fixtures imported from the scope tests are parameters here)
from __future__ import annotations

import re

import httpx
import pytest

from maillage import db
from maillage.actor import CLI
from maillage.crm.registry import SERVICES
from maillage.departements import commune_departement
from maillage.tables import Commune, Contact, Organisation
from tests.crm.test_scope_departements import (  # noqa: F401 - fixtures
    Departements,
    _departement,
    coordinator_a,
    coordinator_d,
    deps,
)
from tests.crm.test_scope_partners import (  # noqa: F401 - fixtures
    SignIn,
    coordinator_of,
    partners,
)
from tests.web.helpers import create

# Communes of no territory, by département: 150 of the Mayenne, 150 of the Sarthe, 20 of La
# Réunion (a three-character département).
LOOSE = {"53": 150, "72": 150, "974": 20}


def _insee(code: str, number: int) -> str:
    return f"{code}{number:0{5 - len(code)}d}"


@pytest.fixture
async def loose(admin, deps: Departements) -> dict[str, list[int]]:
    """The communes of `LOOSE`, written at once, their ids by département."""
    rows = [
        Commune(insee_code=_insee(code, n), name=f"Commune {code}-{n}", search=f"commune {n}")
        for code, count in LOOSE.items()
        for n in range(1, count + 1)
    ]
    async with db.write_transaction():
        await Commune.insert(*rows).run()
    found = await Commune.select(Commune.id, Commune.insee_code).where(Commune.territory.is_null())
    by_code: dict[str, list[int]] = {}
    for row in sorted(found, key=lambda row: row["insee_code"]):
        code = commune_departement(row["insee_code"])
        by_code.setdefault(code, []).append(row["id"])
    assert {code: len(ids) for code, ids in by_code.items()} == LOOSE
    return by_code


def _counting_rows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of rows each statement the app sends from now on brings back."""
    engine_class = type(db.current_engine())
    original = engine_class.run_querystring
    counts: list[int] = []

    async def counting(self, querystring, *args, **kwargs):
        result = await original(self, querystring, *args, **kwargs)
        counts.append(len(result) if isinstance(result, list) else 0)
        return result

    monkeypatch.setattr(engine_class, "run_querystring", counting)
    return counts


async def _typed(c: httpx.AsyncClient, territory: dict, code: str) -> None:
    current = (await c.get(f"/api/v1/territories/{territory['id']}")).json()
    moved = await c.patch(
        f"/api/v1/territories/{territory['id']}",
        json={"version": current["version"], "departement": code},
    )
    assert moved.status_code == 200, moved.text


async def test_a_departement_typed_places_the_partners_of_its_communes_without_territory(
    admin, loose: dict[str, list[int]], monkeypatch: pytest.MonkeyPatch
):
    """Hundreds of communes of no territory: the partners of those of the département a
    territory takes get it, those of the one it leaves lose it, the others keep none; and the
    write does not bring every commune of no territory back to Python to find them (the open
    data loader leaves 35,000)."""
    c = admin.client
    placed: dict[str, list[tuple[type, dict]]] = {}
    for code, ids in loose.items():
        for commune in (ids[0], ids[-1]):
            caf = await create(
                c,
                "organisations",
                {"name": f"Caf {code} {commune}", "kind": "institution", "commune": commune},
            )
            person = await create(
                c,
                "contacts",
                {"first_name": "Agent", "last_name": f"{code}", "commune": commune},
            )
            placed.setdefault(code, []).extend([(Organisation, caf), (Contact, person)])

    async def departements() -> dict[str, set[str | None]]:
        return {
            code: {await _departement(table, record) for table, record in records}
            for code, records in placed.items()
        }

    assert await departements() == {code: {None} for code in LOOSE}
    laval = await create(c, "territories", {"name": "CA de Laval", "siren": "200000057"})
    counts = _counting_rows(monkeypatch)
    await _typed(c, laval, "53")
    assert await departements() == {"53": {"53"}, "72": {None}, "974": {None}}
    await _typed(c, laval, "72")
    assert await departements() == {"53": {None}, "72": {"72"}, "974": {None}}
    await _typed(c, laval, "974")
    monkeypatch.undo()
    assert await departements() == {"53": {None}, "72": {None}, "974": {"974"}}
    assert max(counts) < LOOSE["53"], f"une requête a lu {max(counts)} lignes"


def _options(page: str, select_id: str) -> set[int]:
    select = re.search(rf'<select[^>]*id="{select_id}".*?</select>', page, re.S)
    assert select is not None, f"pas de liste « {select_id} »"
    return {int(value) for value in re.findall(r'<option value="(\d+)"', select[0])}


async def _offered(client: httpx.AsyncClient) -> set[int]:
    """The communes the partners page offers as filter, checked equal to those the creation
    form offers."""
    listing = await client.get("/partenaires")
    form = await client.get("/partenaires/nouveau")
    assert listing.status_code == 200 and form.status_code == 200, listing.text
    offered = _options(listing.text, "filtre-commune")
    assert _options(form.text, "f-commune") == offered
    return offered


async def test_a_scoped_user_is_offered_the_communes_without_territory_of_their_departements(
    admin,
    deps: Departements,
    loose: dict[str, list[int]],
    coordinator_a: httpx.AsyncClient,
    coordinator_d: httpx.AsyncClient,
):
    """Communes of no territory written through the API: a coordinator of A (35) is offered
    those of the 35, not the Finistère's (29) nor the Mayenne's of no territory at all; a
    coordinator of D (29) the reverse; the host team every commune, as before."""
    c = admin.client
    free_35 = await create(c, "communes", {"insee_code": "35003", "name": "Sans-EPCI"})
    free_29 = await create(c, "communes", {"insee_code": "29100", "name": "Sans-Pays"})
    mine = deps.p.mairie_a["commune"]
    neighbour = (await c.get("/api/v1/communes", params={"q": "35002"})).json()["items"][0]
    everywhere = set(loose["53"]) | set(loose["72"]) | set(loose["974"])
    of_a = await _offered(coordinator_a)
    assert {mine, neighbour["id"], free_35["id"]} <= of_a
    assert not of_a & ({free_29["id"], deps.commune_d["id"]} | everywhere)
    of_d = await _offered(coordinator_d)
    assert {free_29["id"], deps.commune_d["id"]} <= of_d
    assert not of_d & ({mine, free_35["id"]} | everywhere)
    every = {row["id"] for row in await Commune.select(Commune.id)}
    assert await _offered(c) == every


async def test_a_territory_deleted_takes_its_departement_from_the_partners_it_placed(
    admin, loose: dict[str, list[int]]
):
    """No door deletes a territory today (lifecycle « none »: no API route, page or command);
    the service they would share keeps the rule: a commune of no territory is of its INSEE
    département while a territory has it, so the partners there keep the 53 while a
    territory of the 53 is left, and lose it, in the same write, with the last one."""
    c = admin.client
    laval = await create(
        c, "territories", {"name": "CA de Laval", "siren": "200000057", "departement": "53"}
    )
    craon = await create(
        c, "territories", {"name": "CC du Pays de Craon", "siren": "200000065", "departement": "53"}
    )
    commune = loose["53"][0]
    caf = await create(
        c, "organisations", {"name": "Caf de la Mayenne", "kind": "institution", "commune": commune}
    )
    agent = await create(c, "contacts", {"first_name": "Agent", "last_name": "Mayenne"})
    await create(c, "affiliations", {"contact": agent["id"], "organisation": caf["id"]})
    resident = await create(
        c, "contacts", {"first_name": "Habitant", "last_name": "Mayenne", "commune": commune}
    )
    placed = ((Organisation, caf), (Contact, agent), (Contact, resident))
    assert [await _departement(table, record) for table, record in placed] == ["53"] * 3
    await SERVICES["territories"].delete(CLI, laval["id"])
    assert [await _departement(table, record) for table, record in placed] == ["53"] * 3
    await SERVICES["territories"].delete(CLI, craon["id"])
    assert [await _departement(table, record) for table, record in placed] == [None] * 3
