"""Affiliations and partnerships, the rows with two parents, in a scoped list (#20): on
PostgreSQL the service tests the copies of both parents' territories and départements that the
row carries (as its policy does), not the parents' ids, which made PostgreSQL read every
partnership of the country for one coordinator's list (bench/README.md); the rows seen are
the same as through the parents, on both engines: shared Caf and local association, another
territory's, another département's."""

from __future__ import annotations

from typing import Any

import pytest

from maillage import row_security
from maillage.crm import scope as territory_scope
from maillage.crm.registry import SERVICES
from maillage.crm.resources import ListQuery, Territorial, visible_clause
from maillage.db import is_sqlite
from maillage.tables import Organisation, Territory
from tests.crm.test_scope_departements import Departements, deps  # noqa: F401 - fixture
from tests.crm.test_scope_partners import partners  # noqa: F401 - fixture
from tests.web.helpers import create

TIES = ("affiliations", "partnerships")


async def _scope(territories: list[int]) -> territory_scope.Scope:
    """A request's scope: the territories and their départements, read once."""
    return territory_scope.Scope(
        {territory: "coordinateur" for territory in territories},
        await territory_scope.departements_of(territories),
    )


async def _listed(resource: str, scope: territory_scope.Scope) -> tuple[set[int], int]:
    """The ids and the total of the list as the service gives them to ``scope``, with the
    policies letting everything through: what the service's own clause selects."""
    with territory_scope.entered(scope), row_security.entered(row_security.EVERY_TERRITORY):
        page = await SERVICES[resource].page(ListQuery(limit=500))
    return {row["id"] for row in page["items"]}, page["total"]


async def _through_parents(resource: str, scope: territory_scope.Scope) -> set[int]:
    """The ids of the rows whose parents (both) ``scope`` sees, read through the parents'
    ids: the rule as it reads on SQLite, and on PostgreSQL before the copies."""
    service = SERVICES[resource]
    rule = service.spec.territorial
    assert rule is not None and rule.also is not None
    table = service.table
    clause: Any = None
    for path in (rule, rule.also):
        assert path.via is not None and path.then is not None
        seen = visible_clause(path.via, path.then, scope.territories, scope.departements)
        parents = path.via.select(path.via._meta.primary_key).where(seen)
        part = table._meta.get_column_by_name(path.field).is_in(parents)
        clause = part if clause is None else clause & part
    with row_security.entered(row_security.EVERY_TERRITORY):
        rows = await table.select(table._meta.primary_key).where(clause)
    return {row["id"] for row in rows}


@pytest.fixture
async def ties(admin, deps: Departements) -> dict[str, dict[str, int]]:  # noqa: F811 - fixture
    """Partnerships and affiliations of every kind of pair, by name."""
    c = admin.client
    p = deps.p
    asso_d = await create(
        c,
        "organisations",
        {"name": "Parents de Brest", "kind": "association", "commune": deps.commune_d["id"]},
    )
    pairs = {
        "caf 35 – mairie A": (deps.caf_35, p.mairie_a),
        "caf 35 – association B": (deps.caf_35, p.asso_b),
        "mairie A – association B": (p.mairie_a, p.asso_b),
        "caf 35 – national": (deps.caf_35, deps.national),
        "caf 29 – national": (deps.caf_29, deps.national),
        "caf 29 – association D": (deps.caf_29, asso_d),
        "caf 35 – caf 29": (deps.caf_35, deps.caf_29),
    }
    partnerships: dict[str, int] = {}
    for name, (one, two) in pairs.items():
        made = await create(c, "partnerships", {"organisation": one["id"], "partner": two["id"]})
        partnerships[name] = made["id"]
    # The fixtures' affiliations (each person with their own organisation), and two across.
    affiliations: dict[str, int] = {}
    for name, (person, organisation) in {
        "agent national – caf 29": (deps.agent_national, deps.caf_29),
        "agent 35 – national": (deps.agent_35, deps.national),
    }.items():
        made = await create(
            c, "affiliations", {"contact": person["id"], "organisation": organisation["id"]}
        )
        affiliations[name] = made["id"]
    return {"partnerships": partnerships, "affiliations": affiliations}


