"""Invitation throughput: through the outbox against a raw aiosmtplib loop.

Usage (from the repository root, after `make install`):

    .venv/bin/python bench/mailing_throughput.py [--invitations 1000] [--connections 4]
        [--rounds 3] [--database-url postgresql://…]

What it does, in one script so both sides see the same machine load:
1. creates a body, a meeting and N invitees in a throw-away database (SQLite by default);
2. starts aiosmtpd in its own process on a free loopback port (it accepts and counts);
3. « send → received »: the sender runs as in `maillage serve` (`background.run`, woken by the
   queue), and `invitations.queue` composes the N iMIP messages and writes them to the outbox a
   hundred at a time; the clock stops when the last message is recorded as accepted;
4. then the same prebuilt messages (the outbox's own bytes) two ways:
   - raw: C aiosmtplib connections, each sending its share in a loop;
   - outbox: the rows set back to « en_attente » and drained by the sender (claims, leases,
     acceptance records included);
5. repeats 3-4 for each round (the outbox emptied and the invitations marked unsent first), so
   the three measures of a round see the same machine load; prints the medians, messages per
   second, the ratios to the raw loop, and the CPU time of this process per message for each
   (steadier than the wall clock on a shared machine).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import aiosmtplib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maillage import db  # noqa: E402
from maillage.actor import CLI  # noqa: E402
from maillage.crm.registry import SERVICES  # noqa: E402
from maillage.crm.schemas import MeetingIn, WorkingGroupIn  # noqa: E402
from maillage.crm.seed import ensure_axes  # noqa: E402
from maillage.mailing import background, invitations, outbox, transports  # noqa: E402
from maillage.mailing.sender import Sender, SenderConfig  # noqa: E402
from maillage.mailing.transports import SmtpBackend, parse_smtp_url  # noqa: E402
from maillage.settings import Settings  # noqa: E402
from maillage.tables import Contact, Invitation, OutboxContent, OutboxMessage  # noqa: E402

SERVER = textwrap.dedent(
    """
    import signal, sys, threading
    from aiosmtpd.controller import Controller

    class Counter:
        count = 0
        async def handle_DATA(self, server, session, envelope):
            Counter.count += 1
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    print("pret", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    controller.stop()
    print(Counter.count, flush=True)
    """
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def prepare(count: int) -> int:
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
            location="Centre social Les Tilleuls, Ardoise",
            agenda="1. Bilan de l'année\n2. Projets 2027\n3. Questions diverses",
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
    return meeting["id"]


async def raw_loop(port: int, messages: list[tuple[str, bytes]], connections: int) -> float:
    async def worker(share: list[tuple[str, bytes]]) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        for recipient, content in share:
            await client.sendmail("ctg@maillage.example", [recipient], content)
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(worker(messages[i::connections]) for i in range(connections)))
    return time.perf_counter() - started


async def outbox_drain(sender: Sender) -> float:
    await OutboxMessage.update(
        {
            OutboxMessage.status: "en_attente",
            OutboxMessage.next_attempt_at: dt.datetime.now(dt.UTC),
        },
        force=True,
    )
    started = time.perf_counter()
    report = await sender.drain()
    elapsed = time.perf_counter() - started
    assert report.sent == await OutboxMessage.count(), report
    return elapsed


async def forget_sending(meeting_id: int) -> None:
    """As if « Envoyer » had never been pressed: empty outbox, invitations never queued."""
    await OutboxMessage.delete(force=True)
    await Invitation.update(
        {Invitation.sent_sequence: None, Invitation.sent_at: None}, force=True
    ).where(Invitation.meeting == meeting_id)


async def accepted(count: int) -> None:
    """Wait until the ``count`` queued messages are recorded as accepted, looking every 10 ms.

    On a connection of its own: a Piccolo query outside a transaction opens a new SQLite
    connection (and thread) each time, which cost about 3 ms of the measured process's CPU
    per look, a second or more per round, spent by the stopwatch rather than by maillage.
    Each look asks for one message not yet accepted (an index lookup) rather than counting
    the accepted ones, which on PostgreSQL visited every row updated since, a hundred times a
    round, on the cores the server and the relay share."""
    waiting = (
        OutboxMessage.select(OutboxMessage.id)
        .where(OutboxMessage.status.is_in(["en_attente", "envoi"]))
        .limit(1)
        .querystrings[0]
    )
    sent = OutboxMessage.count().where(OutboxMessage.status == "envoye").querystrings[0]
    async with db.plain_reader() as fetch:
        while await fetch(waiting):
            await asyncio.sleep(0.01)
        assert (await fetch(sent))[0][0] == count


class Timeline:
    """Timestamps of one « send → received » run, to see where the connections sit idle.

    The service functions are wrapped from here (the measured code is unchanged): queue start,
    each chunk written to the outbox, each claim, each message accepted per connection, each
    acceptance record."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str, int, int]] = []
        self.origin = 0.0
        self.recording = False

    def note(self, what: str, who: int = 0, count: int = 0) -> None:
        if self.recording:
            self.events.append((time.perf_counter() - self.origin, what, who, count))

    def install(self) -> None:
        timeline = self

        def wrap(module, name, what, count_of):  # type: ignore[no-untyped-def]
            original = getattr(module, name)

            async def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
                timeline.note(what + " début", 0, 0)
                result = await original(*args, **kwargs)
                timeline.note(what, 0, count_of(args, result))
                return result

            setattr(module, name, wrapped)

        wrap(outbox, "enqueue", "file", lambda args, result: len(args[0]))
        wrap(outbox, "claim", "prise", lambda args, result: len(result or []))
        wrap(outbox, "mark_sent", "enregistré", lambda args, result: len(args[0]))
        send = transports.SmtpConnection.send

        async def sent(self, sender, recipient, raw):  # type: ignore[no-untyped-def]
            await send(self, sender, recipient, raw)
            timeline.note("accepté", id(self), 1)

        transports.SmtpConnection.send = sent  # type: ignore[method-assign]

    def report(self, total: float) -> str:
        lines = ["Chronologie d'un envoi → reçu (secondes depuis « Envoyer ») :"]
        first = {}
        for moment, what, who, count in self.events:
            if what == "accepté":
                first.setdefault(who, moment)
            elif not what.endswith("début"):
                lines.append(f"  {moment:7.3f} {what:11} {count:5d}")
        lines = lines[:60] + ([f"  … ({len(lines) - 60} de plus)"] if len(lines) > 60 else [])
        for number, who in enumerate(first, start=1):
            times = [t for t, what, w, _ in self.events if what == "accepté" and w == who]
            gaps = [b - a for a, b in itertools.pairwise(times)]
            idle = sum(g for g in gaps if g > 0.01)
            busy_from, busy_to = times[0], times[-1]
            lines.append(
                f"  connexion {number} : {len(times)} messages, premier à {busy_from:.3f} s, "
                f"dernier à {busy_to:.3f} s, pauses > 10 ms : {idle:.3f} s "
                f"({sum(g > 0.01 for g in gaps)}), plus longue {max(gaps, default=0):.3f} s"
            )
        accepted_times = sorted(t for t, what, _, _ in self.events if what == "accepté")
        lines.append(
            f"  dernier accepté à {accepted_times[-1]:.3f} s, enregistré (fin) à {total:.3f} s"
        )
        return "\n".join(lines)


async def send_to_received(
    settings: Settings, meeting_id: int, count: int, timeline: Timeline
) -> tuple[float, float]:
    """« Envoyer » pressed with the background sender running: (queue returned, all accepted)."""
    stop = asyncio.Event()
    sending = asyncio.create_task(background.run(settings, stop, poll=1.0))
    await asyncio.sleep(0.2)  # the sender's first (empty) pass
    started = timeline.origin = time.perf_counter()
    timeline.events.clear()
    timeline.recording = True
    queued = await invitations.queue(CLI, settings, meeting_id)
    composed = time.perf_counter() - started
    assert queued["queued"] == count, queued
    await accepted(count)
    total = time.perf_counter() - started
    timeline.recording = False
    stop.set()
    await sending
    return composed, total


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invitations", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--timeline", action="store_true", help="print the timeline of the last round's send"
    )
    args = parser.parse_args()
    n, c = args.invitations, args.connections

    data_dir = Path(tempfile.mkdtemp(prefix="maillage-bench-"))
    url = args.database_url or f"sqlite:///{data_dir / 'bench.db'}"
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None and server.stdout.readline().strip() == "pret"
    smtp_url = f"smtp://127.0.0.1:{port}?starttls=false"
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        secret_key="banc-d-essai-de-maillage",
        base_url="https://maillage.example",
        smtp_url=smtp_url,
        mail_from="CTG du Val <ctg@maillage.example>",
        smtp_connections=c,
    )
    await db.connect(url)
    await db.start_pool()
    try:
        await db.migrate()
        await db.clear_all()
        meeting_id = await prepare(n)
        sender = Sender(
            SmtpBackend(parse_smtp_url(smtp_url)),
            SenderConfig(envelope_from="ctg@maillage.example", connections=c),
        )

        timeline = Timeline()
        if args.timeline:
            timeline.install()
        e2e_times, queue_times, raw_times, outbox_times = [], [], [], []
        # CPU of this process (every thread; the server is another process) per phase: on a
        # shared machine the wall-clock ratio follows the other sessions' load, this does not.
        cpu: dict[str, list[float]] = {"e2e": [], "raw": [], "outbox": []}
        for _ in range(args.rounds):
            await forget_sending(meeting_id)
            before = time.process_time()
            composed, total = await send_to_received(settings, meeting_id, n, timeline)
            cpu["e2e"].append(time.process_time() - before)
            e2e_times.append(total)
            queue_times.append(composed)
            rows = await OutboxContent.select(
                OutboxContent.message.recipient.as_alias("recipient"), OutboxContent.content
            )
            prebuilt = [(row["recipient"], row["content"].encode()) for row in rows]
            before = time.process_time()
            raw_times.append(await raw_loop(port, prebuilt, c))
            cpu["raw"].append(time.process_time() - before)
            before = time.process_time()
            outbox_times.append(await outbox_drain(sender))
            cpu["outbox"].append(time.process_time() - before)
    finally:
        await db.close_pool()
        server.terminate()
        received = int((server.communicate(timeout=30)[0] or "0").strip().splitlines()[-1])

    engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    median = statistics.median
    print(
        f"{n} invitations, {c} connexions SMTP, base {engine}, "
        f"serveur aiosmtpd local (processus à part), médianes de {args.rounds} tours"
    )
    for label, times in [
        ("envoi → reçu (composer, file, remise)", e2e_times),
        ("  dont « queue » (l'envoi a commencé)", queue_times),
        ("remise par la file (messages tout faits)", outbox_times),
        ("boucle aiosmtplib brute, mêmes messages", raw_times),
    ]:
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"  {label:42} {median(times):6.2f} s {n / median(times):7.1f} msg/s  ({runs})")
    ratios = [raw / e2e for raw, e2e in zip(raw_times, e2e_times, strict=True)]
    print(
        f"  rapport envoi→reçu / brut : {median(raw_times) / median(e2e_times):.2f} "
        f"(par tour : {', '.join(f'{r:.2f}' for r in ratios)})"
    )
    print(f"  rapport file / brut (remise) : {median(raw_times) / median(outbox_times):.2f}")
    per_message = {key: median(values) / n * 1000 for key, values in cpu.items()}
    print(
        "  CPU du processus client par message (médiane) : "
        f"envoi → reçu {per_message['e2e']:.2f} ms, remise par la file "
        f"{per_message['outbox']:.2f} ms, boucle brute {per_message['raw']:.2f} ms"
    )
    if args.timeline:
        print(timeline.report(e2e_times[-1]))
    print(f"  messages reçus par le serveur : {received} (attendu {n * 3 * args.rounds})")


if __name__ == "__main__":
    asyncio.run(main())
