"""The mailbox reader against a real Dovecot (#19): throughput and APPEND-to-answer latency.

Usage (from the repository root, after `make install-test`; needs Dovecot, Debian package
`dovecot-imapd`):

    .venv/bin/python bench/mailbox.py [--messages 1000] [--latency-rounds 30]
        [--database-url postgresql://…]

What it does:
1. starts a throw-away Dovecot on loopback (the tests' own, `tests/mailing/imap_server.py`) and
   a throw-away database (SQLite by default); a meeting with as many invitees as messages;
2. throughput: APPENDs N mixed messages (half calendar answers from the Outlook, Gmail and
   Thunderbird samples, a quarter bounces from Postfix, Exim and Exchange, a quarter automatic
   replies) over one IMAP connection, then one `MailboxReader.fetch()` reads, records and moves
   them all; prints the APPEND time and the processing time and rate;
3. latency: `MailboxReader.watch` runs as in `maillage serve` (IMAP IDLE on Dovecot); each
   round waits until it idles, APPENDs one Outlook answer from a fresh invitee and stops the
   clock when the invitation's answer is in the database (read every 5 ms, as the API and the
   meeting page read it); prints median, 95th centile and maximum.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maillage import db  # noqa: E402
from maillage.actor import CLI  # noqa: E402
from maillage.crm.registry import SERVICES  # noqa: E402
from maillage.crm.schemas import MeetingIn, WorkingGroupIn  # noqa: E402
from maillage.crm.seed import ensure_axes  # noqa: E402
from maillage.mailing import invitations  # noqa: E402
from maillage.mailing.imap import open_session, parse_imap_url  # noqa: E402
from maillage.mailing.mailbox import FetchReport, MailboxReader  # noqa: E402
from maillage.tables import Contact, Invitation  # noqa: E402
from tests.mailing.imap_server import running_dovecot  # noqa: E402
from tests.mailing.mail_samples import sample  # noqa: E402

ORGANIZER = "ctg@maillage.example"
REPLIES = ("reply-outlook", "reply-gmail", "reply-thunderbird")
BOUNCES = ("bounce-postfix", "bounce-exim", "bounce-exchange")
AUTOMATIC = ("autoreply-outlook", "autoreply-vacation")


async def prepare(count: int) -> tuple[str, list[str]]:
    await ensure_axes()
    group = await SERVICES["groups"].create(
        CLI, WorkingGroupIn(name="Réseau parentalité", kind="reseau")
    )
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(microsecond=0)
    meeting = await SERVICES["meetings"].create(
        CLI,
        MeetingIn(
            working_group=group["id"],
            title="Rencontre annuelle du réseau",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
        ),
    )
    rows = [
        Contact(
            first_name=f"Prénom{n}",
            last_name=f"Lefèvre{n}",
            email=f"partenaire{n:05d}@commune.example",
            search=f"partenaire {n}",
        )
        for n in range(count)
    ]
    ids: list[int] = []
    for chunk in range(0, count, 500):
        inserted = await Contact.insert(*rows[chunk : chunk + 500]).returning(Contact.id).run()
        ids += [row["id"] for row in inserted]
    await invitations.invite(CLI, meeting["id"], invitations.InviteRequest(tuple(ids)))
    return meeting["ical_uid"], [row.email for row in rows]


def mixed(uid: str, addresses: list[str]) -> list[bytes]:
    messages = []
    for n, address in enumerate(addresses):
        slot = n % 4
        if slot in (0, 1):
            name = REPLIES[n % len(REPLIES)]
            messages.append(sample(name, uid=uid, attendee=address, organizer=ORGANIZER))
        elif slot == 2:
            name = BOUNCES[n % len(BOUNCES)]
            messages.append(
                sample(name, organizer=ORGANIZER, recipient=address, message_id=f"<b{n}@m>")
            )
        else:
            name = AUTOMATIC[n % len(AUTOMATIC)]
            messages.append(
                sample(name, attendee=address, organizer=ORGANIZER, message_id=f"<a{n}@m>")
            )
    return messages


async def append_all(url: str, messages: list[bytes]) -> float:
    session = await open_session(parse_imap_url(url))
    started = time.perf_counter()
    try:
        for raw in messages:
            await session.append(raw)
    finally:
        await session.close()
    return time.perf_counter() - started


async def latency(url: str, uid: str, addresses: list[str]) -> list[float]:
    reader = MailboxReader(parse_imap_url(url))
    stop = asyncio.Event()
    reports: list[FetchReport] = []
    task = asyncio.create_task(reader.watch(stop, reports.append, poll=3600))
    delays = []
    try:
        for address in addresses:
            while not reader.idling:
                await asyncio.sleep(0.005)
            raw = sample("reply-outlook", uid=uid, attendee=address, organizer=ORGANIZER)
            session = await open_session(parse_imap_url(url))
            try:
                started = time.perf_counter()
                await session.append(raw)
            finally:
                await session.close()
            while True:
                row = (
                    await Invitation.select(Invitation.response)
                    .where(Invitation.contact.email == address)
                    .first()
                )
                if row and row["response"] == "acceptee":
                    break
                if time.perf_counter() - started > 30:
                    raise SystemExit(f"aucune réponse enregistrée en 30 s pour {address}")
                await asyncio.sleep(0.005)
            delays.append(time.perf_counter() - started)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    unreachable = [r.unreachable for r in reports if r.unreachable]
    if unreachable:
        print("connexion perdue :", unreachable)
    return delays


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--latency-rounds", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    n, rounds = args.messages, args.latency_rounds

    data_dir = Path(tempfile.mkdtemp(prefix="maillage-bench-"))
    url = args.database_url or f"sqlite:///{data_dir / 'bench.db'}"
    await db.connect(url)
    await db.start_pool()
    try:
        await db.migrate()
        await db.clear_all()
        uid, addresses = await prepare(n + rounds)
        with running_dovecot() as server:
            imap_url = server.url(tls="none")
            messages = mixed(uid, addresses[:n])
            appended = await append_all(imap_url, messages)
            started = time.perf_counter()
            report = await MailboxReader(parse_imap_url(imap_url)).fetch()
            processed = time.perf_counter() - started
            delays = await latency(imap_url, uid, addresses[n:])
    finally:
        await db.close_pool()

    engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"{engine}, {n} messages ({report.summary()})")
    if report.errors or report.unreachable:
        print("erreurs :", report.errors, report.unreachable)
    print(f"  APPEND of {n} messages: {appended:.2f} s ({n / appended:.0f} msg/s)")
    print(f"  fetch, record and move: {processed:.2f} s ({n / processed:.0f} msg/s)")
    if delays:
        ordered = sorted(delays)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        print(
            f"  APPEND → answer in the database with IDLE, {len(delays)} rounds: "
            f"median {statistics.median(delays) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
            f"max {max(delays) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
