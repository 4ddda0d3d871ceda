"""Which statements of a persona's heavy pages grow with the country (#20).

    .venv/bin/python bench/page_sql.py --database bench_nat --baseline bench_dep [--only dashboard]

For the coordinator of the first territory, the Caf adviser of the first ten (the accounts
of `bench/national.py`) and the administrator (unscoped, its reads as the ``_sees_all`` role
that bypasses the policies, as in production: README « Mise en production »), runs in this process, on each database in turn, what the dashboard,
the network of one territory (and the Caf's ten) and the annual report of one territory read:
the services' functions themselves (``crm.dashboard.dashboard`` and ``decisions.late``,
``graph.network.load_network_data``, ``reports.scope.resolve_scope`` + ``reports.collect``), not
the memoised wrappers, so the data version (`crm.versions`, replaced elsewhere) is left out;
and ``lists``: the list and search requests of `bench/national.py` (``QUERIES``) through the
generic services.

Every statement the driver receives is caught (SQL and arguments), then run again under
``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` on the application's role with the persona's
``maillage.territories`` (the policies on, as in production). Printed per job: the statements
side by side (database's ms and buffers against the baseline's), those whose buffers grow the
most first, and the job's wall time on each side (median of ``--rounds``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from national import ACCOUNTS, QUERIES, ROLE, YEAR, psql, url  # noqa: E402

TODAY = dt.date(2026, 11, 29)
NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


def personas(database: str) -> dict[str, list[int] | None]:
    ids = [int(i) for i in psql(database, "SELECT id FROM territory ORDER BY id LIMIT 10").split()]
    return {"coordination": ids[:1], "caf": ids, "admin": None}


async def _dashboard(territories: list[int]) -> Any:
    from maillage.crm import decisions
    from maillage.crm.dashboard import dashboard

    data = await dashboard(NOW, TODAY)
    return data, await decisions.late(TODAY)


async def _network(territories: list[int]) -> Any:
    from maillage.graph.network import load_network_data

    return await load_network_data(TODAY, territories)


async def _network_one(territories: list[int]) -> Any:
    return await _network(territories[:1])


async def _bilan(territories: list[int]) -> Any:
    from maillage.reports.collect import collect
    from maillage.reports.scope import resolve_scope

    scope = await resolve_scope(territories[0])
    return await collect(scope, YEAR)


async def _lists(territories: list[int] | None) -> Any:
    from maillage.crm import registry
    from maillage.crm.resources import ListQuery

    return [
        await registry.SERVICES[resource].page(ListQuery(**options))
        for resource, options in QUERIES.values()
    ]


JOBS = {
    "dashboard": _dashboard,
    "lists": _lists,
    "network 1": _network_one,
    "network all": _network,
    "bilan 1": _bilan,
}


def _shape(sql: str) -> str:
    """The statement without its numbers of parameters (lists of ids differ in length)."""
    sql = re.sub(r"\$\d+(\s*,\s*\$\d+)*", "$n", sql)
    return re.sub(r"\s+", " ", sql).strip()


def _walk(plan: dict[str, Any], found: list[str]) -> None:
    """The scans of a plan: node, relation, index, rows removed by filter."""
    kind = plan["Node Type"]
    if "Scan" in kind:
        name = plan.get("Relation Name", "")
        index = plan.get("Index Name", "")
        rows = plan.get("Actual Rows", 0) * plan.get("Actual Loops", 1)
        removed = plan.get("Rows Removed by Filter", 0) * plan.get("Actual Loops", 1)
        found.append(f"{kind} {name} {index} rows={rows:.0f} removed={removed:.0f}".strip())
    for child in plan.get("Plans", []):
        _walk(child, found)


async def run(
    database: str, territories: list[int] | None, job: str, rounds: int
) -> dict[str, Any]:
    """The job's statements, their plans' figures, and its wall time."""
    import asyncpg
    from asyncpg.connection import Connection

    from maillage import db
    from maillage.crm import scope as territory_scope

    caught: list[tuple[str, tuple[Any, ...]]] = []
    originals = {name: getattr(Connection, name) for name in ("fetch", "fetchrow", "execute")}

    def catching(name: str) -> Any:
        original = originals[name]

        async def method(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            caught.append((query, args))
            return await original(self, query, *args, **kwargs)

        return method

    os.environ["MAILLAGE_DATABASE_URL"] = url(database)
    await db.connect(url(database))
    await db.start_pool()
    scope = None
    if territories is not None:
        scope = territory_scope.Scope({t: "coordinateur" for t in territories})
    walls = []
    try:
        with territory_scope.entered(scope):
            await JOBS[job](territories)  # warm-up: caches, plans
            for _ in range(rounds):
                started = time.perf_counter()
                await JOBS[job](territories)
                walls.append((time.perf_counter() - started) * 1000)
            for name in originals:
                setattr(Connection, name, catching(name))
            try:
                await JOBS[job](territories)
            finally:
                for name, original in originals.items():
                    setattr(Connection, name, original)
    finally:
        await db.close_pool()
    subject = await asyncpg.connect(url(database))
    if territories is None:  # the administrator's reads: without the policies (db.py)
        await subject.execute(f'SET ROLE "{ROLE}_sees_all"')
    else:
        setting = "{" + ",".join(map(str, territories)) + "}"
        await subject.execute(f"SELECT set_config('maillage.territories', '{setting}', false)")
    statements = []
    seen: Counter[str] = Counter()
    try:
        for sql, args in caught:
            head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
            if head not in ("SELECT", "WITH") or "set_config(" in sql:
                continue
            if ";" in sql.strip().rstrip(";"):
                print("skipped:", sql[:200])
                continue
            shape = _shape(sql)
            seen[shape] += 1
            plan = json.loads(
                await subject.fetchval(
                    f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql.strip().rstrip(';')}", *args
                )
            )[0]
            top = plan["Plan"]
            scans: list[str] = []
            _walk(top, scans)
            statements.append(
                {
                    "key": (shape, seen[shape]),
                    "sql": sql,
                    "ms": plan["Execution Time"] + plan["Planning Time"],
                    "buffers": top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0),
                    "rows": top.get("Actual Rows", 0),
                    "scans": scans,
                }
            )
    finally:
        await subject.close()
    return {"statements": statements, "wall": statistics.median(walls)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--baseline", required=True)
    parser.add_argument("--only", default="", help="« who job » holding one of these words")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--full", action="store_true", help="print every statement whole")
    arguments = parser.parse_args()
    sides = {"dep": arguments.baseline, "nat": arguments.database}
    accounts = {side: personas(database) for side, database in sides.items()}
    for who in ACCOUNTS:
        for job in JOBS:
            if job == "network all" and who != "caf":
                continue
            if who == "admin" and job not in ("dashboard", "lists"):
                continue
            if arguments.only and not any(w in f"{who} {job}" for w in arguments.only.split(",")):
                continue
            found = {
                side: asyncio.run(run(database, accounts[side][who], job, arguments.rounds))
                for side, database in sides.items()
            }
            dep = {s["key"]: s for s in found["dep"]["statements"]}
            nat = found["nat"]["statements"]
            total = {side: sum(s["ms"] for s in found[side]["statements"]) for side in sides}
            buffers = {side: sum(s["buffers"] for s in found[side]["statements"]) for side in sides}
            print(
                f"\n=== {who} {job}: wall {found['dep']['wall']:.0f} → {found['nat']['wall']:.0f}"
                f" ms ({found['nat']['wall'] / found['dep']['wall']:.2f}); statements "
                f"{len(found['dep']['statements'])} → {len(nat)}, plans {total['dep']:.0f} → "
                f"{total['nat']:.0f} ms, buffers {buffers['dep']} → {buffers['nat']}",
                flush=True,
            )
            ranked = sorted(
                nat,
                key=lambda s: s["buffers"] - dep.get(s["key"], {"buffers": 0})["buffers"],
                reverse=True,
            )
            for statement in ranked[: arguments.top]:
                base = dep.get(statement["key"], {"ms": float("nan"), "buffers": 0, "rows": 0})
                sql = statement["sql"] if arguments.full else _shape(statement["sql"])[:220]
                print(
                    f"-- {base['ms']:.1f} → {statement['ms']:.1f} ms, buffers {base['buffers']} → "
                    f"{statement['buffers']}, rows {base['rows']} → {statement['rows']}\n   {sql}"
                )
                for scan in statement["scans"]:
                    print(f"     {scan}")


if __name__ == "__main__":
    main()
