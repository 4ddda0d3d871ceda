"""Load on loopback: 50 concurrent clients against ``maillage serve --workers 2``.

The clients mix what a territory's traffic is made of: list reads, accent-free searches,
writes (interactions logged by coordinators), subscribed calendar feeds fetched by calendar
services, and invitees answering through their links. Afterwards: no 5xx, no « database is
locked » in the server log, and no lost write (every interaction the API acknowledged is in
the table, every acknowledged answer is recorded).

    PYTHONPATH=. python bench/load.py --engine sqlite --duration 60
    PYTHONPATH=. python bench/load.py --engine postgresql --duration 60 \\
        --postgres postgresql://postgres@127.0.0.1:5432/test

Two drivers send the same mix: ``--driver wrk`` (the default) runs ``wrk`` (Debian package
``wrk``) with ``bench/load.lua``, a C client in its own process that costs the machine's cores
little, so that the server's throughput is measured rather than the clients'; ``--driver
python`` runs 50 ``httpx`` clients in this process (what the test suite runs for a few
seconds, tests/hardening/test_load.py: no wrk needed there). ``--tree DIR`` serves another
tree (a ``git archive`` of an older commit, ``--extra-path`` for the packages it needs beside
this venv's) with this same driver: the side by side of bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from tests.hardening.live import ROOT, Instance, Server, postgres_database, start_server

MIX = {"lecture": 35, "recherche": 20, "écriture": 15, "flux": 15, "réponse": 15}
SEARCHES = ["mar", "creche", "ecole", "centre social", "mairie", "jeunesse", "élu"]


@dataclass
class Fixtures:
    token: str
    feed_tokens: list[str]
    answer_tokens: list[str]
    organisations: list[int]


@dataclass
class Outcome:
    latencies: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    statuses: collections.Counter = field(default_factory=collections.Counter)
    server_errors: list[str] = field(default_factory=list)
    writes_acknowledged: int = 0
    answers_acknowledged: set[str] = field(default_factory=set)
    elapsed: float = 0.0

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def percentile(self, q: float, kind: str | None = None) -> float:
        values = (
            self.latencies[kind]
            if kind
            else [x for values in self.latencies.values() for x in values]
        )
        if not values:
            return 0.0
        return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]

    def table(self) -> str:
        lines = ["| requêtes | nombre | p50 (ms) | p99 (ms) |", "| --- | --- | --- | --- |"]
        for kind in [*MIX, None]:
            count = len(self.latencies[kind]) if kind else self.requests
            lines.append(
                f"| {kind or 'toutes'} | {count} | {self.percentile(50, kind) * 1000:.0f} "
                f"| {self.percentile(99, kind) * 1000:.0f} |"
            )
        lines.append(f"\n{self.requests / self.elapsed:.0f} requêtes/s sur {self.elapsed:.0f} s")
        return "\n".join(lines)


def prepare(instance: Instance) -> Fixtures:
    """Demo territory, a coordinator's token, feed links and answer links."""
    instance.command("init", "--with-demo")
    token = instance.add_user("charge@maillage.example", "coordinateur")
    found = json.loads(_look_up(instance, "links"))
    assert found["answer_tokens"], "la démonstration n'a aucune invitation à venir"
    return Fixtures(token, found["feed_tokens"], found["answer_tokens"], found["organisations"])


