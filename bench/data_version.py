"""The memo key's cost (#20): main's data version (counts, highest ids and latest changes of
every content table, one query) against the counters of ``data_change`` (migration
2026-12-09T01:30), for a coordinator of one territory, the Caf's adviser on ten and an
administrator, on databases of ``bench/national.py load``, through maillage's own connection
pool as the bench role (row-level security on), side by side in alternating rounds.

    .venv/bin/python bench/national.py load --departements 1 --database bench_h20memo_1
    .venv/bin/python bench/national.py load --departements 3 --database bench_h20memo_3
    .venv/bin/python bench/data_version.py bench_h20memo_1 bench_h20memo_3 --rounds 15

Each round runs, for each database and persona, main's query once and the new version
``--repeat`` times (it is too short to time once); the figures are medians over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import national

# main's versions._QUERY (8a7ae26), rebuilt: the tables it read, whether they have updated_at.
OLD_TABLES = [
    ("territory", True), ("commune", True), ("axis", True), ("organisation", True),
    ("organisation_axis", False), ("contact", True), ("contact_axis", False),
    ("affiliation", True), ("working_group", True), ("group_axis", False),
    ("group_commune", False), ("membership", True), ("meeting", True), ("invitation", True),
    ("partnership", True), ("partnership_axis", False), ("interaction", True),
    ("interaction_organisation", False), ("interaction_contact", False), ("action", True),
    ("action_partner", False), ("decision", True), ("inhabitant_registration", True),
    ("consultation_question", False), ("consultation_answer", False),
]  # fmt: skip
OLD_QUERY = " UNION ALL ".join(
    [
        f"SELECT '{name}' AS name, COUNT(*) AS n, MAX(id) AS top, "
        f'CAST({"MAX(updated_at)" if dated else "NULL"} AS TEXT) AS changed FROM "{name}"'
        for name, dated in OLD_TABLES
    ]
    + ["SELECT 'audit' AS name, 0 AS n, MAX(id) AS top, NULL AS changed FROM \"audit_event\""]
)


async def _timed(call, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        await call()
    return (time.perf_counter() - started) / repeat * 1000


async def measure(databases: list[str], rounds: int, repeat: int) -> None:
    from maillage import db
    from maillage.crm import scope, versions
    from maillage.tables import Organisation, Territory

    times: dict[tuple[str, str, str], list[float]] = {}
    engines = {}
    personas: dict[str, dict[str, scope.Scope | None]] = {}
    for database in databases:
        await db.connect(national.url(database))
        await db.start_pool()
        engines[database] = db.current_engine()
        ids = [r["id"] for r in await Territory.select(Territory.id).order_by(Territory.id)]
        personas[database] = {
            "coordination": scope.Scope({ids[0]: "coordinateur"}),
            "caf": scope.Scope({one: "coordinateur" for one in ids[:10]}),
            "admin": None,
        }

    async def old() -> None:
        await Organisation.raw(OLD_QUERY).run()

    async def new() -> None:
        await versions.data_version()

    for number in range(rounds):
        for database in databases:
            db.bind(engines[database])
            for persona, chosen in personas[database].items():
                with scope.entered(chosen):
                    for name, call, times_run in (("main", old, 1), ("compteurs", new, repeat)):
                        if number == 0:
                            await call()  # warm: the pool's connection, the plans
                        elapsed = await _timed(call, times_run)
                        times.setdefault((database, persona, name), []).append(elapsed)
    print(f"médianes sur {rounds} tours (ms par clé) :")
    print(f"{'base':<18} {'personne':<13} {'main':>9} {'compteurs':>10} {'rapport':>8}")
    for database in databases:
        for persona in personas[database]:
            before = statistics.median(times[(database, persona, "main")])
            after = statistics.median(times[(database, persona, "compteurs")])
            print(f"{database:<18} {persona:<13} {before:>9.1f} {after:>10.3f} "
                  f"{before / after:>8.0f}")  # fmt: skip
    if len(databases) == 2:
        first, last = databases
        print(f"rapport {last} / {first} :")
        for persona in personas[first]:
            for name in ("main", "compteurs"):
                ratio = statistics.median(times[(last, persona, name)]) / statistics.median(
                    times[(first, persona, name)]
                )
                print(f"  {persona:<13} {name:<10} {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("databases", nargs="+")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(measure(args.databases, args.rounds, args.repeat))


if __name__ == "__main__":
    main()
