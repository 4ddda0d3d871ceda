"""Time to produce the full bilan annuel (data + charts + DOCX + XLSX + HTML).

Usage (from the repository root, after `make install`; the demo generator must be installed):

    .venv/bin/python bench/report.py [--engine sqlite|postgresql] [--runs 3]

For each scale (`territoire`: the demo territory; `departement`: thirty territories, the bilan
of the first one), it loads the demo data once (`maillage demo --scale … --today 2027-01-15`),
then builds the bilan of 2026 `--runs` times in this process and prints the median time of each
step: reading the rows, computing the sections (network analysis included), drawing the charts,
writing the DOCX, the XLSX and the HTML.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TODAY = dt.date(2027, 1, 15)
YEAR = 2026


def database_url(engine: str, scale: str) -> str:
    if engine == "postgresql":
        base = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
        return f"{base.rstrip('/')}/maillage_bench_report_{scale}"
    return f"sqlite:///{RESULTS / f'report-{scale}.db'}"


def load_demo(url: str, scale: str) -> None:
    marker = RESULTS / f"report-{scale}-{url.split(':')[0]}.ready"
    if marker.exists():
        return
    if url.startswith("postgresql"):
        create_postgres_database(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLAGE_")}
    env.update(MAILLAGE_DATA_DIR=str(RESULTS / "report-data"), MAILLAGE_DATABASE_URL=url)
    print(f"[{scale}] chargement de la démonstration…", flush=True)
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "maillage",
            "demo",
            "--scale",
            scale,
            "--seed",
            "7",
            "--today",
            TODAY.isoformat(),
            "--force",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    print(f"[{scale}] chargée en {time.perf_counter() - started:.0f} s", flush=True)
    marker.touch()


def create_postgres_database(url: str) -> None:
    import asyncpg

    server, name = url.rsplit("/", 1)

    async def create() -> None:
        connection = await asyncpg.connect(f"{server}/postgres")
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())


async def first_territory() -> int | None:
    from maillage.tables import Territory

    rows = await Territory.select(Territory.id).order_by(Territory.id).limit(1).run()
    return rows[0]["id"] if rows else None


async def one_run(territory: int | None) -> dict[str, float]:
    from maillage.reports import charts
    from maillage.reports.annual import assemble, check_has_data
    from maillage.reports.collect import collect
    from maillage.reports.render_docx import render_docx
    from maillage.reports.render_html import render_html
    from maillage.reports.render_xlsx import render_xlsx
    from maillage.reports.scope import resolve_scope

    steps: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        steps[name] = now - clock
        clock = now

    scope = await resolve_scope(territory)
    rows = await collect(scope, YEAR)
    check_has_data(rows, YEAR)
    lap("lecture")
    report = assemble(rows, YEAR, TODAY, with_charts=False)
    lap("sections")
    charts.attach(report.sections)
    lap("graphiques")
    docx = render_docx(report, f"bilan-{YEAR}.xlsx")
    lap("docx")
    xlsx = render_xlsx(report)
    lap("xlsx")
    html = render_html(report, f"bilan-{YEAR}.xlsx")
    lap("html")
    steps["total"] = sum(steps.values())
    steps["_sizes"] = (len(docx), len(xlsx), len(html))  # type: ignore[assignment]
    steps["_rows"] = (len(rows.meetings), len(rows.invitations), len(rows.organisations))  # type: ignore[assignment]
    return steps


async def measure(url: str, runs: int, scale: str) -> None:
    from maillage import db

    await db.connect(url)
    await db.start_pool()
    try:
        territory = await first_territory() if scale == "departement" else None
        results = [await one_run(territory) for _ in range(runs)]
    finally:
        await db.close_pool()
    meetings, invitations, organisations = results[0]["_rows"]  # type: ignore[misc]
    docx, xlsx, html = results[0]["_sizes"]  # type: ignore[misc]
    print(
        f"\n[{scale}] bilan {YEAR} : {meetings} réunions {YEAR - 1}–{YEAR}, {invitations} "
        f"invitations, {organisations} organisations lues ; DOCX {docx // 1024} Kio, "
        f"XLSX {xlsx // 1024} Kio, HTML {html // 1024} Kio"
    )
    for step in ("lecture", "sections", "graphiques", "docx", "xlsx", "html", "total"):
        values = [r[step] for r in results]
        print(
            f"  {step:<11} médiane {statistics.median(values) * 1000:8.0f} ms   "
            f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", choices=["territoire", "departement"], action="append")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for scale in args.scale or ["territoire", "departement"]:
        url = database_url(args.engine, scale)
        load_demo(url, scale)
        asyncio.run(measure(url, args.runs, scale))


if __name__ == "__main__":
    main()
