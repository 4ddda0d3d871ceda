"""Fixtures of the mailing tests: a real SMTP server on a free loopback port, a small body with
its members, and helpers to drain the outbox until every message has settled."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import email
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from maillage.actor import CLI
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import (
    AffiliationIn,
    ContactIn,
    MeetingIn,
    MembershipIn,
    OrganisationIn,
    WorkingGroupIn,
)
from maillage.mailing.sender import Sender, SenderConfig
from maillage.mailing.transports import FileBackend, SmtpBackend, parse_smtp_url
from maillage.tables import OutboxMessage
from tests.mailing.imap_server import (  # noqa: F401 - the real Dovecot fixture
    DOVECOT_LOG,
    imap_server,
    log_tail,
)

PARIS = dt.timezone(dt.timedelta(hours=1))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failing test that used the real Dovecot shows its log (read before the teardown
    removes it)."""
    report = yield
    log = item.stash.get(DOVECOT_LOG, None)
    if log is not None and report.failed and report.when in {"setup", "call"}:
        report.sections.append(("Dovecot log", log_tail(log)))
    return report


def free_port() -> int:
    """aiosmtpd refuses port 0: ask the system for a free port, then hand it over."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    message_id: str
    recipients: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=policy.default)  # type: ignore[return-value]


@dataclass
class Faults:
    """Misbehaviour on demand, decided per Message-ID so that a retry can succeed."""

    refuse: set[str] = field(default_factory=set)  # recipients answered 550 at RCPT
    temporary: set[str] = field(default_factory=set)  # Message-IDs answered 451 once
    drop: set[str] = field(default_factory=set)  # Message-IDs whose connection is cut once
    stall: dict[str, float] = field(default_factory=dict)  # Message-IDs answered late once
    slow_reset: float = 0.0  # seconds before answering RSET
    done: set[str] = field(default_factory=set)


class RecordingHandler:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.faults = Faults()
        self.lock = threading.Lock()
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
        with self.lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.faults.refuse:
            return f"550 5.1.1 <{address}>: boîte inconnue"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_RSET(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.faults.slow_reset:
            await asyncio.sleep(self.faults.slow_reset)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        content = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(content, policy=policy.default)
        message_id = str(parsed["Message-ID"])
        with self.lock:
            first_time = message_id not in self.faults.done
            self.faults.done.add(message_id)
        if first_time and message_id in self.faults.drop:
            server.transport.close()
            return "421 4.4.2 connexion coupée"
        if first_time and message_id in self.faults.temporary:
            return "451 4.3.0 Essayez plus tard"
        if first_time and message_id in self.faults.stall:
            await asyncio.sleep(self.faults.stall[message_id])
            return "451 4.3.0 Trop tard"
        with self.lock:
            self.received.append(Received(message_id, list(envelope.rcpt_tos), content))
        return "250 2.0.0 OK"

    def ids(self) -> list[str]:
        with self.lock:
            return [item.message_id for item in self.received]


@dataclass
class SmtpServer:
    handler: RecordingHandler
    port: int

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?starttls=false&timeout=5"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(handler, port)
    finally:
        controller.stop()


def fast_config(**overrides: Any) -> SenderConfig:
    values: dict[str, Any] = {
        "envelope_from": "ctg@maillage.example",
        "connections": 3,
        "batch_size": 10,
        "backoff_base": dt.timedelta(milliseconds=10),
        "backoff_max": dt.timedelta(milliseconds=50),
    }
    values.update(overrides)
    return SenderConfig(**values)


def smtp_sender(server: SmtpServer, **overrides: Any) -> Sender:
    return Sender(SmtpBackend(parse_smtp_url(server.url)), fast_config(**overrides))


def file_sender(directory, **overrides: Any) -> Sender:  # type: ignore[no-untyped-def]
    return Sender(FileBackend(directory), fast_config(**overrides))


async def settle(sender: Sender, rounds: int = 200) -> None:
    """Drain until no message is waiting (retries are due within milliseconds here)."""
    for _ in range(rounds):
        await sender.drain()
        pending = await OutboxMessage.count().where(
            OutboxMessage.status.is_in(["en_attente", "envoi"])
        )
        if not pending:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("la file d'envoi ne se vide pas")


def with_smtp(settings, server: SmtpServer):  # type: ignore[no-untyped-def]
    return dataclasses.replace(settings, smtp_url=server.url)


@dataclass
class Body:
    group: dict[str, Any]
    meeting: dict[str, Any]
    people: dict[str, dict[str, Any]]
    organisation: dict[str, Any]


@pytest.fixture
async def body(database: str) -> Body:
    """A COPIL with a titulaire (Hélène) and her suppléant, a member, a member without address,
    a colleague of Hélène's organisation outside the body, and a meeting next month."""
    caf = await SERVICES["organisations"].create(
        CLI, OrganisationIn(name="Caf d'Ille-et-Vilaine", kind="institution")
    )
    people = {}
    for key, first, last, address in [
        ("helene", "Hélène", "Lefèvre", "helene.lefevre@caf.example"),
        ("sub", "Samir", "Benali", "samir.benali@caf.example"),
        ("marc", "Marc", "Durand", "marc.durand@mairie.example"),
        ("noaddress", "Paul", "Sansmail", None),
        ("colleague", "Chloé", "Martin", "chloe.martin@caf.example"),
    ]:
        people[key] = await SERVICES["contacts"].create(
            CLI, ContactIn(first_name=first, last_name=last, email=address)
        )
    for key in ("helene", "sub", "colleague"):
        await SERVICES["affiliations"].create(
            CLI, AffiliationIn(contact=people[key]["id"], organisation=caf["id"])
        )
    group = await SERVICES["groups"].create(CLI, WorkingGroupIn(name="COPIL CTG", kind="copil"))
    sub = await SERVICES["memberships"].create(
        CLI,
        MembershipIn(
            contact=people["sub"]["id"],
            working_group=group["id"],
            role="suppleant",
            organisation=caf["id"],
        ),
    )
    await SERVICES["memberships"].create(
        CLI,
        MembershipIn(
            contact=people["helene"]["id"],
            working_group=group["id"],
            role="titulaire",
            organisation=caf["id"],
            substitute=sub["id"],
        ),
    )
    for key in ("marc", "noaddress"):
        await SERVICES["memberships"].create(
            CLI, MembershipIn(contact=people[key]["id"], working_group=group["id"])
        )
    start = (dt.datetime.now(PARIS) + dt.timedelta(days=30)).replace(
        hour=14, minute=0, second=0, microsecond=0
    )
    meeting = await SERVICES["meetings"].create(
        CLI,
        MeetingIn(
            working_group=group["id"],
            title="Bilan annuel",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
            location="Salle du conseil, mairie d'Ardoise",
            video_url="https://visio.example/copil",
            agenda="1. Bilan 2026\n2. Perspectives",
        ),
    )
    return Body(group, meeting, people, caf)
