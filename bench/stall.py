"""Replays the stalls of #16 against a running server while a prober, in a process of its own,
measures `GET /healthz` and an answer-link GET (`/r/{token}`) side by side.

    export MAILLAGE_DATA_DIR=/tmp/bench MAILLAGE_DATABASE_URL=sqlite:////tmp/bench/bench.db
    maillage serve --port 8791 &          # one server process (its heavy-work processes below it)
    python bench/stall.py http://127.0.0.1:8791 --pid $!

The script reads the server's database (same environment) to make its fixtures: five
readers and five coordinators with API tokens, the answer link of an upcoming invitation, the
territories and meetings to ask for. Scenarios, each with the prober running:

- ``sign-ins``: 16 concurrent sign-ins with unknown emails (argon2 on each);
- ``reports-same``: 10 concurrent `GET /api/v1/reports/annual?year=2026&format=docx` from one
  reader, the issue's replay (memoised and capped per user since #16: 2 computed at most);
- ``reports-issue``: the same with the issue's exact request (no territory): on a database
  of several territories it is refused 400 (« précisez lequel »), ``reports-same`` computes;
- ``reports-distinct``: 10 concurrent DOCX bilans of 10 territories from 5 readers (2 each):
  nothing memoised, nothing capped, every one computed;
- ``network``: 4 network analyses with different filters from 2 coordinators;
- ``packs``: 6 meeting packs (DOCX) of different meetings from 3 readers;
- ``mailing-preview``: the issue's three hostile mass-mailing templates (two nested loops of
  ``range(10000)``, ``('x' * 10**8)|length``, ``2**(10**5)``) and three previews of a mailing
  to every partner of the database, from 2 coordinators;
- ``mailing-all``: four previews and a send of a mailing with merge fields to every
  partner of the database, from 5 coordinators;
- ``exports``: ten « Export Caf » files (CSV and XLSX, one territory or consolidated) from 5
  coordinators, each read to its end;
- ``lists``: 48 API list pages at once from 5 readers, long ones (searches matching most
  partners and sorted in French, a contacts page at offset 10,000, 200 rows each): since
  2026-12-07 such statements start on the event loop's own SQLite connection, bounded
  (`sqlite_pool.LOOP_READ_CPU_SECONDS`);
- ``xlsx``: the issue's two hostile workbooks imported (simulation) twice each: a sheet
  inflating to 900 MB of blanks, and 100 rows of 16,384 cells (made by the script, about
  made once and kept in the temporary folder).

For each: the jobs' statuses and time, the prober's median / p99 / max per kind, and with
``--pid`` the CPU time of the server and its child processes over the scenario (per job).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import io
import multiprocessing
import os
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

import httpx

PROBE_EVERY = 0.02  # seconds between two probes


# ----- fixtures ---------------------------------------------------------------------------------


async def _fixtures() -> dict:
    from maillage import db
    from maillage.actor import CLI
    from maillage.crm import auth
    from maillage.crm.registry import SERVICES
    from maillage.crm.schemas import UserIn
    from maillage.errors import Conflict
    from maillage.mailing import tokens
    from maillage.settings import load_settings
    from maillage.tables import Invitation, Meeting, SignInThrottle, Territory

    settings = load_settings()
    await db.connect(settings.database_url)
    await db.start_pool()
    try:
        found: dict[str, list] = {"readers": [], "coordinators": []}
        for role, key, count in (("lecteur", "readers", 5), ("coordinateur", "coordinators", 5)):
            for n in range(count):
                email = f"stall-{role}-{n}@maillage.example"
                with contextlib.suppress(Conflict):
                    await SERVICES["users"].create(
                        CLI, UserIn(email=email, role=role, password="mot-de-passe-bench")
                    )
                found[key].append(await auth.create_token(CLI, email))
        # Each run replays 16 password checks: the counters of earlier runs would refuse them.
        await SignInThrottle.delete(force=True)
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        invitation = await (
            Invitation.select(Invitation.id, Invitation.token_nonce)
            .where(Invitation.meeting.starts_at > soon)
            .first()
        )
        assert invitation, "aucune invitation à venir dans la base"
        found["answer"] = tokens.answer_token(
            settings.secret_key, invitation["id"], invitation["token_nonce"]
        )
        territories = await Territory.select(Territory.id).order_by(Territory.id)
        found["territories"] = [t["id"] for t in territories]
        meetings = await (
            Meeting.select(Meeting.id)
            .where(Meeting.status == "tenue")
            .order_by(Meeting.starts_at, ascending=False)
            .limit(6)
        )
        found["meetings"] = [m["id"] for m in meetings]
        return found
    finally:
        await db.close_pool()


# ----- hostile files --------------------------------------------------------------------------

SHEET = "xl/worksheets/sheet1.xml"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _cell(column: int, row: int, text: str) -> str:
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f'<c r="{letters}{row}" t="inlineStr"><is><t>{text}</t></is></c>'


def _workbook(write_sheet) -> bytes:
    """A real workbook (openpyxl) whose first sheet is written by ``write_sheet(stream)``."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Nom", "Prénom"])
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(plain) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            if item.filename == SHEET:
                part = zipfile.ZipInfo(SHEET)
                part.compress_type = zipfile.ZIP_DEFLATED
                with target.open(part, "w", force_zip64=True) as stream:
                    write_sheet(stream)
            else:
                target.writestr(item, source.read(item.filename))
    return out.getvalue()


