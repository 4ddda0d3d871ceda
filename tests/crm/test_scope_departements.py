"""Shared partners by département (#20, `maillage.departements`): one instance for several
départements; a coordinator sees the shared institutions of their territories' département and
the nationally shared ones, never another département's; the host team sees them all."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass

import httpx
import pytest
from litestar import get

from maillage import db, row_security
from maillage.crm import caches, dashboard, lookups, resources
from maillage.crm import scope as territory_scope
from maillage.crm.resources import ResourceService
from maillage.tables import Contact, Organisation, Territory, User
from tests.crm.test_scope import SIREN_A, _account, _user
from tests.crm.test_scope_partners import (  # noqa: F401 - fixtures
    Partners,
    SignIn,
    coordinator_of,
    partners,
)
from tests.support import TEST_DATABASE_URL
from tests.web.helpers import Browser, create, open_browser, sign_in

SIREN_D = "200000024"

postgres_only = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgres"),
    reason="SQLite n'a pas de sécurité au niveau des lignes (MAILLAGE_TEST_DATABASE_URL).",
)


@dataclass
class Departements:
    """Territory A (Ille-et-Vilaine, 35) of `partners`, territory D (Finistère, 29) and the
    shared institutions: the Caf of each département, a national federation, their people."""

    p: Partners
    d: dict
    commune_d: dict
    caf_35: dict
    caf_29: dict
    national: dict
    agent_35: dict
    agent_29: dict
    agent_national: dict


@pytest.fixture
async def deps(admin, partners: Partners) -> Departements:  # noqa: F811 - fixture
    c = admin.client
    d = await create(c, "territories", {"name": "CC du Pays de Brest", "siren": SIREN_D})
    commune_d = await create(
        c, "communes", {"insee_code": "29019", "name": "Brest", "territory": d["id"]}
    )
    caf_35 = await create(
        c,
        "organisations",
        {
            "name": "Caf d'Ille-et-Vilaine",
            "kind": "institution",
            "commune": partners.mairie_a["commune"],
        },
    )
    caf_29 = await create(
        c,
        "organisations",
        {"name": "Caf du Finistère", "kind": "institution", "commune": commune_d["id"]},
    )
    national = await create(
        c, "organisations", {"name": "Caf nationale des familles", "kind": "institution"}
    )
    people = []
    for name, organisation in (
        ("Trente-Cinq", caf_35),
        ("Vingt-Neuf", caf_29),
        ("Nation", national),
    ):
        person = await create(c, "contacts", {"first_name": "Agent", "last_name": name})
        await create(
            c, "affiliations", {"contact": person["id"], "organisation": organisation["id"]}
        )
        people.append(person)
    return Departements(partners, d, commune_d, caf_35, caf_29, national, *people)


@pytest.fixture
async def coordinator_a(coordinator_of: SignIn, deps) -> httpx.AsyncClient:  # noqa: F811
    return await coordinator_of(SIREN_A, "coord-a@maillage.example")


@pytest.fixture
async def coordinator_d(coordinator_of: SignIn, deps) -> httpx.AsyncClient:  # noqa: F811
    return await coordinator_of(SIREN_D, "coord-d@maillage.example")


def _ids(response: httpx.Response) -> set[int]:
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def _departement(table, record: dict) -> str | None:
    row = await table.select(table.departement).where(table.id == record["id"]).first()
    return row["departement"]


async def test_territories_and_shared_records_get_their_departement(deps: Departements):
    assert await _departement(Territory, deps.p.a) == "35"
    assert await _departement(Territory, deps.d) == "29"
    assert await _departement(Organisation, deps.caf_35) == "35"
    assert await _departement(Organisation, deps.caf_29) == "29"
    assert await _departement(Organisation, deps.national) is None
    assert await _departement(Contact, deps.agent_35) == "35"
    assert await _departement(Contact, deps.agent_29) == "29"
    assert await _departement(Contact, deps.agent_national) is None
    # Shared, all of them: the rule of the territories is unchanged.
    for record in (deps.caf_35, deps.caf_29, deps.national):
        row = await Organisation.select(Organisation.territory).where(
            Organisation.id == record["id"]
        )
        assert row[0]["territory"] is None


async def test_a_coordinator_sees_the_shared_records_of_their_departement_only(
    deps: Departements, coordinator_a: httpx.AsyncClient, coordinator_d: httpx.AsyncClient
):
    organisations = _ids(await coordinator_a.get("/api/v1/organisations"))
    assert {deps.caf_35["id"], deps.national["id"]} <= organisations
    assert deps.caf_29["id"] not in organisations
    contacts = _ids(await coordinator_a.get("/api/v1/contacts"))
    assert {deps.agent_35["id"], deps.agent_national["id"]} <= contacts
    assert deps.agent_29["id"] not in contacts
    # The search, the total and the detail go by the same rule (404: no probing for ids).
    found = await coordinator_a.get("/api/v1/organisations", params={"q": "caf"})
    assert _ids(found) == {deps.caf_35["id"], deps.national["id"], deps.p.caf["id"]}
    assert found.json()["total"] == 3
    assert _ids(await coordinator_a.get("/api/v1/contacts", params={"q": "agent"})) == {
        deps.agent_35["id"],
        deps.agent_national["id"],
    }
    for resource, record in (("organisations", deps.caf_29), ("contacts", deps.agent_29)):
        response = await coordinator_a.get(f"/api/v1/{resource}/{record['id']}")
        assert response.status_code == 404, response.text
    # Nor through an affiliation (seen with both its contact and its organisation).
    affiliations = (await coordinator_a.get("/api/v1/affiliations", params={"limit": 200})).json()
    assert deps.caf_29["id"] not in {row["organisation"] for row in affiliations["items"]}
    # The other département's coordinator: the other way round.
    organisations = _ids(await coordinator_d.get("/api/v1/organisations"))
    assert {deps.caf_29["id"], deps.national["id"]} <= organisations
    assert deps.caf_35["id"] not in organisations
    detail = await coordinator_d.get(f"/api/v1/contacts/{deps.agent_29['id']}")
    assert detail.status_code == 200


async def test_the_host_team_sees_every_departement(admin, deps: Departements):
    found = _ids(await admin.client.get("/api/v1/organisations", params={"q": "caf"}))
    assert {deps.caf_35["id"], deps.caf_29["id"], deps.national["id"]} <= found
    people = _ids(await admin.client.get("/api/v1/contacts", params={"q": "agent"}))
    assert {deps.agent_35["id"], deps.agent_29["id"], deps.agent_national["id"]} <= people


async def test_the_export_and_the_dashboard_follow_the_rule(
    deps: Departements, coordinator_a: httpx.AsyncClient
):
    exported = await coordinator_a.get("/api/v1/exports/organisations.csv")
    assert exported.status_code == 200, exported.text
    assert "Caf d'Ille-et-Vilaine" in exported.text
    assert "Caf nationale des familles" in exported.text
    assert "Finistère" not in exported.text
    people = await coordinator_a.get("/api/v1/exports/contacts.csv")
    assert "Trente-Cinq" in people.text and "Vingt-Neuf" not in people.text
    # The dashboard counts what the list shows.
    listed = (await coordinator_a.get("/api/v1/organisations", params={"limit": 1})).json()
    with territory_scope.entered(territory_scope.Scope({deps.p.a["id"]: "coordinateur"})):
        now = dt.datetime.now(dt.UTC)
        figures, _version = await dashboard._figures(now, now + dt.timedelta(days=30))
    assert figures["organisations"] == listed["total"]


async def test_the_network_leaves_out_another_departements_people(
    admin, deps: Departements, coordinator_a: httpx.AsyncClient
):
    """The Finistère's agent invited to a meeting of A: not in A's coordinator's network."""
    c = admin.client
    meeting = await create(
        c,
        "meetings",
        {
            "working_group": deps.p.body_a["id"],
            "title": "COPIL Ardoise",
            "starts_at": "2026-11-20T14:00:00+01:00",
            "ends_at": "2026-11-20T16:00:00+01:00",
        },
    )
    for person in (deps.agent_29, deps.agent_35):
        await create(c, "invitations", {"meeting": meeting["id"], "contact": person["id"]})
    graph = await coordinator_a.get(
        "/api/v1/network/graph", params={"level": "contacts", "start": "2026-01-01"}
    )
    assert graph.status_code == 200, graph.text
    text = graph.text
    assert "Trente-Cinq" in text
    assert "Vingt-Neuf" not in text


