"""A small territory for the calendar's integration tests: one body with members."""

from __future__ import annotations

import pytest


async def post(client, path: str, payload: dict, status: int = 201) -> dict:
    response = await client.post(path, json=payload)
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
async def body(coordinator, admin) -> dict:
    c = coordinator.client
    territory = await post(
        admin.client, "/api/v1/territories", {"name": "CC du Val d'Ardoise", "school_zone": "B"}
    )
    group = await post(
        c,
        "/api/v1/groups",
        {"name": "COPIL", "kind": "copil", "territory": territory["id"], "axes": [1, 3]},
    )
    helene = await post(
        c,
        "/api/v1/contacts",
        {"first_name": "Hélène", "last_name": "Lefèvre", "email": "helene@caf.example"},
    )
    await post(
        c,
        "/api/v1/memberships",
        {"contact": helene["id"], "working_group": group["id"], "role": "titulaire"},
    )
    return {"territory": territory, "group": group, "helene": helene}


def slot(day: str, start: str = "14:00", end: str = "16:00", offset: str = "+01:00") -> dict:
    return {"starts_at": f"{day}T{start}:00{offset}", "ends_at": f"{day}T{end}:00{offset}"}