def _bomb(stream) -> None:
    """900 MB of blanks in the sheet (the issue's 922 KB file)."""
    stream.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet {NS}><sheetData>'.encode())
    blanks = b" " * (1 << 20)
    for _ in range(900):
        stream.write(blanks)
    stream.write(b"</sheetData></worksheet>")


def _wide(stream) -> None:
    """100 rows of 16,384 cells under a two-column header (the issue's 4.6 MB sheet)."""
    stream.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet {NS}><sheetData>'.encode())
    stream.write(f'<row r="1">{_cell(1, 1, "Nom")}{_cell(2, 1, "Prénom")}</row>'.encode())
    for row in range(2, 102):
        cells = "".join(_cell(column, row, "x") for column in range(1, 16_385))
        stream.write(f'<row r="{row}">{cells}</row>'.encode())
    stream.write(b"</sheetData></worksheet>")


def _kept(name: str, write_sheet) -> bytes:
    """The hostile workbook ``name``, made once and kept in the temporary folder."""
    path = Path(tempfile.gettempdir()) / "maillage-stall" / name
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(_workbook(write_sheet))
    return path.read_bytes()


TEMPLATES = [
    "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}",
    "{{ ('x' * 10**8)|length }}",
    "{{ 2**(10**5) }}",
]


# ----- the prober (its own process) -------------------------------------------------------------


def _probe_process(base: str, answer: str, stop, out) -> None:
    async def run() -> None:
        latencies: dict[str, list[float]] = {"healthz": [], "answer": []}
        failures: dict[str, int] = {"healthz": 0, "answer": 0}
        started: dict[str, list[float]] = {"healthz": [], "answer": []}  # time.time()
        async with httpx.AsyncClient(base_url=base, timeout=900) as client:
            turn = 0
            while not stop.is_set():
                kind = "healthz" if turn % 2 == 0 else "answer"
                path = "/healthz" if kind == "healthz" else f"/r/{answer}"
                start = time.perf_counter()
                started[kind].append(time.time())
                try:
                    status = (await client.get(path)).status_code
                except httpx.HTTPError:
                    status = 0
                latencies[kind].append((time.perf_counter() - start) * 1000)
                # Counted, not asserted: a prober that died would leave the scenario waiting.
                failures[kind] += status != 200
                turn += 1
                await asyncio.sleep(PROBE_EVERY)
        out.put((latencies, failures, started))

    asyncio.run(run())


# ----- CPU of the server and its children -------------------------------------------------------


