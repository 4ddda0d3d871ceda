"""Replays the stalls of #16 against a running server while a prober measures `/healthz`.

    python bench/stall_replay.py http://127.0.0.1:8791 TOKEN [TERRITORY_ID]

Scenario « sign-ins »: 16 concurrent sign-ins with unknown emails (argon2 on each).
Scenario « reports »: 10 concurrent `GET /api/v1/reports/annual?year=2026&format=docx`.
The prober sends `GET /healthz` every 20 ms from its own connection during each scenario and
prints the median, p99 and max of its latencies.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

import httpx


async def probe(base: str, stop: asyncio.Event, latencies: list[float]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        while not stop.is_set():
            start = time.perf_counter()
            await client.get("/healthz")
            latencies.append((time.perf_counter() - start) * 1000)
            await asyncio.sleep(0.02)


async def sign_in(base: str, n: int) -> int:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        await client.get("/connexion")
        csrf = client.cookies.get("maillage_csrf", "")
        response = await client.post(
            "/connexion",
            data={"email": f"inconnu{n}@maillage.example", "password": "x" * 12},
            headers={"x-csrftoken": csrf},
        )
        return response.status_code


async def report(base: str, token: str, territory: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=300, headers=headers) as client:
        response = await client.get(
            f"/api/v1/reports/annual?year=2026&format=docx&territory={territory}"
        )
        return response.status_code


async def scenario(name: str, base: str, jobs: list) -> None:
    stop = asyncio.Event()
    latencies: list[float] = []
    prober = asyncio.create_task(probe(base, stop, latencies))
    await asyncio.sleep(0.2)
    start = time.perf_counter()
    statuses = await asyncio.gather(*jobs)
    elapsed = time.perf_counter() - start
    stop.set()
    await prober
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"{name}: {len(jobs)} jobs in {elapsed:.1f} s, statuses {sorted(set(statuses))}; "
        f"/healthz n={len(latencies)} median {statistics.median(latencies):.0f} ms, "
        f"p99 {p99:.0f} ms, max {latencies[-1]:.0f} ms"
    )


async def main(base: str, token: str, territory: str) -> None:
    await scenario("sign-ins", base, [sign_in(base, n) for n in range(16)])
    await scenario("reports", base, [report(base, token, territory) for _ in range(10)])


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "1"))