async def test_the_departement_follows_communes_ties_and_edits(
    admin, deps: Departements, coordinator_a: httpx.AsyncClient
):
    c = admin.client
    # The Finistère's agent sits in a body of A: ties in two départements, shared by all.
    await create(
        c, "memberships", {"contact": deps.agent_29["id"], "working_group": deps.p.body_a["id"]}
    )
    assert await _departement(Contact, deps.agent_29) is None
    seen = await coordinator_a.get(f"/api/v1/contacts/{deps.agent_29['id']}")
    assert seen.status_code == 200, seen.text
    # The Caf of the Finistère moves to a commune of A: now of the 35, seen by A.
    current = (await c.get(f"/api/v1/organisations/{deps.caf_29['id']}")).json()
    moved = await c.patch(
        f"/api/v1/organisations/{deps.caf_29['id']}",
        json={"version": current["version"], "commune": deps.p.mairie_a["commune"]},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["territory"] is None
    assert await _departement(Organisation, deps.caf_29) == "35"
    assert (
        await coordinator_a.get(f"/api/v1/organisations/{deps.caf_29['id']}")
    ).status_code == 200
    # A territory without communes has no département; its first commune gives it one, and
    # its partners follow.
    e = await create(c, "territories", {"name": "CC de Cornouaille", "siren": "200000032"})
    assert await _departement(Territory, e) is None
    await create(c, "communes", {"insee_code": "2A004", "name": "Ajaccio", "territory": e["id"]})
    assert await _departement(Territory, e) == "2A"


@get("/essai/partenaires-par-departement", include_in_schema=False)
async def unfiltered_partners() -> dict:
    """A query path that forgets every filter: the policies alone decide."""
    async with db.read_transaction():
        organisations = await Organisation.raw("SELECT id FROM organisation")
        people = await Contact.raw("SELECT id FROM contact")
        ties = await Contact.raw("SELECT organisation FROM affiliation")
        partnerships = await Contact.raw("SELECT organisation, partner FROM partnership")
    return {
        "organisations": sorted(row["id"] for row in organisations),
        "contacts": sorted(row["id"] for row in people),
        "affiliations": sorted({row["organisation"] for row in ties}),
        "partnerships": sorted({row["organisation"] for row in partnerships}),
    }


@postgres_only
async def test_the_policies_hide_another_departements_shared_rows(
    app, admin, deps: Departements, coordinator_a: httpx.AsyncClient
):
    app.register(unfiltered_partners)
    c = admin.client
    # Partnerships between shared organisations: of the Finistère's Caf, of Ille-et-Vilaine's.
    for caf in (deps.caf_29, deps.caf_35):
        await create(c, "partnerships", {"organisation": caf["id"], "partner": deps.national["id"]})
    seen = (await coordinator_a.get("/essai/partenaires-par-departement")).json()
    assert {deps.caf_35["id"], deps.national["id"]} <= set(seen["organisations"])
    assert deps.caf_29["id"] not in seen["organisations"]
    assert {deps.agent_35["id"], deps.agent_national["id"]} <= set(seen["contacts"])
    assert deps.agent_29["id"] not in seen["contacts"]
    # An affiliation or a partnership between two shared records reads the copies of their
    # départements (`row_security.Via.departement`): no tie of the Finistère's Caf.
    assert {deps.caf_35["id"], deps.national["id"]} <= set(seen["affiliations"])
    assert deps.caf_29["id"] not in seen["affiliations"]
    assert seen["partnerships"] == [deps.caf_35["id"]]
    every = (await c.get("/essai/partenaires-par-departement")).json()
    assert deps.caf_29["id"] in every["organisations"]
    assert deps.agent_29["id"] in every["contacts"]
    assert deps.caf_29["id"] in every["affiliations"]
    assert every["partnerships"] == sorted([deps.caf_29["id"], deps.caf_35["id"]])
    # The Finistère's Caf moves to a commune of A: its tie and its partnership follow it into
    # the 35 (carried down by the triggers), seen by A's coordinator.
    current = (await c.get(f"/api/v1/organisations/{deps.caf_29['id']}")).json()
    moved = await c.patch(
        f"/api/v1/organisations/{deps.caf_29['id']}",
        json={"version": current["version"], "commune": deps.p.mairie_a["commune"]},
    )
    assert moved.status_code == 200, moved.text
    seen = (await coordinator_a.get("/essai/partenaires-par-departement")).json()
    assert deps.caf_29["id"] in seen["affiliations"]
    assert seen["partnerships"] == sorted([deps.caf_29["id"], deps.caf_35["id"]])


@postgres_only
async def test_the_policies_alone_hide_them_from_a_forgetful_service(
    deps: Departements, coordinator_a: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(ResourceService, "scope_clause", lambda self: None)
    organisations = _ids(await coordinator_a.get("/api/v1/organisations", params={"q": "caf"}))
    assert organisations == {deps.caf_35["id"], deps.national["id"], deps.p.caf["id"]}
    response = await coordinator_a.get(f"/api/v1/contacts/{deps.agent_29['id']}")
    assert response.status_code == 404


async def test_an_institution_without_commune_takes_the_departement_where_it_works(
    admin, deps: Departements, coordinator_a: httpx.AsyncClient, coordinator_d: httpx.AsyncClient
):
    """A departmental Caf typed without a commune: of the département of the bodies it sits in
    and of its local partners; of none while it works nowhere, or in two départements."""
    c = admin.client
    caf = await create(c, "organisations", {"name": "Caf sans adresse", "kind": "institution"})
    assert await _departement(Organisation, caf) is None
    await create(
        c,
        "memberships",
        {
            "contact": deps.agent_35["id"],
            "working_group": deps.p.body_a["id"],
            "organisation": caf["id"],
        },
    )
    assert await _departement(Organisation, caf) == "35"
    assert (await coordinator_d.get(f"/api/v1/organisations/{caf['id']}")).status_code == 404
    assert (await coordinator_a.get(f"/api/v1/organisations/{caf['id']}")).status_code == 200
    # A partnership with a local association of the Finistère: two départements, none.
    asso_d = await create(
        c,
        "organisations",
        {"name": "Parents de Brest", "kind": "association", "commune": deps.commune_d["id"]},
    )
    await create(c, "partnerships", {"organisation": caf["id"], "partner": asso_d["id"]})
    assert await _departement(Organisation, caf) is None
    assert (await coordinator_d.get(f"/api/v1/organisations/{caf['id']}")).status_code == 200


async def test_a_scoped_list_filters_by_the_communes_of_its_departements(deps: Departements):
    """The communes a list offers as filter (#20): a coordinator's are those of their
    département (Brest, in the Finistère, is not among territory A's); an unscoped user's,
    every commune. On a national instance the list held the country's communes."""
    a = deps.p.a["id"]
    async with db.read_transaction():
        every = {row["id"] for row in await lookups.filter_communes()}
    with territory_scope.entered(territory_scope.Scope({a: "coordinateur"})):
        async with db.read_transaction():
            theirs = {row["id"] for row in await lookups.filter_communes()}
    with territory_scope.entered(territory_scope.Scope({deps.d["id"]: "coordinateur"})):
        async with db.read_transaction():
            finistere = {row["id"] for row in await lookups.filter_communes()}
    assert {deps.commune_d["id"], deps.p.mairie_a["commune"]} <= every
    assert deps.p.mairie_a["commune"] in theirs and deps.commune_d["id"] not in theirs
    assert deps.commune_d["id"] in finistere and deps.p.mairie_a["commune"] not in finistere


async def test_a_scoped_edit_form_offers_the_communes_of_its_departements(
    app, admin, deps: Departements
):
    """The commune select of a partner's form (#20): a coordinator of A is offered the communes
    of the 35 and those of no territory, not the Finistère's (on a national instance the form
    held the country's 35,000 communes), except the record's own, kept so that a form saved
    unchanged keeps it."""
    c = admin.client
    quimper = await create(
        c, "communes", {"insee_code": "29232", "name": "Quimper", "territory": deps.d["id"]}
    )
    club = await create(
        c,
        "organisations",
        {
            "name": "Club de Brest",
            "kind": "association",
            "territory": deps.p.a["id"],
            "commune": deps.commune_d["id"],
        },
    )
    await _account("form-a@maillage.example", "coordinateur", [SIREN_A])
    async with await open_browser(app) as client:
        browser = Browser(client)
        assert (await sign_in(browser, "form-a@maillage.example")).status_code == 303
        form = await browser.get("/partenaires/nouveau")
        offered = _commune_options(form.text)
        assert deps.p.mairie_a["commune"] in offered
        assert not {deps.commune_d["id"], quimper["id"]} & set(offered)
        path = f"/partenaires/{club['id']}/modifier"
        form = await browser.get(path)
        offered = _commune_options(form.text)
        assert offered[deps.commune_d["id"]] is True  # its own, selected
        assert quimper["id"] not in offered and deps.p.mairie_a["commune"] in offered
        response = await browser.post(
            path,
            {
                "name": "Club de Brest",
                "kind": "association",
                "commune": str(deps.commune_d["id"]),
                "version": str(club["version"]),
            },
        )
        assert response.status_code == 303, response.text
    row = await Organisation.select(Organisation.commune, Organisation.territory).where(
        Organisation.id == club["id"]
    )
    assert row == [{"commune": deps.commune_d["id"], "territory": deps.p.a["id"]}]


def _commune_options(page: str) -> dict[int, bool]:
    """The communes a form's select offers, each with whether it is selected."""
    select = re.search(r'<select[^>]*id="f-commune".*?</select>', page, re.S)
    assert select is not None, "pas de champ « Commune »"
    return {
        int(value): bool(selected)
        for value, selected in re.findall(r'<option value="(\d+)"( selected)?', select[0])
    }


def _recording(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement the app sends from now on, with its values."""
    engine_class = type(db.current_engine())
    original = engine_class.run_querystring
    original_read = resources.read_statement
    sent: list[str] = []

    async def recording(self, querystring, *args, **kwargs):
        sent.append(str(querystring))  # its values written in
        return await original(self, querystring, *args, **kwargs)

    async def recording_read(sql, args):
        sent.append(f"{sql} -- {list(args)}")
        return await original_read(sql, args)

    monkeypatch.setattr(engine_class, "run_querystring", recording)
    monkeypatch.setattr(resources, "read_statement", recording_read)
    return sent


async def test_the_scope_carries_its_departements_as_constants(
    deps: Departements, coordinator_a: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
):
    """The départements of the user's territories are read once, with them, and reach the SQL
    as values (``departement IN ('35')``), which PostgreSQL estimates; a subquery on
    ``territory`` per statement (an init plan) it could not (#20, bench/README.md)."""
    account = await User.select(User.id).where(User.email == "coord-a@maillage.example").first()
    _, scope = await territory_scope.user_scope(account["id"], "coordinateur")
    assert scope is not None and scope.departements == ("35",)
    sent = _recording(monkeypatch)
    organisations = _ids(await coordinator_a.get("/api/v1/organisations"))
    contacts = _ids(await coordinator_a.get("/api/v1/contacts", params={"q": "agent"}))
    fiche = await coordinator_a.get(f"/partenaires/{deps.caf_35['id']}")
    listing = await coordinator_a.get("/partenaires")
    monkeypatch.undo()
    assert fiche.status_code == 200 and listing.status_code == 200, listing.text
    assert {deps.caf_35["id"], deps.national["id"]} <= organisations
    assert deps.caf_29["id"] not in organisations
    assert contacts == {deps.agent_35["id"], deps.agent_national["id"]}
    about = [sql for sql in sent if "departement" in sql.lower()]
    assert about, sent
    for sql in about:
        assert 'FROM "territory" t' not in sql and "FROM territory t" not in sql, sql
        assert 'ARRAY(SELECT t."departement"' not in sql, sql
    assert any("'35'" in sql for sql in about), about


async def test_a_territory_without_departement_and_one_that_gets_it(admin, deps: Departements, app):
    """A territory without communes has no département: its coordinator sees the shared
    partners of none only; once a commune gives it one, their next request sees that
    département's (the scope is read per request)."""
    c = admin.client
    e = await create(c, "territories", {"name": "CC de Cornouaille", "siren": "200000032"})
    async with await _user(app, "coord-e@maillage.example", "coordinateur", ["200000032"]) as e_c:
        seen = _ids(await e_c.get("/api/v1/organisations", params={"q": "caf"}))
        assert deps.national["id"] in seen
        assert not {deps.caf_35["id"], deps.caf_29["id"]} & seen
        await create(c, "communes", {"insee_code": "29020", "name": "Brélès", "territory": e["id"]})
        seen = _ids(await e_c.get("/api/v1/organisations", params={"q": "caf"}))
        assert {deps.national["id"], deps.caf_29["id"]} <= seen
        assert deps.caf_35["id"] not in seen


def test_memoised_answers_are_keyed_by_the_departements_too():
    """A scope read before its territory's département moved and one read after are two keys
    of the caches (`caches.scope_key`, the network's and the bilans' memos)."""
    before = territory_scope.Scope({7: "coordinateur"}, ())
    after = territory_scope.Scope({7: "coordinateur"}, ("29",))
    with territory_scope.entered(before):
        first = caches.scope_key()
    with territory_scope.entered(after):
        second = caches.scope_key()
    assert first != second


@postgres_only
async def test_two_writes_settling_the_same_partners_in_turn_do_not_deadlock(
    database: str, deps: Departements
):
    """Two writes that settle the départements of the same partners, each in its own order
    (two memberships deleted at once, found by Schemathesis as a 500 « deadlock detected »):
    a partner whose département does not change is neither rewritten nor locked."""
    import asyncpg

    settle = "SELECT maillage_settle_departements($1::integer[], $2::integer[])"
    first, second = deps.caf_35["id"], deps.caf_29["id"]
    people = [deps.agent_35["id"], deps.agent_29["id"]]
    a, b = await asyncpg.connect(database), await asyncpg.connect(database)
    try:
        async with a.transaction(), b.transaction():
            await a.execute(settle, [first], people[:1])
            await b.execute(settle, [second], people[1:])
            # Each now settles what the other did: rows rewritten by the first calls would
            # make each wait for the other.
            results = await asyncio.wait_for(
                asyncio.gather(
                    a.execute(settle, [second], people[1:]),
                    b.execute(settle, [first], people[:1]),
                    return_exceptions=True,
                ),
                timeout=20,
            )
            assert not [r for r in results if isinstance(r, BaseException)], results
    finally:
        await a.close()
        await b.close()
    assert await _departement(Organisation, deps.caf_29) == "29"
    assert await _departement(Organisation, deps.caf_35) == "35"


@postgres_only
async def test_two_writes_moving_the_same_partners_in_two_orders_do_not_deadlock(
    database: str, deps: Departements
):
    """Two writes that really change the départements of the same partners, each reaching
    them in its own order (the order of its plan: the table's for a sequential scan, the ids'
    for the index; a row written is moved in the table): each held its first partner and waited
    for the other's until PostgreSQL ended one with « deadlock detected ». The partners to
    rewrite are now locked in the order of their ids first: the second write waits."""
    import asyncpg

    settle = "SELECT maillage_settle_departements($1::integer[], '{}'::integer[])"
    first, second = deps.caf_35["id"], deps.caf_29["id"]
    slow = (
        "CREATE OR REPLACE FUNCTION test_slow_departement() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END $$",
        "CREATE TRIGGER test_slow_departement BEFORE UPDATE OF departement ON organisation "
        "FOR EACH ROW EXECUTE FUNCTION test_slow_departement()",
    )
    setup, a, b = [await asyncpg.connect(database) for _ in range(3)]
    try:
        await setup.execute(row_security.set_config_sql("*", local=False))
        # Both to be placed again; the first written last, so last in the table.
        for organisation in (second, first):
            await setup.execute(
                "UPDATE organisation SET departement = NULL WHERE id = $1", organisation
            )
        in_table = await setup.fetch(
            "SELECT id FROM organisation WHERE id = ANY ($1::integer[]) ORDER BY ctid",
            [first, second],
        )
        assert [row["id"] for row in in_table] == [second, first]
        # Each row held a moment once locked: the other write reaches its first row meanwhile.
        for statement in slow:
            await setup.execute(statement)
        for connection in (a, b):
            await connection.execute(row_security.set_config_sql("*", local=False))
        await a.execute("SET enable_seqscan = off")  # by the index: first, second
        await b.execute("SET enable_indexscan = off; SET enable_bitmapscan = off")  # second, first

        async def write(connection: asyncpg.Connection, organisations: list[int]) -> None:
            async with connection.transaction():
                await connection.execute(settle, organisations)

        results = await asyncio.wait_for(
            asyncio.gather(
                write(a, [first, second]), write(b, [second, first]), return_exceptions=True
            ),
            timeout=30,
        )
        assert not [r for r in results if isinstance(r, BaseException)], results
    finally:
        await setup.execute("DROP TRIGGER IF EXISTS test_slow_departement ON organisation")
        await setup.execute("DROP FUNCTION IF EXISTS test_slow_departement()")
        for connection in (setup, a, b):
            await connection.close()
    assert await _departement(Organisation, deps.caf_29) == "29"
    assert await _departement(Organisation, deps.caf_35) == "35"


async def test_a_branch_without_commune_follows_its_parent_in_the_same_write(
    admin, deps: Departements
):
    """A branch typed without a commune takes its parent's département (`maillage.departements`):
    when the parent takes one where it works (a membership in a body of A), the branch, and the
    branch of the branch, take it in the same write, not the parent's former one (#20)."""
    c = admin.client
    caf = await create(c, "organisations", {"name": "Caf sans adresse", "kind": "institution"})
    branch = await create(
        c, "organisations", {"name": "Antenne", "kind": "institution", "parent": caf["id"]}
    )
    office = await create(
        c, "organisations", {"name": "Permanence", "kind": "institution", "parent": branch["id"]}
    )
    assert [await _departement(Organisation, r) for r in (caf, branch, office)] == [None] * 3
    await create(
        c,
        "memberships",
        {
            "contact": deps.agent_35["id"],
            "working_group": deps.p.body_a["id"],
            "organisation": caf["id"],
        },
    )
    assert [await _departement(Organisation, r) for r in (caf, branch, office)] == ["35"] * 3


async def test_a_commune_out_of_every_territory_keeps_its_partners_departement(
    admin, deps: Departements, coordinator_a: httpx.AsyncClient, coordinator_d: httpx.AsyncClient
):
    """A commune taken out of its territory (its territory set to none) has still the
    département of its INSEE code, one of the instance's territories': its shared partners
    keep it, at once and after their next write, instead of becoming of none and seen by every
    territory (#20)."""
    c = admin.client
    commune_id = deps.p.mairie_a["commune"]
    alone = await create(
        c,
        "contacts",
        {"first_name": "Agent", "last_name": "Sans-Lien", "commune": commune_id, "territory": None},
    )
    assert alone["territory"] is None
    assert await _departement(Contact, alone) == "35"
    commune = (await c.get(f"/api/v1/communes/{commune_id}")).json()
    out = await c.patch(
        f"/api/v1/communes/{commune_id}", json={"version": commune["version"], "territory": None}
    )
    assert out.status_code == 200, out.text
    # A write that settles the Caf again (a partnership) reads the rule anew.
    await create(
        c, "partnerships", {"organisation": deps.caf_35["id"], "partner": deps.national["id"]}
    )
    assert await _departement(Organisation, deps.caf_35) == "35"
    assert await _departement(Contact, deps.agent_35) == "35"
    assert await _departement(Contact, alone) == "35"
    assert (
        await coordinator_d.get(f"/api/v1/organisations/{deps.caf_35['id']}")
    ).status_code == 404
    assert (await coordinator_d.get(f"/api/v1/contacts/{alone['id']}")).status_code == 404
    assert (
        await coordinator_a.get(f"/api/v1/organisations/{deps.caf_35['id']}")
    ).status_code == 200
    # Given to D (29), whose majority it does not change: its partners go to the 29 at once.
    commune = (await c.get(f"/api/v1/communes/{commune_id}")).json()
    into_d = await c.patch(
        f"/api/v1/communes/{commune_id}",
        json={"version": commune["version"], "territory": deps.d["id"]},
    )
    assert into_d.status_code == 200, into_d.text
    assert await _departement(Territory, deps.d) == "29"
    assert await _departement(Organisation, deps.caf_35) == "29"
    assert await _departement(Contact, deps.agent_35) == "29"
    assert await _departement(Contact, alone) == "29"


async def test_a_commune_without_territory_of_a_departement_the_instance_has_not(
    admin, deps: Departements, coordinator_a: httpx.AsyncClient
):
    """An import creates a commune of the Mayenne (53), of no territory: its partners are of
    no département, seen by every territory as before, until a territory of the 53 comes;
    then of the 53, seen by that territory's coordinators only (#20)."""
    c = admin.client
    laval = await create(c, "communes", {"insee_code": "53130", "name": "Laval"})
    caf_53 = await create(
        c,
        "organisations",
        {"name": "Caf de la Mayenne", "kind": "institution", "commune": laval["id"]},
    )
    assert await _departement(Organisation, caf_53) is None
    assert (await coordinator_a.get(f"/api/v1/organisations/{caf_53['id']}")).status_code == 200
    mayenne = await create(
        c, "territories", {"name": "CA de Laval", "siren": "200000057", "departement": "53"}
    )
    assert await _departement(Organisation, caf_53) == "53"
    assert (await coordinator_a.get(f"/api/v1/organisations/{caf_53['id']}")).status_code == 404
    # Its typed département corrected: no territory of the 53 any more, of none again.
    current = (await c.get(f"/api/v1/territories/{mayenne['id']}")).json()
    moved = await c.patch(
        f"/api/v1/territories/{mayenne['id']}",
        json={"version": current["version"], "departement": "72"},
    )
    assert moved.status_code == 200, moved.text
    assert await _departement(Organisation, caf_53) is None


async def test_the_migration_places_the_partners_of_communes_without_territory(
    admin, deps: Departements
):
    """Migration 2026-12-10T15:30: the Caf of a commune taken out of its territory before it,
    of none then, takes its commune's INSEE département, its branch and its agent with it."""
    from maillage.migrations import maillage_2026_12_10t15_30_00_000000 as migration

    c = admin.client
    branch = await create(
        c, "organisations", {"name": "Antenne", "kind": "institution", "parent": deps.caf_35["id"]}
    )
    commune = deps.p.mairie_a["commune"]
    engine = db.current_engine()
    # As the former rule left them.
    await engine.run_ddl(f"UPDATE commune SET territory = NULL WHERE id = {int(commune)}")
    for table, record in (("organisation", deps.caf_35), ("organisation", branch)):
        await engine.run_ddl(f"UPDATE {table} SET departement = NULL WHERE id = {record['id']}")
    await engine.run_ddl(f"UPDATE contact SET departement = NULL WHERE id = {deps.agent_35['id']}")
    for statement in migration.FILL:
        await engine.run_ddl(statement)
    assert await _departement(Organisation, deps.caf_35) == "35"
    assert await _departement(Organisation, branch) == "35"
    assert await _departement(Contact, deps.agent_35) == "35"
    assert await _departement(Organisation, deps.caf_29) == "29"