def _tree_cpu(pid: int) -> float:
    """utime + stime of ``pid`` and every living descendant, in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(p for p, parent in parents.items() if parent == current)
    return total


# ----- the stalls -------------------------------------------------------------------------------


async def _sign_in(base: str, n: int) -> int:
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        await client.get("/connexion")
        csrf = client.cookies.get("maillage_csrf", "")
        response = await client.post(
            "/connexion",
            data={"email": f"inconnu{n}@maillage.example", "password": "x" * 12},
            headers={"x-csrftoken": csrf},
        )
        return response.status_code


async def _get(base: str, token: str, path: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=600, headers=headers) as client:
        return (await client.get(path)).status_code


async def _preview(base: str, token: str, body: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=600, headers=headers) as client:
        data = {"subject": "Réunion de rentrée", "body": body}
        return (await client.post("/api/v1/mailings/preview", json=data)).status_code


async def _send(base: str, token: str, body: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=600, headers=headers) as client:
        data = {"subject": "Réunion de rentrée", "body": body}
        return (await client.post("/api/v1/mailings", json=data)).status_code


async def _export(base: str, token: str, path: str) -> int:
    """The whole file, read as it streams (the export is journaled at its end)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=base, timeout=600, headers=headers) as client,
        client.stream("GET", path) as response,
    ):
        async for _ in response.aiter_bytes():
            pass
        return response.status_code


async def _import(base: str, token: str, name: str, content: bytes) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=600, headers=headers) as client:
        files = {"file": (name, content, "application/octet-stream")}
        return (await client.post("/api/v1/imports?kind=contacts", files=files)).status_code


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def _timed(job, ends: list[float]):
    """``job``'s result, its end (``time.time()``) appended to ``ends``."""
    try:
        return await job
    finally:
        ends.append(time.time())


def _timeline(
    origin: float,
    slow: float,
    latencies: dict[str, list[float]],
    started: dict[str, list[float]],
    ends: list[float],
) -> None:
    """The probes slower than ``slow`` ms and the jobs' ends, in seconds since ``origin`` (the
    scenario's start, ``time.time()``), to set beside a trace of the server."""
    print(f"  scenario started at {origin:.3f} (time.time())")
    print("  jobs ended at " + ", ".join(f"+{end - origin:.2f} s" for end in sorted(ends)))
    late = sorted(
        (at - origin, kind, ms)
        for kind in latencies
        for at, ms in zip(started[kind], latencies[kind], strict=True)
        if ms > slow
    )
    for at, kind, ms in late:
        print(f"  slow probe at +{at:7.2f} s  {kind:8} {ms:7.1f} ms")


async def scenario(
    name: str, base: str, answer: str, pid: int | None, jobs: list, slow: float | None = None
) -> None:
    context = multiprocessing.get_context("spawn")
    stop, out = context.Event(), context.Queue()
    prober = context.Process(target=_probe_process, args=(base, answer, stop, out))
    prober.start()
    await asyncio.sleep(1.0)  # the prober's interpreter starts and probes an idle server
    cpu = _tree_cpu(pid) if pid else 0.0
    start, origin, ends = time.perf_counter(), time.time(), []
    try:
        # A job that fails (the client's 600 s timeout) is reported by its exception's name:
        # it must not leave the prober's process running and the script waiting for it.
        results = await asyncio.gather(*(_timed(j, ends) for j in jobs), return_exceptions=True)
    finally:
        stop.set()
    elapsed = time.perf_counter() - start
    cpu = (_tree_cpu(pid) - cpu) if pid else float("nan")
    latencies, failures, started = out.get()
    prober.join()
    statuses = [r if isinstance(r, int) else type(r).__name__ for r in results]
    counts = {s: statuses.count(s) for s in sorted(set(statuses), key=str)}
    print(
        f"{name}: {len(jobs)} jobs in {elapsed:.1f} s, statuses {counts}, "
        f"server CPU {cpu:.1f} s ({cpu / len(jobs) * 1000:.0f} ms/job)"
    )
    for kind, values in latencies.items():
        print(
            f"  {kind:8} n={len(values):4} median {statistics.median(values):6.1f} ms  "
            f"p99 {_percentile(values, 0.99):7.1f} ms  max {max(values):7.1f} ms"
            + (f"  not 200: {failures[kind]}" if failures[kind] else "")
        )
    if slow is not None:
        _timeline(origin, slow, latencies, started, ends)