def _look_up(instance: Instance, command: str, stdin: str | None = None) -> str:
    """bench/load_fixtures.py run against the instance's tree (this one or ``--tree``)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load_fixtures.py"), command],
        env=instance.env,
        cwd=instance.data_dir,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"load_fixtures.py {command}: {done.stdout}\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]  # its answer is its last line


async def _one(client: httpx.AsyncClient, kind: str, fx: Fixtures, rng: random.Random, out):
    auth = {"Authorization": f"Bearer {fx.token}"}
    answer = None
    if kind == "lecture":
        request = client.get("/api/v1/organisations", params={"limit": 20}, headers=auth)
    elif kind == "recherche":
        request = client.get("/api/v1/contacts", params={"q": rng.choice(SEARCHES)}, headers=auth)
    elif kind == "écriture":
        body = {
            "occurred_on": dt.date.today().isoformat(),
            "kind": "appel",
            "summary": f"Appel de charge {rng.random()}",
            "organisations": [rng.choice(fx.organisations)],
        }
        request = client.post("/api/v1/interactions", json=body, headers=auth)
    elif kind == "flux":
        request = client.get(f"/calendar/feeds/{rng.choice(fx.feed_tokens)}.ics")
    else:
        answer = rng.choice(fx.answer_tokens)
        choice = rng.choice(["oui", "non", "peut-etre"])
        request = client.post(f"/r/{answer}", data={"reponse": choice})
    started = time.perf_counter()
    try:
        response = await request
    except httpx.TransportError as error:  # the connection dropped: as bad as a 5xx
        out.server_errors.append(f"{kind} : connexion perdue ({error!r})")
        out.statuses[0] += 1
        return
    out.latencies[kind].append(time.perf_counter() - started)
    out.statuses[response.status_code] += 1
    if response.status_code >= 500:
        out.server_errors.append(f"{kind} {response.status_code} {response.text[:200]}")
    elif kind == "écriture" and response.status_code == 201:
        out.writes_acknowledged += 1
    elif answer and response.status_code == 200:
        out.answers_acknowledged.add(answer)


async def drive(url: str, fx: Fixtures, clients: int, duration: float, seed: int = 1) -> Outcome:
    out = Outcome()
    kinds, weights = list(MIX), list(MIX.values())
    deadline = time.perf_counter() + duration
    # Idle connections expire on our side before uvicorn's 5 s keep-alive closes them: with equal
    # timeouts a request may go out on a connection the server is closing (ReadError), a race of
    # the client's pool, not a server fault (browsers retry such a request silently).
    limits = httpx.Limits(
        max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=2.0
    )

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def worker(number: int) -> None:
            rng = random.Random(seed * 1000 + number)
            while time.perf_counter() < deadline:
                await _one(client, rng.choices(kinds, weights)[0], fx, rng, out)

        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(clients)))
        out.elapsed = time.perf_counter() - started
    return out


def interactions_total(url: str, token: str) -> int:
    page = httpx.get(
        url + "/api/v1/interactions",
        params={"limit": 1},
        headers={"Authorization": f"Bearer {token}"},
    )
    page.raise_for_status()
    return page.json()["total"]


def answered(instance: Instance, answer_tokens: set[str]) -> int:
    """How many of these links' invitations hold an answer in the database."""
    return int(_look_up(instance, "answered", json.dumps(sorted(answer_tokens))))


@dataclass
class WrkOutcome:
    """What bench/load.lua counted: per kind of request, its answers by status."""

    by_kind: collections.Counter = field(default_factory=collections.Counter)  # (kind, status)
    sent: collections.Counter = field(default_factory=collections.Counter)
    server_errors: list[str] = field(default_factory=list)
    writes_acknowledged: int = 0
    answers_acknowledged: set[str] = field(default_factory=set)
    requests: int = 0
    elapsed: float = 0.0
    latency: tuple[float, float, float] = (0.0, 0.0, 0.0)  # p50, p99, max (seconds)
    lost_connections: int = 0  # wrk's socket errors: a connection closed under a request

    @property
    def statuses(self) -> collections.Counter:
        counted: collections.Counter = collections.Counter()
        for (_, status), count in self.by_kind.items():
            counted[status] += count
        return counted

    def table(self) -> str:
        lines = ["| requêtes | envoyées | réponses par statut |", "| --- | --- | --- |"]
        for kind in MIX:
            answers = {s: n for (k, s), n in sorted(self.by_kind.items()) if k == kind}
            lines.append(f"| {kind} | {self.sent[kind]} | {answers} |")
        p50, p99, longest = (value * 1000 for value in self.latency)
        lines.append(
            f"\n{self.requests / self.elapsed:.0f} requêtes/s sur {self.elapsed:.0f} s "
            f"(wrk : p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {longest:.0f} ms)"
        )
        return "\n".join(lines)


