"""A small territory for the calendar's integration tests: one body with members."""

from __future__ import annotations

import pytest

from tests.calendar.calendar_helpers import post


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