async def main(base: str, pid: int | None, only: set[str], slow: float | None = None) -> None:
    fx = await _fixtures()
    readers, coordinators = fx["readers"], fx["coordinators"]
    territories, meetings, answer = fx["territories"], fx["meetings"], fx["answer"]
    annual = "/api/v1/reports/annual?year=2026&format=docx&territory={}"
    plan = {
        "sign-ins": lambda: [_sign_in(base, n) for n in range(16)],
        "reports-same": lambda: [
            _get(base, readers[0], annual.format(territories[0])) for _ in range(10)
        ],
        # The issue's own request: the consolidated bilan of every territory.
        "reports-issue": lambda: [
            _get(base, readers[0], "/api/v1/reports/annual?year=2026&format=docx")
            for _ in range(10)
        ],
        "reports-distinct": lambda: [
            _get(base, readers[n % 5], annual.format(territories[1 + n])) for n in range(10)
        ],
        "network": lambda: [
            _get(base, coordinators[n % 2], f"/api/v1/network/report?axis={n + 1}")
            for n in range(4)
        ],
        "packs": lambda: [
            _get(base, readers[n % 3], f"/api/v1/meetings/{m}/pack?format=docx")
            for n, m in enumerate(meetings)
        ],
    }
    plan["mailing-preview"] = lambda: [
        _preview(base, coordinators[n % 2], body)
        for n, body in enumerate([*TEMPLATES, *["Bonjour {{ prenom }},"] * 3])
    ]
    # A mass mailing to every partner of the database (no filter): four previews and a send
    # (it queues one message per recipient; run the server with MAILLAGE_SMTP_RATE=1
    # so that the sender's deliveries do not mix with the measure).
    merged = "Bonjour {{ civilite }} {{ prenom }} {{ nom }},\n\n" + "Ordre du jour. " * 40
    plan["mailing-all"] = lambda: [
        *(_preview(base, coordinators[n % 5], merged) for n in range(4)),
        _send(base, coordinators[4], merged),
    ]
    # Ten « Export Caf » files at once from five coordinators (two each, their cap): CSV and
    # XLSX, of one territory or consolidated.
    caf = "/api/v1/exports/contacts.{}?preset=caf{}"
    plan["exports"] = lambda: [
        _export(
            base,
            coordinators[n % 5],
            caf.format("csv" if n % 2 else "xlsx", f"&territory={territories[n]}" if n < 6 else ""),
        )
        for n in range(10)
    ]
    # Long list pages at once: searches matching most rows, sorted in French, and a far page.
    pages = [
        "/api/v1/contacts?q=e&limit=200",
        "/api/v1/organisations?q=a&limit=200",
        "/api/v1/contacts?offset=10000&limit=200",
    ]
    plan["lists"] = lambda: [_get(base, readers[n % 5], pages[n % 3]) for n in range(48)]
    if not only or "xlsx" in only:
        started = time.perf_counter()
        hostile = {
            name: _kept(name, make)
            for name, make in (("bombe.xlsx", _bomb), ("16384-colonnes.xlsx", _wide))
        }
        sizes = ", ".join(f"{n} {len(c) // 1024} Ko" for n, c in hostile.items())
        print(f"(fichiers piégés : {sizes}, faits en {time.perf_counter() - started:.1f} s)")
        plan["xlsx"] = lambda: [
            _import(base, coordinators[n % 2], name, content)
            for n, (name, content) in enumerate(list(hostile.items()) * 2)
        ]
    for name, jobs in plan.items():
        if not only or name in only:
            await scenario(name, base, answer, pid, jobs(), slow)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--pid", type=int, help="the server's process, for its CPU time")
    parser.add_argument("--only", default="", help="scenarios, comma-separated")
    parser.add_argument(
        "--slow",
        type=float,
        help="print the probes slower than this many ms and the jobs' ends, with their times",
    )
    args = parser.parse_args()
    chosen = {s for s in args.only.split(",") if s}
    asyncio.run(main(args.url.rstrip("/"), args.pid, chosen, args.slow))
