"""What row-level security costs the list and search requests (#20), measured by pgbench.

    .venv/bin/python bench/rls_cost.py capture --database bench_w_dep_rls
    .venv/bin/python bench/rls_cost.py run --database bench_w_dep_rls --rounds 15 --seconds 1

``capture`` serves the application in this process (the database's own role, as
`bench/national.py` made it: policies on) and sends each list and search request of
`national.PATHS` once for warm-up, then once more with a query logger on every connection the
pool lends: every statement the request sends (its token, its user, ``BEGIN`` with the setting
or the role, the list's statement, ``COMMIT``), with its arguments, as the driver sent them. It
captures twice: with the role that reads everything without the policies usable
(`row_security.SEES_ALL_SUFFIX`, « after ») and with its grants taken back (« before »: the
administrator's reads go through the policies' ``*`` branch, as on `main`); the grants are put
back at the end (``maillage migrate``). Needs the role, made once by the server's superuser::

    CREATE ROLE maillage_bench_sees_all NOLOGIN BYPASSRLS; GRANT maillage_bench_sees_all TO maillage_bench;

``run`` replays each request's statements with pgbench (its own process, one client,
``-M prepared``: named prepared statements with their arguments bound, as asyncpg does),
policies on (the application's role) and off (the same script as the server's superuser, who
bypasses every policy), back to back, the order swapped every round, for ``--rounds`` rounds
of ``--seconds`` each: per round the median latency of each side and their ratio; the table
gives the medians over the rounds, the median ratio and its quartiles (the spread).

``compare`` (backend CPU as ``cpu``, « after » statements, scoped and unscoped alike) sets
several configurations side by side, in alternating order, each ``label=on|off[@capture][#db]``:
the application's role (on) or the superuser (off), the statements of a capture file (a copy of
another branch's ``capture``; default this database's) and a database (default ``--database``),
ratios against the last one. ``--no-parallel``: no parallel workers, whose CPU is not counted::

    .venv/bin/python bench/rls_cost.py compare --database bench_x --no-parallel \
        new=on main=on@main.json#bench_x_main off=off@main.json
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import national

RESULTS = national.ROOT / "bench" / "results"


def _captured_path(database: str) -> Path:
    return RESULTS / f"rls_cost-{database}.json"


# ----- capture: the statements each request sends -------------------------------------------


def _jsonable(value: Any) -> Any:
    """An argument as pgbench will pass it (text), keeping lists as PostgreSQL array literals."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "{" + ",".join(str(item) for item in value) + "}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


async def _capture(database: str) -> dict[str, dict[str, list[dict[str, Any]]]]:
    import httpx

    env = national.environment(database)
    os.environ.update(env)
    from maillage import db
    from maillage.actor import CLI
    from maillage.crm import auth
    from maillage.settings import load_settings
    from maillage.web.app import create_app

    recording: list[dict[str, Any]] = []
    active = {"on": False}

    def logged(record: Any) -> None:
        if active["on"]:
            recording.append(
                {"sql": record.query, "args": [_jsonable(arg) for arg in record.args or ()]}
            )

    give = db._give_row_scope

    async def give_and_log(connection: Any) -> None:
        connection.add_query_logger(logged)
        await give(connection)

    db._give_row_scope = give_and_log  # type: ignore[assignment]
    await db.connect(env["MAILLAGE_DATABASE_URL"])
    await db.start_pool()
    app = create_app(load_settings(), manage_database=False)
    found: dict[str, dict[str, list[dict[str, Any]]]] = {}
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for who, email in national.ACCOUNTS.items():
                token = await auth.create_token(CLI, email)
                headers = {"Authorization": f"Bearer {token}"}
                for name, path in national.PATHS.items():
                    (await client.get(path, headers=headers)).raise_for_status()  # warm-up
                    recording.clear()
                    active["on"] = True
                    answer = await client.get(path, headers=headers)
                    for _ in range(3):  # the loggers run at the loop's next turns
                        await asyncio.sleep(0)
                    active["on"] = False
                    answer.raise_for_status()
                    found.setdefault(who, {})[name] = list(recording)
    finally:
        await db.close_pool()
    return found


