"""The rekey migration's writes (2026-12-07T07:00, #18): a baseline tree's against this one's.

    git archive main | tar -x -C /tmp/baseline
    .venv/bin/python bench/rekey_batches.py postgresql://postgres@127.0.0.1:5432/bench 10000 /tmp/baseline

N contacts with two mandates each under the old keys (a hash of the name); the register read,
the same for both, is left out; each run inside one transaction, as a migration runs. Starts
from an empty database: never point it at real data.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import sys
import time
from types import ModuleType

from piccolo.querystring import QueryString

from maillage import db
from maillage.crm.demo import clear_database
from maillage.opendata import rekey
from maillage.tables import Affiliation, Contact, Organisation

MIGRATION = "maillage/migrations/maillage_2026_12_07t07_00_00_000000.py"
SECRET = "clé de banc d'essai, assez longue"


def load(path: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def put_back(keys: list[tuple[int, str]]) -> None:
    """The old keys again, 300 rows a statement."""
    engine = db.current_engine()
    await engine.run_ddl("UPDATE affiliation SET source_ref = NULL")
    for start in range(0, len(keys), 300):
        chunk = keys[start : start + 300]
        cases = " ".join("WHEN {} THEN {}" for _ in chunk)
        ids = ", ".join("{}" for _ in chunk)
        values = [value for pair in chunk for value in pair]
        await engine.run_querystring(
            QueryString(
                f"UPDATE affiliation SET source_ref = CASE id {cases} END WHERE id IN ({ids})",
                *values,
                *[record_id for record_id, _ in chunk],
            )
        )


async def main() -> None:
    url, count, baseline = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rekey.register_names = lambda digests: {}  # type: ignore[assignment]
    trees = [("baseline", load(f"{baseline}/{MIGRATION}", "baseline")), ("this tree", load(MIGRATION, "here"))]  # fmt: skip
    await db.connect(url)
    await db.start_pool()
    await db.migrate()
    await clear_database()
    town_hall = Organisation(name="Mairie", kind="collectivite", search="x")
    await town_hall.save()
    for start in range(0, count, 1000):
        people = range(start, min(count, start + 1000))
        await Contact.insert(*[Contact(first_name=f"P{n}", last_name=f"N{n}", search="x") for n in people])  # fmt: skip
    mandates = []
    for number, contact in enumerate(await Contact.select(Contact.id).order_by(Contact.id)):
        digest = hashlib.sha256(f"N{number}|P{number}".encode()).hexdigest()[:12]
        for key in (f"cm:{number % 900:05d}:MAI:{digest}", f"epci:200000000:CC:{digest}"):
            mandates.append(Affiliation(contact=contact["id"], organisation=town_hall.id, source_ref=key))  # fmt: skip
    for start in range(0, len(mandates), 1000):
        await Affiliation.insert(*mandates[start : start + 1000])
    keys = [(r["id"], r["source_ref"]) for r in await Affiliation.select(Affiliation.id, Affiliation.source_ref)]  # fmt: skip
    results: dict[str, set[frozenset[tuple[int, str]]]] = {}
    for _ in range(2):
        for label, module in trees:
            await put_back(keys)
            started = time.perf_counter()
            async with db.current_engine().transaction():
                done = await module.rekey_mandates(SECRET)
            elapsed = time.perf_counter() - started
            rows = await Affiliation.select(Affiliation.id, Affiliation.source_ref)
            results.setdefault(label, set()).add(
                frozenset((r["id"], r["source_ref"]) for r in rows)
            )
            print(f"{label}: {done} mandates in {elapsed:.2f} s", flush=True)
    print("same result:", results["baseline"] == results["this tree"])
    await db.close_pool()


if __name__ == "__main__":
    asyncio.run(main())
