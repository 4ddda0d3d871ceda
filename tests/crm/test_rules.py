"""Registry rules that spreadsheets let slip: suppléants, INSEE codes, concurrent edits."""

from __future__ import annotations

import asyncio

from maillage.crm.rules import format_phone_fr


async def create(client, resource: str, payload: dict):
    return await client.post(f"/api/v1/{resource}", json=payload)


async def test_a_substitute_stands_beside_a_titulaire_of_the_same_body(coordinator):
    c = coordinator.client
    copil = (await create(c, "groups", {"name": "COPIL", "kind": "copil"})).json()
    cotech = (await create(c, "groups", {"name": "COTECH", "kind": "cotech"})).json()
    people = [
        (await create(c, "contacts", {"first_name": f"P{i}", "last_name": "N"})).json()
        for i in range(3)
    ]
    substitute = (
        await create(
            c,
            "memberships",
            {"contact": people[1]["id"], "working_group": copil["id"], "role": "suppleant"},
        )
    ).json()
    elsewhere = (
        await create(
            c,
            "memberships",
            {"contact": people[2]["id"], "working_group": cotech["id"], "role": "suppleant"},
        )
    ).json()
    ok = await create(
        c,
        "memberships",
        {
            "contact": people[0]["id"],
            "working_group": copil["id"],
            "role": "titulaire",
            "substitute": substitute["id"],
        },
    )
    assert ok.status_code == 201
    wrong_body = await create(
        c,
        "memberships",
        {
            "contact": people[0]["id"],
            "working_group": copil["id"],
            "role": "titulaire",
            "start_date": "2025-01-01",
            "substitute": elsewhere["id"],
        },
    )
    assert wrong_body.status_code == 400
    assert "même instance" in wrong_body.json()["errors"][0]["message"]
    not_titulaire = await create(
        c,
        "memberships",
        {
            "contact": people[0]["id"],
            "working_group": copil["id"],
            "role": "membre",
            "substitute": substitute["id"],
        },
    )
    assert not_titulaire.json()["errors"][0]["field"] == "substitute"


async def test_a_person_can_leave_a_body_and_come_back(coordinator):
    c = coordinator.client
    group = (await create(c, "groups", {"name": "COPIL", "kind": "copil"})).json()
    person = (await create(c, "contacts", {"first_name": "A", "last_name": "B"})).json()
    first = {
        "contact": person["id"],
        "working_group": group["id"],
        "role": "membre",
        "start_date": "2024-01-01",
        "end_date": "2024-12-31",
    }
    assert (await create(c, "memberships", first)).status_code == 201
    again = {**first, "start_date": "2026-01-01", "end_date": None}
    assert (await create(c, "memberships", again)).status_code == 201
    duplicate = await create(c, "memberships", again)
    assert duplicate.status_code == 409


async def test_it_checks_insee_codes(coordinator):
    c = coordinator.client
    assert (
        await create(c, "communes", {"insee_code": "2A004", "name": "Ajaccio"})
    ).status_code == 201
    refused = await create(c, "communes", {"insee_code": "123", "name": "X"})
    assert refused.status_code == 400
    assert "code INSEE" in refused.json()["errors"][0]["message"]
    duplicate = await create(c, "communes", {"insee_code": "2A004", "name": "Y"})
    assert duplicate.status_code == 409


async def test_concurrent_updates_never_lose_a_write_silently(coordinator):
    c = coordinator.client
    contact = (await create(c, "contacts", {"first_name": "Anne", "last_name": "Roy"})).json()
    url = f"/api/v1/contacts/{contact['id']}"
    answers = await asyncio.gather(
        *(c.patch(url, json={"version": 1, "notes": f"note {i}"}) for i in range(5))
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 409, 409, 409, 409]
    final = (await c.get(url)).json()
    winner = next(a.json() for a in answers if a.status_code == 200)
    assert final["notes"] == winner["notes"] and final["version"] == 2


def test_phone_numbers_are_shown_in_french_format():
    assert format_phone_fr("+33299123456") == "02 99 12 34 56"
    assert format_phone_fr(None) == ""
