"""Server time and SQL queries of three pages on `departement`-sized data.

Usage (from the repository root):

    python bench/pages.py [--engine sqlite|postgresql] [--runs 30]
    python bench/pages.py --database sqlite:////tmp/bench/bench.db   # data already loaded

Loads the `departement` demo (`maillage.crm.demo.load_demo(scale="departement")`) when it is
available, otherwise generates a comparable volume itself (communes, organisations, contacts,
affiliations, bodies, memberships, meetings, invitations, DSP contracts). Then it signs in and
requests the tableau de bord, a partner list page and the partner, contact and body detail
pages (the largest ones) in-process (ASGI,
no network), printing the median and p90 server time and the number of SQL queries per page.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from piccolo.query import OrderByRaw
from piccolo.query.functions.aggregate import Count

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from maillage import db
from maillage.actor import CLI
from maillage.crm import caches
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import UserIn
from maillage.crm.seed import ensure_axes
from maillage.crm.text import search_text
from maillage.settings import Settings
from maillage.tables import (
    Affiliation,
    Commune,
    Contact,
    Invitation,
    Meeting,
    Membership,
    Organisation,
    OrganisationAxis,
    Partnership,
    User,
    WorkingGroup,
)
from maillage.web.app import create_app

logging.getLogger("httpx").setLevel(logging.WARNING)

SCALE = {
    "communes": 300,
    "organisations": 3000,
    "contacts": 6000,
    "groups": 450,
    "memberships": 5000,
    "meetings": 1800,
    "invitations": 18000,
    "dsp": 150,
}
EMAIL = "pages-bench@maillage.example"
PASSWORD = "mot de passe du banc"
KINDS = ["institution", "collectivite", "association", "operateur_dsp", "etablissement"]
WORDS = ["Centre social", "Crèche", "École", "Mairie", "Association", "Club", "CCAS", "Ludothèque"]


async def _bulk(table, rows, chunk: int = 500) -> None:
    for start in range(0, len(rows), chunk):
        await table.insert(*rows[start : start + chunk]).run()


async def generate(seed: int = 7) -> str:
    rng = random.Random(seed)
    await ensure_axes()
    await _bulk(
        Commune,
        [
            Commune(insee_code=f"35{i:03}", name=f"Commune {i}", search=f"commune {i}")
            for i in range(1, SCALE["communes"] + 1)
        ],
    )
    organisations = []
    for i in range(SCALE["organisations"]):
        name = f"{rng.choice(WORDS)} {i}"
        organisations.append(
            Organisation(
                name=name,
                kind=rng.choice(KINDS),
                commune=rng.randint(1, SCALE["communes"]),
                search=search_text(name),
            )
        )
    await _bulk(Organisation, organisations)
    await _bulk(
        OrganisationAxis,
        [
            OrganisationAxis(organisation=o, axis=rng.randint(1, 8))
            for o in range(1, SCALE["organisations"] + 1)
        ],
    )
    contacts = [
        Contact(first_name=f"Prénom{i}", last_name=f"Nom{i}", search=f"prenom{i} nom{i}")
        for i in range(SCALE["contacts"])
    ]
    await _bulk(Contact, contacts)
    await _bulk(
        Affiliation,
        [
            Affiliation(contact=c, organisation=rng.randint(1, SCALE["organisations"]))
            for c in range(1, SCALE["contacts"] + 1)
        ],
    )
    await _bulk(
        WorkingGroup,
        [
            WorkingGroup(name=f"Instance {i}", kind="commission_thematique", search=f"instance {i}")
            for i in range(SCALE["groups"])
        ],
    )
    start = dt.date(2025, 1, 1)
    seats = {
        (rng.randint(1, SCALE["contacts"]), rng.randint(1, SCALE["groups"]))
        for _ in range(SCALE["memberships"])
    }
    await _bulk(
        Membership,
        [Membership(contact=c, working_group=g, start_date=start) for c, g in sorted(seats)],
    )
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    meetings = []
    for i in range(SCALE["meetings"]):
        begins = now + dt.timedelta(days=rng.randint(-400, 120), hours=rng.randint(0, 8))
        meetings.append(
            Meeting(
                working_group=rng.randint(1, SCALE["groups"]),
                title=f"Réunion {i}",
                starts_at=begins,
                ends_at=begins + dt.timedelta(hours=2),
                status="tenue" if begins < now else "planifiee",
                ical_uid=f"bench-{i}@maillage",
                search=f"reunion {i}",
            )
        )
    await _bulk(Meeting, meetings)
    pairs = {
        (rng.randint(1, SCALE["meetings"]), rng.randint(1, SCALE["contacts"]))
        for _ in range(SCALE["invitations"])
    }
    await _bulk(
        Invitation,
        [
            Invitation(
                meeting=m,
                contact=c,
                token_nonce=f"n{m}-{c}",
                response=rng.choice(["en_attente", "acceptee", "declinee"]),
                attendance=rng.choice([None, "present", "absent"]),
            )
            for m, c in pairs
        ],
    )
    today = dt.date.today()
    await _bulk(
        Partnership,
        [
            Partnership(
                organisation=rng.randint(1, SCALE["organisations"]),
                partner=rng.randint(1, SCALE["organisations"]),
                kind="delegation_dsp",
                end_date=today + dt.timedelta(days=rng.randint(-100, 900)),
                contract_reference=f"DSP-{i}",
            )
            for i in range(SCALE["dsp"])
        ],
    )
    return "généré par bench/pages.py (" + ", ".join(f"{k} {v}" for k, v in SCALE.items()) + ")"


async def load(seed: int) -> str:
    try:
        from maillage.crm.demo import load_demo

        return "démo departement : " + str(
            await load_demo(seed=seed, today=dt.date.today(), scale="departement")
        )
    except NotImplementedError:
        return await generate(seed)


class Counter:
    def __init__(self) -> None:
        self.count = 0


def count_queries() -> Counter:
    counter = Counter()
    engine_class = type(db.current_engine())
    original = engine_class.run_querystring

    async def counting(self, *args, **kwargs):
        counter.count += 1
        return await original(self, *args, **kwargs)

    engine_class.run_querystring = counting
    return counter


async def measure(
    url: str,
    engine: str,
    runs: int,
    existing: bool = False,
    profile: str | None = None,
    account: tuple[str, str] | None = None,
    three: bool = False,
    dump: str | None = None,
    cold: bool = False,
) -> None:
    await db.connect(url)
    await db.start_pool()
    await db.migrate()
    if not existing:
        await db.clear_all()
        started = time.perf_counter()
        summary = await load(seed=7)
        print(f"[{engine}] données : {summary} en {time.perf_counter() - started:.0f} s")
        if engine == "postgresql":
            # Fresh statistics, as autovacuum gives a real database a minute after a bulk
            # load: without them the planner scans every invitation (measured: 89 against 49 ms).
            await Organisation.raw("ANALYZE").run()
    email, password = account or (EMAIL, PASSWORD)
    if account is None and not await User.exists().where(User.email == EMAIL):
        await SERVICES["users"].create(
            CLI, UserIn(email=EMAIL, role="coordinateur", password=PASSWORD)
        )
    partner = await Organisation.select(Organisation.id).order_by(Organisation.id).first().run()
    # The busiest person and body: their pages list the most meetings.
    person = (
        await Invitation.select(Invitation.contact, Count(alias="n"))
        .group_by(Invitation.contact)
        .order_by(OrderByRaw("COUNT(*)"), ascending=False)
        .first()
        .run()
    )
    body = (
        await Meeting.select(Meeting.working_group, Count(alias="n"))
        .group_by(Meeting.working_group)
        .order_by(OrderByRaw("COUNT(*)"), ascending=False)
        .first()
        .run()
    )
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp()),
        database_url=url,
        secret_key="bench-secret-key-not-for-production",
        base_url="http://bench",
        smtp_url=None,
        mail_from="bench@maillage.example",
    )
    app = create_app(settings, manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        await client.get("/connexion")
        signed = await client.post(
            "/connexion",
            data={
                "email": email,
                "password": password,
                "_csrf_token": client.cookies["maillage_csrf"],
            },
        )
        assert signed.status_code == 303, signed.text
        if profile:
            await _profile(client, profile, runs)
            await db.close_pool()
            return
        counter = count_queries()
        pages = {
            "tableau de bord /": "/",
            "liste /partenaires?q=centre&page=2": "/partenaires?q=centre&page=2",
            f"fiche /partenaires/{partner['id']}": f"/partenaires/{partner['id']}",
            f"fiche /contacts/{person['contact']} ({person['n']} invit.)": (
                f"/contacts/{person['contact']}"
            ),
            f"fiche /instances/{body['working_group']} ({body['n']} réunions)": (
                f"/instances/{body['working_group']}"
            ),
        }
        if three:  # the three pages of #16's figure
            pages = dict(list(pages.items())[:3])
        if dump:
            await _dump(client, pages, Path(dump))
            await db.close_pool()
            return
        print(f"{email}, charge {os.getloadavg()[0]:.1f}{', à froid' if cold else ''}")
        print(
            f"{'page':45} {'médiane':>9} {'p90':>9} {'CPU méd.':>9} {'CPU moy.':>9} "
            f"{'requêtes SQL':>13}"
        )
        for label, path in pages.items():
            timings, cpu, queries = [], [], set()
            for _ in range(runs + 3):
                if cold:  # every memoised answer computed again (the charts', #16)
                    caches.forget_all()
                counter.count = 0
                started, started_cpu = time.perf_counter(), time.process_time()
                response = await client.get(path)
                # The process's CPU, the SQLite threads' included: steadier than the wall
                # clock on a shared machine.
                cpu.append((time.process_time() - started_cpu) * 1000)
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
                queries.add(counter.count)
            timings, cpu = timings[3:], cpu[3:]  # warm-up
            p90 = statistics.quantiles(timings, n=10)[-1]
            print(
                f"{label:45} {statistics.median(timings):7.1f} ms {p90:7.1f} ms "
                f"{statistics.median(cpu):6.1f} ms {statistics.fmean(cpu):6.1f} ms "
                f"{'/'.join(map(str, sorted(queries))):>13}"
            )
    await db.close_pool()


async def _dump(client: httpx.AsyncClient, pages: dict[str, str], folder: Path) -> None:
    """Each page's HTML in ``folder`` (CSRF tokens and nonces masked), to compare two trees
    byte for byte (#16); the reports (meetings' sections in full) too."""
    import re

    folder.mkdir(parents=True, exist_ok=True)
    paths = [*pages.values(), "/partenaires", "/partenaires?page=3"]
    paths += [f"{path}?tout=reunions" for path in pages.values() if "/partenaires/" in path]
    paths.append("/")  # the dashboard again: its charts from the memo (#16)
    names: set[str] = set()
    for path in paths:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        text = re.sub(r'(nonce|value|content)="[A-Za-z0-9_\-+/=.]{20,}"', r'\1="…"', response.text)
        name = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "dashboard"
        name = name if name not in names else name + "_again"
        names.add(name)
        (folder / f"{name}.html").write_text(text)
    print(f"{len(paths)} pages dans {folder}")


async def _profile(client: httpx.AsyncClient, path: str, runs: int) -> None:
    """cProfile of ``runs`` requests of ``path`` in this process (after three warm-up ones):
    the functions taking the most time, with what they call."""
    import cProfile
    import pstats

    for _ in range(3):
        await client.get(path)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        response = await client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    profiler.disable()
    stats = pstats.Stats(profiler).strip_dirs().sort_stats("cumulative")
    stats.print_stats(45)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database", help="a database already loaded (the demo of ab.sh)")
    parser.add_argument("--profile", help="a page's path: profile it instead (cProfile)")
    parser.add_argument(
        "--account",
        help="EMAIL:PASSWORD of an existing user to sign in as (e.g. a demo coordinator), "
        "instead of the bench's own unscoped coordinator",
    )
    parser.add_argument("--three", action="store_true", help="the three pages of #16 only")
    parser.add_argument("--dump", help="write the pages' HTML into this folder instead")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="forget the memoised answers before each request: what computing them costs",
    )
    args = parser.parse_args()
    account = tuple(args.account.split(":", 1)) if args.account else None
    if args.database:
        engine = "postgresql" if args.database.startswith("postgres") else "sqlite"
        asyncio.run(
            measure(
                args.database,
                engine,
                args.runs,
                existing=True,
                profile=args.profile,
                account=account,  # type: ignore[arg-type]
                three=args.three,
                dump=args.dump,
                cold=args.cold,
            )
        )
        return
    if args.engine == "postgresql":
        url = os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/maillage_bench_pages"
        )
        asyncio.run(_create_postgres(url))
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench-pages.db"
    asyncio.run(measure(url, args.engine, args.runs))


async def _create_postgres(url: str) -> None:
    import asyncpg

    admin_url, _, name = url.rpartition("/")
    connection = await asyncpg.connect(admin_url + "/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


if __name__ == "__main__":
    main()
