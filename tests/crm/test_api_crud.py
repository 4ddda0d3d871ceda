"""Every resource of the registry (maillage/crm/registry.py) through the API: create, read, list, update, lifecycle."""

from __future__ import annotations

import pytest

from maillage.tables import AuditEvent

VALID_SIRET = "39825979600017"
OTHER_SIRET = "19074833500014"


async def create(client, resource: str, payload: dict) -> dict:
    response = await client.post(f"/api/v1/{resource}", json=payload)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def world(coordinator, admin) -> dict:
    """One record of each kind, linked together as a coordinator would enter them."""
    c = coordinator.client
    territory = await create(admin.client, "territories", {"name": "CC du Val d'Ardoise"})
    commune = await create(
        c,
        "communes",
        {
            "insee_code": "35901",
            "name": "Ardoise",
            "population": 4200,
            "territory": territory["id"],
        },
    )
    caf = await create(
        c,
        "organisations",
        {"name": "Caf d'Ille-et-Vilaine", "kind": "institution", "siret": VALID_SIRET, "axes": [1]},
    )
    club = await create(
        c, "organisations", {"name": "Centre social Les Tilleuls", "kind": "association"}
    )
    person = await create(
        c,
        "contacts",
        {"first_name": "Hélène", "last_name": "Lefèvre", "email": "helene@caf.example"},
    )
    group = await create(
        c,
        "groups",
        {"name": "COPIL CTG", "kind": "copil", "axes": [1, 2], "communes": [commune["id"]]},
    )
    meeting = await create(
        c,
        "meetings",
        {
            "working_group": group["id"],
            "title": "COPIL de lancement",
            "starts_at": "2026-12-08T14:00:00+01:00",
            "ends_at": "2026-12-08T16:00:00+01:00",
        },
    )
    return {
        "territory": territory,
        "commune": commune,
        "caf": caf,
        "club": club,
        "contact": person,
        "group": group,
        "meeting": meeting,
    }


async def test_it_creates_and_reads_every_entity(coordinator, world):
    c = coordinator.client
    contact, caf, group = world["contact"], world["caf"], world["group"]
    affiliation = await create(
        c,
        "affiliations",
        {
            "contact": contact["id"],
            "organisation": caf["id"],
            "function": "directrice",
            "is_primary": True,
        },
    )
    membership = await create(
        c,
        "memberships",
        {
            "contact": contact["id"],
            "working_group": group["id"],
            "role": "titulaire",
            "organisation": caf["id"],
        },
    )
    invitation = await create(
        c, "invitations", {"meeting": world["meeting"]["id"], "contact": contact["id"]}
    )
    partnership = await create(
        c,
        "partnerships",
        {
            "organisation": caf["id"],
            "partner": world["club"]["id"],
            "kind": "convention",
            "axes": [5],
        },
    )
    interaction = await create(
        c,
        "interactions",
        {
            "occurred_on": "2026-11-20",
            "kind": "appel",
            "summary": "Point budget",
            "organisations": [caf["id"]],
            "contacts": [contact["id"]],
        },
    )
    action = await create(
        c,
        "actions",
        {
            "title": "Développer l'accueil du jeune enfant",
            "pilot": caf["id"],
            "partners": [world["club"]["id"]],
            "indicators": [
                {
                    "name": "Places d'accueil",
                    "unit": "places",
                    "targets": {"2026": 40},
                    "values": {"2026": 32},
                }
            ],
        },
    )
    for resource, record in [
        ("affiliations", affiliation),
        ("memberships", membership),
        ("invitations", invitation),
        ("partnerships", partnership),
        ("interactions", interaction),
        ("actions", action),
    ]:
        fetched = (await c.get(f"/api/v1/{resource}/{record['id']}")).json()
        assert fetched == record
    assert membership["start_date"] is not None  # defaults to today
    assert invitation["response"] == "en_attente"
    assert partnership["axes"] == [5]
    assert interaction["organisations"] == [caf["id"]]
    assert action["indicators"][0]["targets"] == {"2026": 40.0}
    assert world["meeting"]["ical_uid"].endswith("@maillage")


