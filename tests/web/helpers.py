"""Records made through the API, so page tests start from a known network."""

from __future__ import annotations

import datetime as dt

PARIS_OFFSET = "+01:00"


async def create(client, resource: str, payload: dict) -> dict:
    response = await client.post(f"/api/v1/{resource}", json=payload)
    assert response.status_code == 201, response.text
    return response.json()


async def small_network(client, name: str = "Centre social des Lilas") -> dict:
    """A commune, an organisation, a person attached to it, a body with them, a meeting."""
    commune = await create(client, "communes", {"insee_code": "35238", "name": "Rennes"})
    organisation = await create(
        client,
        "organisations",
        {"name": name, "kind": "association", "commune": commune["id"], "axes": [4]},
    )
    contact = await create(
        client,
        "contacts",
        {"first_name": "Hélène", "last_name": name if "<" in name else "Durand", "axes": [4]},
    )
    await create(
        client,
        "affiliations",
        {"contact": contact["id"], "organisation": organisation["id"], "is_primary": True},
    )
    group = await create(
        client,
        "groups",
        {"name": f"Commission {name}", "kind": "commission_thematique", "axes": [4]},
    )
    await create(
        client,
        "memberships",
        {
            "contact": contact["id"],
            "working_group": group["id"],
            "role": "titulaire",
            "organisation": organisation["id"],
        },
    )
    day = dt.date.today() + dt.timedelta(days=7)
    meeting = await create(
        client,
        "meetings",
        {
            "working_group": group["id"],
            "title": f"Réunion {name}",
            "starts_at": f"{day}T14:00:00{PARIS_OFFSET}",
            "ends_at": f"{day}T16:00:00{PARIS_OFFSET}",
            "location": "Salle du conseil",
        },
    )
    return {
        "commune": commune,
        "organisation": organisation,
        "contact": contact,
        "group": group,
        "meeting": meeting,
    }
