"""Time the demo load: generation (pure Python) and insertion, at either scale, on either engine.

    PYTHONPATH=. python bench/demo_load.py --url sqlite:////tmp/bench.db --scale departement
    PYTHONPATH=. python bench/demo_load.py --url postgresql://postgres@127.0.0.1:5432/bench

The database is emptied first (never point it at real data).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import time

from maillage import db
from maillage.crm.demo import clear_database, generate, load_demo
from maillage.crm.seed import ensure_axes

TODAY = dt.date(2026, 11, 29)


async def once(scale: str) -> tuple[float, float, str]:
    await clear_database()
    await ensure_axes()
    started = time.perf_counter()
    generate(1, TODAY, scale)
    generated = time.perf_counter() - started
    await clear_database()
    await ensure_axes()
    started = time.perf_counter()
    summary = await load_demo(seed=1, today=TODAY, scale=scale)
    return generated, time.perf_counter() - started, summary


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--scale", default="departement", choices=("territoire", "departement"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    await db.connect(args.url)
    await db.start_pool()
    await db.migrate()
    runs = [await once(args.scale) for _ in range(args.repeat)]
    await db.close_pool()
    generation = statistics.median(r[0] for r in runs)
    total = statistics.median(r[1] for r in runs)
    engine = "PostgreSQL" if args.url.startswith("postgres") else "SQLite"
    print(f"{engine}, {args.scale}: {runs[-1][2]}")
    print(f"  generation {generation:.1f} s, full load (generation + insertion) {total:.1f} s")
    print(f"  (median of {args.repeat}: {', '.join(f'{r[1]:.1f}' for r in runs)})")


if __name__ == "__main__":
    asyncio.run(main())
