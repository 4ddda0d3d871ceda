"""Per-user caps on the heavy routes (#16): a third bilan asked at once by the same person is
answered 429 in French with Retry-After; other people are not held back; slots are given back."""

from __future__ import annotations

import asyncio
import datetime as dt

from maillage.web import heavy
from tests.web.helpers import create, small_network


async def _territory(admin) -> None:
    await create(admin.client, "territories", {"name": "CC du Val"})
    await small_network(admin.client)


def _bilan(client, year: int, fmt: str = "docx"):
    return client.get("/api/v1/reports/annual", params={"year": year, "format": fmt})


async def test_a_third_heavy_request_at_once_is_refused_in_french(admin, reader):
    await _territory(admin)
    year = dt.date.today().year
    answers = await asyncio.gather(*(_bilan(reader.client, year) for _ in range(4)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 200, 429, 429], statuses
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["retry-after"] == str(heavy.RETRY_AFTER_SECONDS)
    assert refused.json()["detail"].startswith("Vous avez déjà 2 calculs en cours")
    assert "réessayez dans 5 secondes" in refused.json()["detail"]
    # Slots are given back: the next one goes through.
    assert (await _bilan(reader.client, year)).status_code == 200


async def test_another_person_is_not_held_back(admin, reader, coordinator):
    await _territory(admin)
    year = dt.date.today().year
    answers = await asyncio.gather(
        _bilan(reader.client, year),
        _bilan(reader.client, year, "xlsx"),
        _bilan(coordinator.client, year, "json"),
    )
    assert [a.status_code for a in answers] == [200, 200, 200]


async def test_a_refused_or_failed_request_gives_its_slot_back(admin, reader):
    await _territory(admin)
    for _ in range(3):
        assert (await _bilan(reader.client, 2001)).status_code == 400
    assert (await _bilan(reader.client, dt.date.today().year)).status_code == 200
    assert heavy.running(f"user:{1}") == 0


async def test_the_network_and_the_exports_are_capped_too(admin, coordinator):
    await _territory(admin)
    answers = await asyncio.gather(
        *(coordinator.client.get("/api/v1/network/report") for _ in range(3)),
        coordinator.client.get("/api/v1/exports/contacts.csv"),
    )
    assert sorted(a.status_code for a in answers).count(429) >= 1
    assert all(a.status_code in (200, 429) for a in answers)


async def test_a_plain_request_makes_no_round_trip_to_a_thread(anonymous, monkeypatch):
    """Litestar runs a plain function given as a hook or a rate limiter's check on a thread:
    four round trips on every request, each waiting for a core on a busy host (#16)."""
    loop = asyncio.get_running_loop()
    hops: list[object] = []
    original = loop.run_in_executor

    def counted(executor, function, *args):  # type: ignore[no-untyped-def]
        hops.append(function)
        return original(executor, function, *args)

    monkeypatch.setattr(loop, "run_in_executor", counted)
    assert (await anonymous.get("/connexion")).status_code == 200
    assert hops == []
