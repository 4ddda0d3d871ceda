"""Territories of users and records (#20): a scoped coordinator sees and writes their own
territories' local records and the shared ones, and nothing else exists for them (404)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import httpx
import pytest

from maillage.actor import CLI
from maillage.crm import auth
from maillage.crm import scope as territory_scope
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import UserIn
from maillage.tables import UserTerritory
from tests.web.helpers import PASSWORD, Browser, create, open_browser, sign_in

SIREN_A, SIREN_B = "200000008", "200000016"
MEETING = {"starts_at": "2026-12-08T14:00:00+01:00", "ends_at": "2026-12-08T16:00:00+01:00"}


@dataclass
class World:
    a: dict
    b: dict
    body_a: dict
    body_b: dict
    shared_body: dict
    meeting_a: dict
    meeting_b: dict
    caf: dict


async def _account(email: str, role: str, sirens: list[str], grant_role: str | None = None):
    created = await SERVICES["users"].create(CLI, UserIn(email=email, role=role, password=PASSWORD))
    if sirens:
        await territory_scope.grant(CLI, created["id"], sirens, grant_role or role)


async def _user(app, email: str, role: str, sirens: list[str], grant_role: str | None = None):
    """An API client of a new account limited to the territories of ``sirens``."""
    await _account(email, role, sirens, grant_role)
    token = await auth.create_token(CLI, email)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.fixture
async def world(admin, coordinator) -> World:
    c = admin.client
    a = await create(c, "territories", {"name": "CC du Val d'Ardoise", "siren": SIREN_A})
    b = await create(c, "territories", {"name": "CA des Deux Rives", "siren": SIREN_B})
    body_a = await create(
        c, "groups", {"name": "COPIL Ardoise", "kind": "copil", "territory": a["id"]}
    )
    body_b = await create(
        c, "groups", {"name": "COPIL Rives", "kind": "copil", "territory": b["id"]}
    )
    shared = await create(
        c, "groups", {"name": "Réseau parentalité départemental", "kind": "reseau"}
    )
    meeting_a = await create(
        c, "meetings", {"working_group": body_a["id"], "title": "COPIL Ardoise", **MEETING}
    )
    meeting_b = await create(
        c, "meetings", {"working_group": body_b["id"], "title": "COPIL Rives", **MEETING}
    )
    caf = await create(c, "organisations", {"name": "Caf du département", "kind": "institution"})
    return World(a, b, body_a, body_b, shared, meeting_a, meeting_b, caf)


@pytest.fixture
async def coordinator_a(app, world):
    async with await _user(app, "coord-a@maillage.example", "coordinateur", [SIREN_A]) as client:
        yield client


def _ids(response: httpx.Response) -> set[int]:
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def test_a_coordinator_lists_their_bodies_and_the_shared_ones_only(world, coordinator_a):
    groups = _ids(await coordinator_a.get("/api/v1/groups"))
    assert groups == {world.body_a["id"], world.shared_body["id"]}
    meetings = _ids(await coordinator_a.get("/api/v1/meetings"))
    assert meetings == {world.meeting_a["id"]}
    # The search goes through the same rule.
    assert _ids(await coordinator_a.get("/api/v1/groups", params={"q": "copil"})) == {
        world.body_a["id"]
    }
    assert _ids(await coordinator_a.get("/api/v1/meetings", params={"q": "rives"})) == set()
    # A list filtered on the other territory's body is empty, not an error.
    filtered = await coordinator_a.get(
        "/api/v1/meetings", params={"working_group": world.body_b["id"]}
    )
    assert _ids(filtered) == set()


async def test_it_sees_the_shared_caf(world, coordinator_a):
    organisations = _ids(await coordinator_a.get("/api/v1/organisations"))
    assert world.caf["id"] in organisations
    assert (await coordinator_a.get(f"/api/v1/organisations/{world.caf['id']}")).status_code == 200


async def test_the_other_territorys_records_answer_404(world, coordinator_a):
    body_b, meeting_b = world.body_b, world.meeting_b
    assert (await coordinator_a.get(f"/api/v1/groups/{body_b['id']}")).status_code == 404
    assert (await coordinator_a.get(f"/api/v1/meetings/{meeting_b['id']}")).status_code == 404
    patched = await coordinator_a.patch(
        f"/api/v1/meetings/{meeting_b['id']}", json={"version": 1, "title": "Pris"}
    )
    assert patched.status_code == 404
    assert (await coordinator_a.delete(f"/api/v1/meetings/{meeting_b['id']}")).status_code == 404
    archived = await coordinator_a.post(f"/api/v1/groups/{body_b['id']}/archive")
    assert archived.status_code == 404
    # Same answer as for an id that does not exist: nothing to probe.
    assert (await coordinator_a.get("/api/v1/meetings/999999")).json()["detail"].replace(
        "999999", "?"
    ) == (await coordinator_a.get(f"/api/v1/meetings/{meeting_b['id']}")).json()["detail"].replace(
        str(meeting_b["id"]), "?"
    )


async def test_it_writes_in_its_own_territory(world, coordinator_a):
    meeting = world.meeting_a
    patched = await coordinator_a.patch(
        f"/api/v1/meetings/{meeting['id']}", json={"version": 1, "title": "COPIL de lancement"}
    )
    assert patched.status_code == 200, patched.text
    created = await create(
        coordinator_a,
        "groups",
        {"name": "Commission petite enfance", "kind": "groupe_travail", "territory": world.a["id"]},
    )
    assert created["territory"] == world.a["id"]


async def test_creating_in_a_territory_it_does_not_hold_is_refused_naming_the_field(
    world, coordinator_a
):
    refused = await coordinator_a.post(
        "/api/v1/groups", json={"name": "Intrus", "kind": "copil", "territory": world.b["id"]}
    )
    assert refused.status_code == 400
    error = refused.json()["errors"][0]
    assert error["field"] == "territory"
    assert "Territoire hors de votre périmètre" in error["message"]
    assert "CC du Val d'Ardoise" in error["message"]
    # Explicitly without a territory the body would be shared: refused too, naming the field.
    shared = await coordinator_a.post(
        "/api/v1/groups", json={"name": "Sans", "kind": "copil", "territory": None}
    )
    assert shared.status_code == 400
    assert shared.json()["errors"][0]["field"] == "territory"
    # Saying nothing places it in their only territory.
    placed = await coordinator_a.post("/api/v1/groups", json={"name": "Placé", "kind": "copil"})
    assert placed.status_code == 201 and placed.json()["territory"] == world.a["id"]
    # A meeting of the other territory's body: that body does not exist for them.
    meeting = await coordinator_a.post(
        "/api/v1/meetings",
        json={"working_group": world.body_b["id"], "title": "Intruse", **MEETING},
    )
    assert meeting.status_code == 400
    assert meeting.json()["errors"][0] == {
        "field": "working_group",
        "message": f"Instance n° {world.body_b['id']} introuvable.",
    }
    # Moving its own body to the other territory.
    moved = await coordinator_a.patch(
        f"/api/v1/groups/{world.body_a['id']}", json={"version": 1, "territory": world.b["id"]}
    )
    assert moved.status_code == 400
    assert moved.json()["errors"][0]["field"] == "territory"


async def test_shared_bodies_are_read_not_written_by_a_scoped_user(world, coordinator_a):
    shared = world.shared_body
    assert (await coordinator_a.get(f"/api/v1/groups/{shared['id']}")).status_code == 200
    patched = await coordinator_a.patch(
        f"/api/v1/groups/{shared['id']}", json={"version": 1, "name": "Repris"}
    )
    assert patched.status_code == 403
    assert "partagé" in patched.json()["detail"]


async def test_a_reader_of_a_territory_reads_but_does_not_write_there(app, world):
    async with await _user(
        app, "coord-b@maillage.example", "coordinateur", [SIREN_A], "lecteur"
    ) as client:
        await territory_scope.grant(
            CLI, (await auth.find_user("coord-b@maillage.example"))["id"], [SIREN_B], "coordinateur"
        )
        meeting_a = world.meeting_a
        assert (await client.get(f"/api/v1/meetings/{meeting_a['id']}")).status_code == 200
        patched = await client.patch(
            f"/api/v1/meetings/{meeting_a['id']}", json={"version": 1, "title": "Non"}
        )
        assert patched.status_code == 403
        patched_b = await client.patch(
            f"/api/v1/meetings/{world.meeting_b['id']}", json={"version": 1, "title": "Oui"}
        )
        assert patched_b.status_code == 200, patched_b.text


async def test_a_user_without_territories_sees_everything(world, coordinator, reader):
    for client in (coordinator.client, reader.client):
        groups = _ids(await client.get("/api/v1/groups"))
        assert {world.body_a["id"], world.body_b["id"], world.shared_body["id"]} <= groups
        assert (await client.get(f"/api/v1/meetings/{world.meeting_b['id']}")).status_code == 200


async def test_invitations_and_decisions_follow_their_body(app, world, admin, coordinator_a):
    person = await create(admin.client, "contacts", {"first_name": "Jo", "last_name": "Durand"})
    invitation_b = await create(
        admin.client, "invitations", {"meeting": world.meeting_b["id"], "contact": person["id"]}
    )
    decision_b = await create(
        admin.client,
        "decisions",
        {"summary": "Ouvrir un LAEP", "meeting": world.meeting_b["id"]},
    )
    assert (await coordinator_a.get(f"/api/v1/invitations/{invitation_b['id']}")).status_code == 404
    assert (await coordinator_a.get(f"/api/v1/decisions/{decision_b['id']}")).status_code == 404
    assert invitation_b["id"] not in _ids(await coordinator_a.get("/api/v1/invitations"))
    assert decision_b["id"] not in _ids(await coordinator_a.get("/api/v1/decisions"))
    # The person is shared: both territories see them.
    assert (await coordinator_a.get(f"/api/v1/contacts/{person['id']}")).status_code == 200


async def test_actions_and_exchanges_carry_their_territory(world, admin, coordinator_a):
    action_b = await create(
        admin.client, "actions", {"title": "Guichet unique", "territory": world.b["id"]}
    )
    exchange_b = await create(
        admin.client,
        "interactions",
        {"occurred_on": "2026-11-30", "summary": "Appel au maire", "territory": world.b["id"]},
    )
    assert (await coordinator_a.get(f"/api/v1/actions/{action_b['id']}")).status_code == 404
    assert (await coordinator_a.get(f"/api/v1/interactions/{exchange_b['id']}")).status_code == 404
    mine = await create(
        coordinator_a,
        "interactions",
        {"occurred_on": "2026-11-30", "summary": "Visite", "territory": world.a["id"]},
    )
    assert _ids(await coordinator_a.get("/api/v1/interactions")) == {mine["id"]}


async def test_pages_answer_404_outside_the_territory(app, world):
    await _account("page-a@maillage.example", "coordinateur", [SIREN_A])
    async with await open_browser(app) as client:
        browser = Browser(client)
        assert (await sign_in(browser, "page-a@maillage.example")).status_code == 303
        assert (await browser.get(f"/instances/{world.body_b['id']}")).status_code == 404
        assert (await browser.get(f"/reunions/{world.meeting_b['id']}")).status_code == 404
        assert (await browser.get(f"/reunions/{world.meeting_b['id']}/modifier")).status_code == 404
        assert (await browser.get(f"/instances/{world.body_a['id']}")).status_code == 200
        assert (await browser.get(f"/reunions/{world.meeting_a['id']}")).status_code == 200
        listing = await browser.get("/instances")
        assert listing.status_code == 200
        assert "COPIL Ardoise" in listing.text and "COPIL Rives" not in listing.text
        # The meetings' list (both periods) and the bodies offered when scheduling one.
        for period in ("a_venir", "passees"):
            meetings = await browser.get("/reunions", params={"periode": period})
            assert meetings.status_code == 200
            assert "COPIL Rives" not in meetings.text
        both = [
            (await browser.get("/reunions", params={"periode": p})).text
            for p in ("a_venir", "passees")
        ]
        assert any("COPIL Ardoise" in text for text in both)
        form = await browser.get("/reunions/nouvelle")
        assert "COPIL Ardoise" in form.text and "Réseau parentalité départemental" in form.text
        assert "COPIL Rives" not in form.text


async def test_grants_are_checked_and_listed(world):
    user = await SERVICES["users"].create(
        CLI, UserIn(email="caf@maillage.example", role="lecteur", password=PASSWORD)
    )
    with pytest.raises(Exception) as refused:
        await territory_scope.grant(CLI, user["id"], ["123456789"], "lecteur")
    assert refused.value.errors[0].field == "territory"  # type: ignore[attr-defined]
    held = await territory_scope.grant(CLI, user["id"], [SIREN_B, SIREN_A], "lecteur")
    assert [row["name"] for row in held] == ["CA des Deux Rives", "CC du Val d'Ardoise"]
    held = await territory_scope.grant(CLI, user["id"], [SIREN_A], "coordinateur")
    assert {row["siren"]: row["role"] for row in held} == {
        SIREN_A: "coordinateur",
        SIREN_B: "lecteur",
    }
    assert await UserTerritory.count().where(UserTerritory.user == user["id"]) == 2
    role, scope = await territory_scope.user_scope(user["id"], "lecteur")
    assert role == "coordinateur" and scope is not None
    assert await territory_scope.revoke(CLI, user["id"], [SIREN_A, SIREN_B]) == []
    assert await territory_scope.user_scope(user["id"], "lecteur") == ("lecteur", None)


async def test_the_dashboard_lists_the_territorys_meetings_only(app, world, admin):
    soon = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=2)
    for body, title in ((world.body_a, "Atelier Ardoise"), (world.body_b, "Atelier Rives")):
        await create(
            admin.client,
            "meetings",
            {
                "working_group": body["id"],
                "title": title,
                "starts_at": soon.isoformat(),
                "ends_at": (soon + dt.timedelta(hours=2)).isoformat(),
            },
        )
    await _account("tableau-a@maillage.example", "coordinateur", [SIREN_A])
    async with await open_browser(app) as client:
        browser = Browser(client)
        assert (await sign_in(browser, "tableau-a@maillage.example")).status_code == 303
        page = await browser.get("/")
        assert page.status_code == 200
        assert "Atelier Ardoise" in page.text and "Atelier Rives" not in page.text
    # Without territories, both.
    async with await open_browser(app) as client:
        browser = Browser(client)
        assert (await sign_in(browser, admin.email)).status_code == 303
        page = await browser.get("/")
        assert "Atelier Ardoise" in page.text and "Atelier Rives" in page.text


async def test_calendar_files_and_api_follow_the_territory(world, coordinator_a):
    b, g = world.meeting_b["id"], world.body_b["id"]
    assert (await coordinator_a.get(f"/calendar/meetings/{b}.ics")).status_code == 404
    assert (await coordinator_a.get(f"/calendar/groups/{g}.ics")).status_code == 404
    assert (await coordinator_a.get(f"/api/v1/calendar/meetings/{b}")).status_code == 404
    listed = await coordinator_a.get("/api/v1/calendar/meetings")
    assert [row["id"] for row in listed.json()["items"]] == [world.meeting_a["id"]]
    assert listed.json()["total"] == 1
    everything = await coordinator_a.get("/calendar/territory.ics")
    assert "COPIL Ardoise" in everything.text and "COPIL Rives" not in everything.text
