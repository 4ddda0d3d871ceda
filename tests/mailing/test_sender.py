"""The sender against a real SMTP server: faults, an unreachable server, files."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt

import pytest
from aiosmtpd.controller import Controller

from maillage.db import is_sqlite, write_transaction
from maillage.mailing import outbox
from maillage.mailing.sender import Sender
from maillage.mailing.transports import SmtpBackend, parse_smtp_url
from maillage.tables import OutboxMessage
from tests.mailing.conftest import (
    RecordingHandler,
    SmtpServer,
    fast_config,
    file_sender,
    free_port,
    settle,
    smtp_sender,
)
from tests.mailing.helpers import address, queue_plain, statuses


async def test_it_delivers_every_message_once_over_reused_connections(database, smtp_server):
    ids = await queue_plain(30)
    report = await smtp_sender(smtp_server, connections=3).drain()
    assert report.sent == 30
    assert sorted(smtp_server.handler.ids()) == sorted(ids)
    # At most three connections for thirty messages: reused, not one per message (a worker
    # that finds the queue already taken by the others never connects).
    assert 1 <= smtp_server.handler.connections <= 3
    rows = await statuses()
    assert {row["status"] for row in rows.values()} == {"envoye"}
    assert {row["attempts"] for row in rows.values()} == {1}


async def test_faults_leave_every_other_message_delivered_exactly_once(database, smtp_server):
    ids = await queue_plain(60)
    faults = smtp_server.handler.faults
    faults.temporary = set(ids[::4])  # 451 once for a quarter of them
    faults.drop = {mid for mid in ids[1::7]} - faults.temporary  # connection cut mid-batch
    refused = address(10)
    faults.refuse = {refused}

    await settle(smtp_sender(smtp_server))

    counts = collections.Counter(smtp_server.handler.ids())
    rows = await statuses()
    refused_id = next(mid for mid, row in rows.items() if row["recipient"] == refused)
    for message_id in ids:
        if message_id == refused_id:
            assert counts[message_id] == 0
        else:
            assert counts[message_id] == 1, message_id
            assert rows[message_id]["status"] == "envoye"
    failed = rows[refused_id]
    assert failed["status"] == "echec"
    assert "550" in failed["last_error"] and "boîte inconnue" in failed["last_error"]
    retried = faults.temporary | faults.drop
    assert all(rows[mid]["attempts"] == 2 for mid in retried)


async def test_a_server_down_at_start_up_leaves_messages_queued_with_a_reason(database):
    port = free_port()
    down = SmtpServer(RecordingHandler(), port)
    ids = await queue_plain(5)
    report = await smtp_sender(down).drain()
    assert report.sent == 0 and report.unreachable
    rows = await statuses()
    for message_id in ids:
        assert rows[message_id]["status"] == "en_attente"
        assert rows[message_id]["attempts"] == 0
        assert rows[message_id]["last_error"].endswith(
            f"Serveur d'envoi 127.0.0.1:{port} injoignable : connexion refusée."
        )

    controller = Controller(down.handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await settle(smtp_sender(down))
    finally:
        controller.stop()
    assert sorted(down.handler.ids()) == sorted(ids)


async def test_a_permanent_data_refusal_fails_with_the_servers_words(database, smtp_server):
    class Refusing(RecordingHandler):
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            return "554 5.7.1 Message refusé : contenu suspect"

    ids = await queue_plain(1)
    port = free_port()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        report = await smtp_sender(SmtpServer(controller.handler, port)).drain()
    finally:
        controller.stop()
    assert report.failed == 1
    row = (await statuses())[ids[0]]
    assert row["status"] == "echec"
    assert row["last_error"] == "Refusé par le serveur : 554 5.7.1 Message refusé : contenu suspect"


async def test_transient_failures_give_up_after_the_last_attempt(database):
    class Busy(RecordingHandler):
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            return "452 4.3.1 Stockage plein"

    ids = await queue_plain(1)
    port = free_port()
    controller = Controller(Busy(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await settle(smtp_sender(SmtpServer(controller.handler, port), max_attempts=3))
    finally:
        controller.stop()
    row = (await statuses())[ids[0]]
    assert row["status"] == "echec" and row["attempts"] == 3
    assert row["last_error"].startswith("Abandon après 3 tentatives : Refusé par le serveur : 452")


async def test_the_file_backend_writes_one_eml_per_message_id(database, tmp_path):
    ids = await queue_plain(4)
    await settle(file_sender(tmp_path))
    files = sorted(path.name for path in tmp_path.glob("*.eml"))
    assert len(files) == 4
    # Sending again (a crash before the record) rewrites the same file: no duplicate.
    await OutboxMessage.update({OutboxMessage.status: "en_attente"}, force=True)
    await settle(file_sender(tmp_path))
    assert sorted(path.name for path in tmp_path.glob("*.eml")) == files
    contents = b"".join(path.read_bytes() for path in tmp_path.glob("*.eml"))
    assert all(mid.encode() in contents for mid in ids)


async def test_a_rate_limit_spaces_the_messages(database, smtp_server):
    import time

    await queue_plain(6)
    started = time.perf_counter()
    await smtp_sender(smtp_server, rate=20.0, connections=2).drain()
    assert time.perf_counter() - started >= 5 / 20
    assert len(smtp_server.handler.received) == 6


async def test_the_background_sender_wakes_up_when_a_message_is_queued(
    settings, database, tmp_path
):
    import asyncio
    import dataclasses

    from maillage.mailing import background

    local = dataclasses.replace(settings, data_dir=tmp_path, reminder_days=())
    stop = asyncio.Event()
    task = asyncio.create_task(background.run(local, stop, poll=60))
    try:
        await asyncio.sleep(0.2)  # first pass: nothing to send, then it sleeps for a minute
        await queue_plain(2)  # the nudge wakes it at once
        for _ in range(100):
            if len(list((tmp_path / "outbox").glob("*.eml"))) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)


async def test_a_claim_waiting_for_the_write_lock_takes_what_was_queued_meanwhile(database):
    """A worker's claim that waits behind a chunk of an invitation run (SQLite's single
    writer) must see that chunk as due; it used to read its clock before the wait, found
    nothing due, and the worker stopped while messages were queued."""
    if not is_sqlite():
        pytest.skip("PostgreSQL ne fait pas attendre la prise derrière l'écriture.")
    inside = asyncio.Event()

    async def chunk() -> None:
        async with write_transaction():
            inside.set()
            await asyncio.sleep(0.1)
            await queue_plain(3)  # stamped due now, later than the claim began

    writing = asyncio.create_task(chunk())
    await inside.wait()
    claimed = await outbox.claim(10, dt.timedelta(minutes=5))
    await writing
    assert len(claimed) == 3


async def test_the_sender_is_woken_once_the_queued_messages_are_committed(database):
    import asyncio

    from maillage.db import write_transaction
    from maillage.mailing import wakeup

    woken = asyncio.Event()
    wakeup.watch(woken)
    try:
        async with write_transaction():
            await queue_plain(1)
            # Woken now, a sender on PostgreSQL would find nothing and sleep until its next poll.
            assert not woken.is_set()
        assert woken.is_set()
    finally:
        wakeup.unwatch(woken)


class _HoldsBack(Sender):
    """A real sender whose claim holding one of ``held`` (Message-IDs) keeps its batch until
    released: the other workers' claims come back empty while a worker is still on its way
    with a batch (on PostgreSQL the workers claim together, and any of them may be the one
    that takes the first rows)."""

    def __init__(self, *args, held: list[str], **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.held = set(held)
        self.release = asyncio.Event()

    def _claim(self, sent=None):  # type: ignore[no-untyped-def]
        claiming = super()._claim(sent)

        async def late():  # type: ignore[no-untyped-def]
            batch = await claiming
            if any(message.message_id in self.held for message in batch):
                await self.release.wait()
            return batch

        return late()


async def _received(handler: RecordingHandler, count: int, within: float = 10) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while len(handler.ids()) < count:
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_workers_whose_claim_found_nothing_wait_for_a_peer_still_claiming(
    database, smtp_server
):
    first = await queue_plain(1)
    sender = _HoldsBack(
        SmtpBackend(parse_smtp_url(smtp_server.url)),
        fast_config(connections=3, batch_size=1),
        held=first,
    )
    draining = asyncio.create_task(sender.drain())
    await asyncio.sleep(0.2)  # the two other claims have come back empty
    later = await queue_plain(4)
    try:
        # The two others waited and send the later messages while the first one is held;
        # they used to stop at once, leaving one connection for the whole run.
        others_sent = await _received(smtp_server.handler, 4)
    finally:
        sender.release.set()
    report = await asyncio.wait_for(draining, timeout=10)
    assert others_sent
    assert sorted(smtp_server.handler.ids()[:4]) == sorted(later)
    assert report.sent == 5
    assert sorted(smtp_server.handler.ids()) == sorted(first + later)
    assert smtp_server.handler.connections >= 2
