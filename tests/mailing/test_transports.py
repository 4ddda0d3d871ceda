"""The SMTP connection's DATA step, against a real aiosmtpd server."""

from __future__ import annotations

import time

import pytest

from maillage.mailing.transports import (
    Permanent,
    SmtpBackend,
    Transient,
    _crlf_only,
    _dot_stuffed,
    parse_smtp_url,
)

SENDER = "ctg@maillage.example"
RECIPIENT = "helene@caf.example"


def _message(body: bytes, message_id: str) -> bytes:
    head = f"From: {SENDER}\r\nTo: {RECIPIENT}\r\nSubject: Points\r\nMessage-ID: <{message_id}>\r\n\r\n"
    return head.encode() + body


async def _send(smtp_server, raw: bytes) -> bytes:  # type: ignore[no-untyped-def]
    connection = await SmtpBackend(parse_smtp_url(smtp_server.url)).connect()
    try:
        await connection.send(SENDER, RECIPIENT, raw)
    finally:
        await connection.close()
    return smtp_server.handler.received[-1].content


async def test_lines_starting_with_a_period_arrive_as_written(smtp_server):
    # A lone "." line would end the message early if it were not stuffed.
    body = b".\r\n..deux points\r\n.cache\r\nfin\r\n.\r\n"
    raw = _message(body, "points@maillage.example")
    assert await _send(smtp_server, raw) == raw


async def test_a_message_with_bare_line_feeds_arrives_with_crlf(smtp_server):
    raw = _message(b"ligne un\nligne deux\n.point\n", "lf@maillage.example")
    received = await _send(smtp_server, raw)
    assert received == raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_dot_stuffing_and_line_ending_checks():
    assert _dot_stuffed(b".a\r\nb\r\n.\r\n") == b"..a\r\nb\r\n..\r\n.\r\n"
    assert _crlf_only(b"a\r\nb\r\n")
    assert not _crlf_only(b"a\r\nb")  # no final line ending
    assert not _crlf_only(b"a\nb\r\n")
    assert not _crlf_only(b"a\rb\r\n")


async def test_a_server_answering_too_late_leaves_the_message_to_retry_on_a_new_connection(
    smtp_server,
):
    smtp_server.handler.faults.stall["<lent@maillage.example>"] = 3.0
    backend = SmtpBackend(parse_smtp_url(smtp_server.url.replace("timeout=5", "timeout=0.5")))
    connection = await backend.connect()
    started = time.monotonic()
    with pytest.raises(Transient) as failure:
        await connection.send(SENDER, RECIPIENT, _message(b"lent\r\n", "lent@maillage.example"))
    assert time.monotonic() - started < 2.5  # the whole exchange is bounded, not only a reply
    assert failure.value.connection_lost
    assert "Délai dépassé" in str(failure.value)
    # The late reply must never be read as the next message's: the connection is closed.
    assert not connection.client.is_connected
    await connection.close()
    retry = await backend.connect()
    try:
        await retry.send(SENDER, RECIPIENT, _message(b"suivant\r\n", "suivant@maillage.example"))
    finally:
        await retry.close()
    assert smtp_server.handler.ids() == ["<suivant@maillage.example>"]


async def test_a_connection_cut_during_data_is_said_in_french(smtp_server):
    smtp_server.handler.faults.drop.add("<coupe@maillage.example>")
    connection = await SmtpBackend(parse_smtp_url(smtp_server.url)).connect()
    try:
        with pytest.raises(Transient) as failure:
            await connection.send(SENDER, RECIPIENT, _message(b"x\r\n", "coupe@maillage.example"))
    finally:
        await connection.close()
    assert failure.value.connection_lost
    # The server closes the connection without a reply: aiosmtplib's words are English.
    assert str(failure.value) == "Connexion interrompue pendant l'envoi (connexion coupée)."


async def test_a_refused_recipient_stays_refused_when_the_reset_after_it_is_slow(smtp_server):
    smtp_server.handler.faults.refuse = {RECIPIENT}
    smtp_server.handler.faults.slow_reset = 2.0
    backend = SmtpBackend(parse_smtp_url(smtp_server.url.replace("timeout=5", "timeout=0.5")))
    connection = await backend.connect()
    try:
        with pytest.raises(Permanent) as failure:
            await connection.send(SENDER, RECIPIENT, _message(b"x\r\n", "refus@maillage.example"))
    finally:
        await connection.close()
    # The server's words, not a timeout: the RSET runs after the message's deadline.
    assert "550" in str(failure.value) and "boîte inconnue" in str(failure.value)
