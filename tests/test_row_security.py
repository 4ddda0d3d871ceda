"""The second barrier of #20: PostgreSQL's row-level security returns nothing outside the
territories of a scoped user's request, even to a query that forgets the service's filter."""

from __future__ import annotations

import dataclasses
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import get
from piccolo.querystring import QueryString

from maillage import db, row_security
from maillage.crm import registry
from maillage.crm import scope as territory_scope
from maillage.crm.resources import ListQuery, ResourceService, Territorial
from maillage.tables import Meeting
from tests.crm import test_scope, test_scope_partners
from tests.crm.test_scope import SIREN_A, SIREN_B, World, _ids, _user
from tests.crm.test_scope_partners import Partners
from tests.support import TEST_DATABASE_URL
from tests.web.helpers import create

# The territories A and B of the scope tests, and a coordinator of A.
world = test_scope.world
coordinator_a = test_scope.coordinator_a
# The town halls, associations and people of A and B, and the shared Caf.
partners = test_scope_partners.partners

postgres_only = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgres"),
    reason="SQLite n'a pas de sécurité au niveau des lignes : la règle des territoires n'y est "
    "appliquée que par les services (définissez MAILLAGE_TEST_DATABASE_URL pour ce test).",
)


def _keyless(rule: row_security.Own | row_security.Via) -> row_security.Own | row_security.Via:
    """``rule`` without its keys (`row_security.Via.key`): the tests on the copies."""
    if not isinstance(rule, row_security.Via):
        return dataclasses.replace(rule, key=None)
    also = None if rule.also is None else _keyless(rule.also)
    return dataclasses.replace(rule, key=None, also=also)


def _copies_rule(table: str) -> str:
    """The policy of ``table`` as its rule reads, on the row's copies of its parents'
    territories and départements, rather than on its keys."""
    return row_security._visible(_keyless(row_security.PROTECTED[table]), f'"{table}"')


def test_the_protected_tables_are_the_registrys_local_resources():
    """One rule: each resource local to a territory (`territorial=`) has its table protected,
    reaching its territory the same way."""

    territorial = {
        spec.table._meta.tablename: spec.territorial
        for spec in registry.SPECS
        if spec.territorial is not None
    }

    def expected_rule(rule: Territorial, copy: str = row_security.COPY) -> Any:
        if rule.via is None:
            return row_security.Own(rule.field, rule.departement)
        # A second parent (`also`): its copies are named after its key.
        also = rule.also and expected_rule(rule.also, f"{rule.also.field}_territory")
        parent = rule.via._meta.tablename
        # A parent with départements: the row carries a copy of its parent's (#20).
        departement = None
        if parent in territorial and territorial[parent].departement is not None:
            departement = copy.removesuffix("territory") + "departement"
        return row_security.Via(rule.field, parent, copy, also, departement)

    expected: dict[str, row_security.Own | row_security.Via] = {}
    for spec in registry.SPECS:
        if spec.territorial is not None:
            expected[spec.table._meta.tablename] = expected_rule(spec.territorial)
    assert set(expected) - set(row_security.PROTECTED) == row_security.SERVICES_ONLY
    # A key (`Via.key`) is how the policy tests the rule, not where the territory comes from.
    rules = {table: _keyless(rule) for table, rule in row_security.PROTECTED.items()}
    assert {table: expected[table] for table in row_security.PROTECTED} == rules


def test_every_unique_value_of_a_protected_table_is_checked_across_territories():
    """Under a policy, a scoped write does not see the other territory's record holding a value
    unique in the whole instance: each such value has its function that sees them all, or the
    write would meet the unique constraint (a 409 naming nothing) instead of the field error."""
    for spec in registry.SPECS:
        table = spec.table._meta.tablename
        if table in row_security.PROTECTED:
            for unique in spec.unique:
                assert (table, unique.column) in row_security.TAKEN_ANYWHERE, (table, unique)


def test_the_role_without_the_policies_is_taken_only_once_usable():
    """A role without ``BYPASSRLS`` or that the application may not take is ignored; one that
    lacks grants gets them from `maillage migrate`, and is taken only once it has them all."""
    role = "maillage" + row_security.SEES_ALL_SUFFIX
    absent: list[dict[str, Any]] = []
    foreign = [{"name": role, "member": False, "granted": False}]
    bare = [{"name": role, "member": True, "granted": False}]
    ready = [{"name": role, "member": True, "granted": True}]
    for state in (absent, foreign, bare):
        assert row_security.sees_all_role(state) is None
    assert row_security.sees_all_role(ready) == role
    assert row_security.statements_for_sees_all(absent) == []
    assert row_security.statements_for_sees_all(foreign) == []
    assert row_security.statements_for_sees_all(ready) == []
    assert all(f'TO "{role}"' in grant for grant in row_security.statements_for_sees_all(bare))
    assert row_security.set_role_sql(role) == f'BEGIN; SET LOCAL ROLE "{role}"'


@postgres_only
async def test_the_application_is_subject_to_the_policies(database):
    assert not await db.row_security_bypassed()
    rows = await db.current_engine().run_ddl(row_security.STATE_QUERY)
    state = {row["name"]: row for row in rows}
    for table in row_security.PROTECTED:
        assert state[table]["enabled"] and state[table]["forced"], table
        assert state[table]["fingerprint"] == row_security.fingerprint(table)
    # Migrating again changes nothing (no lock taken on a running instance's tables).
    assert await db.sync_row_security() == []


@get("/essai/requete-brute", include_in_schema=False)
async def unfiltered() -> dict:
    """A query path that forgets every filter, outside a transaction and inside one."""
    alone = await Meeting.raw("SELECT * FROM meeting")
    async with db.read_transaction():
        inside = await Meeting.raw("SELECT * FROM meeting")
        invitations = await Meeting.raw("SELECT meeting FROM invitation")
    async with db.plain_reader() as fetch:
        plain = await fetch(QueryString("SELECT id FROM meeting"))
    return {
        "alone": sorted(row["id"] for row in alone),
        "inside": sorted(row["id"] for row in inside),
        "invitations": sorted({row["meeting"] for row in invitations}),
        "plain": sorted(row[0] for row in plain),
    }


@pytest.fixture
async def shared_meeting(world: World, admin) -> dict:
    return await create(
        admin.client,
        "meetings",
        {
            "working_group": world.shared_body["id"],
            "title": "Réseau départemental",
            "starts_at": "2026-12-09T14:00:00+01:00",
            "ends_at": "2026-12-09T16:00:00+01:00",
        },
    )


@postgres_only
async def test_an_unfiltered_query_in_a_scoped_request_sees_its_territory_only(
    app, world: World, admin, coordinator_a: httpx.AsyncClient, shared_meeting: dict
):
    app.register(unfiltered)
    person = await create(admin.client, "contacts", {"first_name": "Jo", "last_name": "Durand"})
    for meeting in (world.meeting_a, world.meeting_b):
        await create(
            admin.client, "invitations", {"meeting": meeting["id"], "contact": person["id"]}
        )
    mine = sorted([world.meeting_a["id"], shared_meeting["id"]])
    seen = (await coordinator_a.get("/essai/requete-brute")).json()
    assert seen == {
        "alone": mine,
        "inside": mine,
        "invitations": [world.meeting_a["id"]],
        "plain": mine,
    }
    every = sorted([world.meeting_a["id"], world.meeting_b["id"], shared_meeting["id"]])
    seen = (await admin.client.get("/essai/requete-brute")).json()
    # Inside a read transaction the administrator reads as the role without the policies.
    assert (seen["alone"], seen["inside"], seen["plain"]) == (every, every, every)
    async with await _user(
        app, "caf@maillage.example", "lecteur", [SIREN_A, SIREN_B]
    ) as caf_adviser:
        assert (await caf_adviser.get("/essai/requete-brute")).json()["inside"] == every


@get("/essai/role-de-lecture", include_in_schema=False)
async def reading_role() -> dict:
    """Who a read transaction reads as, whether its plan holds a policy, and who comes after."""
    async with db.read_transaction() as transaction:
        inside = await transaction.connection.fetchval("SELECT current_user")
        plan = await transaction.connection.fetch(
            "EXPLAIN SELECT id FROM meeting WHERE title ILIKE '%copil%'"
        )
    after = await db.current_engine().run_ddl("SELECT current_user AS name")
    return {
        "inside": inside,
        "after": after[0]["name"],
        "policy planned": "territory" in "\n".join(row[0] for row in plan),
    }