async def test_it_lists_with_pagination_search_filters_and_sort(coordinator, world):
    c = coordinator.client
    listing = (await c.get("/api/v1/organisations", params={"limit": 1})).json()
    assert listing["total"] == 2 and listing["limit"] == 1 and len(listing["items"]) == 1
    assert listing["items"][0]["name"] == "Caf d'Ille-et-Vilaine"  # sorted by name
    found = (await c.get("/api/v1/organisations", params={"q": "tilleuls CENTRE"})).json()
    assert [o["name"] for o in found["items"]] == ["Centre social Les Tilleuls"]
    by_axis = (await c.get("/api/v1/organisations", params={"axis": 1})).json()
    assert [o["id"] for o in by_axis["items"]] == [world["caf"]["id"]]
    accents = (await c.get("/api/v1/contacts", params={"q": "helene lefevre"})).json()
    assert accents["total"] == 1
    reverse = (await c.get("/api/v1/organisations", params={"sort": "-name"})).json()
    assert reverse["items"][0]["name"] == "Centre social Les Tilleuls"
    bad_sort = await c.get("/api/v1/organisations", params={"sort": "password"})
    assert bad_sort.status_code == 400
    assert bad_sort.json()["errors"][0]["field"] == "sort"


async def test_it_updates_with_version_and_refuses_a_stale_one(coordinator, world):
    c = coordinator.client
    caf = world["caf"]
    response = await c.patch(
        f"/api/v1/organisations/{caf['id']}", json={"version": 1, "name": "Caf 35", "axes": [2, 3]}
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["version"] == 2 and updated["name"] == "Caf 35" and updated["axes"] == [2, 3]
    stale = await c.patch(f"/api/v1/organisations/{caf['id']}", json={"version": 1, "name": "X"})
    assert stale.status_code == 409
    assert stale.json()["conflict"]["id"] == caf["id"]
    assert stale.json()["conflict"]["version"] == 2
    assert (await c.get(f"/api/v1/organisations/{caf['id']}")).json()["name"] == "Caf 35"


async def test_it_archives_and_restores_partners(coordinator, world):
    c = coordinator.client
    club_id = world["club"]["id"]
    archived = await c.post(f"/api/v1/organisations/{club_id}/archive")
    assert archived.status_code == 200 and archived.json()["archived"] is True
    listing = (await c.get("/api/v1/organisations")).json()
    assert club_id not in [o["id"] for o in listing["items"]]
    everything = (await c.get("/api/v1/organisations", params={"include_archived": True})).json()
    assert club_id in [o["id"] for o in everything["items"]]
    restored = await c.post(f"/api/v1/organisations/{club_id}/restore")
    assert restored.json()["archived"] is False


async def test_it_deletes_link_records_but_not_what_they_still_use(coordinator, world):
    c = coordinator.client
    invitation = await create(
        c, "invitations", {"meeting": world["meeting"]["id"], "contact": world["contact"]["id"]}
    )
    refused = await c.delete(f"/api/v1/meetings/{world['meeting']['id']}")
    assert refused.status_code == 409
    assert "sert encore à d'autres enregistrements" in refused.json()["detail"]
    assert (await c.delete(f"/api/v1/invitations/{invitation['id']}")).status_code == 204
    assert (await c.get(f"/api/v1/invitations/{invitation['id']}")).status_code == 404
    assert (await c.delete(f"/api/v1/meetings/{world['meeting']['id']}")).status_code == 204
    # Partners are archived, never deleted through the API.
    assert (await c.delete(f"/api/v1/organisations/{world['caf']['id']}")).status_code == 405


async def test_it_names_the_record_holding_a_duplicate_siret(coordinator, world):
    response = await coordinator.client.post(
        "/api/v1/organisations", json={"name": "Doublon", "kind": "autre", "siret": VALID_SIRET}
    )
    assert response.status_code == 409
    body = response.json()
    assert body["conflict"]["id"] == world["caf"]["id"]
    assert "Caf d'Ille-et-Vilaine" in body["detail"]


async def test_it_audits_every_write_with_actor_and_changes(coordinator, admin, world):
    await coordinator.client.patch(
        f"/api/v1/contacts/{world['contact']['id']}", json={"version": 1, "last_name": "Martin"}
    )
    events = (
        await admin.client.get(
            "/api/v1/audit", params={"entity": "contact", "entity_id": world["contact"]["id"]}
        )
    ).json()["items"]
    assert [e["action"] for e in events] == ["update", "create"]
    assert events[0]["actor"] == coordinator.email
    assert events[0]["changes"]["last_name"] == ["Lefèvre", "Martin"]
    assert await AuditEvent.count().where(AuditEvent.entity == "organisation").run() == 2


async def test_it_serves_every_resource_of_the_data_model(coordinator, admin):
    for resource in [
        "territories", "communes", "axes", "organisations", "contacts", "affiliations", "groups",
        "memberships", "meetings", "invitations", "partnerships", "interactions", "actions",
    ]:  # fmt: skip
        response = await coordinator.client.get(f"/api/v1/{resource}")
        assert response.status_code == 200, resource
        assert set(response.json()) == {"items", "total", "limit", "offset"}
    assert (await admin.client.get("/api/v1/users")).json()["total"] == 2
    assert (await admin.client.get("/api/v1/axes")).json()["total"] == 8
