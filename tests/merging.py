"""What the tests of a tie written while a merge runs share (#20): the records merged, and the
merge paused between the moves of the ties it read and the delete of the duplicate."""

from __future__ import annotations

import asyncio

import pytest

from maillage.exchange import duplicates
from tests.web.helpers import create

# Long enough for the other transaction to reach its statement (and wait, or not).
SETTLE_SECONDS = 0.4


async def merged_world(client, removed_first: bool) -> dict[str, int]:
    """Two organisations and two people to merge (the removed one made first, its id the
    smaller, or last), and what a tie needs besides."""
    ids: dict[str, int] = {}
    order = ("removed", "kept") if removed_first else ("kept", "removed")
    for role in order:
        suffix = " bis" if role == "removed" else ""
        organisation = await create(
            client, "organisations", {"name": f"Centre social{suffix}", "kind": "association"}
        )
        person = await create(
            client, "contacts", {"first_name": "Jo", "last_name": f"Durand{suffix}"}
        )
        ids[f"{role}_organisations"], ids[f"{role}_contacts"] = organisation["id"], person["id"]
    ids["person"] = (
        await create(client, "contacts", {"first_name": "Lou", "last_name": "Martin"})
    )["id"]
    ids["town_hall"] = (
        await create(client, "organisations", {"name": "Mairie", "kind": "collectivite"})
    )["id"]
    ids["group"] = (await create(client, "groups", {"name": "COPIL CTG", "kind": "copil"}))["id"]
    ids["meeting"] = (
        await create(
            client,
            "meetings",
            {
                "working_group": ids["group"],
                "title": "Comité de pilotage",
                "starts_at": "2026-12-09T14:00:00+01:00",
                "ends_at": "2026-12-09T16:00:00+01:00",
            },
        )
    )["id"]
    return ids


def merge_paused(
    monkeypatch: pytest.MonkeyPatch, until: asyncio.Event | None = None
) -> asyncio.Event:
    """Every merge stops a moment after moving the ties it read, before deleting the
    duplicate (and first waits for ``until``, a write that takes a while to reach its
    statement); the event is set when it stops, for the write to race with it."""
    paused = asyncio.Event()
    write_filled = duplicates._write_filled

    async def pausing(*args: object, **kwargs: object) -> object:
        paused.set()
        if until is not None:
            await asyncio.wait_for(until.wait(), timeout=20)
        await asyncio.sleep(SETTLE_SECONDS)
        return await write_filled(*args, **kwargs)

    monkeypatch.setattr(duplicates, "_write_filled", pausing)
    return paused
