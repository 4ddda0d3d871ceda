"""The mailbox watched with IMAP IDLE against a real Dovecot (#19): an answer delivered while
the reader waits is recorded within two seconds, with no poll; without IDLE the reader polls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from maillage.mailing.imap import ImapSession, open_session, parse_imap_url
from maillage.mailing.mailbox import FetchReport, MailboxReader
from maillage.tables import Invitation
from tests.mailing.imap_server import ImapServer
from tests.mailing.test_mailbox import deliver_outlook_acceptance, invite


async def _answered(body) -> str:  # type: ignore[no-untyped-def]
    row = (
        await Invitation.select(Invitation.response)
        .where(Invitation.contact == body.people["marc"]["id"])
        .first()
    )
    return row["response"]


async def _until(condition, seconds: float) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if await condition():
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    raise AssertionError(f"rien après {seconds} s")


async def _until_accepted(body, seconds: float) -> float:  # type: ignore[no-untyped-def]
    async def accepted() -> bool:
        return await _answered(body) == "acceptee"

    return await _until(accepted, seconds)


async def _until_idling(reader: MailboxReader, seconds: float) -> None:

    async def idling() -> bool:
        return reader.idling

    await _until(idling, seconds)


@asynccontextmanager
async def _watching(
    reader: MailboxReader, report: Callable[[FetchReport], None], poll: float
) -> AsyncIterator[None]:
    """The reader watches the mailbox for the block, then stops within ten seconds."""
    stop = asyncio.Event()
    task = asyncio.create_task(reader.watch(stop, report, poll=poll))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_dovecot_offers_idle(imap_server: ImapServer):
    session = await open_session(parse_imap_url(imap_server.url()))
    try:
        assert session.can_idle
    finally:
        await session.close()


async def test_an_answer_delivered_during_idle_is_recorded_within_two_seconds(
    body, imap_server: ImapServer
):
    await invite(body, "marc")
    reader = MailboxReader(parse_imap_url(imap_server.url()))
    reports: list[FetchReport] = []
    # A poll of an hour: only IDLE can bring the answer in time.
    async with _watching(reader, reports.append, poll=3600):
        await _until_idling(reader, 10)
        await deliver_outlook_acceptance(body, imap_server)
        assert await _until_accepted(body, 5) < 2.0
        await _until_idling(reader, 5)  # back in IDLE after the pass, ready for the next one
    assert [r.outcomes for r in reports if r.outcomes] == [{"reponse": 1}]
    assert all(r.unreachable is None for r in reports)


async def test_without_idle_the_reader_polls(body, imap_server: ImapServer, monkeypatch):
    monkeypatch.setattr(ImapSession, "can_idle", property(lambda self: False))
    await invite(body, "marc")
    reader = MailboxReader(parse_imap_url(imap_server.url()))
    async with _watching(reader, lambda report: None, poll=0.3):
        await asyncio.sleep(0.5)
        assert not reader.idling
        await deliver_outlook_acceptance(body, imap_server)
        await _until_accepted(body, 5)


@pytest.mark.slow
async def test_a_lost_connection_is_opened_again(body, imap_server: ImapServer, monkeypatch):
    """The server drops the connection while the reader waits: the reader says so in French,
    connects again and reads what arrived in between."""
    await invite(body, "marc")
    reader = MailboxReader(parse_imap_url(imap_server.url()))
    reports: list[FetchReport] = []
    sessions: list[ImapSession] = []
    real_idle = ImapSession.idle

    async def remembered(self, seconds, stop_event):  # type: ignore[no-untyped-def]
        sessions.append(self)
        return await real_idle(self, seconds, stop_event)

    monkeypatch.setattr(ImapSession, "idle", remembered)
    async with _watching(reader, reports.append, poll=0.2):
        await _until_idling(reader, 10)
        sessions[0].client.protocol.transport.abort()  # the network cut under it
        await deliver_outlook_acceptance(body, imap_server)
        await _until_accepted(body, 10)
    lost = [r.unreachable for r in reports if r.unreachable]
    assert lost, reports
    assert all("IMAP" in reason for reason in lost)
    assert len(sessions) >= 2


@pytest.mark.slow
async def test_a_connection_lost_as_idle_starts_is_opened_again(
    body, imap_server: ImapServer, monkeypatch
):
    """The network cuts just as IDLE is sent, before the server's « + idling »: aioimaplib
    never fails that wait, so the reader must notice the lost connection itself (CI saw the
    reader hang there for ten minutes)."""
    await invite(body, "marc")
    reader = MailboxReader(parse_imap_url(imap_server.url()))
    reports: list[FetchReport] = []
    sessions: list[ImapSession] = []
    real_idle = ImapSession.idle

    async def cut_first(self, seconds, stop_event):  # type: ignore[no-untyped-def]
        sessions.append(self)
        if len(sessions) == 1:
            self.client.protocol.transport.abort()
        return await real_idle(self, seconds, stop_event)

    monkeypatch.setattr(ImapSession, "idle", cut_first)
    async with _watching(reader, reports.append, poll=0.2):

        async def idling_again() -> bool:
            return len(sessions) >= 2 and reader.idling

        await _until(idling_again, 10)  # the cut was noticed and a new connection idles
        await deliver_outlook_acceptance(body, imap_server)
        await _until_accepted(body, 10)
    assert len(sessions) >= 2
    assert any(r.unreachable and "IMAP" in r.unreachable for r in reports), reports