def _lua(value: Any) -> str:
    """A Lua literal of ``value`` (JSON's string escapes are Lua's; UTF-8 kept as is)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {_lua(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "{" + ", ".join(_lua(item) for item in value) + "}"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def drive_wrk(
    url: str, fx: Fixtures, clients: int, duration: float, scratch: Path, seed: int = 1
) -> tuple[WrkOutcome, float]:
    """The mix sent by wrk, one thread per connection (bench/load.lua says why); returns what
    it counted and the CPU seconds wrk used."""
    data = scratch / "load-data.lua"
    data.write_text(
        "return "
        + _lua(
            {
                "seed": seed,
                "token": fx.token,
                "feeds": fx.feed_tokens,
                "answers": fx.answer_tokens,
                "organisations": fx.organisations,
                "searches": [quote(search) for search in SEARCHES],
                "choices": ["oui", "non", "peut-etre"],
                "today": dt.date.today().isoformat(),
                "mix": list(MIX.items()),
                "total_weight": sum(MIX.values()),
            }
        )
        + "\n"
    )
    output = scratch / "wrk.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [
                "wrk",
                f"-t{clients}",
                f"-c{clients}",
                f"-d{duration:.0f}s",
                "--timeout",
                "60s",
                "-s",
                str(ROOT / "bench" / "load.lua"),
                url,
            ],
            env={**os.environ, "LOAD_DATA": str(data)},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    text = output.read_text(errors="replace")
    if process.returncode != 0:
        raise AssertionError(f"wrk s'est arrêté ({process.returncode}) :\n{text}")
    return _wrk_outcome(text), usage.ru_utime + usage.ru_stime


def _wrk_outcome(text: str) -> WrkOutcome:
    out = WrkOutcome()
    for line in text.splitlines():
        word, *rest = line.split()
        if word == "summary":
            out.requests, out.elapsed = int(rest[0]), int(rest[1]) / 1e6
        elif word == "socket":
            lost = dict(zip(["connect", "read", "write", "timeout"], map(int, rest), strict=True))
            out.lost_connections = sum(lost.values())
            out.server_errors += [
                f"{name} : {n} connexion(s) perdue(s)" for name, n in lost.items() if n
            ]
        elif word == "latency":
            p50, p99, longest = (int(value) / 1e6 for value in rest)
            out.latency = (p50, p99, longest)
        elif word == "sent":
            out.sent[rest[0]] += int(rest[1])
        elif word == "status":
            kind, status, count = rest[0], int(rest[1]), int(rest[2])
            out.by_kind[kind, status] += count
            if status >= 500:
                out.server_errors.append(f"{kind} : {count} × {status}")
        elif word == "answer":
            out.answers_acknowledged.add(rest[0])
        elif word == "writes":
            out.writes_acknowledged += int(rest[0])
    return out


@dataclass
class Report:
    outcome: Outcome | WrkOutcome
    lost_writes: int
    lost_answers: int
    locked: int
    log: str
    server_cpu: float = 0.0  # seconds of CPU of the server's processes during the load
    client_cpu: float = 0.0  # seconds of CPU of the clients (this process, or wrk) during the load
    load: tuple[float, float] = (0.0, 0.0)  # load average (1 min) before and after the load
    writes_beyond_sent: int = 0  # interactions that appeared without being sent (wrk)
    # CPU seconds of each of the server's processes during the load (the workers' balance).
    by_process: list[float] = field(default_factory=list)


def group_cpu(group: int) -> float:
    """CPU seconds (user + system) of the live processes of a process group (the server started
    in its own session: the supervisor, its workers and their heavy-work processes); 0 where
    /proc is not there."""
    return sum(process_cpu(group).values())


def process_cpu(group: int) -> dict[int, float]:
    """CPU seconds of each live process of a process group, by process id."""
    found = {}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp
            found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return found


def run(
    instance: Instance, clients: int, duration: float, workers: int = 2, driver: str = "python"
) -> Report:
    fx = prepare(instance)
    # At a load of 12 two workers took more than 60 s to answer (the load is timed from the
    # first request, not from the start).
    server: Server = start_server(instance, workers=workers, ready_within=300)
    try:
        # The first worker answers while the others may still be starting (seconds on a busy
        # machine): the load's connections, opened at once and kept, would all go to it.
        deadline = time.monotonic() + 300
        while server.log().count("Application startup complete") < workers:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.1)
        before = interactions_total(server.url, fx.token)
        load_before = os.getloadavg()[0]
        by_process = process_cpu(server.process.pid)
        client_cpu = time.process_time()
        outcome: Outcome | WrkOutcome
        if driver == "wrk":
            outcome, client_cpu = drive_wrk(server.url, fx, clients, duration, instance.data_dir)
        else:
            outcome = asyncio.run(drive(server.url, fx, clients, duration))
            client_cpu = time.process_time() - client_cpu
        by_process = {
            pid: cpu - by_process.get(pid, 0.0)
            for pid, cpu in process_cpu(server.process.pid).items()
        }
        load_after = os.getloadavg()[0]
        after = interactions_total(server.url, fx.token)
    finally:
        server.stop()
    lost_writes = before + outcome.writes_acknowledged - after
    beyond = 0
    if isinstance(outcome, WrkOutcome):
        # wrk stops with requests on the way: their writes may be in the table, unacknowledged.
        lost_writes = max(lost_writes, 0)
        beyond = max(after - before - outcome.sent["écriture"], 0)
    return Report(
        outcome=outcome,
        lost_writes=lost_writes,
        lost_answers=len(outcome.answers_acknowledged)
        - answered(instance, outcome.answers_acknowledged),
        locked=server.log().count("database is locked"),
        log=server.log(),
        server_cpu=sum(by_process.values()),
        client_cpu=client_cpu,
        load=(load_before, load_after),
        by_process=sorted(by_process.values(), reverse=True),
        writes_beyond_sent=beyond,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--driver", choices=["wrk", "python"], default="wrk")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the tree to serve")
    parser.add_argument(
        "--extra-path", default="", help="more PYTHONPATH for that tree (its own packages)"
    )
    parser.add_argument("--log", type=Path, help="keep the server's log in this file")
    args = parser.parse_args()
    python_path = os.pathsep.join(filter(None, [str(args.tree.resolve()), args.extra_path]))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory)
        if args.engine == "sqlite":
            instance = Instance(path, f"sqlite:///{path / 'm.db'}", python_path=python_path)
            report = run(instance, args.clients, args.duration, args.workers, args.driver)
        else:
            with postgres_database(args.postgres) as url:
                instance = Instance(path, url, python_path=python_path)
                report = run(instance, args.clients, args.duration, args.workers, args.driver)
    if args.log:
        args.log.write_text(report.log)
    out = report.outcome
    print(
        f"{args.engine}, {args.clients} clients ({args.driver}), {args.workers} workers, {args.tree}"
    )
    print(out.table())
    print(f"statuts : {dict(sorted(out.statuses.items()))}")
    for error in out.server_errors[:10]:
        print(error)
    if out.server_errors:
        print("\n".join(line for line in report.log.splitlines() if "INFO" not in line)[-5000:])
    requests = max(out.requests, 1)
    print(
        f"CPU par requête : serveur {report.server_cpu * 1000 / requests:.2f} ms "
        f"({report.server_cpu:.1f} s), clients {report.client_cpu * 1000 / requests:.2f} ms "
        f"({report.client_cpu:.1f} s) ; charge {report.load[0]:.1f} → {report.load[1]:.1f}"
    )
    print("CPU des processus du serveur (s) : " + ", ".join(f"{c:.1f}" for c in report.by_process))
    fives = sum(count for status, count in out.statuses.items() if status >= 500)
    lost = out.lost_connections if isinstance(out, WrkOutcome) else out.statuses[0]
    print(
        f"5xx : {fives} ; connexions perdues : {lost} ; "
        f"« database is locked » : {report.locked} ; "
        f"écritures perdues : {report.lost_writes} ; réponses perdues : {report.lost_answers}"
        + (
            f" ; écritures en trop : {report.writes_beyond_sent}"
            if isinstance(out, WrkOutcome)
            else ""
        )
    )


if __name__ == "__main__":
    main()
