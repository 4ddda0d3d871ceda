"""Benchmark of data exchange: 100,000 contacts exported to CSV and XLSX against a plain
``sqlite3`` dump of the same columns, and the import of a 10,000-line CSV (dry run, commit).

    PYTHONPATH=. python bench/exchange.py [--contacts 100000] [--lines 10000]
        [--before DIR] [--repeat N]

Each measure runs in its own process, so that its peak memory (``VmHWM``) is its own.
Data generation is not measured: rows are bulk-inserted with ``sqlite3``.

``--before DIR`` also measures the ``maillage`` package found in DIR (an older checkout, e.g.
``git worktree add /tmp/before <commit>``), each of its measures next to the current one, so
that both see the same machine load. ``--repeat N`` keeps the best of N runs of each measure.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIRST = ["Hélène", "Marc", "Zoé", "Paul", "Léa", "Karim", "Inès", "Jean", "Chloé", "Yann"]
LAST = ["Lefèvre", "Martin", "Durand", "Bernard", "Le Goff", "Nguyen", "Moreau", "Garnier"]
FUNCTIONS = ["Directrice", "Animateur", "Adjointe au maire", "Conseillère", "Coordinateur"]


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _connect(db_path: Path) -> None:
    from maillage import db

    await db.connect(f"sqlite:///{db_path}")
    await db.migrate()


def generate(db_path: Path, contacts: int) -> None:
    from maillage.crm.seed import ensure_axes

    async def schema() -> None:
        await _connect(db_path)
        await ensure_axes()

    asyncio.run(schema())
    rng = random.Random(7)
    con = sqlite3.connect(db_path)
    now = "2026-01-01T00:00:00+00:00"
    con.executemany(
        "INSERT INTO commune (id, insee_code, name, population, search, version, created_at, updated_at) VALUES (?,?,?,?,?,1,?,?)",
        [
            (i, f"35{i:03d}", f"Commune {i}", 1000 + i, f"commune {i}", now, now)
            for i in range(1, 41)
        ],
    )
    organisations = max(1, contacts // 20)
    con.executemany(
        "INSERT INTO organisation (id, name, kind, category, address, notes, archived, search, version, created_at, updated_at, commune) VALUES (?,?,?,'','','',0,?,1,?,?,?)",
        [
            (i, f"Structure {i}", "association", f"structure {i}", now, now, rng.randint(1, 40))
            for i in range(1, organisations + 1)
        ],
    )
    rows = []
    for i in range(1, contacts + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append(
            (
                i,
                "Mme" if i % 2 else "M.",
                first,
                f"{last} {i}",
                f"p{i}@exemple.fr",
                f"+332991{i % 100000:05d}",
                rng.randint(1, 40),
                f"{first} {last} {i}".lower(),
                now,
                now,
            )
        )
    con.executemany(
        "INSERT INTO contact (id, civility, first_name, last_name, email, phone, commune, notes, legal_basis, mailing_opt_out, archived, search, version, created_at, updated_at) VALUES (?,?,?,?,?,?,?,'','mission_interet_public',0,0,?,1,?,?)",
        rows,
    )
    con.executemany(
        "INSERT INTO affiliation (contact, organisation, function, elected_mandate, is_primary, version, created_at, updated_at) VALUES (?,?,?,0,1,1,?,?)",
        [
            (i, rng.randint(1, organisations), rng.choice(FUNCTIONS), now, now)
            for i in range(1, contacts + 1)
        ],
    )
    con.executemany(
        "INSERT INTO contact_axis (contact, axis) VALUES (?,?)",
        [(i, 1 + i % 8) for i in range(1, contacts + 1)],
    )
    con.commit()
    con.close()


BASELINE_SQL = """
SELECT c.id, c.civility, c.last_name, c.first_name, c.email, c.phone, m.name, m.insee_code,
       o.name, o.kind, o.siret, a.function, a.elected_mandate,
       (SELECT group_concat(x.name, ', ') FROM contact_axis ca JOIN axis x ON x.id = ca.axis WHERE ca.contact = c.id),
       c.legal_basis, c.consent_date, c.mailing_opt_out
