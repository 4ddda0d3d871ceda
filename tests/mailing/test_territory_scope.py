"""Sending by territory (#20): a user limited to territories sees the outbox messages of their
meetings only, cannot invite to another territory's meeting, and writes mass mailings to the
people of their territories only."""

from __future__ import annotations

import pytest

from tests.territory_world import accounts, build_territory_world
from tests.web.helpers import create

FUTURE = {"starts_at": "2027-02-09T14:00:00+01:00", "ends_at": "2027-02-09T16:00:00+01:00"}


@pytest.fixture
async def scoped(app, admin, coordinator):
    world = await build_territory_world(admin.client)
    coming = {}
    for side in (world.a, world.b):
        meeting = await create(
            admin.client,
            "meetings",
            {"working_group": side.body["id"], "title": "Prochain COPIL", **FUTURE},
        )
        for contact in (side.president, world.conseillere):
            await create(
                admin.client, "invitations", {"meeting": meeting["id"], "contact": contact["id"]}
            )
        sent = await admin.client.post(f"/api/v1/meetings/{meeting['id']}/invitations/send")
        assert sent.status_code in (200, 201), sent.text
        coming[side.territory["name"]] = meeting["id"]
    async with accounts(app, coordinator.token) as clients:
        yield world, clients, coming


async def _outbox(client) -> list[dict]:
    response = await client.get("/api/v1/outbox", params={"limit": 500})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_the_outbox_shows_their_meetings_messages_only(scoped):
    _world, clients, _coming = scoped
    everything = await _outbox(clients["sans-territoire"])
    assert len(everything) == 4
    by_recipient = {m["recipient"]: m for m in everything}
    rives = by_recipient["camille@rives.example"]["id"]
    ardoise = by_recipient["camille@ardoise.example"]["id"]
    mine = await _outbox(clients["coordinateur-a"])
    assert len(mine) == 2
    assert {m["id"] for m in mine} >= {ardoise}
    assert rives not in {m["id"] for m in mine}
    client = clients["coordinateur-a"]
    assert (await client.get(f"/api/v1/outbox/{ardoise}")).status_code == 200
    assert (await client.get(f"/api/v1/outbox/{rives}")).status_code == 404
    assert (await client.post(f"/api/v1/outbox/{rives}/cancel")).status_code == 404
    # Lecteur of A, coordinator of B: sees A's messages, acts on B's only.
    mixed = clients["mixte"]
    assert (await mixed.get(f"/api/v1/outbox/{ardoise}")).status_code == 200
    assert (await mixed.post(f"/api/v1/outbox/{ardoise}/cancel")).status_code == 403
    assert (await mixed.post(f"/api/v1/outbox/{rives}/cancel")).status_code == 200
    # The Caf conseillère, on both territories, sees all four.
    assert len(await _outbox(clients["conseillere-caf"])) == 4


async def test_invitations_to_another_territorys_meeting_are_not_found(scoped):
    _world, clients, coming = scoped
    client = clients["coordinateur-a"]
    other, own = coming["CA des Deux Rives"], coming["CC du Val d'Ardoise"]
    assert (await client.post(f"/api/v1/meetings/{other}/invitations/send")).status_code == 404
    assert (await client.get(f"/api/v1/meetings/{other}/invitations/preview")).status_code == 404
    assert (await client.get(f"/api/v1/meetings/{own}/invitations/preview")).status_code == 200
    # Lecteur of A, coordinator of B: invites to B's meetings only.
    mixed = clients["mixte"]
    assert (await mixed.get(f"/api/v1/meetings/{own}/invitations/preview")).status_code == 403
    assert (await mixed.post(f"/api/v1/meetings/{own}/invitations/send")).status_code == 403
    assert (await mixed.get(f"/api/v1/meetings/{other}/invitations/preview")).status_code == 200


async def test_a_mass_mailing_reaches_the_people_of_their_territories(scoped):
    world, clients, _coming = scoped
    mailing = {"subject": "Forum des familles", "body": "Bonjour {{ prenom }},"}

    async def recipients(name: str, **filters) -> int:
        response = await clients[name].post("/api/v1/mailings/preview", json={**mailing, **filters})
        assert response.status_code == 200, response.text
        return response.json()["recipients"]

    assert await recipients("sans-territoire") == 3
    # Camille of Ardoise and the Caf conseillère who sits on the COPIL Ardoise.
    assert await recipients("coordinateur-a") == 2
    assert await recipients("coordinateur-a", group=world.a.body["id"]) == 2
    # Lecteur of A, coordinator of B: writes to B's people only (Camille of Rives, the Caf
    # conseillère who sits on the COPIL Rives), so A's body leaves only the conseillère.
    assert await recipients("mixte") == 2
    assert await recipients("mixte", group=world.a.body["id"]) == 1
    other = await clients["coordinateur-a"].post(
        "/api/v1/mailings/preview", json={**mailing, "group": world.b.body["id"]}
    )
    assert other.status_code == 404
