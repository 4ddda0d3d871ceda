"""How long a writer of a territory waits for another transaction of that territory (#20,
migration 2026-12-09T07:00): one connection updates an invitation of a territory, keeps its
transaction open ``--hold`` seconds, commits; meanwhile another updates another invitation of
the same territory (its own transaction). Before the counters moved on at commit, the second
waited for the first's commit (the counter row); now it does not. On databases of
``bench/national.py load`` (the bench role owns them), their rounds alternated:

    .venv/bin/python bench/data_change_waits.py bench_h20commit_before bench_h20commit_after

Leaves the data as it was (``response = response``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import asyncpg

PAIR = (
    "SELECT i.id AS first, j.id AS second FROM invitation i JOIN invitation j "
    "ON j.territory = i.territory AND j.meeting <> i.meeting LIMIT 1"
)
WRITE = "UPDATE invitation SET response = response WHERE id = $1"


async def waited(database: str, hold: float) -> float:
    """Milliseconds the second writer's update took, the first's transaction held open."""
    url = f"postgresql://maillage_bench@127.0.0.1:5432/{database}"
    holding, writing = await asyncpg.connect(url), await asyncpg.connect(url)

    async def timed(one: int) -> float:
        started = time.perf_counter()
        await writing.execute(WRITE, one)
        return (time.perf_counter() - started) * 1000

    try:
        for connection in (holding, writing):
            await connection.execute("SET maillage.territories = '*'")
        pair = await holding.fetchrow(PAIR)
        async with holding.transaction():
            await holding.execute(WRITE, pair["first"])
            second = asyncio.ensure_future(timed(pair["second"]))
            await asyncio.sleep(hold)
        return await second
    finally:
        await holding.close()
        await writing.close()


async def measure(databases: list[str], rounds: int, hold: float) -> None:
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for database in databases:
            times.setdefault(database, []).append(await waited(database, hold))
    for database in databases:
        print(f"{database:<24} second writer {statistics.median(times[database]):8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("databases", nargs="+")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hold", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(measure(args.databases, args.rounds, args.hold))


if __name__ == "__main__":
    main()