FROM contact c
LEFT JOIN commune m ON m.id = c.commune
LEFT JOIN affiliation a ON a.contact = c.id AND a.is_primary
LEFT JOIN organisation o ON o.id = a.organisation
WHERE c.archived = 0 ORDER BY c.id
"""


def step_sqlite3(db_path: Path, out: Path) -> dict:
    started = time.perf_counter()
    con = sqlite3.connect(db_path)
    with out.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file, delimiter=";", lineterminator="\r\n")
        cursor = con.execute(BASELINE_SQL)
        while rows := cursor.fetchmany(2000):
            writer.writerows(rows)
    return {"seconds": time.perf_counter() - started}


def step_export(db_path: Path, out: Path, fmt: str) -> dict:
    from maillage.actor import CLI
    from maillage.exchange.exports import start_export
    from maillage.exchange.sources import ExportFilters

    async def body() -> dict:
        await _connect(db_path)
        started = time.perf_counter()
        export = start_export(CLI, "contacts", fmt, ExportFilters(), None, "http://bench")
        with out.open("wb") as file:
            async for chunk in export.chunks:
                file.write(chunk)
        return {"seconds": time.perf_counter() - started, "rows": export.rows}

    return asyncio.run(body())


def write_import_file(path: Path, lines: int) -> None:
    rng = random.Random(11)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        ["Civilité", "Nom", "Prénom", "Courriel", "Tél.", "Raison sociale", "Fonction", "Commune"]
    )
    for i in range(lines):
        writer.writerow(
            [
                "Mme",
                f"{rng.choice(LAST)} {i}",
                rng.choice(FIRST),
                f"i{i}@exemple.fr",
                f"02 99 {i % 100:02d} {i // 100 % 100:02d} 12",
                f"Association {i % 500}",
                rng.choice(FUNCTIONS),
                f"Commune {1 + i % 40}",
            ]
        )
    path.write_bytes(buffer.getvalue().encode("cp1252"))


def step_import(db_path: Path, source: Path) -> dict:
    from maillage.actor import IMPORT
    from maillage.exchange.imports import run_import

    async def body() -> dict:
        await _connect(db_path)
        data = source.read_bytes()
        started = time.perf_counter()
        dry = await run_import(IMPORT, data, source.name)
        dry_seconds = time.perf_counter() - started
        started = time.perf_counter()
        done = await run_import(IMPORT, data, source.name, commit=True)
        commit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        await run_import(IMPORT, data, source.name, commit=True)
        again_seconds = time.perf_counter() - started
        return {
            "dry_run_seconds": dry_seconds,
            "commit_seconds": commit_seconds,
            "reimport_seconds": again_seconds,
            "rejected": dry.count("rejet"),
            "created_lines": done.count("creation"),
        }

    return asyncio.run(body())


def child(args: argparse.Namespace) -> None:
    db_path, out = Path(args.db), Path(args.out)
    if args.step == "sqlite3":
        result = step_sqlite3(db_path, out)
    elif args.step in ("csv", "xlsx"):
        result = step_export(db_path, out, args.step)
    else:
        result = step_import(db_path, out)
    result["peak_mb"] = peak_mb()
    result["bytes"] = out.stat().st_size if out.exists() else 0
    print(json.dumps(result))


def measure(step: str, db_path: Path, out: Path, package: str | None = None) -> dict:
    """One measure in a child process; ``package``: the directory ``maillage`` is taken from."""
    command = [sys.executable, __file__, "--step", step, "--db", str(db_path), "--out", str(out)]
    env = dict(os.environ)
    if package:
        env["PYTHONPATH"] = package
    completed = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def best(results: list[dict], key: str) -> dict:
    return min(results, key=lambda r: r[key])


def print_export(name: str, result: dict, baseline: dict) -> None:
    ratio = result["seconds"] / baseline["seconds"]
    print(
        f"{name:14s} {result['seconds']:6.2f} s ({ratio:4.1f}×)  pic mémoire "
        f"{result['peak_mb']:4.0f} Mo  {result['bytes'] / 1e6:5.1f} Mo écrits"
    )


def print_import(name: str, lines: int, result: dict) -> None:
    print(
        f"{name:14s} import {lines} lignes : simulation {result['dry_run_seconds']:.2f} s, "
        f"enregistrement {result['commit_seconds']:.2f} s, "
        f"réimport {result['reimport_seconds']:.2f} s, pic mémoire {result['peak_mb']:.0f} Mo "
        f"({result['rejected']} rejet(s))"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--step", default=None)
    parser.add_argument("--db", default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--before", default=None, help="directory of an older maillage")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if args.step:
        child(args)
        return
    versions = [("après", None)]
    if args.before:
        versions.insert(0, ("avant", str(Path(args.before).resolve())))
    with tempfile.TemporaryDirectory(prefix="maillage-bench-") as folder:
        base = Path(folder)
        db_path = base / "bench.db"
        generate(db_path, args.contacts)
        print(f"{args.contacts} contacts générés, charge {os.getloadavg()[0]:.1f}.")
        runs: dict[str, list[dict]] = {}
        for _ in range(args.repeat):
            runs.setdefault("sqlite3", []).append(measure("sqlite3", db_path, base / "dump.csv"))
            for fmt in ("csv", "xlsx"):
                for name, package in versions:
                    out = base / f"export-{name}.{fmt}"
                    runs.setdefault(f"{fmt} {name}", []).append(measure(fmt, db_path, out, package))
        baseline = best(runs["sqlite3"], "seconds")
        print_export("sqlite3", baseline, baseline)
        for key, results in runs.items():
            if key != "sqlite3":
                print_export(key, best(results, "seconds"), baseline)
        if args.before:
            same = (base / "export-avant.csv").read_bytes() == (
                base / "export-après.csv"
            ).read_bytes()
            print(f"CSV avant et après identiques octet pour octet : {'oui' if same else 'NON'}")
        source = base / "import.csv"
        write_import_file(source, args.lines)
        imported: dict[str, list[dict]] = {}
        for _ in range(args.repeat):
            for name, package in versions:
                import_db = base / f"import-{name}.db"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{import_db}{suffix}").unlink(missing_ok=True)
                generate(import_db, 0)
                imported.setdefault(name, []).append(measure("import", import_db, source, package))
        for name, results in imported.items():
            print_import(name, args.lines, best(results, "commit_seconds"))
        print(f"charge en fin de mesure {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
