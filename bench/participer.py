"""Benchmark of the public registration page `/participer/{id}` (#22): not a test, figures to
report. Issue #22 asks for the page « served under 20 ms and holding 200 registrations per second
on SQLite without a lost one ».

1. A SQLite database in a temporary directory with one public meeting open to registration
   (capacity 500, so that the run also fills the waiting list).
2. A real uvicorn server (one worker) in its own process; Litestar's rate limit on the posts is
   lifted for the run (``PARTICIPATION_RATE``), everything else as in production: CSRF, the
   honeypot and the signed fill time (a stamp signed 10 s earlier, as a person's form would be).
3. ``wrk`` in its own process: GET of the page (median and p99 latency), then POST of the form
   (registrations per second). Afterwards the database must hold one row per 200 answer, and
   exactly ``capacity`` registered: nothing lost, capacity never exceeded.

Run: ``.venv/bin/python bench/participer.py`` (``--seconds 10 --connections 16``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

SECRET = "banc-d-essai-participer-2026"
CAPACITY = 500
LAUNCHER = """
import uvicorn
from maillage.web import app
app.PARTICIPATION_RATE = ("second", 1_000_000)  # the load comes from one address
uvicorn.run(app.app_from_environment, factory=True, host="127.0.0.1", port={port},
            log_level="warning", access_log=False)
"""
POST_LUA = """
wrk.method = "POST"
wrk.body = "{body}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "{cookie}"
"""


async def _seed(database_url: str) -> int:
    from maillage import db
    from maillage.actor import CLI
    from maillage.crm.registry import SERVICES
    from maillage.crm.schemas import MeetingIn, WorkingGroupIn
    from maillage.crm.seed import ensure_axes

    await db.connect(database_url)
    await db.start_pool()
    await db.migrate()
    await ensure_axes()
    group = await SERVICES["groups"].create(
        CLI, WorkingGroupIn(name="Ateliers de concertation", kind="reseau")
    )
    starts = (dt.datetime.now(dt.UTC) + dt.timedelta(days=20)).replace(microsecond=0)
    meeting = await SERVICES["meetings"].create(
        CLI,
        MeetingIn(
            working_group=group["id"],
            title="Réunion publique : l'accueil du jeune enfant",
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=2),
            location="Salle des fêtes",
            is_public=True,
            registration_open=True,
            capacity=CAPACITY,
        ),
    )
    await db.close_pool()
    return meeting["id"]


async def _counts(database_url: str) -> dict[str, int]:
    from maillage import db
    from maillage.tables import InhabitantRegistration

    await db.connect(database_url)
    await db.start_pool()
    rows = await InhabitantRegistration.select(InhabitantRegistration.status)
    await db.close_pool()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("le serveur s'est arrêté au démarrage")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("le serveur ne répond pas")


def _wrk(args: list[str]) -> str:
    result = subprocess.run(["wrk", *args], capture_output=True, text=True, check=True)
    return result.stdout


def _latency(report: str, percentile: str) -> str:
    match = re.search(rf"^\s+{percentile}%\s+(\S+)", report, re.M)
    return match.group(1) if match else "?"


def _figure(report: str, label: str) -> float:
    match = re.search(rf"{label}:\s+([\d.]+)", report)
    return float(match.group(1)) if match else 0.0


def _requests(report: str) -> int:
    match = re.search(r"(\d+) requests in", report)
    return int(match.group(1)) if match else 0


def _non_2xx(report: str) -> int:
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
    return int(match.group(1)) if match else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    options = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="participer-"))
    database_url = f"sqlite:///{directory / 'bench.db'}"
    meeting = asyncio.run(_seed(database_url))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "MAILLAGE_DATA_DIR": str(directory),
        "MAILLAGE_DATABASE_URL": database_url,
        "MAILLAGE_SECRET_KEY": SECRET,
        "MAILLAGE_BASE_URL": base,
    }
    server = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER.format(port=port)], env=env, cwd=Path(__file__).parent
    )
    try:
        page = f"{base}/participer/{meeting}"
        _wait_for(page, server)
        duration = f"{options.seconds}s"
        connections = str(options.connections)
        alone_report = _wrk(["-t1", "-c1", "-d", duration, "--latency", page])
        get_report = _wrk(["-t1", "-c", connections, "-d", duration, "--latency", page])

        from maillage.web.pages.participation import form_stamp

        with httpx.Client() as client:
            client.get(page)
            csrf = client.cookies["maillage_csrf"]
        stamp = form_stamp(SECRET, meeting, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=10))
        body = urlencode(
            {
                "_csrf_token": csrf,
                "jeton": stamp,
                "nom": "Hélène Lefèvre",
                "commune": "Ardoise",
                "courriel": "",
                "consentement": "on",
                "site_web": "",
            }
        )
        script = directory / "post.lua"
        script.write_text(POST_LUA.format(body=body, cookie=f"maillage_csrf={csrf}"))
        post_report = _wrk(
            ["-t1", "-c", connections, "-d", duration, "--latency", "-s", str(script), page]
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    counts = asyncio.run(_counts(database_url))
    posted = _requests(post_report)
    refused = _non_2xx(post_report)
    stored = sum(counts.values())
    print(f"GET  /participer/{meeting}, une connexion : médiane {_latency(alone_report, '50')}, "
          f"p99 {_latency(alone_report, '99')}")  # fmt: skip
    print(f"GET  /participer/{meeting}, {connections} connexions : "
          f"{_figure(get_report, 'Requests/sec'):.0f} req/s, "
          f"médiane {_latency(get_report, '50')}, p99 {_latency(get_report, '99')}")  # fmt: skip
    print(f"POST /participer/{meeting}, {connections} connexions : {_figure(post_report, 'Requests/sec'):.0f} inscriptions/s, "
          f"médiane {_latency(post_report, '50')}, p99 {_latency(post_report, '99')}")  # fmt: skip
    print(f"réponses {posted} (dont {refused} hors 2xx), en base {stored} : {counts}")
    # wrk stops counting with requests still in flight (one per connection at most): those
    # are answered and stored after its count.
    in_flight = stored - (posted - refused)
    lost = in_flight < 0 or in_flight > options.connections
    print(
        "ÉCART entre réponses et base" if lost else f"aucune perdue ({in_flight} en vol à l'arrêt)"
    )
    print(
        "capacité respectée"
        if counts.get("inscrit", 0) == min(CAPACITY, stored)
        else "CAPACITÉ DÉPASSÉE OU INCOMPLÈTE"
    )


if __name__ == "__main__":
    main()
