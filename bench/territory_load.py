"""Load a territory from the public registers (#18): one EPCI, a département, the country.

    PYTHONPATH=. python bench/territory_load.py epci --url sqlite:////tmp/bench-terr.db
    PYTHONPATH=. python bench/territory_load.py departement 73 --url postgresql://postgres@127.0.0.1:5432/bench
    PYTHONPATH=. python bench/territory_load.py country --url postgresql://… [--departements 01,73,976]

Each run starts from an empty database (never point it at real data) and prints the wall time
and the peak memory of the process (``ru_maxrss``) after each step; each step runs in its own
process when measured for the README, so that the peaks do not mix. ``epci``: the first load
(registers read from the package, no cache) and a refresh with nothing changed (the snapshot
kept in the data dir, as the command does). ``country`` loads the départements given (all of
them by default) one after the other and prints the time and peak after each, to extrapolate.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path

from maillage import db
from maillage.actor import REGISTERS
from maillage.crm.demo import clear_database
from maillage.crm.seed import ensure_axes
from maillage.opendata import registers
from maillage.opendata.load import load_departement, load_territory
from maillage.tables import Affiliation, Commune, Contact, Organisation

SECRET = "banc d'essai : clé de l'instance"
EPCI = "247300015"  # CC des Vallées d'Aigueblanche: 3 communes, 38 élus


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    """CPU time of the process, every thread (less noisy than wall time on a shared machine)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def counts() -> str:
    numbers = [await table.count().run() for table in (Commune, Organisation, Contact, Affiliation)]
    return "{} communes, {} organisations, {} contacts, {} mandats".format(*numbers)


async def bench_epci(siren: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        for label in ("first load", "refresh, nothing changed", "refresh again"):
            started, cpu = time.perf_counter(), cpu_s()
            report = await load_territory(
                REGISTERS, siren, dry_run=False, data_dir=data_dir, secret=SECRET
            )
            wall, cpu = time.perf_counter() - started, cpu_s() - cpu
            print(
                f"{label}: {wall:.2f} s wall, {cpu:.2f} s CPU, peak {peak_mb():.0f} MB — "
                f"{report.summary()}"
            )
    print(await counts())


async def bench_departements(codes: list[str]) -> None:
    started = time.perf_counter()
    seen: set[str] = set()
    for code in codes:
        step = time.perf_counter()
        async for report in load_departement(REGISTERS, code, SECRET, dry_run=False, skip=seen):
            seen.add(report.siren)
        print(
            f"département {code}: {time.perf_counter() - step:.1f} s; total "
            f"{time.perf_counter() - started:.1f} s, {len(seen)} EPCI, peak {peak_mb():.0f} MB",
            flush=True,
        )
    print(await counts())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("epci", "departement", "country"))
    parser.add_argument("code", nargs="?", default=None, help="SIREN (epci) or département")
    parser.add_argument("--url", required=True)
    parser.add_argument("--departements", default=None, help="country: these, comma-separated")
    args = parser.parse_args()
    await db.connect(args.url)
    await db.start_pool()
    await db.migrate()
    await clear_database()
    await ensure_axes()
    try:
        if args.what == "epci":
            await bench_epci(args.code or EPCI)
        elif args.what == "departement":
            await bench_departements([args.code or "73"])
        else:
            codes = (
                args.departements.split(",") if args.departements else registers.departement_codes()
            )
            await bench_departements(codes)
    finally:
        await db.close_pool()


if __name__ == "__main__":
    asyncio.run(main())