@postgres_only
async def test_a_read_of_every_row_is_planned_without_the_policies_a_scoped_one_is_not(
    app, world: World, admin, coordinator_a: httpx.AsyncClient
):
    """A policy costs an administrator's search its plan (no statistics for ``ILIKE`` on a
    table under a policy): the reads of ``*`` take the role without the policies, for their
    transaction only; a scoped user's reads never do."""
    from tests.conftest import APP_ROLE, SEES_ALL_ROLE

    app.register(reading_role)
    assert (await admin.client.get("/essai/role-de-lecture")).json() == {
        "inside": SEES_ALL_ROLE,
        "after": APP_ROLE,
        "policy planned": False,
    }
    assert (await coordinator_a.get("/essai/role-de-lecture")).json() == {
        "inside": APP_ROLE,
        "after": APP_ROLE,
        "policy planned": True,
    }
    # Migrating again grants nothing more: the role already holds every table.
    assert await db.sync_row_security() == []


@postgres_only
async def test_the_policies_hide_what_a_forgetful_service_would_show(
    world: World, coordinator_a: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(ResourceService, "scope_clause", lambda self: None)
    assert _ids(await coordinator_a.get("/api/v1/meetings")) == {world.meeting_a["id"]}
    assert _ids(await coordinator_a.get("/api/v1/groups")) == {
        world.body_a["id"],
        world.shared_body["id"],
    }
    response = await coordinator_a.get(f"/api/v1/meetings/{world.meeting_b['id']}")
    assert response.status_code == 404
    # Nor can it write there: the row does not exist for the update.
    response = await coordinator_a.patch(
        f"/api/v1/groups/{world.body_b['id']}", json={"name": "Pris", "version": 1}
    )
    assert response.status_code == 404


@postgres_only
async def test_a_connection_without_the_setting_sees_no_local_row(
    migrated_database: str, world: World
):
    """psql or any tool connecting as the application's role: nothing local, not everything."""
    connection = await asyncpg.connect(migrated_database)
    try:
        assert await connection.fetchval("SELECT count(*) FROM meeting") == 0
        # The shared body only: what has no territory is everybody's.
        assert await connection.fetchval("SELECT count(*) FROM working_group") == 1
        assert await connection.fetchval("SELECT count(*) FROM territory") == 2  # shared
        await connection.execute(row_security.set_config_sql("*", local=False))
        assert await connection.fetchval("SELECT count(*) FROM meeting") == 2
    finally:
        await connection.close()


@postgres_only
async def test_the_api_works_for_scoped_and_unscoped_users_with_row_security(
    app, world: World, admin, coordinator, coordinator_a: httpx.AsyncClient
):
    a = world.a["id"]
    for client, territory in ((coordinator_a, a), (coordinator.client, world.b["id"])):
        person = await create(client, "contacts", {"first_name": "Ana", "last_name": "Roy"})
        body = await create(
            client,
            "groups",
            {"name": "Commission", "kind": "groupe_travail", "territory": territory},
        )
        member = await create(
            client, "memberships", {"working_group": body["id"], "contact": person["id"]}
        )
        meeting = await create(
            client,
            "meetings",
            {
                "working_group": body["id"],
                "title": "Commission",
                "starts_at": "2026-12-10T09:00:00+01:00",
                "ends_at": "2026-12-10T11:00:00+01:00",
            },
        )
        invitation = await create(
            client, "invitations", {"meeting": meeting["id"], "contact": person["id"]}
        )
        decision = await create(
            client, "decisions", {"summary": "Un guichet", "meeting": meeting["id"]}
        )
        action = await create(client, "actions", {"title": "Guichet", "territory": territory})
        exchange = await create(
            client,
            "interactions",
            {"occurred_on": "2026-11-30", "summary": "Visite", "territory": territory},
        )
        for resource, row in (
            ("groups", body),
            ("memberships", member),
            ("meetings", meeting),
            ("invitations", invitation),
            ("decisions", decision),
            ("actions", action),
            ("interactions", exchange),
        ):
            assert row["id"] in _ids(await client.get(f"/api/v1/{resource}")), resource
            assert (await client.get(f"/api/v1/{resource}/{row['id']}")).status_code == 200
        response = await client.patch(
            f"/api/v1/meetings/{meeting['id']}", json={"title": "Renommée", "version": 1}
        )
        assert response.status_code == 200, response.text
        response = await client.delete(f"/api/v1/decisions/{decision['id']}")
        assert response.status_code in (200, 204), response.text
    # The unscoped coordinator's body in B is invisible to the coordinator of A.
    assert {
        row["territory"] for row in (await coordinator_a.get("/api/v1/groups")).json()["items"]
    } <= {a, None}
    assert len(_ids(await admin.client.get("/api/v1/groups"))) == 5


@postgres_only
async def test_rows_reached_through_a_parent_follow_its_territory(
    migrated_database: str, world: World, admin
):
    """Meetings, invitations, memberships and decisions carry a copy of their body's
    territory, which the policies read: a new row gets its parent's, and a body moved to
    another territory takes its meetings' invitations out of the first territory's sight."""
    person = await create(admin.client, "contacts", {"first_name": "Jo", "last_name": "Durand"})
    invitation = await create(
        admin.client, "invitations", {"meeting": world.meeting_a["id"], "contact": person["id"]}
    )
    member = await create(
        admin.client,
        "memberships",
        {"working_group": world.body_a["id"], "contact": person["id"]},
    )
    decision = await create(
        admin.client, "decisions", {"summary": "Un guichet", "meeting": world.meeting_a["id"]}
    )
    a, b = world.a["id"], world.b["id"]
    rows = {
        "meeting": world.meeting_a["id"],
        "invitation": invitation["id"],
        "membership": member["id"],
        "decision": decision["id"],
    }
    connection = await asyncpg.connect(migrated_database)

    async def seen_by(territory: int) -> set[str]:
        await connection.execute(row_security.set_config_sql(f"{{{territory}}}", local=False))
        return {
            table
            for table, row_id in rows.items()
            if await connection.fetchval(f"SELECT count(*) FROM {table} WHERE id = $1", row_id)
        }

    try:
        await connection.execute(row_security.set_config_sql("*", local=False))
        for table, row_id in rows.items():
            copied = f"SELECT territory FROM {table} WHERE id = $1"
            assert await connection.fetchval(copied, row_id) == a, table
        assert await seen_by(a) == set(rows)
        assert await seen_by(b) == set()
        # The policy tests the row itself: no look-up of the visible parents, for any row.
        for table in rows:
            explain = f"EXPLAIN SELECT id FROM {table} ORDER BY id LIMIT 5"
            plan = "\n".join(row[0] for row in await connection.fetch(explain))
            assert "SubPlan" not in plan, (table, plan)

        response = await admin.client.patch(
            f"/api/v1/groups/{world.body_a['id']}",
            json={"territory": b, "version": world.body_a["version"]},
        )
        assert response.status_code == 200, response.text
        assert await seen_by(a) == set()
        assert await seen_by(b) == set(rows)

        # A copy written by hand is put back to the parent's.
        await connection.execute(row_security.set_config_sql("*", local=False))
        await connection.execute(
            "UPDATE invitation SET territory = $1 WHERE id = $2", a, rows["invitation"]
        )
        assert await seen_by(b) == set(rows)
        # A scoped writer cannot hang a row under a parent it does not see.
        await connection.execute(row_security.set_config_sql(f"{{{a}}}", local=False))
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute(
                "INSERT INTO invitation (meeting, contact) VALUES ($1, $2)",
                world.meeting_a["id"],
                person["id"],
            )
    finally:
        await connection.close()


# ----- the partners (organisations, contacts, affiliations, partnerships) -------------------

PARTNER_TABLES = ("organisation", "contact", "affiliation", "partnership")


@get("/essai/partenaires-bruts", include_in_schema=False)
async def unfiltered_partners() -> dict:
    """Every partner table read with no filter at all, outside a transaction and inside one."""
    seen: dict[str, list[int]] = {}
    for table in PARTNER_TABLES:
        rows = await Meeting.raw(f"SELECT * FROM {table}")
        async with db.read_transaction():
            inside = await Meeting.raw(f"SELECT id FROM {table}")
        assert sorted(row["id"] for row in inside) == sorted(row["id"] for row in rows)
        seen[table] = sorted(row["id"] for row in rows)
    return seen


@postgres_only
async def test_an_unfiltered_query_sees_the_partners_of_its_territory_and_the_shared_ones(
    app, admin, partners: Partners
):
    """The town hall of A, its maire and her tie for the coordinator of A; those of B for the
    coordinator of B; the Caf, its adviser and her tie for both; a partnership for whoever
    sees both its organisations; everything for the host team and a Caf adviser of A and B."""
    app.register(unfiltered_partners)
    p, c = partners, admin.client
    ties = (await c.get("/api/v1/affiliations")).json()["items"]
    tie = {row["contact"]: row["id"] for row in ties}
    caf_mairie = await create(
        c, "partnerships", {"organisation": p.caf["id"], "partner": p.mairie_a["id"]}
    )
    asso_caf = await create(
        c, "partnerships", {"organisation": p.asso_b["id"], "partner": p.caf["id"]}
    )
    mairie_asso = await create(
        c, "partnerships", {"organisation": p.mairie_a["id"], "partner": p.asso_b["id"]}
    )
    msa = await create(c, "organisations", {"name": "MSA", "kind": "institution"})
    caf_msa = await create(c, "partnerships", {"organisation": p.caf["id"], "partner": msa["id"]})

    def expected(mairie: dict, maire: dict, partnership: dict) -> dict:
        return {
            "organisation": sorted([mairie["id"], p.caf["id"], msa["id"]]),
            "contact": sorted([maire["id"], p.conseillere_caf["id"]]),
            "affiliation": sorted([tie[maire["id"]], tie[p.conseillere_caf["id"]]]),
            "partnership": sorted([partnership["id"], caf_msa["id"]]),
        }

    async with await _user(app, "coord-a@maillage.example", "coordinateur", [SIREN_A]) as a:
        assert (await a.get("/essai/partenaires-bruts")).json() == expected(
            p.mairie_a, p.maire_a, caf_mairie
        )
    async with await _user(app, "coord-b@maillage.example", "coordinateur", [SIREN_B]) as b:
        assert (await b.get("/essai/partenaires-bruts")).json() == expected(
            p.asso_b, p.adjoint_b, asso_caf
        )
    every = (await c.get("/essai/partenaires-bruts")).json()
    assert every["organisation"] == sorted(
        [p.mairie_a["id"], p.asso_b["id"], p.caf["id"], msa["id"]]
    )
    assert every["contact"] == sorted([p.maire_a["id"], p.adjoint_b["id"], p.conseillere_caf["id"]])
    assert every["affiliation"] == sorted(tie.values())
    assert every["partnership"] == sorted(
        [caf_mairie["id"], asso_caf["id"], mairie_asso["id"], caf_msa["id"]]
    )
    async with await _user(app, "caf@maillage.example", "lecteur", [SIREN_A, SIREN_B]) as adviser:
        assert (await adviser.get("/essai/partenaires-bruts")).json() == every


@postgres_only
async def test_the_partners_copies_follow_their_parents(
    migrated_database: str, admin, partners: Partners
):
    """An affiliation carries its contact's and its organisation's territories, a partnership
    its two organisations': a town hall moved to B takes its maire, her tie and its
    partnerships out of A's sight, even those A's coordinator would not see (the copies are
    carried down by a function that sees every row)."""
    p, c = partners, admin.client
    caf_mairie = await create(
        c, "partnerships", {"organisation": p.caf["id"], "partner": p.mairie_a["id"]}
    )
    mairie_asso = await create(
        c, "partnerships", {"organisation": p.mairie_a["id"], "partner": p.asso_b["id"]}
    )
    tie = (await c.get("/api/v1/affiliations", params={"contact": p.maire_a["id"]})).json()
    a, b = p.a["id"], p.b["id"]
    connection = await asyncpg.connect(migrated_database)

    async def copies() -> dict:
        await connection.execute(row_security.set_config_sql("*", local=False))
        affiliation = await connection.fetchrow(
            "SELECT territory, organisation_territory FROM affiliation WHERE id = $1",
            tie["items"][0]["id"],
        )
        rows = await connection.fetch(
            "SELECT id, territory, partner_territory FROM partnership ORDER BY id"
        )
        return {
            "affiliation": tuple(affiliation),
            **{row["id"]: (row["territory"], row["partner_territory"]) for row in rows},
        }

    try:
        assert await copies() == {
            "affiliation": (a, a),
            caf_mairie["id"]: (None, a),
            mairie_asso["id"]: (a, b),
        }
        response = await c.patch(
            f"/api/v1/organisations/{p.mairie_a['id']}",
            json={"version": p.mairie_a["version"], "commune": p.asso_b["commune"]},
        )
        assert response.status_code == 200, response.text
        assert await copies() == {
            "affiliation": (b, b),
            caf_mairie["id"]: (None, b),
            mairie_asso["id"]: (b, b),
        }
        # A copy written by hand is put back to the parent's.
        await connection.execute("UPDATE partnership SET partner_territory = $1", a)
        assert (await copies())[mairie_asso["id"]] == (b, b)
        # A writer of A and B moves the town hall back to A: its partnership with a
        # club of C, which that writer does not see, follows it all the same.
        lake = await create(c, "territories", {"name": "CC du Lac", "siren": "200000024"})
        club = await create(
            c, "organisations", {"name": "Club", "kind": "association", "territory": lake["id"]}
        )
        mairie_club = await create(
            c, "partnerships", {"organisation": p.mairie_a["id"], "partner": club["id"]}
        )
        await connection.execute(row_security.set_config_sql(f"{{{a},{b}}}", local=False))
        assert await connection.fetchval("SELECT count(*) FROM partnership") == 2
        await connection.execute(
            "UPDATE organisation SET territory = $1 WHERE id = $2", a, p.mairie_a["id"]
        )
        assert (await copies())[mairie_club["id"]] == (a, lake["id"])
        # A scoped writer cannot hang a tie on an organisation it does not see.
        await connection.execute(row_security.set_config_sql(f"{{{a}}}", local=False))
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute(
                "INSERT INTO affiliation (contact, organisation) VALUES ($1, $2)",
                p.conseillere_caf["id"],
                p.asso_b["id"],
            )
    finally:
        await connection.close()


@postgres_only
async def test_no_policy_looks_a_parent_up(migrated_database: str, world: World):
    """Each policy is a test on the row itself (its territory or the copies of its parents'):
    no look-up of the visible parents for any row, in any protected table."""
    connection = await asyncpg.connect(migrated_database)
    try:
        await connection.execute(row_security.set_config_sql(f"{{{world.a['id']}}}", local=False))
        for table in row_security.PROTECTED:
            explain = f"EXPLAIN SELECT id FROM {table} ORDER BY id LIMIT 5"
            plan = "\n".join(row[0] for row in await connection.fetch(explain))
            assert "SubPlan" not in plan, (table, plan)
    finally:
        await connection.close()


@postgres_only
async def test_a_scoped_write_keeps_a_person_shared_by_ties_it_does_not_see(
    app, admin, partners: Partners
):
    """A person on the bodies of A and B is shared; a coordinator of A puts her on a new body
    of A: she stays shared, although A's coordinator does not see her membership in B (the
    ties that place a person are read across territories)."""
    p, c = partners, admin.client
    person = await create(c, "contacts", {"first_name": "Élise", "last_name": "Deux"})
    for body in (p.body_a, p.body_b):
        await create(c, "memberships", {"contact": person["id"], "working_group": body["id"]})
    async with await _user(app, "coord-a@maillage.example", "coordinateur", [SIREN_A]) as a:
        assert (await a.get(f"/api/v1/contacts/{person['id']}")).json()["territory"] is None
        body = await create(
            a, "groups", {"name": "Commission", "kind": "groupe_travail", "territory": p.a["id"]}
        )
        await create(a, "memberships", {"contact": person["id"], "working_group": body["id"]})
    assert (await c.get(f"/api/v1/contacts/{person['id']}")).json()["territory"] is None
    async with await _user(app, "coord-b@maillage.example", "coordinateur", [SIREN_B]) as b:
        assert (await b.get(f"/api/v1/contacts/{person['id']}")).status_code == 200


async def _plan_modes() -> dict:
    """How the statements of a read transaction, of a write one and of neither are planned."""
    show = "SELECT current_setting('plan_cache_mode')"
    async with db.read_transaction() as transaction:
        reading = await transaction.connection.fetchval(show)
    async with db.write_transaction() as transaction:
        writing = await transaction.connection.fetchval(show)
    after = await db.current_engine().run_ddl(f"{show} AS mode")
    # A list page's one statement, read without a transaction (`db.read_statement`, #16).
    alone = await db.read_statement(show, [])
    return {"read": reading, "write": writing, "after": after[0]["mode"], "alone": alone[0][0]}


@postgres_only
async def test_a_scoped_read_plans_its_statements_once_for_every_scope(world: World):
    """A scoped read plans generically (no planning again on every execution under the
    policies), in a transaction or alone (a list page's statement, `db.read_statement`);
    writes keep PostgreSQL's choice, and unscoped work after it too (the pool's reset)."""
    with territory_scope.entered(territory_scope.Scope({world.a["id"]: "coordinateur"})):
        assert await _plan_modes() == {
            "read": "force_generic_plan",
            "write": "auto",
            "after": "force_generic_plan",
            "alone": "force_generic_plan",
        }
    with territory_scope.entered(None):
        assert await _plan_modes() == {
            "read": "auto",
            "write": "auto",
            "after": "auto",
            "alone": "auto",
        }


@postgres_only
async def test_one_generic_plan_still_hides_each_scope_from_the_others(
    migrated_database: str, world: World
):
    """The plan kept by a prepared statement serves every scope: the policy reads the setting
    at execution, so the same unfiltered statement, planned once, shows territory A's user A's
    rows and then territory B's user B's, on one connection, with the app's ``BEGIN``."""
    connection = await asyncpg.connect(migrated_database)
    shared = {world.shared_body["id"]}
    try:
        statement = await connection.prepare("SELECT id FROM working_group WHERE id > $1")
        for territory, body in [(world.a, world.body_a), (world.b, world.body_b)] * 3:
            begin = row_security.begin_sql(row_security.of([territory["id"]]), reading=True)
            await connection.execute(begin)
            assert {row["id"] for row in await statement.fetch(0)} == shared | {body["id"]}
            await connection.execute("COMMIT")
        plans = await connection.fetchrow(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'SELECT id FROM working_group%'"
        )
        assert (plans["generic_plans"], plans["custom_plans"]) == (6, 0)
    finally:
        await connection.close()


async def _territories_set(connection: Any, setting: str | None) -> None:
    """The connection's ``maillage.territories`` as ``setting``, written as it is (garbage
    too, which the application never writes); None: no setting at all."""
    await connection.execute("RESET maillage.territories")
    if setting is not None:
        await connection.execute("SELECT set_config('maillage.territories', $1, false)", setting)


@postgres_only
async def test_the_policys_one_test_a_row_keeps_the_rule(database: str):
    """Shared rows (no territory) for everybody, even without a setting or any territory; a
    territory's rows for its users; every row for ``*``; nothing else: the policy's test
    (`row_security.policy_expression`) on rows of every kind, for each value of the setting."""
    rows = "(VALUES (NULL::integer, NULL::integer), (1, NULL), (NULL, 2), (1, 2), (2, 2), (3, 3))"
    own = row_security.policy_expression("meeting")
    both = _copies_rule("affiliation")  # the keys: test_the_ties_keys_keep_the_rule
    expected = {
        "*": ({None, 1, 2, 3}, {(None, None), (1, None), (None, 2), (1, 2), (2, 2), (3, 3)}),
        "{1,2}": ({None, 1, 2}, {(None, None), (1, None), (None, 2), (1, 2), (2, 2)}),
        "{1}": ({None, 1}, {(None, None), (1, None)}),
        "{}": ({None}, {(None, None)}),
        "n'importe quoi": ({None}, {(None, None)}),
        None: ({None}, {(None, None)}),
    }
    connection = await asyncpg.connect(database)
    try:
        for setting, (seen_own, seen_both) in expected.items():
            await _territories_set(connection, setting)
            found = await connection.fetch(
                f'SELECT territory FROM {rows} AS "meeting"(territory, other) WHERE {own}'
            )
            assert {row["territory"] for row in found} == seen_own, setting
            found = await connection.fetch(
                f"SELECT territory, organisation_territory FROM (SELECT *, NULL AS departement, "
                f"NULL AS organisation_departement FROM {rows} AS r(territory, "
                f'organisation_territory)) AS "affiliation" WHERE {both}'
            )
            assert {tuple(row) for row in found} == seen_both, setting
    finally:
        await connection.close()


@postgres_only
async def test_the_invitations_key_keeps_the_rule(migrated_database: str, world: World):
    """#20, migration 2026-12-10T18:00: the invitation's policy tests its key ``seen``
    (``coalesce(territory, 0)``) against the setting's keys, and sees exactly what the test on
    the territory saw: the shared rows for everybody, a territory's for its users, every row
    for ``*`` (the keys of every territory there is), nothing else."""
    a, b = world.a["id"], world.b["id"]
    rows = f"(VALUES (NULL::integer, 0), ({a}, {a}), ({b}, {b}))"
    keyed = row_security.policy_expression("invitation")
    assert '"invitation"."seen" = ANY' in keyed and "IS NOT FALSE" not in keyed
    expected = {
        "*": {None, a, b},
        f"{{{a},{b}}}": {None, a, b},
        f"{{{a}}}": {None, a},
        "{}": {None},
        "n'importe quoi": {None},
        None: {None},
    }
    connection = await asyncpg.connect(migrated_database)
    try:
        for setting, seen in expected.items():
            await _territories_set(connection, setting)
            found = await connection.fetch(
                f'SELECT territory FROM {rows} AS "invitation"(territory, seen) WHERE {keyed}'
            )
            assert {row["territory"] for row in found} == seen, setting
    finally:
        await connection.close()


def test_a_row_seen_through_two_parents_has_a_key_for_each_or_none():
    """A key says what one parent's copies say: a row seen through two parents with a key for
    one only would test the other's copies again, each row, and is refused."""
    half = row_security.Via(
        "contact", "contact", key="k", also=row_security.Via("organisation", "organisation", "o")
    )
    with pytest.raises(ValueError):
        row_security._visible(half, '"t"')


def test_a_parents_key_in_python_is_its_key_in_the_database_and_one_each():
    """`row_security.seen_key` gives what ``maillage_seen_key`` stores (checked in
    test_the_ties_keys_keep_the_rule), a different key to each code a département can take
    (`departements.CODE`, and the bench's ``00``), all in `DEPARTEMENT_KEYS` (what ``*``
    lists), never a territory's (positive) nor the shared rows' of no département (0)."""
    from maillage import departements

    codes = {f"{n:02d}" for n in range(100)} | {"2A", "2B"} | {str(n) for n in range(970, 990)}
    assert all(departements.CODE.match(code) for code in ("01", "2A", "974"))
    keys = {code: row_security.seen_key(None, code) for code in codes}
    assert len(set(keys.values())) == len(codes)
    assert set(keys.values()) | {-1} == set(row_security.DEPARTEMENT_KEYS)
    assert {row_security.seen_key(None, code) for code in ("ABC", "2C", "100", "9", "")} == {-1, 0}
    assert row_security.seen_key(None, None) == 0 and row_security.seen_key(7, "35") == 7


@postgres_only
async def test_the_ties_keys_keep_the_rule(migrated_database: str, world: World):
    """#20, migration 2026-12-10T18:30: an affiliation's and a partnership's policy test their
    keys (``maillage_seen_key`` of each parent's copies) against the setting's, and see
    exactly the rows the tests on the copies saw: for every mix of local, shared of no
    département, shared of the territories' département, of another, of a code of no known
    form, on either side, for every setting, given its départements or looking them up."""
    from maillage.tables import Territory

    a, b = world.a["id"], world.b["id"]
    await Territory.update({Territory.departement: "35"}).where(Territory.id == a)
    await Territory.update({Territory.departement: "2A"}).where(Territory.id == b)
    parents = [(a, "35"), (b, "2A"), (None, None), (None, ""), (None, "35"), (None, "2A")]
    parents += [(None, "974"), (None, "00"), (None, "XYZ"), (a, None)]
    rows = ", ".join(
        f"({t or 'NULL'}::integer, {repr(d) if d is not None else 'NULL'}::text, "
        f"{u or 'NULL'}::integer, {repr(e) if e is not None else 'NULL'}::text)"
        for t, d in parents
        for u, e in parents
    )
    settings = ["*", f"{{{a},{b}}}", f"{{{a}}}", f"{{{b}}}", "{}", "n'importe quoi", None]
    given = [f"{{{a}}}:{{35}}", f"{{{a},{b}}}:{{35,2A}}", f"{{{b}}}:{{2A}}", "{}:{}"]
    without_keys = {given[1], given[2]}
    names = {
        "affiliation": ("organisation_territory", "organisation_departement", "organisation_seen"),
        "partnership": ("partner_territory", "partner_departement", "partner_seen"),
    }
    connection = await asyncpg.connect(migrated_database)
    try:
        for table, (other, other_departement, other_seen) in names.items():
            keyed = row_security.policy_expression(table)
            assert f'"{table}"."seen" = ANY' in keyed and "IS NOT FALSE" not in keyed
            columns = f"territory, departement, {other}, {other_departement}"
            source = (
                f"(SELECT *, maillage_seen_key(territory, departement) AS seen, "
                f"maillage_seen_key({other}, {other_departement}) AS {other_seen} "
                f'FROM (VALUES {rows}) AS v({columns})) AS "{table}"'
            )
            for setting in settings + given:
                if setting is not None and ":" in setting:
                    await connection.execute(row_security.set_config_sql(setting, local=False))
                else:
                    await _territories_set(connection, setting)
                if setting in without_keys:
                    # Départements given without their keys (a host of the previous version
                    # during an upgrade): the keys are looked up, as when none are given.
                    await connection.execute(
                        f"SELECT set_config('{row_security.DEPARTEMENT_KEYS_SETTING}', '', false)"
                    )
                found = {}
                for name, rule in (("keys", keyed), ("copies", _copies_rule(table))):
                    result = await connection.fetch(f"SELECT {columns} FROM {source} WHERE {rule}")
                    found[name] = {tuple(row) for row in result}
                assert found["keys"] == found["copies"], (table, setting)
                assert found["copies"], (table, setting)  # the shared rows of none, at least
        await _territories_set(connection, "*")
        every = await connection.fetchval(f"SELECT count(*) FROM (VALUES {rows}) AS v(a, b, c, d)")
        assert len(found["keys"]) < every  # the last setting saw less than everything
    finally:
        await connection.close()
    stored = {
        code: await db_value(f"SELECT maillage_seen_key(NULL, {code!r})", migrated_database)
        for code in ("01", "35", "2A", "2B", "974", "989", "00", "XYZ", "", "2C")
    }
    assert stored == {code: row_security.seen_key(None, code) for code in stored}
    # What ``*`` compares with: every territory's id and every key of a département.
    every = await db_value("SELECT maillage_every_tie_key()", migrated_database)
    territories = await db_value("SELECT array_agg(id) FROM territory", migrated_database)
    assert sorted(every) == sorted([*territories, 0, *row_security.DEPARTEMENT_KEYS])


@postgres_only
@pytest.mark.parametrize("table", ["organisation", "contact"])
async def test_the_partners_keys_keep_the_rule(migrated_database: str, world: World, table: str):
    """#20, migration 2026-12-10T19:00: an organisation's and a contact's policy test their key
    (``maillage_seen_key`` of their territory and département) and see exactly the rows the
    tests on those columns saw, for every kind of row and every setting."""
    from maillage.tables import Territory

    a, b = world.a["id"], world.b["id"]
    await Territory.update({Territory.departement: "35"}).where(Territory.id == a)
    await Territory.update({Territory.departement: "2A"}).where(Territory.id == b)
    kinds = [(a, "35"), (b, "2A"), (None, None), (None, ""), (None, "35"), (None, "2A")]
    kinds += [(None, "974"), (None, "00"), (None, "XYZ"), (a, None)]
    rows = ", ".join(
        f"({t or 'NULL'}::integer, {repr(d) if d is not None else 'NULL'}::text)" for t, d in kinds
    )
    source = (
        "(SELECT *, maillage_seen_key(territory, departement) AS seen "
        f'FROM (VALUES {rows}) AS v(territory, departement)) AS "{table}"'
    )
    keyed = row_security.policy_expression(table)
    assert f'"{table}"."seen" = ANY' in keyed and "IS NOT FALSE" not in keyed
    settings = ["*", f"{{{a},{b}}}", f"{{{a}}}", "{}", "n'importe quoi", None]
    given = [f"{{{a}}}:{{35}}", f"{{{a},{b}}}:{{35,2A}}", f"{{{b}}}:{{}}", "{}:{}"]
    connection = await asyncpg.connect(migrated_database)
    try:
        for setting in settings + given:
            if setting is not None and ":" in setting:
                await connection.execute(row_security.set_config_sql(setting, local=False))
            else:
                await _territories_set(connection, setting)
            found = {}
            for name, rule in (("keys", keyed), ("columns", _copies_rule(table))):
                result = await connection.fetch(
                    f"SELECT territory, departement FROM {source} WHERE {rule}"
                )
                found[name] = {tuple(row) for row in result}
            assert found["keys"] == found["columns"], (table, setting)
            assert found["columns"], (table, setting)
    finally:
        await connection.close()


async def db_value(sql: str, url: str) -> Any:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


@postgres_only
async def test_a_scoped_list_of_invitations_is_bounded_by_the_policys_index(
    migrated_database: str, world: World
):
    """#20: the invitations a scoped list counts and shows are found by the index of their
    key, the list's clause (`resources.visible_clause`) and the policy both conditions of it,
    and no row is tested afterwards: with a test per row (the copy's ``(territory = ANY (…))
    IS NOT FALSE``), a Caf adviser's list of 28,589 invitations cost ×1.2 of the same
    statement without the policies (bench/README.md)."""
    from maillage.crm.resources import visible_clause
    from maillage.tables import Invitation

    a, b = world.a["id"], world.b["id"]
    clause = visible_clause(Invitation, registry.BY_MEETING, [a, b])
    sql, args = (
        Invitation.count().where(clause).querystrings[0].compile_string(engine_type="postgres")
    )
    connection = await asyncpg.connect(migrated_database)
    try:
        await connection.execute(row_security.set_config_sql(f"{{{a},{b}}}", local=False))
        # The test database holds a few rows: a sequential scan would be as good there.
        await connection.execute("SET enable_seqscan = off")
        plan = "\n".join(row[0] for row in await connection.fetch("EXPLAIN " + sql, *args))
    finally:
        await connection.close()
    assert "invitation_seen" in plan, plan
    assert "Filter" not in plan, plan
    conditions = [line for line in plan.splitlines() if "Cond:" in line]
    assert conditions and all(line.count("seen = ANY") == 2 for line in conditions), plan


@postgres_only
@pytest.mark.parametrize("table", ["affiliation", "partnership"])
async def test_a_scoped_list_of_ties_tests_the_keys_as_the_policy_does(
    migrated_database: str, world: World, table: str
):
    """#20: a scoped list of ties (`resources.visible_clause`) tests the two keys of the
    policy, each as the policy does, one array (``= ANY ($n)``): an index of a key takes both
    tests as its conditions, and no copy of a territory or a département is read. With the
    tests on the copies, a coordinator's affiliations cost ×1.20 the same statement without
    the policies; with the list's keys as a list of values, PostgreSQL weighed the two tests
    of a key apart, took one index and tested the other key on each row (×2.3 for a Caf
    adviser). Which indexes a list intersects depends on the statistics of a real table: the
    bench shows it (bench/README.md « The ties' policy as an index condition »)."""
    from maillage.crm.resources import visible_clause
    from maillage.tables import Affiliation, Partnership

    model = Affiliation if table == "affiliation" else Partnership
    rule = registry.BY_CONTACT if table == "affiliation" else registry.BY_PARTNERS
    other_key = "organisation_seen" if table == "affiliation" else "partner_seen"
    a, b = world.a["id"], world.b["id"]
    clause = visible_clause(model, rule, [a, b], ["35"])
    sql, args = model.count().where(clause).querystrings[0].compile_string(engine_type="postgres")
    assert len(args) == 2 and all(isinstance(keys, list) for keys in args), sql
    connection = await asyncpg.connect(migrated_database)
    try:
        await connection.execute(row_security.set_config_sql(f"{{{a},{b}}}:{{35}}", local=False))
        # As a scoped read plans it (`row_security.GENERIC_PLANS`), with arguments. The test
        # database holds a few rows: a scan of the table would be as good there.
        await connection.execute(row_security.SESSION_GENERIC_PLANS)
        await connection.execute("SET enable_seqscan = off")
        await connection.execute(f"PREPARE counted AS {sql}")
        values = ", ".join("'{" + ",".join(map(str, keys)) + "}'" for keys in args)
        explained = await connection.fetch(f"EXPLAIN EXECUTE counted({values})")
        plan = "\n".join(row[0] for row in explained)
        # How many values PostgreSQL assumes each key holds, so that it does not take the
        # policy's test and the list's for two independent ones (the migration's
        # `ASSUMED_KEYS`): on the country, it tested one key on each row.
        assumed = await connection.fetch(
            "SELECT attname, attoptions FROM pg_attribute WHERE attrelid = $1::regclass "
            "AND attname LIKE '%seen'",
            table,
        )
    finally:
        await connection.close()
    options = {row["attname"]: row["attoptions"] or [] for row in assumed}
    assert set(options) == {"seen", other_key}
    assert all("n_distinct=50" in found for found in options.values()), options
    scans = plan[plan.index(f"on {table}") :]
    conditions = [line for line in scans.splitlines() if "Index Cond:" in line]
    assert conditions and all(line.count("seen = ANY ($") == 2 for line in conditions), plan
    tests = [line for line in scans.splitlines() if "Cond:" in line or "Filter:" in line]
    assert not any("territory" in line or "departement" in line for line in tests), plan


@postgres_only
async def test_a_shared_row_without_departement_is_seen_by_a_territory_without_one(
    database: str,
):
    """The départements' test (`row_security.DEPARTEMENTS`, one test a row): a shared row of no
    département is seen by every setting, even one whose territories have no département
    (``NULL = ANY ('{}')`` is FALSE: the array is never empty); a shared row of a
    département by ``*`` only here (no territory has one); a local row by its territory."""
    rows = "(NULL::integer, NULL::text{}), (NULL, '35'{}), (1, NULL{}), (2, '35'{})"
    expected = {
        "*": {(None, None), (None, "35"), (1, None), (2, "35")},
        "{1}": {(None, None), (1, None)},
        "{}": {(None, None)},
        None: {(None, None)},
    }
    # A contact, and an affiliation under a shared contact and a shared organisation of none.
    cases = {
        "contact": ("territory, departement", rows.format(*[""] * 4)),
        "affiliation": (
            "territory, departement, organisation_territory, organisation_departement",
            rows.format(", NULL::integer, NULL::text", *[", NULL, NULL"] * 3),
        ),
    }
    connection = await asyncpg.connect(database)
    try:
        for table, (names, values) in cases.items():
            rule = _copies_rule(table)  # the ties' keys: test_the_ties_keys_keep_the_rule
            for setting, seen in expected.items():
                await _territories_set(connection, setting)
                found = await connection.fetch(
                    f'SELECT territory, departement FROM (VALUES {values}) AS "{table}"({names}) '
                    f"WHERE {rule}"
                )
                assert {tuple(row) for row in found} == seen, (table, setting)
    finally:
        await connection.close()


@postgres_only
async def test_the_policies_take_the_departements_given_with_the_territories(
    migrated_database: str,
):
    """The départements a request gives beside its territories (`row_security.of`, read once
    for the request) are those the policies test, without looking them up; none given, or
    garbage: looked up from the territories (here none: territory 1 does not exist, so the
    shared rows of no département only), as before. Shared rows of a département: seen by
    the settings that give it and by ``*``; local rows: by their territory."""
    rows = "(NULL::integer, NULL::text), (NULL, '35'), (NULL, '2A'), (1, NULL), (2, '35')"
    everything = {(None, None), (None, "35"), (None, "2A"), (1, None), (2, "35")}
    expected = {
        row_security.of([1], ["35"]): {(None, None), (None, "35"), (1, None)},
        row_security.of([1], ["2A", "35"]): {(None, None), (None, "35"), (None, "2A"), (1, None)},
        row_security.of([1, 2], ["35"]): {(None, None), (None, "35"), (1, None), (2, "35")},
        row_security.of([1], []): {(None, None), (1, None)},
        row_security.of([1]): {(None, None), (1, None)},
        row_security.of([], []): {(None, None)},
        row_security.of(None): everything,
    }
    connection = await asyncpg.connect(migrated_database)
    try:
        rule = _copies_rule("contact")  # its key: test_the_partners_keys_keep_the_rule
        select = (
            f'SELECT territory, departement FROM (VALUES {rows}) AS "contact"(territory, '
            f"departement) WHERE {rule}"
        )
        for setting, seen in expected.items():
            await connection.execute(row_security.set_config_sql(setting, local=False))
            assert {tuple(row) for row in await connection.fetch(select)} == seen, setting
        # Garbage in the départements' setting: looked up, as without it.
        await connection.execute(row_security.set_config_sql(row_security.of([1]), local=False))
        await connection.execute("SELECT set_config('maillage.departements', '35', false)")
        assert {tuple(row) for row in await connection.fetch(select)} == {(None, None), (1, None)}
    finally:
        await connection.close()


@postgres_only
async def test_the_departements_are_given_with_the_territories_and_only_with_them(
    migrated_database: str,
):
    """A setting without départements (a scope made by hand, then another) leaves none of the
    scope before it: the territories and their départements are written by one statement."""
    show = (
        "SELECT current_setting('maillage.territories'), current_setting('maillage.departements')"
    )
    connection = await asyncpg.connect(migrated_database)
    try:
        steps = [
            (row_security.of([1], ["35"]), ("{1}", "{35}")),
            (row_security.of([2]), ("{2}", "")),
            (row_security.of([3], ["2A", "971"]), ("{3}", "{2A,971}")),
            (row_security.of(None), ("*", "")),
        ]
        for setting, shown in steps:
            await connection.execute(row_security.set_config_sql(setting, local=False))
            assert tuple(await connection.fetchrow(show)) == shown, setting
        await connection.execute(row_security.begin_sql(row_security.of([4], ["69"]), reading=True))
        assert tuple(await connection.fetchrow(show)) == ("{4}", "{69}")
        await connection.execute("COMMIT")
        assert tuple(await connection.fetchrow(show)) == ("*", "")
    finally:
        await connection.close()
    for wrong in ["{1}:35", "{1}:{35'}", "{1}:{35,x y}", "{1'}"]:
        with pytest.raises(ValueError):
            row_security.set_config_sql(wrong, local=False)


def test_a_departement_of_an_unusual_form_is_left_to_the_policies():
    """Codes outside the usual form are not written in the setting: the policies look the
    départements up from the territories (never a quote in a literal)."""
    assert row_security.of([1], ["35", "2A", "971"]) == "{1}:{35,2A,971}"
    assert row_security.of([1], ["3'5"]) == "{1}"
    assert row_security.of([1], []) == "{1}:{}"
    assert row_security.of([1]) == "{1}"


@postgres_only
async def test_a_scoped_request_gives_the_policies_its_departements(world: World):
    """In a transaction and alone (`db.read_statement`), a scoped request's connection carries
    the départements of its scope (`Scope.departements`); a scope without them, none."""
    show = "SELECT current_setting('maillage.departements', true)"
    scope = territory_scope.Scope({world.a["id"]: "coordinateur"}, ("35", "56"))
    with territory_scope.entered(scope):
        async with db.read_transaction() as transaction:
            assert await transaction.connection.fetchval(show) == "{35,56}"
        async with db.write_transaction() as transaction:
            assert await transaction.connection.fetchval(show) == "{35,56}"
        assert (await db.read_statement(show, []))[0][0] == "{35,56}"
    with territory_scope.entered(territory_scope.Scope({world.a["id"]: "coordinateur"})):
        async with db.read_transaction() as transaction:
            assert await transaction.connection.fetchval(show) in ("", None)


# ----- the scoped searches through their trigram index (`row_security.search_function`) ----

SEARCHED = (
    "working_group",
    "meeting",
    "decision",
    "action",
    "interaction",
    "organisation",
    "contact",
)


def test_every_protected_table_with_a_search_column_has_its_search_function():
    """The functions cover every protected table a search filters on, and nothing else."""
    tables = [table for table in db.search_tables() if table in row_security.PROTECTED]
    assert sorted(tables) == sorted(SEARCHED)
    made = row_security.search_function_statements(
        db.search_tables(), [], "app_sees_all", [{"creates": True, "gives": True}]
    )
    for table in SEARCHED:
        function = row_security.search_function(table)
        assert any(f'FUNCTION "{function}"(patterns text[])' in step for step in made)
        assert f'ALTER FUNCTION "{function}"(text[]) OWNER TO "app_sees_all"' in made
        # The very expression of the table's policy, and the trigram index's LIKE first.
        sql = row_security.search_function_sql(table)
        assert row_security.policy_expression(table) in sql and "SECURITY DEFINER" in sql
    assert not any("territory_search" in step or "commune" in step for step in made)


def test_the_search_functions_are_made_once_and_given_to_the_role_when_it_may_own_them():
    tables = ["contact", "meeting", "commune"]
    current = [
        {
            "name": row_security.search_function(table),
            "fingerprint": row_security.search_fingerprint(table),
            "owner": "app_sees_all",
        }
        for table in ("contact", "meeting")
    ]
    may_own = [{"creates": True, "gives": True}]
    assert row_security.search_function_statements(tables, current, "app_sees_all", may_own) == []
    # No role: made, and left to the application's role; nothing given to anyone.
    made = row_security.search_function_statements(tables, [], None, [])
    assert len(made) == 8 and not any("OWNER" in step or "SCHEMA" in step for step in made)
    assert sum("REVOKE ALL ON FUNCTION" in step for step in made) == 2
    # The role appears (or a restore left them to the application's role): given, the schema's
    # CREATE first when the role lacks it and the application may give it.
    theirs = [dict(row, owner="app") for row in current]
    given = row_security.search_function_statements(
        tables, theirs, "app_sees_all", [{"creates": False, "gives": True}]
    )
    assert given[0] == 'GRANT CREATE ON SCHEMA public TO "app_sees_all"'
    assert [step.split(" OWNER")[0] for step in given[1:]] == [
        'ALTER FUNCTION "maillage_search_contact"(text[])',
        'ALTER FUNCTION "maillage_search_meeting"(text[])',
    ]
    # Neither: they stay the application's (the services then search as before).
    assert (
        row_security.search_function_statements(
            tables, theirs, "app_sees_all", [{"creates": False, "gives": False}]
        )
        == []
    )
    # A rule changed: rewritten; a table no longer searched: its function dropped.
    stale = [
        dict(current[0], fingerprint="maillage:old"),
        dict(current[1], name="maillage_search_x"),
    ]
    changed = row_security.search_function_statements(tables, stale, "app_sees_all", may_own)
    assert changed[0].startswith('CREATE OR REPLACE FUNCTION "maillage_search_contact"')
    assert 'DROP FUNCTION IF EXISTS "maillage_search_x"(text[])' in changed
    assert 'ALTER FUNCTION "maillage_search_meeting"(text[]) OWNER TO "app_sees_all"' in changed
    # Only a current function counts as usable.
    rows = [{"table": "contact", "fingerprint": current[0]["fingerprint"]}]
    rows.append({"table": "meeting", "fingerprint": "maillage:old"})
    assert row_security.usable_searches(rows) == {"contact"}


def test_the_small_tables_are_searched_under_the_policy_their_functions_left_for_earlier_hosts():
    """Bodies and fiches action (a few dozen a territory) are searched under the policy: their
    functions are made as before, for a host still running an earlier version during an
    upgrade, and never used."""
    small = sorted(row_security.SEARCHED_UNDER_THE_POLICY)
    assert small == ["action", "working_group"]
    tables = ["contact", *small]
    made = row_security.search_function_statements(tables, [], None, [])
    for table in small:
        assert any(f'"{row_security.search_function(table)}"' in step for step in made)
    current = [
        {"table": table, "fingerprint": row_security.search_fingerprint(table)} for table in tables
    ]
    assert row_security.usable_searches(current) == {"contact"}


def test_the_words_a_search_function_takes_its_index_from():
    """The longest word with three letters or digits in a row first (what a trigram index
    takes from); none such: no function, the search as before."""
    service = registry.SERVICES["contacts"]

    def words(q: str) -> list[str]:
        return service._indexed_words(ListQuery(q=q))

    assert words("Jo Durand") == ["durand", "jo"]
    assert words("le Martin-Pêcheur de") == ["martin-pecheur", "le", "de"]
    assert words("a-b c d") == []
    assert words("35 rue") == ["rue", "35"]


async def _called(connection: Any, patterns: list[str]) -> dict[str, list[int]]:
    """What each search function answers on ``connection``, and (``<table> read``) what the
    policy lets its caller read of the same rows."""
    seen = {}
    for table in SEARCHED:
        function = row_security.search_function(table)
        ids = await connection.fetchval(f"SELECT {function}($1::text[])", patterns)
        read = await connection.fetch(
            f'SELECT id FROM "{table}" WHERE search LIKE ALL ($1::text[])', patterns
        )
        seen[table] = sorted(ids)
        seen[f"{table} read"] = sorted(row["id"] for row in read)
    return seen


def _as_read(seen: dict[str, list[int]]) -> None:
    for table in SEARCHED:
        assert seen[table] == seen[f"{table} read"], table


@get("/essai/fonctions-de-recherche", include_in_schema=False)
async def search_functions_called() -> dict:
    """Each search function called directly on the application's connection, for the
    request's user: everything it matches (``%``) and « ardoise »."""
    async with db.read_transaction() as transaction:
        every = await _called(transaction.connection, ["%"])
        ardoise = await _called(transaction.connection, ["%ardoise%"])
    return {"every": every, "ardoise": ardoise}


async def _owners() -> dict[str, tuple[str, bool]]:
    rows = await db.current_engine().run_ddl(
        "SELECT p.proname::text AS name, r.rolname::text AS owner, r.rolbypassrls AS bypass "
        "FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner WHERE p.proname LIKE "
        "'maillage\\_search\\_%'"
    )
    return {row["name"]: (row["owner"], row["bypass"]) for row in rows}


async def _meeting(client: Any, group: int, title: str) -> dict[str, Any]:
    """A meeting of ``group`` on 9 December 2026, 14:00–16:00 in Paris."""
    return await create(
        client,
        "meetings",
        {
            "working_group": group,
            "title": title,
            "starts_at": "2026-12-09T14:00:00+01:00",
            "ends_at": "2026-12-09T16:00:00+01:00",
        },
    )


@postgres_only
async def test_a_search_function_tells_a_scoped_request_nothing_outside_its_scope(
    app, admin, partners: Partners
):
    """The function reads without the policies (its owner has ``BYPASSRLS``), yet a
    coordinator of A calling it directly gets exactly the ids the policies let them read: A's
    and the shared ones, never B's, whatever the pattern; a connection without the setting only
    the shared rows (of no département); the host team everything."""
    from tests.conftest import SEES_ALL_ROLE

    app.register(search_functions_called)
    p, c = partners, admin.client
    shared_meeting = await _meeting(
        c, (await create(c, "groups", {"name": "Réseau", "kind": "reseau"}))["id"], "Réseau Ardoise"
    )
    meeting_a = await _meeting(c, p.body_a["id"], "COPIL Ardoise")
    meeting_b = await _meeting(c, p.body_b["id"], "COPIL Rives et Ardoise")
    ardoise_b = await create(c, "contacts", {"first_name": "Bea", "last_name": "Ardoise"})
    await create(c, "affiliations", {"contact": ardoise_b["id"], "organisation": p.asso_b["id"]})
    owners = await _owners()
    assert owners == {row_security.search_function(t): (SEES_ALL_ROLE, True) for t in SEARCHED}

    async with await _user(app, "coord-a@maillage.example", "coordinateur", [SIREN_A]) as a:
        seen = (await a.get("/essai/fonctions-de-recherche")).json()
    _as_read(seen["every"])
    _as_read(seen["ardoise"])
    of_b = {
        "working_group": p.body_b["id"],
        "meeting": meeting_b["id"],
        "organisation": p.asso_b["id"],
        "contact": p.adjoint_b["id"],
    }
    for table, record in of_b.items():
        assert record not in seen["every"][table], table
    assert seen["ardoise"]["contact"] == [p.maire_a["id"]]  # not B's Bea Ardoise
    assert seen["ardoise"]["meeting"] == sorted([shared_meeting["id"], meeting_a["id"]])
    assert seen["ardoise"]["organisation"] == [p.mairie_a["id"]]
    assert p.caf["id"] in seen["every"]["organisation"]  # the shared Caf
    async with await _user(app, "coord-b@maillage.example", "coordinateur", [SIREN_B]) as b:
        seen_b = (await b.get("/essai/fonctions-de-recherche")).json()
    _as_read(seen_b["every"])
    assert seen_b["ardoise"]["contact"] == [ardoise_b["id"]]
    assert seen_b["ardoise"]["meeting"] == sorted([shared_meeting["id"], meeting_b["id"]])
    every = (await c.get("/essai/fonctions-de-recherche")).json()
    _as_read(every["every"])
    assert set(every["ardoise"]["contact"]) == {p.maire_a["id"], ardoise_b["id"]}
    # psql or any tool as the application's role, no setting: the shared rows only.
    connection = await asyncpg.connect(db.current_engine().config["dsn"])
    try:
        alone = await _called(connection, ["%"])
    finally:
        await connection.close()
    _as_read(alone)
    assert alone["meeting"] == [shared_meeting["id"]]
    assert (alone["contact"], alone["organisation"]) == ([p.conseillere_caf["id"]], [p.caf["id"]])


@postgres_only
async def test_only_the_application_may_call_a_search_function(database):
    rows = await db.current_engine().run_ddl(
        "SELECT p.proname::text AS name, has_function_privilege('public', p.oid, 'EXECUTE') "
        "AS everyone FROM pg_proc p WHERE p.proname LIKE 'maillage\\_search\\_%'"
    )
    assert len(rows) == len(SEARCHED) and not any(row["everyone"] for row in rows)


async def _searched_world(c: httpx.AsyncClient, p: Partners) -> None:
    """Beside the partners: namesakes in both territories and shared, bodies, meetings,
    exchanges and fiches action that a few words match."""
    for first, organisation in (("Bea", p.asso_b), ("Alain", p.mairie_a), ("Carole", p.caf)):
        person = await create(c, "contacts", {"first_name": first, "last_name": "Ardoise"})
        await create(
            c, "affiliations", {"contact": person["id"], "organisation": organisation["id"]}
        )
    await create(c, "organisations", {"name": "Association d'Ardoise", "kind": "association"})
    shared = await create(c, "groups", {"name": "Réseau Ardoise et Rives", "kind": "reseau"})
    when = {"starts_at": "2026-12-09T14:00:00+01:00", "ends_at": "2026-12-09T16:00:00+01:00"}
    for body in (p.body_a, p.body_b, shared):
        for title in ("COPIL Ardoise", "Réunion de suivi Ardoise", "Copil des Rives"):
            await create(c, "meetings", {"working_group": body["id"], "title": title, **when})
    for territory, body in ((p.a, p.body_a), (p.b, p.body_b)):
        for summary in ("Appel à la mairie d'Ardoise", "Relance Ardoise"):
            await create(
                c,
                "interactions",
                {"occurred_on": "2026-11-02", "summary": summary, "territory": territory["id"]},
            )
        await create(
            c, "actions", {"title": "Ardoise", "objective": "Accueil", "working_group": body["id"]}
        )


SEARCHES = {
    "contacts": ["ardoise", "anne ardoise", "ardoise a", "ar", "rdois", "zzz"],
    "organisations": ["ardoise", "mairie ardoise", "caf", "des"],
    "groups": ["copil", "ardoise rives", "reseau"],
    "meetings": ["copil", "suivi ardoise", "ardoise", "de"],
    "interactions": ["ardoise", "relance ardoise", "mairie"],
    "actions": ["ardoise", "accueil"],
}


async def _searched(client: httpx.AsyncClient) -> dict[str, bytes]:
    """Every search of `SEARCHES`, as pages of one, in reverse order, past the last page (the
    total counted alone) and with a filter: the bytes of each answer."""
    answers = {}
    for resource, words in SEARCHES.items():
        for q in words:
            for extra in ({}, {"limit": 1, "sort": "-id"}, {"offset": 50}, {"offset": 1}):
                params = {"q": q, **extra}
                response = await client.get(f"/api/v1/{resource}", params=params)
                assert response.status_code == 200, response.text
                answers[f"{resource} {params}"] = response.content
    return answers


async def test_a_scoped_search_through_its_function_finds_exactly_what_it_found_before(
    app, admin, partners: Partners
):
    """For a coordinator, a Caf adviser of two territories and the host team, every search
    answers byte for byte the same through the search functions (PostgreSQL) as without them
    (the statement as it was, as where the role does not exist, and on SQLite), and the scoped
    ones went through them."""
    p = partners
    await _searched_world(admin.client, p)
    engine = db.current_engine()
    scoped = [
        await _user(app, "coord-a@maillage.example", "coordinateur", [SIREN_A]),
        await _user(app, "caf@maillage.example", "lecteur", [SIREN_A, SIREN_B]),
    ]
    try:
        for client in [*scoped, admin.client]:
            through = await _searched(client)
            if not db.is_sqlite():
                engine._searches = frozenset()  # as without the role
            try:
                before = await _searched(client)
            finally:
                if not db.is_sqlite():
                    engine.forget_sees_all_role()
            assert through == before
        names = await _searched(scoped[0])
        assert b"Anne" in names["contacts {'q': 'anne ardoise'}"]
        assert b"Bea" not in names["contacts {'q': 'ardoise'}"]
    finally:
        for client in scoped:
            await client.aclose()
    used = {
        resource
        for resource in SEARCHES
        if any(
            "maillage_search_" in sql for sql, _ in registry.SERVICES[resource]._statements.values()
        )
    }
    # Bodies and fiches action: a territory holds a few dozen, read under the policy.
    assert used == (set() if db.is_sqlite() else set(SEARCHES) - {"groups", "actions"})
    # Each statement kept for its shape calls its function once, for its page and its count.
    calls = [
        sql.count("maillage_search_")
        for resource in used
        for sql, _ in registry.SERVICES[resource]._statements.values()
        if "maillage_search_" in sql
    ]
    assert set(calls) == (set() if db.is_sqlite() else {1})


@postgres_only
async def test_a_search_function_the_role_cannot_use_is_left_aside_until_migrate(
    app, admin, partners: Partners
):
    """A function left to the application's role (a restore, `pg_restore --no-owner`) or
    whose role lost its grants: the services search as before, with the same answers;
    `maillage migrate` gives it back."""
    from tests.conftest import SEES_ALL_ROLE

    await _searched_world(admin.client, partners)
    coordinator_a = await _user(app, "coord-a@maillage.example", "coordinateur", [SIREN_A])
    engine = db.current_engine()
    usable = set(SEARCHED) - row_security.SEARCHED_UNDER_THE_POLICY
    await db.know_search_functions()
    assert engine.search_functions() == usable
    expected = await _searched(coordinator_a)
    function = f'"{row_security.search_function("contact")}"(text[])'
    await engine.run_ddl(f"ALTER FUNCTION {function} OWNER TO CURRENT_USER")
    await engine.run_ddl(f'REVOKE SELECT ON meeting FROM "{SEES_ALL_ROLE}"')
    engine.forget_sees_all_role()
    try:
        await db.know_search_functions()
        assert engine.search_functions() == usable - {"contact", "meeting"}
        assert await _searched(coordinator_a) == expected
    finally:
        changes = await db.sync_row_security()
        await coordinator_a.aclose()
    assert f'ALTER FUNCTION {function} OWNER TO "{SEES_ALL_ROLE}"' in changes
    await db.know_search_functions()
    assert engine.search_functions() == usable


@postgres_only
async def test_a_search_function_gone_behind_the_process_is_searched_around_at_once(
    app, admin, partners: Partners
):
    """Another host's `maillage migrate` (a newer version) drops functions this process took
    for usable: the next searches answer the same, as before, instead of failing until the
    process restarts, and the functions are looked up again."""
    await _searched_world(admin.client, partners)
    coordinator_a = await _user(app, "coord-a@maillage.example", "coordinateur", [SIREN_A])
    engine = db.current_engine()
    await db.know_search_functions()
    expected = await _searched(coordinator_a)
    contact = f'"{row_security.search_function("contact")}"(text[])'
    meeting = f'"{row_security.search_function("meeting")}"(text[])'
    for function in (contact, meeting):
        await engine.run_ddl(f"DROP FUNCTION {function}")
    try:
        assert {"contact", "meeting"} <= engine.search_functions()  # not known yet
        assert await _searched(coordinator_a) == expected
        assert not {"contact", "meeting"} & engine.search_functions()
    finally:
        await db.sync_row_security()
        await coordinator_a.aclose()
    await db.know_search_functions()
    assert {"contact", "meeting"} <= engine.search_functions()


@postgres_only
async def test_migrate_lets_the_role_own_the_search_functions(database):
    """The role that reads without the policies may own a function of the schema only with
    ``CREATE`` on it: `maillage migrate` gives it (the application's role owns the schema) and
    says so while it lacks it."""
    from tests.conftest import SEES_ALL_ROLE

    engine = db.current_engine()
    assert await db.search_functions_unowned() is None
    await engine.run_ddl(f'REVOKE CREATE ON SCHEMA public FROM "{SEES_ALL_ROLE}"')
    try:
        assert await db.search_functions_unowned() == SEES_ALL_ROLE
    finally:
        changes = await db.sync_row_security()
    assert changes == [f'GRANT CREATE ON SCHEMA public TO "{SEES_ALL_ROLE}"']
    assert await db.search_functions_unowned() is None
