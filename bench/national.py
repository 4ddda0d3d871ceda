"""Many territories on one PostgreSQL (#20): generation, size, and list/search latency for a
coordinator, a Caf adviser and an administrator, with row-level security on and off.

    .venv/bin/python bench/national.py load --departements 1 --database bench_h20c_dep
    .venv/bin/python bench/national.py load --departements 42 --database bench_h20c_nat
    .venv/bin/python bench/national.py measure --database bench_h20c_dep --seconds 8
    .venv/bin/python bench/national.py measure --database bench_h20c_dep --only organisations,contacts

``load`` builds a fresh database owned by an ordinary role (the deployment of README « Mise en
production »), migrates it, and loads ``--departements`` times the demo's ``departement``
generator (30 territories and their shared institutions each, other seed, identifiers made
unique per département): 42 départements are the country's 1,253 territories. It prints the
time taken and the database's size.

``measure`` starts ``maillage serve`` (one worker, connected as that role) and runs ``wrk``
(its own process, 16 connections, ``--latency``) on the lists and searches of the local
tables, for three accounts: the coordinator of the first territory, the Caf's adviser on the
first ten, an administrator; then disables row-level security on the protected tables (as
the server's superuser), measures the same again, and puts it back (``maillage migrate``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_POSTGRES_SERVER", "postgresql://postgres@127.0.0.1:5432")
ROLE = "maillage_bench"
TODAY = "2026-11-29"
PASSWORD = "mot de passe de mesure"
ACCOUNTS = {
    "coordination": "bench-coordination@maillage.example",
    "caf": "bench-caf@maillage.example",
    "admin": "bench-admin@maillage.example",
}
PATHS = {
    "meetings list": "/api/v1/meetings?limit=50",
    "invitations list": "/api/v1/invitations?limit=50&offset=200",
    "groups search": "/api/v1/groups?q=commission",
    "meetings search": "/api/v1/meetings?q=copil",
    # The partners, under the policies since migration 2026-12-08T01:00 (#20).
    "organisations list": "/api/v1/organisations?limit=50",
    "organisations search": "/api/v1/organisations?q=mairie",
    "contacts list": "/api/v1/contacts?limit=50",
    "contacts search": "/api/v1/contacts?q=martin",
}


def url(database: str) -> str:
    return f"{SERVER.replace('postgres@', ROLE + '@')}/{database}"


def psql(database: str, sql: str) -> str:
    return subprocess.run(
        ["psql", f"{SERVER}/{database}", "-Atqc", sql], capture_output=True, text=True, check=True
    ).stdout.strip()


def environment(database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLAGE_")}
    env["MAILLAGE_DATA_DIR"] = str(ROOT / "bench" / "results" / f"data-{database}")
    env["MAILLAGE_DATABASE_URL"] = url(database)
    return env


def maillage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        [sys.executable, "-m", "maillage", *args],
        env=env, input=stdin, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


# ----- load -----------------------------------------------------------------------------------


async def _load(database: str, departements: int) -> None:
    os.environ["MAILLAGE_DATABASE_URL"] = url(database)
    import datetime as dt

    from maillage import db
    from maillage.crm.demo.generator import generate
    from maillage.crm.demo.loader import _first_ids, insert
    from maillage.crm.scope import place_all
    from maillage.crm.seed import ensure_axes
    from maillage.tables import Axis, Commune, Contact, Meeting, Organisation, Territory

    await db.connect(url(database))
    await db.start_pool()
    await db.migrate()
    await ensure_axes()
    axis_ids = {row["code"]: row["id"] for row in await Axis.select(Axis.id, Axis.code)}
    seen: set[str] = set()
    for number in range(departements):
        started = time.perf_counter()
        first = await _first_ids()
        dataset = generate(100 + number, dt.date.fromisoformat(TODAY), "departement", axis_ids,
                           first)  # fmt: skip
        # The generator's codes are those of one département: make them this one's.
        for row in dataset.rows.get(Commune, []):
            row["insee_code"] = f"{number:02d}{row['insee_code'][2:]}"
        for row in dataset.rows.get(Meeting, []):
            row["ical_uid"] = f"d{number}-{row['ical_uid']}"
        for row in dataset.rows.get(Territory, []):
            if row.get("siren"):
                row["siren"] = f"{number:02d}{row['siren'][2:]}"
        # Collectivities' SIRETs follow their codes: one already loaded is left out here.
        for row in dataset.rows.get(Organisation, []):
            for column in ("siret", "siren"):
                if row.get(column) in seen:
                    row[column] = None
                elif row.get(column):
                    seen.add(row[column])
        await insert(dataset)
        # As the demo does: town halls, associations and their people in their territories.
        await place_all(first[Organisation], first[Contact])
        await db.current_engine().run_ddl("ANALYZE")  # the statistics after the placing
        print(f"département {number + 1}/{departements} : {time.perf_counter() - started:.0f} s",
              flush=True)  # fmt: skip
    await db.close_pool()


def load(database: str, departements: int) -> None:
    subprocess.run(["psql", f"{SERVER}/postgres", "-qc",
                    f"DO $$ BEGIN CREATE ROLE {ROLE} LOGIN; EXCEPTION WHEN duplicate_object "
                    "THEN NULL; END $$"], check=True)  # fmt: skip
    subprocess.run(["psql", f"{SERVER}/postgres", "-qc",
                    f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'], check=True)  # fmt: skip
    subprocess.run(["psql", f"{SERVER}/postgres", "-qc",
                    f'CREATE DATABASE "{database}" OWNER {ROLE}'], check=True)  # fmt: skip
    started = time.perf_counter()
    asyncio.run(_load(database, departements))
    elapsed = time.perf_counter() - started
    counts = psql(database, "SELECT (SELECT count(*) FROM territory), (SELECT count(*) FROM "
                  "organisation), (SELECT count(*) FROM contact), (SELECT count(*) FROM meeting),"
                  " (SELECT count(*) FROM invitation), pg_size_pretty(pg_database_size("
                  "current_database()))")  # fmt: skip
    print(f"chargé en {elapsed:.0f} s ; territoires, organisations, contacts, réunions, "
          f"invitations, taille : {counts}")  # fmt: skip
    env = environment(database)
    for key, email in ACCOUNTS.items():
        role = "admin" if key == "admin" else "coordinateur"
        maillage(env, "user", "add", email, "--role", role, "--password-stdin",
                 stdin=PASSWORD + "\n")  # fmt: skip
    sirens = psql(database, "SELECT siren FROM territory ORDER BY id LIMIT 10").split()
    maillage(env, "user", "territories", ACCOUNTS["coordination"], "--add", sirens[0],
             "--role", "coordinateur")  # fmt: skip
    maillage(env, "user", "territories", ACCOUNTS["caf"], "--add", ",".join(sirens),
             "--role", "coordinateur")  # fmt: skip


# ----- measure --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "maillage", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.time() + 180  # a loaded machine starts it slowly
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("le serveur n'a pas démarré")


def wrk(port: int, token: str, path: str, seconds: int) -> dict[str, float]:
    output = subprocess.run(
        ["wrk", "-t1", "-c16", f"-d{seconds}s", "--latency", "-H",
         f"Authorization: Bearer {token}", f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    for percent in ("50", "99"):
        value, unit = re.search(rf"\s{percent}%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        figures[f"p{percent}"] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    if "Non-2xx" in output:
        raise RuntimeError(f"réponses en erreur sur {path} :\n{output}")
    return figures


def measure(database: str, seconds: int, only: list[str] | None = None) -> None:
    env = environment(database)
    tokens = {key: maillage(env, "token", "create", email) for key, email in ACCOUNTS.items()}
    from maillage.row_security import PROTECTED

    port = free_port()
    server = start_server(env, port)
    try:
        results = {}
        paths = {name: path for name, path in PATHS.items() if _chosen(name, only)}
        for security in ("on", "off"):
            if security == "off":
                for table in PROTECTED:
                    psql(database, f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
            for who, token in tokens.items():
                for name, path in paths.items():
                    wrk(port, token, path, 2)  # warm-up
                    results[(who, name, security)] = figures = wrk(port, token, path, seconds)
                    print(f"{security:3} {who:12} {name:18} p50 {figures['p50']:7.2f} ms  "
                          f"p99 {figures['p99']:7.2f} ms  {figures['rps']:7.1f} req/s",
                          flush=True)  # fmt: skip
    finally:
        server.terminate()
        server.wait()
        maillage(env, "migrate")  # row-level security back on
    print("\n| compte | requête | p50 on | p50 off | p99 on | p99 off | on / off (p50) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for who in tokens:
        for name in paths:
            on, off = results[(who, name, "on")], results[(who, name, "off")]
            print(f"| {who} | {name} | {on['p50']:.2f} | {off['p50']:.2f} | {on['p99']:.2f} | "
                  f"{off['p99']:.2f} | {on['p50'] / off['p50']:.2f} |")  # fmt: skip


# ----- the same lists in SQL, RLS on (the application's role) against off (a superuser) -------

GROUPS = "SELECT id FROM working_group WHERE territory IS NULL OR territory = ANY($1::int[])"
SQL = {
    "meetings list": (
        "SELECT * FROM meeting {where} ORDER BY id LIMIT 50",
        f"WHERE working_group IN ({GROUPS})",
    ),
    "meetings count": (
        "SELECT count(*) FROM meeting {where}",
        f"WHERE working_group IN ({GROUPS})",
    ),
    "invitations list": (
        "SELECT * FROM invitation {where} ORDER BY id LIMIT 50 OFFSET 200",
        f"WHERE meeting IN (SELECT id FROM meeting WHERE working_group IN ({GROUPS}))",
    ),
    "invitations count": (
        "SELECT count(*) FROM invitation {where}",
        f"WHERE meeting IN (SELECT id FROM meeting WHERE working_group IN ({GROUPS}))",
    ),
    # The partners' lists as the service writes them: not archived, French order of names.
    "organisations list": (
        'SELECT * FROM organisation WHERE NOT archived {where} ORDER BY name COLLATE "fr-FR-x-icu",'
        " id LIMIT 50",
        "AND (territory IS NULL OR territory = ANY($1::int[]))",
    ),
    "organisations count": (
        "SELECT count(*) FROM organisation WHERE NOT archived {where}",
        "AND (territory IS NULL OR territory = ANY($1::int[]))",
    ),
    "contacts list": (
        'SELECT * FROM contact WHERE NOT archived {where} ORDER BY last_name COLLATE "fr-FR-x-icu",'
        " id LIMIT 50",
        "AND (territory IS NULL OR territory = ANY($1::int[]))",
    ),
    "contacts count": (
        "SELECT count(*) FROM contact WHERE NOT archived {where}",
        "AND (territory IS NULL OR territory = ANY($1::int[]))",
    ),
}


def _chosen(name: str, only: list[str] | None) -> bool:
    """``--only organisations,contacts``: the requests whose name holds one of the words."""
    return only is None or any(word in name for word in only)


async def _sql(database: str, rounds: int, only: list[str] | None = None) -> None:
    import statistics

    import asyncpg

    ids = [int(i) for i in psql(database, "SELECT id FROM territory ORDER BY id LIMIT 10").split()]
    accounts = {"coordination": ids[:1], "caf": ids[:10], "admin": None}
    subject = await asyncpg.connect(url(database))
    bypass = await asyncpg.connect(f"{SERVER}/{database}")
    print("| compte | requête | RLS on (ms) | off (ms) | on / off | pages on | pages off |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    try:
        for who, territories in accounts.items():
            setting = "*" if territories is None else "{" + ",".join(map(str, territories)) + "}"
            await subject.execute(f"SELECT set_config('maillage.territories', '{setting}', false)")
            for name, (query, where) in SQL.items():
                if not _chosen(name, only):
                    continue
                sql = query.format(where="" if territories is None else where)
                args = [] if territories is None else [territories]
                timings: dict[str, list[float]] = {"on": [], "off": []}
                for _ in range(rounds):
                    for side, connection in (("on", subject), ("off", bypass)):
                        started = time.perf_counter()
                        await connection.fetch(sql, *args)
                        timings[side].append((time.perf_counter() - started) * 1000)
                on, off = (statistics.median(timings[side][1:]) for side in ("on", "off"))
                # Pages read: the same on a quiet and a loaded machine, unlike the times.
                pages = [await _pages(connection, sql, args) for connection in (subject, bypass)]
                print(f"| {who} | {name} | {on:.2f} | {off:.2f} | {on / off:.2f} | "
                      f"{pages[0]} | {pages[1]} |", flush=True)  # fmt: skip
    finally:
        await subject.close()
        await bypass.close()


async def _pages(connection: Any, sql: str, args: list) -> int:
    """The buffers (8 kB pages) the query reads, hit or not, per EXPLAIN (ANALYZE, BUFFERS)."""
    import json

    plan = await connection.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *args)
    top = json.loads(plan)[0]["Plan"]
    return int(top["Shared Hit Blocks"] + top["Shared Read Blocks"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["load", "measure", "sql"])
    parser.add_argument("--database", required=True)
    parser.add_argument("--departements", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--only", help="mots des requêtes à mesurer, séparés par des virgules")
    arguments = parser.parse_args()
    only = arguments.only.split(",") if arguments.only else None
    if arguments.action == "load":
        load(arguments.database, arguments.departements)
    elif arguments.action == "sql":
        asyncio.run(_sql(arguments.database, arguments.rounds, only))
    else:
        measure(arguments.database, arguments.seconds, only)


if __name__ == "__main__":
    main()
