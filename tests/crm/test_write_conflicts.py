"""A write PostgreSQL cancels because it crossed another (a deadlock, 40P01; a serialization
failure, 40001) wrote nothing: the service runs it again (`db.retried_on_conflict`), and what
still fails that way is answered 503 « réessayez », not a 500 (#20)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from litestar import get

from maillage import db
from maillage.tables import Affiliation
from tests.support import TEST_DATABASE_URL
from tests.web.helpers import create

postgres_only = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgres"),
    reason="SQLite : un seul écrivain à la fois, pas de verrou croisé.",
)

# Long enough for the service's transaction to reach its lock and wait there.
SETTLE_SECONDS = 0.5


async def crossed(database: str, first: str, then: str, write) -> object:  # type: ignore[no-untyped-def]
    """``write`` run while another transaction holds the row ``first`` names, then asks for
    the row ``then`` names, which ``write`` holds by then: PostgreSQL cancels ``write``, which
    waited first. What ``write`` gave back in the end."""
    other = await asyncpg.connect(database)
    try:
        await other.execute("BEGIN")
        await other.execute("SELECT set_config('maillage.territories', '*', true)")
        await other.execute(f"{first} FOR UPDATE")
        written = asyncio.create_task(write())
        await asyncio.sleep(SETTLE_SECONDS)
        assert not written.done()  # waiting for the row the other holds
        await other.execute(f"{then} FOR UPDATE")
        await other.execute("COMMIT")
        return await asyncio.wait_for(written, timeout=30)
    finally:
        await other.close()


@postgres_only
async def test_a_write_cancelled_by_a_deadlock_is_run_again_and_answered(database: str, admin):
    """An affiliation's trigger locks its organisation, then its person. Another transaction
    holds the person and then asks for the organisation: PostgreSQL cancels the write, which
    waited first (40P01). Before: a 500 and nothing written. Now the service runs the write
    again once the other has committed: 201, the affiliation there."""
    c = admin.client
    person = await create(c, "contacts", {"first_name": "Jo", "last_name": "Durand"})
    centre = await create(c, "organisations", {"name": "Centre social", "kind": "association"})
    response: Any = await crossed(
        database,
        f"SELECT id FROM contact WHERE id = {person['id']}",
        f"SELECT id FROM organisation WHERE id = {centre['id']}",
        lambda: c.post(
            "/api/v1/affiliations", json={"contact": person["id"], "organisation": centre["id"]}
        ),
    )
    assert response.status_code == 201, response.text
    assert await Affiliation.count().where(Affiliation.contact == person["id"]) == 1


async def test_a_conflict_is_tried_again_a_few_times_then_given_up(database: str):
    attempts: list[int] = []

    async def crossing() -> int:
        attempts.append(1)
        raise asyncpg.DeadlockDetectedError("deadlock detected")

    with pytest.raises(asyncpg.DeadlockDetectedError):
        await db.retried_on_conflict(crossing)
    assert len(attempts) == db.WRITE_ATTEMPTS

    async def other_error() -> int:
        attempts.append(1)
        raise asyncpg.UniqueViolationError("duplicate key")

    attempts.clear()
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.retried_on_conflict(other_error)
    assert len(attempts) == 1


async def test_a_conflict_inside_a_callers_transaction_is_left_to_the_caller(database: str):
    """The conflict aborted the caller's transaction too: only the caller may run it again."""
    attempts: list[int] = []

    async def crossing() -> int:
        attempts.append(1)
        raise asyncpg.SerializationError("could not serialize access")

    with pytest.raises(asyncpg.SerializationError):
        async with db.write_transaction():
            await db.retried_on_conflict(crossing)
    assert len(attempts) == 1


@get("/essai/conflit", include_in_schema=False)
async def conflicting() -> None:
    raise asyncpg.DeadlockDetectedError("deadlock detected")


async def test_a_conflict_left_is_answered_503_in_french(app, admin):
    """What the service could not run again (after its last attempt, a write of several
    transactions, or one inside a caller's): 503 « réessayez », nothing written, not « Erreur interne »."""
    app.register(conflicting)
    response = await admin.client.get("/essai/conflit", headers={"Accept": "application/json"})
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert response.json() == {
        "detail": "Une autre modification des mêmes fiches était en cours : rien n'a été "
        "enregistré. Réessayez."
    }
