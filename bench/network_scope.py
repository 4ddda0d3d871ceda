"""The network's reader for one territory, ten, and all of them (#20), best of ``--runs``.

    MAILLAGE_DATABASE_URL=sqlite:///tmp/dep.db .venv/bin/python bench/network_scope.py
    MAILLAGE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/DB .venv/bin/python \
        bench/network_scope.py --runs 3

Times `load_network_data` (the read and the rows turned into the analysis's records) on the
database given, already holding the demo (``maillage demo --scale departement --seed 7``): every
territory, the first one, the first ten (by id), interleaved. Prints, for each, the best and
median times, the rows read and a digest of the answer, so that two versions of the reader run
on the same data (the old one with ``PYTHONPATH=<its tree>``) can be compared: the digests
must be equal.

On PostgreSQL, ``--server-rows`` also reads, once per case, the rows the server scanned or
fetched for the load (``pg_stat_database``: ``tup_returned + tup_fetched``, over a pause so
that the backends' statistics are flushed): the server's work, which the load of a shared
machine does not blur as it blurs the times.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import os
import statistics
import time

TODAY = dt.date(2026, 11, 29)


def digest(data: object) -> tuple[int, str]:
    parts = []
    rows = 0
    for name in (
        "axes", "communes", "organisations", "contacts", "affiliations", "groups",
        "memberships", "meetings", "invitations", "partnerships", "interactions",
    ):  # fmt: skip
        items = sorted(repr(item) for item in getattr(data, name))
        rows += len(items)
        parts.append(name + ":" + "\n".join(items))
    return rows, hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


async def main(runs: int, server_rows: bool) -> None:
    from maillage import db
    from maillage.graph.network import load_network_data
    from maillage.tables import Territory

    await db.connect(os.environ["MAILLAGE_DATABASE_URL"])
    await db.start_pool()
    ids = [row["id"] for row in await Territory.select(Territory.id).order_by(Territory.id)]
    cases: dict[str, list[int] | None] = {"all": None, "one": ids[:1], "ten": ids[:10]}
    times: dict[str, list[float]] = {name: [] for name in cases}
    answers = {}
    for _ in range(runs):
        for name, chosen in cases.items():
            started = time.perf_counter()
            data = await load_network_data(TODAY, chosen)
            times[name].append((time.perf_counter() - started) * 1000)
            answers[name] = digest(data)
    scanned = await _server_rows(cases, TODAY) if server_rows else {}
    await db.close_pool()
    for name in cases:
        rows, answer = answers[name]
        print(
            f"{name:>4}: best {min(times[name]):7.0f} ms, median "
            f"{statistics.median(times[name]):7.0f} ms, {rows:,} rows, answer {answer}"
            + (f", server rows {scanned[name]:,}" if name in scanned else "")
        )


async def _server_rows(cases: dict[str, list[int] | None], today: dt.date) -> dict[str, int]:
    import asyncpg

    from maillage.graph.network import load_network_data

    url = os.environ["MAILLAGE_DATABASE_URL"]
    watcher = await asyncpg.connect(url)
    query = (
        "SELECT tup_returned + tup_fetched FROM pg_stat_database WHERE datname = current_database()"
    )
    found = {}
    for name, chosen in cases.items():
        await asyncio.sleep(2)
        before = await watcher.fetchval(query)
        await load_network_data(today, chosen)
        await asyncio.sleep(2)
        await watcher.execute("SELECT pg_stat_clear_snapshot()")
        found[name] = await watcher.fetchval(query) - before
    await watcher.close()
    return found


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--server-rows", action="store_true")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.runs, arguments.server_rows))