def capture(database: str) -> None:
    role = national.ROLE + "_sees_all"
    if national.psql(database, f"SELECT count(*) FROM pg_roles WHERE rolname = '{role}'") != "1":
        raise SystemExit(f"le rôle {role} manque (voir la docstring)")
    env = national.environment(database)
    national.maillage(env, "migrate")  # the role's grants
    after = asyncio.run(_capture(database))
    national.psql(database, f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
    try:
        before = subprocess.run(
            [sys.executable, __file__, "capture-one", "--database", database],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        national.maillage(env, "migrate")  # the grants back
    RESULTS.mkdir(parents=True, exist_ok=True)
    captured = {"after": after, "before": json.loads(before)}
    _captured_path(database).write_text(json.dumps(captured, indent=1, ensure_ascii=False))
    for variant, personas in captured.items():
        for who, requests in personas.items():
            for name, statements in requests.items():
                print(f"{variant:6} {who:12} {name:22} {len(statements)} instructions")


# ----- run: pgbench on and off --------------------------------------------------------------


def _script(statements: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """A pgbench script of the statements, their ``$n`` as pgbench variables (``-D``)."""
    lines: list[str] = []
    defines: list[str] = []
    for number, statement in enumerate(statements):
        args = statement["args"]

        def variable(match: re.Match[str], number: int = number, args: list[Any] = args) -> str:
            value = args[int(match.group(1)) - 1]
            if value is None:
                return "NULL"
            return f":s{number}_{match.group(1)}"

        sql = re.sub(r"\$(\d+)", variable, statement["sql"])
        for index, value in enumerate(args, start=1):
            if value is not None:
                defines += ["-D", f"s{number}_{index}={value}"]
        # One command per line; a message of several (BEGIN; SET …) becomes several commands.
        for part in sql.split(";"):
            part = " ".join(part.split())
            if part:
                lines.append(part + ";")
    return "\n".join(lines) + "\n", defines


def _pgbench(url: str, script: Path, defines: list[str], seconds: int, folder: Path) -> float:
    """The median latency (ms) of the script's transactions over ``seconds``."""
    for old in folder.glob("log*"):
        old.unlink()
    subprocess.run(
        ["pgbench", "-n", "-c", "1", "-j", "1", "-M", "prepared", "-T", str(seconds), "-l",
         f"--log-prefix={folder / 'log'}", "-f", str(script), *defines, url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    latencies = [
        int(line.split()[2]) / 1000
        for log in folder.glob("log*")
        for line in log.read_text().splitlines()
    ]
    return statistics.median(latencies) if latencies else float("nan")


def run(database: str, rounds: int, seconds: int, only: str, variants: list[str]) -> None:
    captured = json.loads(_captured_path(database).read_text())
    # The application's connections start with every row (its pool's ``server_settings``): the
    # value the pool's ``RESET ALL`` between two uses comes back to.
    options = "?options=-c%20maillage.territories%3D*"
    urls = {"on": national.url(database) + options, "off": f"{national.SERVER}/{database}{options}"}
    cases = [
        (variant, who, name, statements)
        for variant in variants
        for who, requests in captured[variant].items()
        for name, statements in requests.items()
        if national._chosen(f"{who} {name}", only)
    ]
    timings: dict[tuple[str, str, str], dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="rls_cost_") as temporary:
        folder = Path(temporary)
        scripts = {}
        for index, (variant, who, name, statements) in enumerate(cases):
            text, defines = _script(statements)
            path = folder / f"script{index}.sql"
            path.write_text(text)
            scripts[(variant, who, name)] = (path, defines)
        for number in range(rounds):
            print(f"--- tour {number + 1}/{rounds}, charge {os.getloadavg()[0]:.1f}", flush=True)
            sides = ("on", "off") if number % 2 == 0 else ("off", "on")
            for variant, who, name, _ in cases:
                path, defines = scripts[(variant, who, name)]
                found = timings.setdefault((variant, who, name), {"on": [], "off": []})
                for side in sides:
                    found[side].append(_pgbench(urls[side], path, defines, seconds, folder))
    print(f"\n{database}, {rounds} tours de {seconds} s, pgbench -M prepared, 1 client\n")
    print("| variante | compte | requête | on (ms) | off (ms) | on / off médian | quartiles |")
    print("| --- | --- | --- | ---: | ---: | ---: | --- |")
    for (variant, who, name), found in timings.items():
        ratios = sorted(
            on / off for on, off in zip(found["on"], found["off"], strict=True) if on > 0 < off
        )
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        print(
            f"| {variant} | {who} | {name} | {statistics.median(found['on']):.2f} | "
            f"{statistics.median(found['off']):.2f} | {statistics.median(ratios):.3f} | "
            f"{quartiles[0]:.2f}–{quartiles[2]:.2f} |",
            flush=True,
        )


# ----- cpu: the server's own CPU time per request, on and off --------------------------------

_INTEGERS = {"int2", "int4", "int8"}


def _typed(value: Any, type_name: str) -> Any:
    """A captured argument (text) as asyncpg binds it for the parameter's type."""
    if value is None:
        return None
    if type_name in _INTEGERS:
        return int(value)
    if type_name == "bool":
        return value == "true"
    if type_name.removeprefix("_").removesuffix("[]") in _INTEGERS and value.startswith("{"):
        return [int(item) for item in value.strip("{}").split(",") if item]
    if type_name in {"text[]", "_text"}:  # a search function's patterns (words: no comma)
        return [item for item in value[1:-1].split(",") if item]
    if type_name in {"timestamptz", "timestamp"}:
        return dt.datetime.fromisoformat(value)
    if type_name == "date":
        return dt.date.fromisoformat(value)
    return value


def _on_cpu_ns(pid: int) -> int:
    """Nanoseconds the backend ``pid`` has spent on a CPU (not waiting for one)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


async def _cpu(database: str, rounds: int, repeat: int, only: str, variants: list[str]) -> None:
    import asyncpg

    captured = json.loads(_captured_path(database).read_text())
    settings = {"maillage.territories": "*"}
    connections = {
        "on": await asyncpg.connect(national.url(database), server_settings=settings),
        "off": await asyncpg.connect(f"{national.SERVER}/{database}", server_settings=settings),
    }
    pids = {side: await c.fetchval("SELECT pg_backend_pid()") for side, c in connections.items()}
    cases = [
        (variant, who, name, statements)
        for variant in variants
        for who, requests in captured[variant].items()
        for name, statements in requests.items()
        if national._chosen(f"{who} {name}", only)
    ]
    # Each statement prepared once per connection, as asyncpg's statement cache does.
    prepared: dict[tuple[str, str], Any] = {}

    async def request(side: str, statements: list[dict[str, Any]]) -> None:
        connection = connections[side]
        for statement in statements:
            if not statement["args"]:
                await connection.execute(statement["sql"])
                continue
            key = (side, statement["sql"])
            if key not in prepared:
                prepared[key] = await connection.prepare(statement["sql"])
            types = [t.name for t in prepared[key].get_parameters()]
            args = [_typed(v, t) for v, t in zip(statement["args"], types, strict=True)]
            await prepared[key].fetch(*args)

    timings: dict[tuple[str, str, str], dict[str, list[float]]] = {}
    try:
        for number in range(rounds):
            print(f"--- tour {number + 1}/{rounds}, charge {os.getloadavg()[0]:.1f}", flush=True)
            sides = ("on", "off") if number % 2 == 0 else ("off", "on")
            for variant, who, name, statements in cases:
                found = timings.setdefault((variant, who, name), {"on": [], "off": []})
                for side in sides:
                    await request(side, statements)  # warm: plans, pages
                    before = _on_cpu_ns(pids[side])
                    for _ in range(repeat):
                        await request(side, statements)
                    found[side].append((_on_cpu_ns(pids[side]) - before) / repeat / 1e6)
    finally:
        for connection in connections.values():
            await connection.close()
    print(f"\n{database}, {rounds} tours × {repeat} requêtes, temps CPU du serveur (ms)\n")
    print(
        "| variante | compte | requête | on (ms CPU) | off (ms CPU) | on / off médian | quartiles |"
    )
    print("| --- | --- | --- | ---: | ---: | ---: | --- |")
    for (variant, who, name), found in timings.items():
        ratios = sorted(on / off for on, off in zip(found["on"], found["off"], strict=True))
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        print(
            f"| {variant} | {who} | {name} | {statistics.median(found['on']):.2f} | "
            f"{statistics.median(found['off']):.2f} | {statistics.median(ratios):.3f} | "
            f"{quartiles[0]:.2f}–{quartiles[2]:.2f} |",
            flush=True,
        )


# ----- compare: several configurations side by side, backend CPU ------------------------------


async def _compare(
    database: str, rounds: int, repeat: int, only: str, parallel: bool, configs: list[str]
) -> None:
    import asyncpg

    settings = {"maillage.territories": "*"}
    if not parallel:
        settings["max_parallel_workers_per_gather"] = "0"
    chosen: list[tuple[str, Any, dict[str, Any]]] = []
    for config in configs:
        label, _, rest = config.partition("=")
        rest, _, base = rest.partition("#")
        side, _, path = rest.partition("@")
        captured = json.loads(Path(path or _captured_path(database)).read_text())["after"]
        base = base or database
        url = national.url(base) if side == "on" else f"{national.SERVER}/{base}"
        chosen.append((label, await asyncpg.connect(url, server_settings=settings), captured))
    pids = {label: await c.fetchval("SELECT pg_backend_pid()") for label, c, _ in chosen}
    cases = [
        (who, name)
        for who, requests in chosen[0][2].items()
        for name in requests
        if national._chosen(f"{who} {name}", only)
    ]
    prepared: dict[tuple[str, str], Any] = {}

    async def request(label: str, connection: Any, statements: list[dict[str, Any]]) -> None:
        for statement in statements:
            if not statement["args"]:
                await connection.execute(statement["sql"])
                continue
            key = (label, statement["sql"])
            if key not in prepared:
                prepared[key] = await connection.prepare(statement["sql"])
            types = [t.name for t in prepared[key].get_parameters()]
            args = [_typed(v, t) for v, t in zip(statement["args"], types, strict=True)]
            await prepared[key].fetch(*args)

    timings: dict[tuple[str, str], dict[str, list[float]]] = {}
    try:
        for number in range(rounds):
            print(f"--- tour {number + 1}/{rounds}, charge {os.getloadavg()[0]:.1f}", flush=True)
            order = chosen if number % 2 == 0 else chosen[::-1]
            for who, name in cases:
                for label, connection, captured in order:
                    statements = captured[who][name]
                    await request(label, connection, statements)  # warm: plans, pages
                    before = _on_cpu_ns(pids[label])
                    for _ in range(repeat):
                        await request(label, connection, statements)
                    found = timings.setdefault((who, name), {}).setdefault(label, [])
                    found.append((_on_cpu_ns(pids[label]) - before) / repeat / 1e6)
    finally:
        for _, connection, _ in chosen:
            await connection.close()
    labels = [label for label, _, _ in chosen]
    base = labels[-1]
    print(f"\n{database}, {rounds} tours × {repeat} requêtes, temps CPU du serveur (ms), "
          f"rapports à « {base} » : médiane (quartiles)\n")  # fmt: skip
    print("| compte | requête | " + " | ".join(labels) + " | "
          + " | ".join(f"{label} / {base}" for label in labels[:-1]) + " |")  # fmt: skip
    print("| --- | --- |" + " ---: |" * (2 * len(labels) - 1))
    for (who, name), found in timings.items():
        cells = [f"{statistics.median(found[label]):.2f}" for label in labels]
        for label in labels[:-1]:
            ratios = sorted(a / b for a, b in zip(found[label], found[base], strict=True))
            quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
            cells.append(f"{statistics.median(ratios):.2f} ({quartiles[0]:.2f}–{quartiles[2]:.2f})")
        print(f"| {who} | {name} | " + " | ".join(cells) + " |", flush=True)


# ----- e2e: the CPU of whole requests, the application's process and its backends ------------


def _policies(database: str, on: bool) -> None:
    from maillage.row_security import PROTECTED

    verb = "ENABLE" if on else "DISABLE"
    national.psql(
        database, "; ".join(f'ALTER TABLE "{t}" {verb} ROW LEVEL SECURITY' for t in PROTECTED)
    )


def _workers(database: str, parallel: bool) -> None:
    """No parallel workers for the application's role on ``database`` (``parallel`` False),
    or back to the server's default: a worker's CPU is not its backend's, and `e2e` counts
    the backends only. Without the policies PostgreSQL may gather a page with a worker, with
    them (their functions) it does not, so « off » looked cheaper than it was: the Caf
    adviser's invitations ×1.17 whole where the server CPU said ×1.02 (bench/README.md)."""
    verb = "RESET max_parallel_workers_per_gather"
    if not parallel:
        verb = "SET max_parallel_workers_per_gather = 0"
    national.psql("postgres", f'ALTER ROLE {national.ROLE} IN DATABASE "{database}" {verb}')


async def _end_to_end(
    database: str, rounds: int, repeat: int, only: str, parallel: bool = False
) -> None:
    """Each request served in this process (the application, its pool), ``repeat`` times in a
    row: this process's CPU time plus that of the PostgreSQL backends it used, per request,
    policies on and off (``ALTER TABLE … DISABLE ROW LEVEL SECURITY`` between the two); no
    parallel workers unless ``parallel`` (`_workers`)."""
    import time

    import httpx

    env = national.environment(database)
    os.environ.update(env)
    from maillage import db
    from maillage.actor import CLI
    from maillage.crm import auth
    from maillage.settings import load_settings
    from maillage.web.app import create_app

    backends: set[int] = set()
    give = db._give_row_scope

    async def give_and_note(connection: Any) -> None:
        backends.add(connection.get_server_pid())
        await give(connection)

    db._give_row_scope = give_and_note  # type: ignore[assignment]
    _workers(database, parallel)
    await db.connect(env["MAILLAGE_DATABASE_URL"])
    await db.start_pool()
    app = create_app(load_settings(), manage_database=False)
    timings: dict[tuple[str, str], dict[str, list[float]]] = {}

    def cpu_ns() -> int:
        total = time.process_time_ns()
        for pid in list(backends):
            try:
                total += _on_cpu_ns(pid)
            except FileNotFoundError:
                backends.discard(pid)
        return total

    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            headers = {
                who: {"Authorization": f"Bearer {await auth.create_token(CLI, email)}"}
                for who, email in national.ACCOUNTS.items()
            }
            cases = [
                (who, name, path)
                for who in national.ACCOUNTS
                for name, path in national.PATHS.items()
                if national._chosen(f"{who} {name}", only)
            ]
            for number in range(rounds):
                print(
                    f"--- tour {number + 1}/{rounds}, charge {os.getloadavg()[0]:.1f}", flush=True
                )
                for side in ("on", "off") if number % 2 == 0 else ("off", "on"):
                    _policies(database, side == "on")
                    for who, name, path in cases:
                        (await client.get(path, headers=headers[who])).raise_for_status()
                        before = cpu_ns()
                        for _ in range(repeat):
                            await client.get(path, headers=headers[who])
                        found = timings.setdefault((who, name), {"on": [], "off": []})
                        found[side].append((cpu_ns() - before) / repeat / 1e6)
    finally:
        _policies(database, True)
        await db.close_pool()
        _workers(database, True)
    print(f"\n{database}, {rounds} tours × {repeat} requêtes HTTP dans le processus, "
          "temps CPU de l'application et de ses connexions PostgreSQL (ms)\n")  # fmt: skip
    print("| compte | requête | on (ms CPU) | off (ms CPU) | on / off médian | quartiles |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    for (who, name), found in timings.items():
        ratios = sorted(on / off for on, off in zip(found["on"], found["off"], strict=True))
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        print(
            f"| {who} | {name} | {statistics.median(found['on']):.2f} | "
            f"{statistics.median(found['off']):.2f} | {statistics.median(ratios):.3f} | "
            f"{quartiles[0]:.2f}–{quartiles[2]:.2f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "action", choices=["capture", "capture-one", "run", "cpu", "e2e", "compare"]
    )
    parser.add_argument("--database", required=True)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--seconds", type=int, default=1)
    parser.add_argument("--only", default="", help="« compte requête » holding one of the words")
    parser.add_argument("--variants", default="after,before")
    parser.add_argument("--repeat", type=int, default=5, help="cpu: requests per measure")
    parser.add_argument("--no-parallel", action="store_true", help="compare: no workers")
    parser.add_argument("--parallel", action="store_true", help="e2e: workers allowed")
    parser.add_argument("configs", nargs="*", help="compare: label=on|off[@capture][#database]")
    arguments = parser.parse_intermixed_args()
    if arguments.action == "compare":
        asyncio.run(
            _compare(
                arguments.database,
                arguments.rounds,
                arguments.repeat,
                arguments.only,
                not arguments.no_parallel,
                arguments.configs,
            )
        )
    elif arguments.action == "capture":
        capture(arguments.database)
    elif arguments.action == "capture-one":  # a fresh process: the role looked up again
        print(json.dumps(asyncio.run(_capture(arguments.database))))
    elif arguments.action == "e2e":
        asyncio.run(
            _end_to_end(
                arguments.database,
                arguments.rounds,
                arguments.repeat,
                arguments.only,
                arguments.parallel,
            )
        )
    elif arguments.action == "cpu":
        asyncio.run(
            _cpu(
                arguments.database,
                arguments.rounds,
                arguments.repeat,
                arguments.only,
                arguments.variants.split(","),
            )
        )
    else:
        run(
            arguments.database,
            arguments.rounds,
            arguments.seconds,
            arguments.only,
            arguments.variants.split(","),
        )


if __name__ == "__main__":
    main()
