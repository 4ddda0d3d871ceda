"""Side by side, paired: the sides' servers run at once (each idle while another is measured),
and each round measures every side right after the other on the same request, so that a
slow minute of a shared machine falls on both sides of a pair instead of on one round of one
side (#16: at load 1.5-3 the floor alone moved from 440 to 745 req/s between rounds of
bench/ab.sh, which restarts the servers for each side).

    python bench/ab_paired.py --side new=/tmp/q/new --side floor --rounds 9 --n 2000 \\
        --what contacts --what organisations --what feed --what answer

Sides: ``NAME=TREE`` serves TREE with ``maillage serve``; ``floor`` (or ``floor=TREE``) runs that
tree's bench/baseline_app.py. The same uvicorn settings and environment as bench/ab.sh
(MAILLAGE_DATA_DIR, MAILLAGE_DATABASE_URL, TOKEN, FEED, ANSWER). Each measure is wrk -t1 -c16
stopped after --n answers (bench/fixed_n.lua); the server's CPU per request is read from
/proc/PID/stat. Before measuring, the bodies of every side are compared (the floor must give
the same answer: the same body and headers but the date and the ETag). Prints each pair, then per request the median and quartiles of each side's
req/s and CPU, and of the ratio of every side to the last one given.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
WHATS = {
    "contacts": ("/api/v1/contacts?offset=5000&limit=50", "api"),
    "organisations": ("/api/v1/organisations?q=centre&axis=4", "api"),
    "feed": ("/calendar/feeds/{FEED}.ics", "feed"),
    "answer": ("/r/{ANSWER}", "answer"),
}


def start(name: str, tree: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": tree}
    if name.startswith("floor"):
        command = [sys.executable, "-P", f"{tree}/bench/baseline_app.py", str(port)]
    else:
        command = [sys.executable, "-P", "-m", "maillage", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, env=env, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{name} ne démarre pas")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def fetch(url: str, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def headers_for(kind: str, url: str) -> dict[str, str]:
    if kind == "api":
        return {"Authorization": f"Bearer {os.environ['TOKEN']}"}
    if kind == "answer":
        return {"Accept": "text/html"}
    answered = {key.lower(): value for key, value in fetch(url, {})[2].items()}
    etag = answered.get("etag", "")
    return {"If-None-Match": etag}


def wrk(url: str, headers: dict[str, str], n: int) -> None:
    command = ["wrk", "-t1", "-c16", "-d300s", "-s", str(ROOT / "bench/fixed_n.lua")]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    subprocess.run(
        [*command, url],
        env={**os.environ, "WRK_N": str(n)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )


def quartiles(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.2f}"
    q = statistics.quantiles(values, n=4)
    return f"{statistics.median(values):.2f} ({q[0]:.2f}–{q[2]:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", action="append", required=True)
    parser.add_argument("--what", action="append", choices=sorted(WHATS), required=True)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--port", type=int, default=8840)
    args = parser.parse_args()
    sides: list[tuple[str, str]] = []
    for text in args.side:
        name, _, tree = text.partition("=")
        sides.append((name, tree or str(ROOT)))
    servers = {name: start(name, tree, args.port + i) for i, (name, tree) in enumerate(sides)}
    ports = {name: args.port + i for i, (name, _) in enumerate(sides)}
    try:
        time.sleep(5)  # maillage's sender makes its first pass at the start (bench/ab.sh)
        plans = {}
        for what in args.what:
            template, kind = WHATS[what]
            path = template.format(**os.environ) if "{" in template else template
            plans[what] = {}
            digests = {}
            for name, _ in sides:
                url = f"http://127.0.0.1:{ports[name]}{path}"
                headers = headers_for(kind, url)
                status, body, answered = fetch(url, headers)
                # The body and the headers but the date and the ETag (each side hashes its own
                # validators): the floor must give the same answer.
                kept = sorted(
                    (key.lower(), value)
                    for key, value in answered.items()
                    if key.lower() not in ("date", "etag")
                )
                digest = hashlib.sha256(body + repr(kept).encode()).hexdigest()[:12]
                digests[name] = (status, digest)
                plans[what][name] = (url, headers)
                wrk(url, headers, 200)  # warm-up
            same = len(set(digests.values())) == 1
            print(f"{what}: réponses {'identiques' if same else 'DIFFÉRENTES'} {digests}")
        results: dict[str, dict[str, list[tuple[float, float]]]] = {
            what: {name: [] for name, _ in sides} for what in args.what
        }
        for round_ in range(1, args.rounds + 1):
            for what in args.what:
                # Alternate the order of the sides from one round to the next.
                order = sides if round_ % 2 else list(reversed(sides))
                line = []
                for name, _ in order:
                    url, headers = plans[what][name]
                    pid = servers[name].pid
                    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
                    wrk(url, headers, args.n)
                    elapsed, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
                    rate, per = args.n / elapsed, cpu * 1000 / args.n
                    results[what][name].append((rate, per))
                    line.append(f"{name} {rate:7.1f} req/s {per:.2f} ms")
                load = Path("/proc/loadavg").read_text().split()[0]
                print(f"round {round_} {what}: " + " · ".join(line) + f" · load {load}", flush=True)
        base = sides[-1][0]
        for what in args.what:
            print(f"\n{what}")
            for name, _ in sides:
                rates = [r for r, _ in results[what][name]]
                cpus = [c for _, c in results[what][name]]
                ratio = [
                    r / b
                    for (r, _), (b, _) in zip(results[what][name], results[what][base], strict=True)
                ]
                print(
                    f"  {name:8} req/s {quartiles(rates)}  CPU ms {quartiles(cpus)}"
                    + (f"  / {base} {quartiles(ratio)}" if name != base else "")
                )
    finally:
        for server in servers.values():
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
