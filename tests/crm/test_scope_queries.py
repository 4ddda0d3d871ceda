"""The scope's queries at national scale (#20): on PostgreSQL a row carrying its parent's
territory is tested on that copy, and a scoped page in id order is sorted from the rows in
scope (bench/README.md: the walk along the primary key read the whole table for the last
territories loaded); the rows seen stay those of the rule, on both engines."""

from __future__ import annotations

from maillage.crm import scope as territory_scope
from maillage.crm.registry import SERVICES
from maillage.crm.resources import ListQuery
from maillage.db import is_sqlite
from tests.crm import test_scope
from tests.crm.test_scope import MEETING, World, _ids
from tests.web.helpers import create

world = test_scope.world
coordinator_a = test_scope.coordinator_a

VIA_PARENT = ("meetings", "invitations", "memberships", "decisions")


def _scope(world: World) -> territory_scope.Scope:
    return territory_scope.Scope({world.a["id"]: "coordinateur"})


async def test_a_scoped_query_tests_the_copied_territory_and_sorts_what_it_sees(world):
    service = SERVICES["invitations"]
    with territory_scope.entered(_scope(world)):
        clauses = {name: str(SERVICES[name].scope_clause()) for name in VIA_PARENT}
        page = str(service._ordered(service.table.select(), None))
    unscoped_page = str(service._ordered(service.table.select(), None))
    if is_sqlite():  # no copy there: the parents' ids, and SQLite's own order
        assert all("SELECT" in clause for clause in clauses.values()), clauses
        assert "+ 0" not in page
        return
    for name, clause in clauses.items():
        table = SERVICES[name].table._meta.tablename
        if table == "invitation":  # its key, the policy's (#20, migration 2026-12-10T18:00)
            assert clause == f'"invitation"."seen" IN (0, {world.a["id"]})'
            continue
        assert (
            clause
            == f'("{table}"."territory" IS NULL OR "{table}"."territory" IN ({world.a["id"]}))'
        )
    assert 'ORDER BY ("invitation"."id" + 0) ASC' in page
    # An unscoped user reads everything: the primary key's order is the cheapest.
    assert 'ORDER BY "invitation"."id" ASC' in unscoped_page


async def test_the_rows_seen_are_the_rules_whatever_the_query(world, admin, coordinator_a):
    """Invitations of the territory's meeting, of a shared body's, and of a meeting moved
    into the territory after they were sent (the copy follows it); not the other
    territory's; in id order."""
    c = admin.client
    person = await create(c, "contacts", {"first_name": "Jo", "last_name": "Durand"})
    shared_meeting = await create(
        c, "meetings", {"working_group": world.shared_body["id"], "title": "Réseau", **MEETING}
    )
    moved = await create(
        c, "meetings", {"working_group": world.body_b["id"], "title": "Déplacée", **MEETING}
    )
    invitations = {
        key: await create(c, "invitations", {"meeting": meeting["id"], "contact": person["id"]})
        for key, meeting in {
            "a": world.meeting_a,
            "b": world.meeting_b,
            "shared": shared_meeting,
            "moved": moved,
        }.items()
    }
    answer = await c.patch(
        f"/api/v1/meetings/{moved['id']}",
        json={"version": moved["version"], "working_group": world.body_a["id"]},
    )
    assert answer.status_code == 200, answer.text
    expected = [invitations[key]["id"] for key in ("a", "shared", "moved")]
    listed = await coordinator_a.get("/api/v1/invitations", params={"sort": "id"})
    assert [item["id"] for item in listed.json()["items"]] == expected
    assert listed.json()["total"] == 3
    backwards = await coordinator_a.get("/api/v1/invitations", params={"sort": "-id"})
    assert [item["id"] for item in backwards.json()["items"]] == expected[::-1]
    assert _ids(await coordinator_a.get("/api/v1/meetings")) == {
        world.meeting_a["id"],
        shared_meeting["id"],
        moved["id"],
    }
    with territory_scope.entered(_scope(world)):
        page = await SERVICES["invitations"].page(ListQuery(sort="id", limit=2, offset=1))
    assert [item["id"] for item in page["items"]] == expected[1:]
