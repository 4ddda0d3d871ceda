"""API latency and throughput on the `departement` data, against a minimal baseline.

Usage (from the repository root, after `make install`):

    .venv/bin/python bench/api_latency.py [--engine sqlite|postgresql] [--seconds 20]

What it does, side by side in one script so both servers see the same machine load:
1. builds the `departement` demo data once per engine (`maillage demo --scale departement`);
2. starts `maillage serve` (1 worker) and a baseline server: a minimal Litestar app with the same
   bearer-token check that answers the same JSON from one raw SQL query;
3. runs 16 concurrent keep-alive clients against each, alternating A/B rounds, for
   `GET /api/v1/organisations?q=…&axis=…` and `GET /api/v1/contacts?offset=…`;
4. prints median and p99 latency, requests per second, and the throughput ratio.

Client and servers share the machine's two cores: the ratio is the figure, not the absolute rate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench" / "results"
CLIENTS = 16
SEARCH_WORDS = ["centre", "ecole", "mairie", "association", "creche", "social", "club", "caf"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(engine: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLAGE_")}
    data_dir = BENCH_DIR / f"data-{engine}"
    env["MAILLAGE_DATA_DIR"] = str(data_dir)
    if engine == "postgresql":
        env["MAILLAGE_DATABASE_URL"] = os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/maillage_bench"
        )
    return env


def maillage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "maillage", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def prepare(engine: str) -> tuple[dict[str, str], str]:
    env = environment(engine)
    marker = Path(env["MAILLAGE_DATA_DIR"]) / "departement.ready"
    if engine == "postgresql":
        create_postgres_database(env["MAILLAGE_DATABASE_URL"], fresh=not marker.exists())
    if not marker.exists():
        print(f"[{engine}] génération des données « departement »…", flush=True)
        started = time.perf_counter()
        maillage(
            env, "demo", "--scale", "departement", "--seed", "7", "--today", "2026-11-29", "--force"
        )
        print(f"[{engine}] chargé en {time.perf_counter() - started:.0f} s", flush=True)
        maillage(env, "user", "add", "bench@maillage.example", "--role", "lecteur",
                 "--password-stdin", stdin="mot de passe de mesure\n")  # fmt: skip
        marker.write_text("ok")
    token = maillage(env, "token", "create", "bench@maillage.example")
    return env, token


def create_postgres_database(url: str, fresh: bool) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    if fresh:
        subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True)
    exists = subprocess.run(
        ["psql", admin, "-Atc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if not exists:
        subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)


def start_server(env: dict[str, str], baseline: bool, port: int) -> subprocess.Popen:
    if baseline:
        command = [sys.executable, str(ROOT / "bench" / "baseline_app.py"), str(port)]
    else:
        command = [sys.executable, "-m", "maillage", "serve", "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("le serveur n'a pas démarré")


def organisation_paths(rng: random.Random, count: int) -> list[str]:
    return [
        f"/api/v1/organisations?q={rng.choice(SEARCH_WORDS)}&axis={rng.randint(1, 8)}"
        for _ in range(count)
    ]


def contact_paths(rng: random.Random, count: int, total: int) -> list[str]:
    return [f"/api/v1/contacts?offset={rng.randrange(0, total - 50)}" for _ in range(count)]


async def load(port: int, token: str, paths: list[str], seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers=headers, limits=limits, timeout=30
    ) as client:

        async def worker(offset: int) -> None:
            nonlocal errors
            index = offset
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.get(paths[index % len(paths)])
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != 200
                index += CLIENTS

        await asyncio.gather(*(worker(i) for i in range(CLIENTS)))
    return latencies, errors


def summarise(latencies: list[float], seconds: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
        "rps": len(ordered) / seconds,
    }


def run(engine: str, seconds: float, rounds: int) -> None:
    env, token = prepare(engine)
    ports = {"maillage": free_port(), "baseline": free_port()}
    servers = {
        "maillage": start_server(env, baseline=False, port=ports["maillage"]),
        "baseline": start_server(env, baseline=True, port=ports["baseline"]),
    }
    try:
        headers = {"Authorization": f"Bearer {token}"}
        total_contacts = httpx.get(
            f"http://127.0.0.1:{ports['maillage']}/api/v1/contacts?limit=1", headers=headers
        ).json()["total"]
        rng = random.Random(11)
        scenarios = {
            "organisations?q&axis": organisation_paths(rng, 500),
            "contacts?offset": contact_paths(rng, 500, total_contacts),
        }
        for scenario, paths in scenarios.items():
            samples: dict[str, list[float]] = {"maillage": [], "baseline": []}
            failures = dict.fromkeys(samples, 0)
            for _ in range(rounds):
                for name in ("baseline", "maillage"):
                    latencies, errors = asyncio.run(load(ports[name], token, paths, seconds))
                    samples[name] += latencies
                    failures[name] += errors
            figures = {name: summarise(lat, seconds * rounds) for name, lat in samples.items()}
            ratio = figures["maillage"]["rps"] / figures["baseline"]["rps"]
            print(f"\n[{engine}] {scenario} — {CLIENTS} clients, {rounds}×{seconds:.0f} s chacun")
            for name, figure in figures.items():
                print(
                    f"  {name:9s} médiane {figure['median_ms']:6.1f} ms   p99 {figure['p99_ms']:6.1f} ms"
                    f"   {figure['rps']:7.1f} req/s   erreurs {failures[name]}"
                )
            print(f"  ratio de débit maillage/baseline : {ratio:.2f}")
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    run(args.engine, args.seconds, args.rounds)


if __name__ == "__main__":
    main()
