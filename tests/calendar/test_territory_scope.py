"""Secret-link feeds by territory (#20): a user limited to territories makes links to their
bodies and territories only, and manages only those; a territory's feed holds its meetings.
A personal feed (« mes réunions ») follows its person across territories: the link is theirs."""

from __future__ import annotations

import pytest

from tests.territory_world import accounts, build_territory_world

TOKENS = "/api/v1/calendar/feed-tokens"


@pytest.fixture
async def scoped(app, admin, coordinator):
    world = await build_territory_world(admin.client)
    async with accounts(app, coordinator.token) as clients:
        yield world, clients


async def _link(client, scope: str, target_id: int | None):
    return await client.post(TOKENS, json={"scope": scope, "target_id": target_id})


async def test_a_coordinator_links_their_bodies_and_territory_only(scoped, anonymous):
    world, clients = scoped
    client = clients["coordinateur-a"]
    assert (await _link(client, "group", world.b.body["id"])).status_code == 400
    assert (await _link(client, "territory", world.b.territory["id"])).status_code == 400
    assert (await _link(client, "territory", None)).status_code == 400
    assert (await _link(client, "group", world.a.body["id"])).status_code == 201
    made = await _link(client, "territory", world.a.territory["id"])
    assert made.status_code == 201, made.text
    feed = await anonymous.get(f"/calendar/feeds/{made.json()['token']}.ics")
    assert feed.status_code == 200
    assert "COPIL Ardoise" in feed.text and "COPIL Rives" not in feed.text
    # Without territories: every body in one link, as before.
    assert (await _link(clients["sans-territoire"], "territory", None)).status_code == 201


async def test_they_manage_the_links_of_their_territory_only(scoped, admin):
    world, clients = scoped
    theirs = (await _link(admin.client, "group", world.b.body["id"])).json()["id"]
    ours = (await _link(admin.client, "group", world.a.body["id"])).json()["id"]
    client = clients["coordinateur-a"]
    listed = {row["id"] for row in (await client.get(TOKENS)).json()}
    assert ours in listed and theirs not in listed
    assert (await client.delete(f"{TOKENS}/{theirs}")).status_code == 404
    assert (await client.delete(f"{TOKENS}/{ours}")).status_code == 204
    everything = {row["id"] for row in (await clients["sans-territoire"].get(TOKENS)).json()}
    assert {ours, theirs} <= everything


async def test_a_personal_feed_follows_its_person_across_territories(scoped, admin, anonymous):
    world, _clients = scoped
    made = await _link(admin.client, "contact", world.conseillere["id"])
    feed = await anonymous.get(f"/calendar/feeds/{made.json()['token']}.ics")
    assert "COPIL Ardoise" in feed.text and "COPIL Rives" in feed.text
