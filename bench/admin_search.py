"""The administrator's list and search requests with and without the trigram indexes (#20).

    .venv/bin/python bench/admin_search.py --databases bench_h20admin_1,bench_h20admin_10 --rounds 5

For each database (loaded by ``bench/national.py load``, migrated: the ``pg_trgm`` indexes
built), the statements of `national.QUERIES` as the service writes them for an unscoped user
(`national.statements`, the code ``PYTHONPATH`` points to), then, in rounds alternating the two
sides, each under ``EXPLAIN (ANALYZE, BUFFERS)`` on the application's role in its ``_sees_all``
role (an administrator's reads in production): « with » the indexes, and « without », the
trigram indexes dropped inside the transaction and rolled back after (PostgreSQL's DDL is
transactional: nothing else sees it). Medians of the server's time, rows read and buffers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from national import ROLE, statements, url


def _figures(plan: list[dict[str, Any]]) -> tuple[float, int, int]:
    """Execution ms, rows read by the scans (kept and dropped, every loop), buffers."""
    root = plan[0]["Plan"]
    read = 0

    def walk(node: dict[str, Any]) -> None:
        nonlocal read
        if "Scan" in node["Node Type"] and node["Node Type"] != "Bitmap Index Scan":
            loops = node.get("Actual Loops", 1)
            read += (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
                     + node.get("Rows Removed by Index Recheck", 0)) * loops  # fmt: skip
        for child in node.get("Plans", []):
            walk(child)

    walk(root)
    buffers = root.get("Shared Hit Blocks", 0) + root.get("Shared Read Blocks", 0)
    return plan[0]["Execution Time"], int(read), int(buffers)


async def measure(
    database: str, rounds: int
) -> dict[tuple[str, str], list[tuple[float, int, int]]]:
    import asyncpg

    found = await statements(database, None)
    connection = await asyncpg.connect(url(database))
    indexes = [
        row[0]
        for row in await connection.fetch(
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%search_trgm'"
        )
    ]
    if not indexes:
        raise SystemExit(f"{database} : aucun index trigramme (maillage migrate ?)")
    results: dict[tuple[str, str], list[tuple[float, int, int]]] = {}
    try:
        for number in range(rounds):
            for side in ("without", "with") if number % 2 else ("with", "without"):
                for name, (sql, args) in found.items():
                    transaction = connection.transaction()
                    await transaction.start()
                    try:
                        if side == "without":
                            for index in indexes:
                                await connection.execute(f'DROP INDEX "{index}"')
                        await connection.execute(f'SET LOCAL ROLE "{ROLE}_sees_all"')
                        plan = json.loads(await connection.fetchval(
                            f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *args))  # fmt: skip
                    finally:
                        await transaction.rollback()
                    results.setdefault((name, side), []).append(_figures(plan))
    finally:
        await connection.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", required=True, help="the baseline first, comma-separated")
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    names = arguments.databases.split(",")
    found = {name: asyncio.run(measure(name, arguments.rounds)) for name in names}
    head = " | ".join(f"{n} without | {n} with" for n in names)
    print(f"| requête | {head} | ratio {names[-1]}/{names[0]} without → with |")
    print("|" + " --- |" * (2 * len(names) + 2))
    requests = list(dict.fromkeys(key[0] for key in found[names[0]]))
    for request in requests:
        cells = []
        medians = {}
        for name in names:
            for side in ("without", "with"):
                runs = found[name][request, side]
                ms = statistics.median(r[0] for r in runs)
                medians[name, side] = ms
                cells.append(f"{ms:.1f} ms, {runs[0][1]:,} rows, {runs[0][2]:,} buf")
        ratio = " → ".join(
            f"{medians[names[-1], side] / medians[names[0], side]:.1f}"
            for side in ("without", "with")
        )
        print(f"| {request} | " + " | ".join(cells) + f" | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