async def test_a_scoped_list_of_ties_tests_the_rows_copies(deps: Departements):  # noqa: F811
    scope = await _scope([deps.p.a["id"]])
    with territory_scope.entered(scope):
        clauses = {name: str(SERVICES[name].scope_clause()) for name in TIES}
    if is_sqlite():  # no copy there: through the parents' ids
        assert all("SELECT" in clause for clause in clauses.values()), clauses
        return
    # The keys the policy tests (`row_security.seen_key`, migration 2026-12-10T18:30:00), of
    # the copies of each parent: A's territory, the shared parents of none (0), of 35.
    keys = f"[0, {deps.p.a['id']}, {row_security.seen_key(None, '35')}]::integer[]"
    for name, (first, second) in {
        "partnerships": ("seen", "partner_seen"),
        "affiliations": ("seen", "organisation_seen"),
    }.items():
        clause = clauses[name]
        assert "SELECT" not in clause, clause  # not through the parents' ids
        table = SERVICES[name].table._meta.tablename
        for key in (first, second):
            assert f'"{table}"."{key}" = ANY ({keys})' in clause, clause


async def test_the_ties_seen_are_those_of_the_parents(ties, deps: Departements):  # noqa: F811
    p = deps.p
    d = (await Territory.select(Territory.id).where(Territory.siren == "200000024"))[0]["id"]
    partnerships = ties["partnerships"]
    # The federation works with shared partners only: of no département, seen by all.
    national = await Organisation.select(Organisation.departement).where(
        Organisation.id == deps.national["id"]
    )
    assert national[0]["departement"] is None
    expected = {
        (p.a["id"],): {"caf 35 – mairie A", "caf 35 – national"},
        (d,): {"caf 29 – national", "caf 29 – association D"},
        (p.a["id"], p.b["id"]): {
            "caf 35 – mairie A",
            "caf 35 – association B",
            "mairie A – association B",
            "caf 35 – national",
        },
        (p.a["id"], d): set(partnerships) - {"caf 35 – association B", "mairie A – association B"},
    }
    for territories, names in expected.items():
        scope = await _scope(list(territories))
        for resource in TIES:
            seen, total = await _listed(resource, scope)
            assert seen == await _through_parents(resource, scope), (resource, territories)
            assert total == len(seen)
        seen, _ = await _listed("partnerships", scope)
        assert seen == {partnerships[name] for name in names}, territories
    # The affiliations across: of the other département's Caf, hidden from A; with the
    # nationally shared federation, seen by A.
    scope = await _scope([p.a["id"]])
    seen, _ = await _listed("affiliations", scope)
    assert ties["affiliations"]["agent 35 – national"] in seen
    assert ties["affiliations"]["agent national – caf 29"] not in seen
    assert _ids_of(seen, ties["affiliations"]) == {"agent 35 – national"}


def _ids_of(seen: set[int], named: dict[str, int]) -> set[str]:
    return {name for name, row in named.items() if row in seen}


async def test_territories_named_without_a_scope_look_the_departements_up(
    ties,
    deps: Departements,  # noqa: F811
):
    """An export's territories, without a request's scope: the départements are looked up in
    the statement, the same rows."""
    territories = [deps.p.a["id"]]
    scope = await _scope(territories)
    for resource in TIES:
        service = SERVICES[resource]
        rule: Territorial | None = service.spec.territorial
        assert rule is not None
        with row_security.entered(row_security.EVERY_TERRITORY):
            rows = await service.table.select(service.table._meta.primary_key).where(
                visible_clause(service.table, rule, territories)
            )
        assert {row["id"] for row in rows} == await _through_parents(resource, scope)
