"""Inhabitants by territory (#20): the registrations and the consultation of a public meeting
are its territory's; a coordinator of another territory finds neither (404)."""

from __future__ import annotations

import pytest

from maillage.crm import inhabitants
from tests.territory_world import accounts, build_territory_world
from tests.web.helpers import create

FUTURE = {"starts_at": "2027-02-09T18:00:00+01:00", "ends_at": "2027-02-09T20:00:00+01:00"}


@pytest.fixture
async def scoped(app, admin, coordinator):
    world = await build_territory_world(admin.client)
    public = {}
    for side in (world.a, world.b):
        meeting = await create(
            admin.client,
            "meetings",
            {
                "working_group": side.body["id"],
                "title": "Réunion publique",
                "is_public": True,
                "registration_open": True,
                "capacity": 40,
                **FUTURE,
            },
        )
        form = inhabitants.RegistrationForm(name="Alix", commune="Ardoise", consent=True)
        registered = await inhabitants.register(meeting["id"], form)
        question = await admin.client.post(
            f"/api/v1/meetings/{meeting['id']}/consultation/questions",
            json={"kind": "texte", "label": "Vos attentes ?"},
        )
        assert question.status_code == 201, question.text
        public[side.territory["name"]] = (meeting["id"], registered, question.json()["id"])
    async with accounts(app, coordinator.token) as clients:
        yield public, clients


async def test_another_territorys_registrations_and_consultation_are_not_found(scoped):
    public, clients = scoped
    own, other = public["CC du Val d'Ardoise"], public["CA des Deux Rives"]
    client = clients["coordinateur-a"]
    assert (await client.get(f"/api/v1/meetings/{own[0]}/registrations")).status_code == 200
    assert (await client.get(f"/api/v1/meetings/{other[0]}/registrations")).status_code == 404
    assert (await client.get(f"/api/v1/meetings/{own[0]}/consultation")).status_code == 200
    assert (await client.get(f"/api/v1/meetings/{other[0]}/consultation")).status_code == 404
    registration = other[1].id
    assert (await client.post(f"/api/v1/registrations/{registration}/cancel")).status_code == 404
    question = other[2]
    assert (await client.delete(f"/api/v1/consultation-questions/{question}")).status_code == 404
    added = await client.post(
        f"/api/v1/meetings/{other[0]}/consultation/questions",
        json={"kind": "texte", "label": "Pris ?"},
    )
    assert added.status_code == 404
    # The lecteur of the territory reads their own meeting's list, not the other's.
    reader = clients["lecteur-a"]
    assert (await reader.get(f"/api/v1/meetings/{own[0]}/registrations")).status_code == 200
    assert (await reader.get(f"/api/v1/meetings/{other[0]}/registrations")).status_code == 404
    # Lecteur of A, coordinator of B: reads A's list, acts on B's only.
    mixed = clients["mixte"]
    assert (await mixed.get(f"/api/v1/meetings/{own[0]}/registrations")).status_code == 200
    mine = own[1].id
    assert (await mixed.post(f"/api/v1/registrations/{mine}/cancel")).status_code == 403
    assert (await mixed.delete(f"/api/v1/consultation-questions/{own[2]}")).status_code == 403
    assert (await mixed.post(f"/api/v1/registrations/{other[1].id}/cancel")).status_code == 200
    unscoped = clients["sans-territoire"]
    assert (await unscoped.get(f"/api/v1/meetings/{other[0]}/registrations")).status_code == 200
