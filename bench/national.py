"""Many territories on one PostgreSQL (#20): generation, size, and list/search latency for a
coordinator, a Caf adviser and an administrator, with row-level security on and off.

    .venv/bin/python bench/national.py load --departements 1 --database bench_h20c_dep
    .venv/bin/python bench/national.py load --departements 42 --database bench_h20c_nat
    .venv/bin/python bench/national.py load --departements 42 --copies --database bench_country
    .venv/bin/python bench/national.py personas --database bench_country \
        --baseline bench_country_dep --rounds 2 --seconds 4
    .venv/bin/python bench/national.py measure --database bench_h20c_dep --seconds 3 \
        --rounds 5 --only list --accounts coordination,caf

``load`` builds a fresh database owned by an ordinary role (the deployment of README « Mise en
production »), migrates it, and loads ``--departements`` times the demo's ``departement``
generator (30 territories and their shared institutions each, other seed, identifiers made
unique per département): 42 départements are the country's 1,253 territories. It prints the
time taken and the database's size.

With ``BENCH_WITHOUT_COUNTERS=1`` the load runs with the triggers of ``data_change`` (#20)
disabled, enabled again at the end (their cost on a load, side by side).

``load --copies`` (the whole country in minutes): the first département through the generator as
above, then the others as copies of it made by PostgreSQL itself (`replicate`: one ``INSERT …
SELECT`` per table for all copies, ids shifted per copy, identifiers made unique per copy, the
territory copies of the `row_security.Via` tables shifted with the rest, triggers off during the
copy), then checked: counts per table ×N, no foreign key pointing nowhere, every copied
territory column equal to what the triggers compute, no unique value twice.

``measure`` starts ``maillage serve`` (one worker, connected as that role) and runs ``wrk``
(its own process, 16 connections, ``--latency``) on the lists and searches of the local
tables, for three accounts: the coordinator of the first territory, the Caf's adviser on the
first ten, an administrator; with row-level security on the protected tables and without it
(disabled by the server's superuser), in ``--rounds`` rounds whose order of the two sides
alternates, then puts it back (``maillage migrate``).
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
# The Caf-wide account of one département (its 30 territories, the first loaded): the network
# of the whole département as the Caf sees it (`personas`, with the Caf adviser's requests).
DEPARTEMENT = "bench-caf-departement@maillage.example"
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
    # Under their parents' départements since migration 2026-12-10T05:00 (#20).
    "affiliations list": "/api/v1/affiliations?limit=50",
    "partnerships list": "/api/v1/partnerships?limit=50",
}


def _chosen(name: str, only: str) -> bool:
    """``--only organisations,contacts``: the requests whose name holds one of the words."""
    return not only or any(word in name for word in only.split(","))


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


async def _load(database: str, departements: int, first: int) -> None:
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
    if os.environ.get("BENCH_WITHOUT_COUNTERS"):  # the load without data_change's triggers
        await _counters(db.current_engine(), "DISABLE")
    await ensure_axes()
    axis_ids = {row["code"]: row["id"] for row in await Axis.select(Axis.id, Axis.code)}
    # SIRETs and SIRENs already loaded (``--append``): a collectivity's is loaded once.
    seen: set[str] = set()
    for row in await Organisation.select(Organisation.siret, Organisation.siren):
        seen.update(value for value in row.values() if value)
    for number in range(first, first + departements):
        started = time.perf_counter()
        dataset = generate(100 + number, dt.date.fromisoformat(TODAY), "departement", axis_ids,
                           await _first_ids())  # fmt: skip
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
        ids = await _first_ids()
        await insert(dataset)
        # As `load_demo` does: the partners go to their territories (else all are shared).
        await place_all(ids[Organisation], ids[Contact])
        print(f"département {number + 1}/{first + departements} : "
              f"{time.perf_counter() - started:.0f} s",
              flush=True)  # fmt: skip
    if os.environ.get("BENCH_WITHOUT_COUNTERS"):
        await _counters(db.current_engine(), "ENABLE")
    await db.close_pool()


async def _counters(engine, verb: str) -> None:
    """Disable or enable the triggers of ``data_change`` (#20) on every table."""
    rows = await engine.run_ddl(
        "SELECT c.relname AS name, t.tgname AS trigger FROM pg_trigger t JOIN pg_class c "
        "ON c.oid = t.tgrelid WHERE t.tgname LIKE 'maillage_changed%'"
    )
    for row in rows:
        await engine.run_ddl(f'ALTER TABLE "{row["name"]}" {verb} TRIGGER {row["trigger"]}')


def load(
    database: str, departements: int, template: str | None = None, copies: bool = False
) -> None:
    """A fresh database of ``departements``; with ``template``, a copy of that database (made
    by this command) with ``departements`` more (the country from the 10 départements); with
    ``copies``, one département generated and the others copied from it (`_replicate`)."""
    subprocess.run(["psql", f"{SERVER}/postgres", "-qc",
                    f"DO $$ BEGIN CREATE ROLE {ROLE} LOGIN; EXCEPTION WHEN duplicate_object "
                    "THEN NULL; END $$"], check=True)  # fmt: skip
    subprocess.run(["psql", f"{SERVER}/postgres", "-qc",
                    f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'], check=True)  # fmt: skip
    copy = f' TEMPLATE "{template}"' if template else ""
    started = time.perf_counter()
    subprocess.run(["psql", f"{SERVER}/postgres", "-qc",
                    f'CREATE DATABASE "{database}" OWNER {ROLE}{copy}'], check=True)  # fmt: skip
    first = int(psql(database, "SELECT count(*) FROM territory")) // 30 if template else 0
    if template:
        print(f"copie de {template} ({first} départements) : "
              f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    if copies and departements > 1:
        if template:
            raise SystemExit("--copies part d'une base neuve, sans --template")
        asyncio.run(_load(database, 1, first))
        asyncio.run(_replicate(database, departements - 1))
    else:
        asyncio.run(_load(database, departements, first))
    elapsed = time.perf_counter() - started
    counts = psql(database, "SELECT (SELECT count(*) FROM territory), (SELECT count(*) FROM "
                  "organisation), (SELECT count(*) FROM contact), (SELECT count(*) FROM meeting),"
                  " (SELECT count(*) FROM invitation), pg_size_pretty(pg_database_size("
                  "current_database()))")  # fmt: skip
    print(f"chargé en {elapsed:.0f} s ; territoires, organisations, contacts, réunions, "
          f"invitations, taille : {counts}")  # fmt: skip
    env = environment(database)
    if template:
        return  # the accounts came with the copy
    for key, email in ACCOUNTS.items():
        role = "admin" if key == "admin" else "coordinateur"
        maillage(env, "user", "add", email, "--role", role, "--password-stdin",
                 stdin=PASSWORD + "\n")  # fmt: skip
    sirens = psql(database, "SELECT siren FROM territory ORDER BY id LIMIT 10").split()
    maillage(env, "user", "territories", ACCOUNTS["coordination"], "--add", sirens[0],
             "--role", "coordinateur")  # fmt: skip
    maillage(env, "user", "territories", ACCOUNTS["caf"], "--add", ",".join(sirens),
             "--role", "coordinateur")  # fmt: skip
    departement_account(database)


def departement_account(database: str) -> None:
    """`DEPARTEMENT` on the first 30 territories, made once (also on a database loaded before
    it existed)."""
    if psql(database, f"SELECT count(*) FROM app_user WHERE email = '{DEPARTEMENT}'") != "0":
        return
    env = environment(database)
    maillage(env, "user", "add", DEPARTEMENT, "--role", "coordinateur", "--password-stdin",
             stdin=PASSWORD + "\n")  # fmt: skip
    sirens = psql(database, "SELECT siren FROM territory ORDER BY id LIMIT 30").split()
    maillage(env, "user", "territories", DEPARTEMENT, "--add", ",".join(sirens),
             "--role", "coordinateur")  # fmt: skip


# ----- load --copies: the other départements as copies of the first, in SQL --------------------

# Tables of the instance rather than of a département (the axes, the accounts and their traces,
# Piccolo's migrations): never copied.
INSTANCE = frozenset({"axis", "app_user", "user_territory", "api_token", "feed_token",
                      "audit_event", "sign_in_throttle", "duplicate_dismissal", "migration",
                      "data_change"})  # fmt: skip


def _domain(text: str | None, copy: int) -> str | None:
    """« accueil@mairie-x.example » → « accueil@mairie-x-07.example » (and a website's
    « https://www.mairie-x.example »): each département's bodies have their own domains."""
    if not text:
        return text
    return re.sub(r"(@|://www\.)([^./@]+)\.", rf"\g<1>\g<2>-{copy:02d}.", text, count=1)


class _Sirens:
    """A valid SIREN (Luhn key) per copy for each SIREN of the département, none used twice."""

    def __init__(self, used: set[str]) -> None:
        self.used = set(used)
        self.made: dict[tuple[str, int], str] = {}

    def __call__(self, siren: str, copy: int) -> str:
        from stdnum import luhn

        if (siren, copy) not in self.made:
            step = 0
            while True:
                number = (int(siren[1:8]) + (copy * 7_919 + step) * 104_729) % 10**7
                body = f"{siren[0]}{number:07d}"
                made = body + luhn.calc_check_digit(body)
                if made not in self.used:
                    break
                step += 1
            self.used.add(made)
            self.made[(siren, copy)] = made
        return self.made[(siren, copy)]


async def _remaps(connection, copies: int) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """The identifiers that must differ from one département to the next, and the search
    column the services compute from them (`crm.text.search_text`, in Python as they do),
    for every copy: temporary tables ``_remap_<table> (k, id, columns…)``."""
    from stdnum import luhn

    from maillage.crm.demo.dataset import SEARCH_FIELDS
    from maillage.crm.text import search_text

    fields = {table._meta.tablename: list(names) for table, names in SEARCH_FIELDS.items()}
    changed = {
        "territory": ["siren", "name"],
        "commune": ["insee_code"],
        "organisation": ["siret", "siren", "email", "website"],
        "contact": ["email"],
    }
    used = {row[0] for row in await connection.fetch(
        "SELECT siren FROM organisation WHERE siren IS NOT NULL UNION "
        "SELECT left(siret, 9) FROM organisation WHERE siret IS NOT NULL UNION "
        "SELECT siren FROM territory WHERE siren IS NOT NULL")}  # fmt: skip
    sirens = _Sirens(used)

    def remade(table: str, row: dict, copy: int) -> dict:  # type: ignore[type-arg]
        new = dict(row)
        if table == "territory":
            if row["siren"]:  # the département's number in front, as `_load` does
                new["siren"] = f"{copy:02d}{row['siren'][2:]}"
            new["name"] = f"{row['name']} ({copy:02d})"
        elif table == "commune":
            new["insee_code"] = f"{copy:02d}{row['insee_code'][2:]}"
        elif table == "organisation":
            if row["siren"]:
                new["siren"] = sirens(row["siren"], copy)
            if row["siret"]:
                head = sirens(row["siret"][:9], copy) + row["siret"][9:13]
                new["siret"] = head + luhn.calc_check_digit(head)
            new["email"] = _domain(row["email"], copy)
            new["website"] = _domain(row["website"], copy)
        elif table == "contact":
            new["email"] = _domain(row["email"], copy)
        return new

    columns: dict[str, list[str]] = {}
    for table, names in changed.items():
        wanted = list(dict.fromkeys(["id", *names, *fields.get(table, [])]))
        rows = [dict(row) for row in await connection.fetch(
            f"SELECT {', '.join(wanted)} FROM \"{table}\" ORDER BY id")]  # fmt: skip
        out = names + (["search"] if table in fields else [])
        records = []
        for copy in range(1, copies + 1):
            for row in rows:
                new = remade(table, row, copy)
                if table in fields:
                    new["search"] = search_text(*(new[name] for name in fields[table]))
                records.append((copy, row["id"], *(new[name] for name in out)))
        await connection.execute(
            f"CREATE TEMPORARY TABLE _remap_{table} (k integer, id integer, "
            + ", ".join(f"{name} text" for name in out) + ", PRIMARY KEY (k, id))")  # fmt: skip
        await connection.copy_records_to_table(f"_remap_{table}", records=records)
        columns[table] = out
    return columns


async def _replicate(database: str, copies: int) -> None:
    """``copies`` more départements, each a copy of the one in ``database`` (ids from 1), as
    the application would have written them; then the checks (an exception if one fails)."""
    import asyncpg

    from maillage.row_security import PROTECTED, Via

    connection = await asyncpg.connect(f"{SERVER}/{database}")  # the superuser
    try:
        tables = [row[0] for row in await connection.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
            "AND a.attname = 'id' WHERE c.relnamespace = 'public'::regnamespace "
            "AND c.relkind = 'r' ORDER BY c.relname")]  # fmt: skip
        span, counts = {}, {}
        for table in tables:
            if table in INSTANCE or table.startswith("_"):
                continue
            low, high, count = await connection.fetchrow(
                f'SELECT min(id), max(id), count(*) FROM "{table}"')  # fmt: skip
            if count:
                if low < 1:
                    raise RuntimeError(f"{table} : ids à partir de {low}")
                span[table], counts[table] = high, count
        # Foreign keys (one column each), and the territories copied onto the `Via` tables.
        shifted: dict[tuple[str, str], str] = {}
        for child, column, parent in await connection.fetch(
            "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text "
            "FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
            "AND a.attnum = c.conkey[1] WHERE c.contype = 'f' AND cardinality(c.conkey) = 1"
        ):
            shifted[(child.strip('"'), column)] = parent.strip('"')
        # The copies of the parents' départements (#20): renamed per copy as the parents'.
        departements = {"departement"}
        for table, rule in PROTECTED.items():
            while isinstance(rule, Via):
                shifted[(table, rule.copy)] = "territory"
                departements.add(rule.departement or "departement")
                rule = rule.also  # type: ignore[assignment]
        started = time.perf_counter()
        async with connection.transaction():
            remapped = await _remaps(connection, copies)
            print(f"identifiants des copies : {time.perf_counter() - started:.0f} s", flush=True)
            # No trigger during the copy (the territory copies are shifted like the keys;
            # the foreign keys are checked below instead of row by row).
            await connection.execute("SET LOCAL session_replication_role = replica")
            for table in span:
                step = time.perf_counter()
                names = [row[0] for row in await connection.fetch(
                    "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass "
                    "AND attnum > 0 AND NOT attisdropped AND attgenerated = '' "  # PostgreSQL computes those
                    "ORDER BY attnum", f'"{table}"')]  # fmt: skip
                values = []
                for name in names:
                    parent = shifted.get((table, name))
                    if name == "id":
                        values.append(f"s.id + g.k * {span[table]}")
                    elif parent in span:
                        values.append(f's."{name}" + g.k * {span[parent]}')
                    elif name in remapped.get(table, []):
                        values.append(f'r."{name}"')
                    elif name in departements:  # the copy's own code, as its communes'
                        values.append("CASE WHEN s.departement IS NULL THEN NULL "
                                      "ELSE lpad(g.k::text, 2, '0') END")  # fmt: skip
                    elif (table, name) == ("meeting", "ical_uid"):
                        values.append("regexp_replace(s.ical_uid, '^d0-', 'd' || g.k || '-')")
                    elif (table, name) == ("invitation", "token_nonce"):
                        values.append("left(translate(encode(decode(md5(s.token_nonce || g.k)"
                                      " || md5(g.k || s.token_nonce), 'hex'), 'base64'), "
                                      "'+/=', '-_'), 22)")  # fmt: skip
                    else:
                        values.append(f's."{name}"')
                join = (f" JOIN _remap_{table} r ON r.k = g.k AND r.id = s.id"
                        if table in remapped else "")  # fmt: skip
                quoted = ", ".join(f'"{name}"' for name in names)
                status = await connection.execute(
                    f'INSERT INTO "{table}" ({quoted}) SELECT {", ".join(values)} '
                    f'FROM "{table}" s CROSS JOIN generate_series(1, {copies}) g(k){join} '
                    f"WHERE s.id <= {span[table]}")  # fmt: skip
                await connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f'(SELECT max(id) FROM "{table}"))')  # fmt: skip
                print(f"  {table} : {status.split()[-1]} lignes, "
                      f"{time.perf_counter() - step:.0f} s", flush=True)  # fmt: skip
            await connection.execute("SET LOCAL session_replication_role = origin")
            # The change counters (#20) of the new territories, as the migration starts them.
            await connection.execute(
                "INSERT INTO data_change (territory, counter) SELECT id, 1 FROM territory "
                "ON CONFLICT (territory) DO NOTHING")  # fmt: skip
            await _check(connection, span, counts, copies, shifted)
        print(f"copies : {time.perf_counter() - started:.0f} s", flush=True)
        await _check_policies(database, span["territory"], copies)
        step = time.perf_counter()
        await connection.execute("VACUUM (ANALYZE)")
        print(f"VACUUM ANALYZE : {time.perf_counter() - step:.0f} s", flush=True)
    finally:
        await connection.close()


async def _check_policies(database: str, territories: int, copies: int) -> None:
    """Through the application's role (under the policies): the first territory and its last
    copy see as many rows of every protected table, and no setting sees no local row."""
    import asyncpg

    from maillage import row_security

    connection = await asyncpg.connect(url(database))
    try:
        seen = {}
        for territory in (1, 1 + copies * territories):
            await connection.execute(
                row_security.set_config_sql(row_security.of([territory]), local=False))  # fmt: skip
            seen[territory] = [await connection.fetchval(f'SELECT count(*) FROM "{table}"')
                               for table in row_security.PROTECTED]  # fmt: skip
        await connection.execute("RESET maillage.territories")
        none = [await connection.fetchval(f'SELECT count(*) FROM "{table}" WHERE territory '
                                          "IS NOT NULL") for table in row_security.PROTECTED]  # fmt: skip
    finally:
        await connection.close()
    first, last = seen.values()
    print("politiques, territoire 1 / sa dernière copie : " + ", ".join(
        f"{table} {a}/{b}" for table, a, b in zip(row_security.PROTECTED, first, last, strict=True)))  # fmt: skip
    if first != last or any(none):
        raise RuntimeError(f"politiques : {seen} ; sans réglage : {none}")


async def _check(connection, span, counts, copies, shifted) -> None:  # type: ignore[no-untyped-def]
    """What the application's constraints and triggers would have guaranteed, on every row."""
    from maillage.row_security import PROTECTED, Via

    wrong = []
    for table, count in counts.items():
        found = await connection.fetchval(f'SELECT count(*) FROM "{table}"')
        if found != count * (copies + 1):
            wrong.append(f"{table} : {found} lignes au lieu de {count} × {copies + 1}")
    copied = set()
    for table, rule in PROTECTED.items():
        while isinstance(rule, Via):
            copied.add((table, rule.copy))
            rule = rule.also  # type: ignore[assignment]
    for (child, column), parent in shifted.items():
        if child not in span or (child, column) in copied:
            continue  # the territories' copies: checked against their parent below
        orphans = await connection.fetchval(
            f'SELECT count(*) FROM "{child}" c WHERE c."{column}" IS NOT NULL AND NOT EXISTS '
            f'(SELECT 1 FROM "{parent}" p WHERE p.id = c."{column}")')  # fmt: skip
        if orphans:
            wrong.append(f"{child}.{column} : {orphans} lignes sans {parent}")
    for table, rule in PROTECTED.items():
        while isinstance(rule, Via):
            # What the trigger `maillage_<table>_territory` computes: the parent's territory.
            differ = await connection.fetchval(
                f'SELECT count(*) FROM "{table}" c LEFT JOIN "{rule.parent}" p '
                f'ON p.id = c."{rule.column}" WHERE c."{rule.copy}" IS DISTINCT FROM p.territory')  # fmt: skip
            print(f"  {table}.{rule.copy} = {rule.parent}.territory : {differ} écart(s)")
            if differ:
                wrong.append(f"{table}.{rule.copy} : {differ} lignes diffèrent de leur parent")
            if rule.departement is not None:  # and the parent's département (#20)
                differ = await connection.fetchval(
                    f'SELECT count(*) FROM "{table}" c LEFT JOIN "{rule.parent}" p '
                    f'ON p.id = c."{rule.column}" '
                    f'WHERE c."{rule.departement}" IS DISTINCT FROM p.departement')  # fmt: skip
                if differ:
                    wrong.append(f"{table}.{rule.departement} : {differ} lignes diffèrent")
            rule = rule.also  # type: ignore[assignment]
    if wrong:
        raise RuntimeError("copie fausse :\n" + "\n".join(wrong))
    print(f"contrôles : comptes ×{copies + 1}, clés étrangères, territoires recopiés : bons")


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
    deadline = time.time() + 240
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("le serveur n'a pas démarré")


def wrk(
    port: int, token: str, path: str, seconds: int, header: str | None = None
) -> dict[str, float]:
    """p50, p99 (ms) and throughput of ``path`` at 16 connections (wrk, its own process);
    ``header`` replaces the bearer token (a page's session cookie)."""
    output = subprocess.run(
        ["wrk", "-t1", "-c16", f"-d{seconds}s", "--timeout", "30s", "--latency", "-H",
         header or f"Authorization: Bearer {token}", f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    if re.search(r"\s0 requests in", output):  # none answered within the run
        return {"rps": 0.0, "p50": float("nan"), "p99": float("nan")}
    for percent in ("50", "99"):
        value, unit = re.search(rf"\s{percent}%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        figures[f"p{percent}"] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"réponses en erreur sur {path} :\n{output}")
    return figures


def _row_security(database: str, on: bool) -> None:
    """Row-level security on or off on every protected table (as the server's superuser)."""
    from maillage.row_security import PROTECTED

    verb = "ENABLE" if on else "DISABLE"
    psql(
        database,
        "; ".join(f'ALTER TABLE "{table}" {verb} ROW LEVEL SECURITY' for table in PROTECTED),
    )


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    """Median and quartiles (the median thrice for a single value)."""
    import statistics

    if len(values) < 2:
        return values[0], values[0], values[0]
    low, _, high = statistics.quantiles(values, n=4)
    return low, statistics.median(values), high


def measure(database: str, seconds: int, rounds: int, only: str = "", accounts: str = "") -> None:
    """``wrk`` on each list and search, row-level security on and off, in ``rounds`` rounds
    whose order of the two sides alternates (a shared, noisy machine): per request the median
    p50 and p99 of each side and the median of the rounds' ratios on / off, with quartiles."""
    env = environment(database)
    chosen = {key: email for key, email in ACCOUNTS.items() if _chosen(key, accounts)}
    tokens = {key: maillage(env, "token", "create", email) for key, email in chosen.items()}
    cases = [
        (who, name, path) for who in tokens for name, path in PATHS.items() if _chosen(name, only)
    ]
    port = free_port()
    server = start_server(env, port)
    found: dict[tuple[str, str, str], list[dict[str, float]]] = {}
    try:
        for number in range(rounds):
            print(f"--- tour {number + 1}/{rounds}, charge {os.getloadavg()[0]:.1f}", flush=True)
            for security in ("on", "off") if number % 2 == 0 else ("off", "on"):
                _row_security(database, security == "on")
                for who, name, path in cases:
                    wrk(port, tokens[who], path, 1)  # warm-up: plans made again after the switch
                    figures = wrk(port, tokens[who], path, seconds)
                    found.setdefault((who, name, security), []).append(figures)
                    print(f"{security:3} {who:12} {name:18} p50 {figures['p50']:7.2f} ms  "
                          f"p99 {figures['p99']:7.2f} ms  {figures['rps']:7.1f} req/s",
                          flush=True)  # fmt: skip
    finally:
        server.terminate()
        server.wait()
        _row_security(database, True)
        maillage(env, "migrate")  # row-level security as the migrations leave it
    print(
        f"\n{database}, {rounds} tours de {seconds} s par requête, wrk 16 connexions, un worker\n"
    )
    print(
        "| compte | requête | p50 on | p50 off | p99 on | p99 off | on / off (p50), médiane (quartiles) |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for who, name, _ in cases:
        on, off = found[(who, name, "on")], found[(who, name, "off")]
        ratios = [a["p50"] / b["p50"] for a, b in zip(on, off, strict=True)]
        low, middle, high = _quartiles(ratios)
        p50 = [_quartiles([f["p50"] for f in side])[1] for side in (on, off)]
        p99 = [_quartiles([f["p99"] for f in side])[1] for side in (on, off)]
        print(f"| {who} | {name} | {p50[0]:.2f} | {p50[1]:.2f} | {p99[0]:.2f} | {p99[1]:.2f} | "
              f"{middle:.2f} ({low:.2f}–{high:.2f}) |")  # fmt: skip


# ----- per persona, national data against one département's, over HTTP -----------------------

YEAR = 2026


def signed_in(port: int, email: str) -> str:
    """The ``Cookie`` header of a session opened with the pages' sign-in form."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        client.get("/connexion")
        answer = client.post("/connexion", data={
            "email": email, "password": PASSWORD, "_csrf_token": client.cookies["maillage_csrf"]})  # fmt: skip
        if answer.status_code != 303:
            raise RuntimeError(f"connexion refusée pour {email} : {answer.status_code}")
        return "Cookie: " + "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def timed(port: int, token: str, path: str, header: str | None = None) -> float:
    """Milliseconds of one request, alone (a heavy one: network, bilan; the dashboard)."""
    name, value = (header or f"Authorization: Bearer {token}").split(": ", 1)
    started = time.perf_counter()
    answer = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=600, headers={name: value})
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"{path} : {answer.status_code} {answer.text[:300]}")
    return elapsed * 1000


class Served:
    """One database served by its own `maillage serve` (row-level security on), its personas
    signed in: tokens for the API, session cookies for the pages."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.env = environment(database)
        departement_account(database)
        self.tokens = {key: maillage(self.env, "token", "create", email)
                       for key, email in {**ACCOUNTS, "departement": DEPARTEMENT}.items()}  # fmt: skip
        # The coordinator's territory and the Caf's first: the département's first territory.
        self.territory = int(psql(database, "SELECT min(id) FROM territory"))
        self.port = free_port()
        self.server = start_server(self.env, self.port)
        try:
            self.cookies = {key: signed_in(self.port, email) for key, email in ACCOUNTS.items()}
        except BaseException:
            self.stop()
            raise

    def requests(self, who: str) -> dict[str, tuple[str, str, str]]:
        """name: (« wrk », « page », or « heavy » (cold, then warm), path, account)."""
        found = {name: ("wrk", path, who) for name, path in PATHS.items()}
        found["contacts search"] = ("wrk", "/api/v1/contacts?q=martin", who)
        found["dashboard /"] = ("page", "/", who)
        # The pages of the lists in name and date order (#20): alone, as the dashboard.
        found["contacts page « martin »"] = ("page", "/contacts?q=martin", who)
        found["organisations page /partenaires"] = ("page", "/partenaires", who)
        found["meetings page /reunions"] = ("page", "/reunions", who)
        one = f"territory={self.territory}"
        found["network, 1 territory"] = ("heavy", f"/api/v1/network/report?{one}", who)
        if who == "caf":
            found["network, portfolio (10)"] = ("heavy", "/api/v1/network/report", who)
            # The Caf-wide network of the département (30 territories), its own account.
            found["network, département (30)"] = ("heavy", "/api/v1/network/report", "departement")
        found["annual report, 1 territory"] = (
            "heavy", f"/api/v1/reports/annual?year={YEAR}&{one}", who)  # fmt: skip
        return found

    def changed(self) -> None:
        """A new data version: the next heavy request computes again (no cached answer)."""
        psql(self.database, "INSERT INTO audit_event (actor, action, entity) "
                            "VALUES ('bench', 'bench', 'bench')")  # fmt: skip
        # The network's own version reads the tables, not the audit log; and only those the
        # user sees: a row of the first territory, in every persona's scope (the last
        # organisation of the country is in none of theirs, their answer stayed cached).
        psql(self.database, "UPDATE organisation SET updated_at = now() WHERE id = (SELECT "
                            f"max(id) FROM organisation WHERE territory = {self.territory})")  # fmt: skip

    def stop(self) -> None:
        self.server.terminate()
        self.server.wait()


def personas(database: str, baseline: str, seconds: int, rounds: int, only: str = "") -> None:
    """Rounds alternating between the national data and the baseline's (one département), the
    same requests per persona; medians over the rounds and their ratio."""
    import statistics

    served = {"nat": Served(database)}
    results: dict[tuple[str, str, str, str], list[float]] = {}
    try:
        served["dep"] = Served(baseline)
        for number in range(rounds):
            print(f"--- tour {number + 1}/{rounds}, charge {os.getloadavg()[0]:.1f}", flush=True)
            for side, target in (("dep", served["dep"]), ("nat", served["nat"])) if number % 2 \
                    else (("nat", served["nat"]), ("dep", served["dep"])):  # fmt: skip
                for who in ACCOUNTS:
                    for name, (kind, path, account) in target.requests(who).items():
                        if not any(part in f"{who} {name}" for part in only.split(",")):
                            continue
                        token = target.tokens[account]
                        if kind == "wrk":
                            wrk(target.port, token, path, 1)  # warm-up
                            figures = wrk(target.port, token, path, seconds)
                            values = {"p50": figures["p50"], "p99": figures["p99"]}
                        elif kind == "page":  # one at a time: seconds each at 16 clients
                            header = target.cookies[who]
                            values = {"alone": statistics.median(
                                timed(target.port, token, path, header) for _ in range(5))}  # fmt: skip
                        else:
                            target.changed()
                            values = {"cold": timed(target.port, token, path)}
                            values["warm"] = statistics.median(
                                timed(target.port, token, path) for _ in range(3))  # fmt: skip
                        for key, value in values.items():
                            results.setdefault((who, name, key, side), []).append(value)
                        print(f"{side} {who:12} {name:28} " + "  ".join(
                            f"{key} {value:8.1f} ms" for key, value in values.items()), flush=True)  # fmt: skip
    finally:
        for target in served.values():
            target.stop()
    print(f"\n| compte | requête | mesure | {baseline} | {database} | national / département |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for (who, name, key, side), values in results.items():
        if side != "nat":
            continue
        nat = statistics.median(values)
        dep = statistics.median(results[(who, name, key, "dep")])
        ratio = nat / dep if dep else float("nan")
        print(f"| {who} | {name} | {key} | {dep:.1f} | {nat:.1f} | {ratio:.2f} |")


# ----- the service's own statements in SQL, RLS on (the application's role) against off ------

# The requests of `PATHS`, as the generic services' list queries.
QUERIES = {
    "meetings list": ("meetings", {}),
    "invitations list": ("invitations", {"offset": 200}),
    "groups search": ("groups", {"q": "commission"}),
    "meetings search": ("meetings", {"q": "copil"}),
    "organisations list": ("organisations", {}),
    "organisations search": ("organisations", {"q": "mairie"}),
    "contacts list": ("contacts", {}),
    "contacts search": ("contacts", {"q": "martin"}),
    "affiliations list": ("affiliations", {}),
    "partnerships list": ("partnerships", {}),
}


async def statements(
    database: str, territories: list[int] | None, only: str = ""
) -> dict[str, tuple]:
    """The statement (SQL and arguments) each request of `QUERIES` runs for a user of
    ``territories`` (None: unscoped), caught as the service sends it to the driver: what
    ``PYTHONPATH`` points to decides which code writes it (this branch's, or another's)."""
    from maillage import db
    from maillage.crm import registry, resources
    from maillage.crm import scope as territory_scope

    caught: list[tuple[str, list]] = []
    # The service's door to the driver: `db.read_statement` since the list pages are read
    # without a transaction (#16), `driver_fetch` in older trees.
    door = "read_statement" if hasattr(resources, "read_statement") else "driver_fetch"
    fetch = getattr(resources, door)

    async def catching(*call):  # type: ignore[no-untyped-def]
        sql, args = call[-2:]
        caught.append((db._numbered(sql), list(args)))
        return await fetch(*call)

    setattr(resources, door, catching)
    await db.connect(url(database))
    await db.start_pool()
    scope = None if territories is None else territory_scope.Scope(
        {territory: "coordinateur" for territory in territories})  # fmt: skip
    if scope is not None and hasattr(territory_scope, "departements_of"):
        # As a request's scope: the territories' départements read once, as constants (#20).
        scope = territory_scope.Scope(
            scope.roles, await territory_scope.departements_of(territories)
        )
    found = {}
    try:
        with territory_scope.entered(scope):
            for name, (resource, options) in QUERIES.items():
                if not _chosen(name, only):
                    continue
                caught.clear()
                await registry.SERVICES[resource].page(resources.ListQuery(**options))
                found[name] = caught[0]
    finally:
        setattr(resources, door, fetch)
        await db.close_pool()
    return found


def read_summary(plan: str | list) -> str:
    """« rows read »: what the plan's scans took from tables and indexes (the rows they
    returned plus those their filters dropped, every loop), and the buffers it touched."""
    import json

    root = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    read = 0

    def walk(node: dict) -> None:
        nonlocal read
        if "Scan" in node["Node Type"] and node["Node Type"] != "Bitmap Index Scan":
            loops = node.get("Actual Loops", 1)
            read += (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
                     + node.get("Rows Removed by Index Recheck", 0)) * loops  # fmt: skip
        for child in node.get("Plans", []):
            walk(child)

    walk(root)
    buffers = root.get("Shared Hit Blocks", 0) + root.get("Shared Read Blocks", 0)
    return f"rows read {read:,}, buffers {buffers:,}, {root['Actual Total Time']:.1f} ms"


def _literal(value: object) -> str:
    """``value`` as an SQL literal, for ``EXECUTE`` (ints, text, NULL: the lists' arguments)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool | int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


async def _generic_explain(connection, sql: str, args: list, options: str) -> list:  # type: ignore[no-untyped-def]
    """``EXPLAIN`` of ``sql`` as the application runs a scoped read: its generic plan
    (``plan_cache_mode = force_generic_plan``, `row_security.GENERIC_PLANS`), planned once
    for any value of its arguments. ``EXPLAIN`` of a statement with arguments plans it for
    those values (a custom plan); ``EXECUTE`` of a prepared statement takes the cache's."""
    await connection.execute(f"PREPARE bench_generic AS {sql}")
    try:
        values = ", ".join(_literal(arg) for arg in args)
        return await connection.fetch(f"EXPLAIN ({options}) EXECUTE bench_generic({values})")
    finally:
        await connection.execute("DEALLOCATE bench_generic")


async def _sql(
    database: str, rounds: int, show: bool, last: bool, only: str = "", generic: bool = False
) -> None:
    import statistics

    import asyncpg

    # The first territories loaded (their rows have the lowest ids), or, ``last``, the last ones
    # (their rows at the end of every table: a walk along the primary key finds them last).
    order = "DESC" if last else "ASC"
    ids = [
        int(i)
        for i in psql(database, f"SELECT id FROM territory ORDER BY id {order} LIMIT 10").split()
    ]
    accounts = {"coordination": ids[:1], "caf": ids[:10], "admin": None}
    subject = await asyncpg.connect(url(database))
    bypass = await asyncpg.connect(f"{SERVER}/{database}")
    print("| compte | requête | RLS on (ms) | off (ms) | on / off |")
    print("| --- | --- | ---: | ---: | ---: |")
    try:
        for who, territories in accounts.items():
            setting = "*" if territories is None else "{" + ",".join(map(str, territories)) + "}"
            await subject.execute(f"SELECT set_config('maillage.territories', '{setting}', false)")
            # ``--generic``: a scoped user's statements planned as the application plans them.
            mode = "force_generic_plan" if generic and territories is not None else "auto"
            for connection in (subject, bypass):
                await connection.execute(f"SET plan_cache_mode = {mode}")
            for name, (sql, args) in (await statements(database, territories, only)).items():
                if show:
                    plans = {}
                    for side, connection in (("on", subject), ("off", bypass)):
                        if mode == "auto":
                            rows = await connection.fetch(
                                f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *args
                            )
                            summary = await connection.fetchval(
                                f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *args)  # fmt: skip
                        else:
                            rows = await _generic_explain(connection, sql, args, "ANALYZE, BUFFERS")
                            summary = (await _generic_explain(
                                connection, sql, args, "ANALYZE, BUFFERS, FORMAT JSON"))[0][0]  # fmt: skip
                        plans[side] = "\n".join(row[0] for row in rows)
                        plans[side] += "\n" + read_summary(summary)
                    print(f"\n{who} {name}\n{sql}\n{args}\n--- on\n{plans['on']}\n"
                          f"--- off\n{plans['off']}\n")  # fmt: skip
                timings: dict[str, list[float]] = {"on": [], "off": []}
                for _ in range(rounds):
                    for side, connection in (("on", subject), ("off", bypass)):
                        started = time.perf_counter()
                        await connection.fetch(sql, *args)
                        timings[side].append((time.perf_counter() - started) * 1000)
                on, off = (statistics.median(timings[side][1:]) for side in ("on", "off"))
                print(f"| {who} | {name} | {on:.2f} | {off:.2f} | {on / off:.2f} |", flush=True)
    finally:
        await subject.close()
        await bypass.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["load", "measure", "sql", "personas"])
    parser.add_argument("--database", required=True)
    parser.add_argument("--departements", type=int, default=1)
    parser.add_argument("--template", help="load: start from a copy of this database")
    parser.add_argument(
        "--copies",
        action="store_true",
        help="load: generate one département, copy it in SQL for the others",
    )
    parser.add_argument("--baseline", help="personas: the département's database")
    parser.add_argument(
        "--only",
        default="",
        help="the requests whose name (personas: « account name ») holds one of these words",
    )
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument(
        "--accounts", default="", help="measure: the accounts holding one of these words"
    )
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--explain", action="store_true", help="sql: print each plan, on and off")
    parser.add_argument("--last", action="store_true", help="sql: the last territories loaded")
    parser.add_argument(
        "--generic",
        action="store_true",
        help="sql: plan the scoped statements generically, as the application does",
    )
    arguments = parser.parse_args()
    if arguments.action == "load":
        load(arguments.database, arguments.departements, arguments.template, arguments.copies)
    elif arguments.action == "personas":
        personas(
            arguments.database,
            arguments.baseline,
            arguments.seconds,
            arguments.rounds,
            arguments.only,
        )
    elif arguments.action == "sql":
        asyncio.run(
            _sql(
                arguments.database,
                arguments.rounds,
                arguments.explain,
                arguments.last,
                arguments.only,
                arguments.generic,
            )
        )
    else:
        measure(
            arguments.database,
            arguments.seconds,
            arguments.rounds,
            arguments.only,
            arguments.accounts,
        )


if __name__ == "__main__":
    main()
