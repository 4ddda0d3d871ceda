"""Benchmark of calendar feeds (issue #4): not a test, figures to report.

1. A feed of 1,000 meetings built and serialised through ``maillage.calendar`` against the same
   events built directly with ``icalendar`` in this script (aim: ratio ≤ 1.2).
2. The median time of a repeated feed request answered 304, on loopback against a real uvicorn
   server with a SQLite database holding those 1,000 meetings (aim: < 5 ms).

Run: ``python bench/calendar_feed.py`` (add ``--requests 500`` for more samples).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress

from maillage import french
from maillage.calendar.events import MeetingEvent, build_calendar, serialize

MEETINGS = 1000
START = dt.datetime(2026, 1, 6, 14, 0, tzinfo=french.PARIS)
STAMP = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def sample_meetings(count: int = MEETINGS) -> list[MeetingEvent]:
    return [
        MeetingEvent(
            uid=f"{n}@maillage",
            sequence=n % 3,
            title=f"Séance n° {n}",
            starts_at=START + dt.timedelta(days=n),
            ends_at=START + dt.timedelta(days=n, hours=2),
            group_name="Commission petite enfance",
            group_kind="commission_thematique",
            axes=("Petite enfance", "Parentalité"),
            location="Maison de l'enfance, 3 rue des Tilleuls",
            video_url="https://visio.example/commission",
            agenda="1. Accueil\n2. Bilan des EAJE\n3. Questions diverses",
            status="annulee" if n % 10 == 0 else "planifiee",
            url=f"https://maillage.example/meetings/{n}",
            organizer_email="ctg@maillage.example",
            organizer_name="Coordination CTG",
            last_modified=STAMP,
        )
        for n in range(count)
    ]


# ----- the same feed, written directly with icalendar ---------------------------------------


def _direct_timezone() -> Timezone:
    zone = Timezone()
    zone.add("tzid", "Europe/Paris")
    for kind, onset, month, before, after, name in (
        (TimezoneDaylight, dt.datetime(1996, 3, 31, 2), 3, 1, 2, "CEST"),
        (TimezoneStandard, dt.datetime(1996, 10, 27, 3), 10, 2, 1, "CET"),
    ):
        observance = kind()
        observance.add("dtstart", onset)
        observance.add("rrule", {"freq": "yearly", "bymonth": month, "byday": "-1SU"})
        observance.add("tzoffsetfrom", dt.timedelta(hours=before))
        observance.add("tzoffsetto", dt.timedelta(hours=after))
        observance.add("tzname", name)
        zone.add_component(observance)
    return zone


def direct_feed(meetings: list[MeetingEvent]) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//bench//FR")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Commission petite enfance")
    calendar.add("x-wr-timezone", "Europe/Paris")
    calendar.add_component(_direct_timezone())
    for m in meetings:
        event = Event()
        event.add("uid", m.uid)
        event.add("dtstamp", m.last_modified)
        event.add("sequence", m.sequence)
        event.add("dtstart", m.starts_at)
        event.add("dtend", m.ends_at)
        cancelled = m.status == "annulee"
        summary = f"{m.group_name} — {m.title}"
        event.add("summary", f"Annulée — {summary}" if cancelled else summary)
        event.add("location", m.location)
        start = m.starts_at
        event.add(
            "description",
            f"{m.group_name} : {start:%d/%m/%Y de %H h %M} (heure de Paris).\n\n"
            f"Ordre du jour :\n{m.agenda}\n\nVisioconférence : {m.video_url}\n"
            f"Fiche de la réunion : {m.url}",
        )
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
        event.add("url", m.url)
        event.add("categories", ["Commission thématique", *m.axes])
        organizer = vCalAddress(f"mailto:{m.organizer_email}")
        organizer.params["CN"] = m.organizer_name
        event.add("organizer", organizer)
        event.add("last-modified", m.last_modified)
        calendar.add_component(event)
    return calendar.to_ical()


def maillage_feed(meetings: list[MeetingEvent]) -> bytes:
    return serialize(build_calendar(meetings, name="Commission petite enfance"))


def paired_timings(first, second, *args, runs: int = 9) -> tuple[list[float], list[float]]:
    """Alternate the two builders so that load from other processes hits both alike."""
    first(*args), second(*args)  # warm-up
    ours, theirs = [], []
    for _ in range(runs):
        for func, timings in ((first, ours), (second, theirs)):
            start = time.perf_counter()
            func(*args)
            timings.append(time.perf_counter() - start)
    return ours, theirs


# ----- 304 on loopback ----------------------------------------------------------------------


async def _seed(database_url: str, count: int) -> tuple[str, str, int]:
    from maillage import db
    from maillage.actor import CLI
    from maillage.calendar import feeds
    from maillage.crm import auth
    from maillage.crm.registry import SERVICES
    from maillage.crm.schemas import UserIn, WorkingGroupIn
    from maillage.crm.seed import ensure_axes
    from maillage.tables import Meeting

    await db.connect(database_url)
    await db.migrate()
    await ensure_axes()
    group = await SERVICES["groups"].create(
        CLI,
        WorkingGroupIn(name="Commission petite enfance", kind="commission_thematique", axes=[1, 4]),
    )
    soon = dt.datetime.now(dt.UTC).replace(microsecond=0)
    rows = [
        Meeting(
            working_group=group["id"],
            title=f"Séance n° {n}",
            starts_at=soon + dt.timedelta(days=n),
            ends_at=soon + dt.timedelta(days=n, hours=2),
            location="Maison de l'enfance",
            agenda="1. Accueil\n2. Bilan",
            ical_uid=f"{n}@maillage",
            search=f"seance {n}",
        )
        for n in range(count)
    ]
    await Meeting.insert(*rows).run()
    await SERVICES["users"].create(
        CLI, UserIn(email="bench@maillage.example", role="lecteur", password="banc-d-essai-2026")
    )
    api_token = await auth.create_token(CLI, "bench@maillage.example")
    feed_token, _ = await feeds.create_token(CLI, "group", group["id"])
    return api_token, feed_token, group["id"]


async def _validator_timings(database_url: str, token: str, runs: int) -> list[float]:
    """What a 304 costs the service itself: token lookup and validators, no HTTP."""
    from maillage import db
    from maillage.calendar import feeds
    from maillage.settings import load_settings

    await db.connect(database_url)
    settings = load_settings({"MAILLAGE_DATA_DIR": tempfile.gettempdir()})
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        # The token and its validators, as the route reads them (one statement for a body's).
        assert await feeds.token_feed_state(token, settings) is not None
        timings.append(time.perf_counter() - start)
    return timings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("le serveur s'est arrêté au démarrage")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("le serveur ne répond pas")


def conditional_timings(client: httpx.Client, url: str, headers: dict, requests: int) -> dict:
    start = time.perf_counter()
    first = client.get(url, headers=headers)
    cold = time.perf_counter() - start
    assert first.status_code == 200, first.text[:200]
    full = []
    for _ in range(20):
        start = time.perf_counter()
        client.get(url, headers=headers)
        full.append(time.perf_counter() - start)
    conditional = {**headers, "If-None-Match": first.headers["etag"]}
    timings = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url, headers=conditional)
        timings.append(time.perf_counter() - start)
        assert response.status_code == 304
    return {
        "bytes": len(first.content),
        "cold_ms": cold * 1000,
        "min_ms": min(timings) * 1000,
        "full_ms": statistics.median(full) * 1000,
        "median_ms": statistics.median(timings) * 1000,
        "p95_ms": sorted(timings)[int(len(timings) * 0.95)] * 1000,
    }


def loopback(requests: int) -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as data_dir:
        database_url = f"sqlite:///{Path(data_dir) / 'bench.db'}"
        api_token, feed_token, group_id = asyncio.run(_seed(database_url, MEETINGS))
        service_only = asyncio.run(_validator_timings(database_url, feed_token, requests))
        port = _free_port()
        env = {
            **os.environ,
            "MAILLAGE_DATA_DIR": data_dir,
            "MAILLAGE_DATABASE_URL": database_url,
            "MAILLAGE_BASE_URL": f"http://127.0.0.1:{port}",
        }
        command = [
            sys.executable, "-m", "uvicorn", "--factory", "maillage.web.app:app_from_environment",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        ]  # fmt: skip
        server = subprocess.Popen(command, env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_for(f"{base}/healthz", server)
            with httpx.Client(base_url=base) as client:
                return {
                    "service seul": {
                        "median_ms": statistics.median(service_only) * 1000,
                        "min_ms": min(service_only) * 1000,
                        "p95_ms": sorted(service_only)[int(len(service_only) * 0.95)] * 1000,
                    },
                    "lien secret": conditional_timings(
                        client, f"/calendar/feeds/{feed_token}.ics", {}, requests
                    ),
                    "connexion (Bearer)": conditional_timings(
                        client,
                        f"/calendar/groups/{group_id}.ics",
                        {"Authorization": f"Bearer {api_token}"},
                        requests,
                    ),
                }
        finally:
            server.terminate()
            server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    meetings = sample_meetings()
    assert maillage_feed(meetings).count(b"BEGIN:VEVENT") == MEETINGS
    ours, direct = paired_timings(maillage_feed, direct_feed, meetings)
    ratios = [a / b for a, b in zip(ours, direct, strict=True)]
    print(f"Flux de {MEETINGS} réunions, construction + sérialisation ({len(ours)} paires) :")
    print(
        f"  maillage.calendar : médiane {statistics.median(ours) * 1000:.0f} ms, min {min(ours) * 1000:.0f} ms"
    )
    print(
        f"  icalendar direct  : médiane {statistics.median(direct) * 1000:.0f} ms, min {min(direct) * 1000:.0f} ms"
    )
    print(
        f"  rapport           : {statistics.median(ratios):.2f} (médiane des paires), "
        f"{min(ours) / min(direct):.2f} (minimums) — objectif ≤ 1,2"
    )
    print(f"Requête conditionnelle répétée (304), boucle locale, {args.requests} requêtes :")
    print(f"  (charge de la machine : {os.getloadavg()[0]:.1f} sur {os.cpu_count()} cœurs)")
    for label, figures in loopback(args.requests).items():
        if "bytes" not in figures:
            print(
                f"  {label:<20} : jeton + validateurs sans HTTP, médiane "
                f"{figures['median_ms']:.2f} ms (min {figures['min_ms']:.2f}, 95e centile "
                f"{figures['p95_ms']:.2f})"
            )
            continue
        print(
            f"  {label:<20} : 304 en médiane {figures['median_ms']:.2f} ms (min "
            f"{figures['min_ms']:.2f}, 95e centile {figures['p95_ms']:.2f}) — objectif < 5 ms ; "
            f"réponse complète {figures['bytes'] // 1024} Kio : {figures['cold_ms']:.0f} ms à "
            f"froid, {figures['full_ms']:.1f} ms ensuite (corps gardé pour son ETag)"
        )


if __name__ == "__main__":
    main()
