"""Load on loopback: 50 concurrent clients against ``maillage serve --workers 2``.

The clients mix what a territory's traffic is made of: list reads, accent-free searches,
writes (interactions logged by coordinators), subscribed calendar feeds fetched by calendar
services, and invitees answering through their links. Afterwards: no 5xx, no « database is
locked » in the server log, and no lost write (every interaction the API acknowledged is in
the table, every acknowledged answer is recorded).

    PYTHONPATH=. python bench/load.py --engine sqlite --duration 60
    PYTHONPATH=. python bench/load.py --engine postgresql --duration 60 \\
        --postgres postgresql://postgres@127.0.0.1:5432/test

The test suite runs the same driver for a few seconds (tests/hardening/test_load.py).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.hardening.live import Instance, Server, connected, postgres_database, start_server

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
    return asyncio.run(_links(instance, token))


async def _links(instance: Instance, token: str) -> Fixtures:
    from maillage.actor import CLI
    from maillage.calendar import feeds
    from maillage.mailing import tokens
    from maillage.tables import Invitation, Organisation, WorkingGroup
    from maillage.vocabulary import CANCELLED

    async with connected(instance.database_url):
        groups = await WorkingGroup.select(WorkingGroup.id).limit(10)
        feed_tokens = [(await feeds.create_token(CLI, "group", g["id"]))[0] for g in groups]
        feed_tokens.append((await feeds.create_token(CLI, "territory", None))[0])
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        # A cancelled meeting's link answers 200 with « réunion annulée » and records nothing:
        # the demo, drawn around today, cancels some meetings to come (21 « lost » answers).
        invitations = await Invitation.select(Invitation.id, Invitation.token_nonce).where(
            (Invitation.meeting.starts_at > soon) & (Invitation.meeting.status != CANCELLED)
        )
        secret = instance.env["MAILLAGE_SECRET_KEY"]
        answers = [tokens.answer_token(secret, i["id"], i["token_nonce"]) for i in invitations]
        organisations = [o["id"] for o in await Organisation.select(Organisation.id).limit(200)]
    assert answers, "la démonstration n'a aucune invitation à venir"
    return Fixtures(token, feed_tokens, answers, organisations)


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
    return asyncio.run(_answered(instance, answer_tokens))


async def _answered(instance: Instance, answer_tokens: set[str]) -> int:
    from maillage.tables import Invitation

    ids = [int(token.split(".")[0]) for token in answer_tokens]
    if not ids:
        return 0
    async with connected(instance.database_url):
        return await Invitation.count().where(
            Invitation.id.is_in(ids) & Invitation.answered_at.is_not_null()
        )


@dataclass
class Report:
    outcome: Outcome
    lost_writes: int
    lost_answers: int
    locked: int
    log: str
    server_cpu: float = 0.0  # seconds of CPU of the server's processes during the load
    client_cpu: float = 0.0  # seconds of CPU of this process (the 50 clients) during the load


def group_cpu(group: int) -> float:
    """CPU seconds (user + system) of the live processes of a process group (the server started
    in its own session: the supervisor, its workers and their heavy-work processes); 0 where
    /proc is not there."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def run(instance: Instance, clients: int, duration: float, workers: int = 2) -> Report:
    fx = prepare(instance)
    server: Server = start_server(instance, workers=workers)
    try:
        before = interactions_total(server.url, fx.token)
        server_cpu, client_cpu = group_cpu(server.process.pid), time.process_time()
        outcome = asyncio.run(drive(server.url, fx, clients, duration))
        server_cpu = group_cpu(server.process.pid) - server_cpu
        client_cpu = time.process_time() - client_cpu
        after = interactions_total(server.url, fx.token)
    finally:
        server.stop()
    return Report(
        outcome=outcome,
        lost_writes=before + outcome.writes_acknowledged - after,
        lost_answers=len(outcome.answers_acknowledged)
        - answered(instance, outcome.answers_acknowledged),
        locked=server.log().count("database is locked"),
        log=server.log(),
        server_cpu=server_cpu,
        client_cpu=client_cpu,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory)
        if args.engine == "sqlite":
            report = run(
                Instance(path, f"sqlite:///{path / 'm.db'}"),
                args.clients,
                args.duration,
                args.workers,
            )
        else:
            with postgres_database(args.postgres) as url:
                report = run(Instance(path, url), args.clients, args.duration, args.workers)
    out = report.outcome
    print(f"{args.engine}, {args.clients} clients, {args.workers} workers")
    print(out.table())
    print(f"statuts : {dict(sorted(out.statuses.items()))}")
    for error in out.server_errors[:10]:
        print(error)
    if out.server_errors:
        print("\n".join(line for line in report.log.splitlines() if "INFO" not in line)[-5000:])
    requests = max(out.requests, 1)
    print(
        f"CPU par requête : serveur {report.server_cpu * 1000 / requests:.1f} ms "
        f"({report.server_cpu:.1f} s), clients {report.client_cpu * 1000 / requests:.1f} ms "
        f"({report.client_cpu:.1f} s) ; charge {os.getloadavg()[0]:.1f}"
    )
    print(
        f"5xx : {len(out.server_errors)} ; « database is locked » : {report.locked} ; "
        f"écritures perdues : {report.lost_writes} ; réponses perdues : {report.lost_answers}"
    )


if __name__ == "__main__":
    main()
