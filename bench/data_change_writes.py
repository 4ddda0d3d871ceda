"""What the counters' triggers (#20, migration 2026-12-09T01:30) add to a write: single-row
updates of invitations, each its own transaction (the services' writes), with the triggers of
``data_change`` on the table enabled and disabled, alternated; and one statement over every
invitation (an import). On a database of ``bench/national.py load`` (the bench role owns it).

    .venv/bin/python bench/data_change_writes.py bench_h20memo_1 --rounds 5 --writes 300

Several databases (copies of one, migrated to different versions: before and after a change of
the triggers) are measured side by side, their rounds alternated:

    .venv/bin/python bench/data_change_writes.py bench_h20commit_before bench_h20commit_after

Leaves the triggers enabled, the data as it was (``response = response``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import asyncpg

TRIGGERS = ("maillage_changed_insert", "maillage_changed_update", "maillage_changed_delete")


async def measure(databases: list[str], rounds: int, writes: int) -> None:
    connections = {}
    for database in databases:
        url = f"postgresql://maillage_bench@127.0.0.1:5432/{database}"
        connections[database] = await asyncpg.connect(url)
        await connections[database].execute("SET maillage.territories = '*'")
    times: dict[tuple[str, str, bool], list[float]] = {}

    async def switch(connection: asyncpg.Connection, on: bool) -> None:
        for trigger in TRIGGERS:
            verb = "ENABLE" if on else "DISABLE"
            await connection.execute(f"ALTER TABLE invitation {verb} TRIGGER {trigger}")

    try:
        for _ in range(rounds):
            for database, connection in connections.items():
                ids = [
                    r["id"]
                    for r in await connection.fetch(f"SELECT id FROM invitation LIMIT {writes}")
                ]
                for on in (True, False):
                    await switch(connection, on)
                    started = time.perf_counter()
                    for one in ids:
                        await connection.execute(
                            "UPDATE invitation SET response = response WHERE id = $1", one
                        )
                    times.setdefault((database, "une ligne", on), []).append(
                        (time.perf_counter() - started) / len(ids) * 1000
                    )
                    started = time.perf_counter()
                    async with connection.transaction():
                        await connection.execute("UPDATE invitation SET response = response")
                    times.setdefault((database, "toutes", on), []).append(
                        (time.perf_counter() - started) * 1000
                    )
    finally:
        for connection in connections.values():
            await switch(connection, True)
            await connection.close()
    for database in databases:
        for kind in ("une ligne", "toutes"):
            on = statistics.median(times[(database, kind, True)])
            off = statistics.median(times[(database, kind, False)])
            print(
                f"{database:<24} {kind:<10} avec {on:9.2f} ms  sans {off:9.2f} ms  "
                f"rapport {on / off:5.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("databases", nargs="+")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--writes", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(measure(args.databases, args.rounds, args.writes))


if __name__ == "__main__":
    main()
