"""The mailbox watched with IMAP IDLE against a real Dovecot (#19): an answer delivered while
the reader waits is recorded within two seconds, with no poll; without IDLE the reader polls."""

from __future__ import annotations

import asyncio
import time

import pytest

from maillage.mailing.imap import ImapSession, open_session, parse_imap_url
from maillage.mailing.mailbox import FetchReport, MailboxReader
from maillage.tables import Invitation
from tests.mailing.imap_server import ImapServer
from tests.mailing.mail_samples import sample
from tests.mailing.test_mailbox import ORGANIZER, deliver, invite


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
    stop = asyncio.Event()
    # A poll of an hour: only IDLE can bring the answer in time.
    task = asyncio.create_task(reader.watch(stop, reports.append, poll=3600))
    try:

        async def idling() -> bool:
            return reader.idling

        await _until(idling, 10)
        await deliver(
            imap_server,
            sample(
                "reply-outlook",
                uid=body.meeting["ical_uid"],
                attendee=body.people["marc"]["email"],
                organizer=ORGANIZER,
            ),
        )

        async def answered() -> bool:
            return await _answered(body) == "acceptee"

        elapsed = await _until(answered, 5)
        assert elapsed < 2.0
        # Back in IDLE after the pass, ready for the next one.
        await _until(idling, 5)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert [r.outcomes for r in reports if r.outcomes] == [{"reponse": 1}]
    assert all(r.unreachable is None for r in reports)


async def test_without_idle_the_reader_polls(body, imap_server: ImapServer, monkeypatch):
    monkeypatch.setattr(ImapSession, "can_idle", property(lambda self: False))
    await invite(body, "marc")
    reader = MailboxReader(parse_imap_url(imap_server.url()))
    stop = asyncio.Event()
    task = asyncio.create_task(reader.watch(stop, lambda report: None, poll=0.3))
    try:
        await asyncio.sleep(0.5)
        assert not reader.idling
        await deliver(
            imap_server,
            sample(
                "reply-outlook",
                uid=body.meeting["ical_uid"],
                attendee=body.people["marc"]["email"],
                organizer=ORGANIZER,
            ),
        )

        async def answered() -> bool:
            return await _answered(body) == "acceptee"

        await _until(answered, 5)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.mark.slow
async def test_a_lost_connection_is_opened_again(body, imap_server: ImapServer, monkeypatch):
    """The server drops the connection while the reader waits: the reader says so in French,
    connects again and reads what arrived in between."""
    await invite(body, "marc")
    reader = MailboxReader(parse_imap_url(imap_server.url()))
    reports: list[FetchReport] = []
    stop = asyncio.Event()
    sessions: list[ImapSession] = []
    real_idle = ImapSession.idle

    async def remembered(self, seconds, stop_event):  # type: ignore[no-untyped-def]
        sessions.append(self)
        return await real_idle(self, seconds, stop_event)

    monkeypatch.setattr(ImapSession, "idle", remembered)
    task = asyncio.create_task(reader.watch(stop, reports.append, poll=0.2))
    try:

        async def idling() -> bool:
            return reader.idling

        await _until(idling, 10)
        sessions[0].client.protocol.transport.abort()  # the network cut under it
        await deliver(
            imap_server,
            sample(
                "reply-outlook",
                uid=body.meeting["ical_uid"],
                attendee=body.people["marc"]["email"],
                organizer=ORGANIZER,
            ),
        )

        async def answered() -> bool:
            return await _answered(body) == "acceptee"

        await _until(answered, 10)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
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
    stop = asyncio.Event()
    sessions: list[ImapSession] = []
    real_idle = ImapSession.idle

    async def cut_first(self, seconds, stop_event):  # type: ignore[no-untyped-def]
        sessions.append(self)
        if len(sessions) == 1:
            self.client.protocol.transport.abort()
        return await real_idle(self, seconds, stop_event)

    monkeypatch.setattr(ImapSession, "idle", cut_first)
    task = asyncio.create_task(reader.watch(stop, reports.append, poll=0.2))
    try:

        async def idling_again() -> bool:
            return len(sessions) >= 2 and reader.idling

        await _until(idling_again, 10)  # the cut was noticed and a new connection idles
        await deliver(
            imap_server,
            sample(
                "reply-outlook",
                uid=body.meeting["ical_uid"],
                attendee=body.people["marc"]["email"],
                organizer=ORGANIZER,
            ),
        )

        async def answered() -> bool:
            return await _answered(body) == "acceptee"

        await _until(answered, 10)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert len(sessions) >= 2
    assert any(r.unreachable and "IMAP" in r.unreachable for r in reports), reports
