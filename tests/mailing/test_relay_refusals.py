"""A relay that refuses the session (authentication required, sender refused, busy at connect)
is a configuration or server problem: every message stays queued with the reason, none fails,
and they all leave once the relay takes them."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from contextlib import contextmanager

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from tests.mailing.conftest import RecordingHandler, SmtpServer, free_port, settle, smtp_sender
from tests.mailing.helpers import queue_plain, statuses


@contextmanager
def running(controller: Controller) -> Iterator[None]:
    controller.start()
    try:
        yield
    finally:
        controller.stop()


async def assert_kept_waiting(ids: list[str], *fragments: str) -> None:
    rows = await statuses()
    for message_id in ids:
        row = rows[message_id]
        assert row["status"] == "en_attente", row
        assert row["attempts"] == 0, row  # the relay's refusal is not an attempt
        assert row["last_error"].startswith("En attente : "), row
        for fragment in fragments:
            assert fragment in row["last_error"], row


async def assert_delivered_once_when_fixed(port: int, ids: list[str]) -> None:
    handler = RecordingHandler()
    with running(Controller(handler, hostname="127.0.0.1", port=port)):
        await settle(smtp_sender(SmtpServer(handler, port)))
    assert collections.Counter(handler.ids()) == collections.Counter(ids)
    assert {row["status"] for row in (await statuses()).values()} == {"envoye"}


async def test_authentication_required_keeps_every_message_queued(database):
    ids = await queue_plain(12)
    port = free_port()
    handler = RecordingHandler()
    # aiosmtpd's own « auth required » mode: 530 to MAIL FROM until the client logs in.
    relay = Controller(
        handler, hostname="127.0.0.1", port=port, auth_required=True, auth_require_tls=False
    )
    with running(relay):
        report = await smtp_sender(SmtpServer(handler, port)).drain()
    assert report.sent == 0 and report.failed == 0
    assert report.unreachable is not None and "530" in report.unreachable
    assert handler.ids() == []
    await assert_kept_waiting(ids, "Le serveur refuse l'expéditeur : 530", "uthentication")
    await assert_delivered_once_when_fixed(port, ids)


async def test_a_refused_sender_address_keeps_every_message_queued(database):
    class SenderPolicy(RecordingHandler):
        async def handle_MAIL(self, server, session, envelope, address, mail_options):  # type: ignore[no-untyped-def]
            return f"550 5.7.1 <{address}>: expéditeur non autorisé sur ce relais"

    ids = await queue_plain(5)
    port = free_port()
    handler = SenderPolicy()
    with running(Controller(handler, hostname="127.0.0.1", port=port)):
        report = await smtp_sender(SmtpServer(handler, port)).drain()
    assert report.failed == 0 and report.unreachable is not None
    await assert_kept_waiting(ids, "550 5.7.1 <ctg@maillage.example>: expéditeur non autorisé")
    await assert_delivered_once_when_fixed(port, ids)


async def test_authentication_required_at_rcpt_keeps_every_message_queued(database):
    class LateCheck(RecordingHandler):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
            return "530 5.7.57 Client not authenticated to send mail"

    ids = await queue_plain(4)
    port = free_port()
    handler = LateCheck()
    with running(Controller(handler, hostname="127.0.0.1", port=port)):
        report = await smtp_sender(SmtpServer(handler, port)).drain()
    assert report.failed == 0 and report.unreachable is not None
    await assert_kept_waiting(ids, "authentification", "530 5.7.57")
    await assert_delivered_once_when_fixed(port, ids)


class Greeting(SMTP):
    """A relay that answers the connection itself with ``reply`` and hangs up."""

    reply = "421 4.3.2 Service temporairement indisponible"

    async def _handle_client(self) -> None:
        await self.push(self.reply)
        assert self.transport is not None
        self.transport.close()


class GreetingController(Controller):
    def __init__(self, reply: str, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(RecordingHandler(), **kwargs)
        self.reply = reply

    def factory(self) -> SMTP:
        server = Greeting(self.handler, **self.SMTP_kwargs)
        server.reply = self.reply
        return server


async def test_a_relay_busy_at_connect_keeps_every_message_queued(database):
    ids = await queue_plain(6)
    port = free_port()
    busy = GreetingController(
        "421 4.3.2 Service temporairement indisponible", hostname="127.0.0.1", port=port
    )
    with running(busy):
        report = await smtp_sender(SmtpServer(busy.handler, port)).drain()
    assert report.sent == 0 and report.failed == 0
    await assert_kept_waiting(
        ids, f"127.0.0.1:{port} refuse la connexion : 421 4.3.2 Service temporairement"
    )
    await assert_delivered_once_when_fixed(port, ids)


async def test_a_relay_refusing_at_connect_keeps_every_message_queued(database):
    ids = await queue_plain(3)
    port = free_port()
    closed = GreetingController(
        "554 5.3.2 Ce relais n'accepte pas de connexion", hostname="127.0.0.1", port=port
    )
    with running(closed):
        report = await smtp_sender(SmtpServer(closed.handler, port)).drain()
    assert report.failed == 0
    await assert_kept_waiting(ids, "refuse la connexion : 554 5.3.2")
    await assert_delivered_once_when_fixed(port, ids)


async def test_an_envelope_address_with_a_line_break_fails_alone(database, smtp_server):
    """The outbox only holds checked addresses; should a row say otherwise, no command is
    written with it (a line break would start a command of its own)."""
    from maillage.tables import OutboxMessage

    ids = await queue_plain(2)
    await OutboxMessage.update(
        {OutboxMessage.recipient: "x@commune.example>\r\nRCPT TO:<intrus@ailleurs.example"}
    ).where(OutboxMessage.message_id == ids[0])
    await settle(smtp_sender(smtp_server))
    rows = await statuses()
    assert rows[ids[0]]["status"] == "echec"
    assert rows[ids[0]]["last_error"].startswith("Adresse d'enveloppe invalide « x@commune")
    assert rows[ids[1]]["status"] == "envoye"
    assert [item.recipients for item in smtp_server.handler.received] == [
        ["partenaire0001@commune.example"]
    ]


async def test_an_unusable_envelope_sender_keeps_every_message_queued(database, smtp_server):
    ids = await queue_plain(2)
    report = await smtp_sender(smtp_server, envelope_from="ctg@maillage.example\r\nRSET").drain()
    assert report.failed == 0 and report.unreachable is not None
    await assert_kept_waiting(ids, "Adresse d'expédition invalide « ctg@maillage.example RSET »")
    assert smtp_server.handler.ids() == []
