"""The sender: drains the outbox over a few reused connections at a bounded rate.

Each worker claims a small batch, sends it over its own connection (kept open from one message
to the next and from one batch to the next), and records the outcome. Acceptances are recorded
in groups (one statement per ``record_every`` messages, the first group of a batch in the
transaction that claims the next batch): a crash between acceptance and record leaves those
messages in ``envoi``, so they are sent again with the same Message-ID — the at-least-once
window is exactly the messages in flight (at most a batch per connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from maillage.french import plural
from maillage.mailing import outbox
from maillage.mailing.addresses import sender_mailbox
from maillage.mailing.dkim import Signer, SigningError, signer_for
from maillage.mailing.outbox import Claimed
from maillage.mailing.transports import (
    Backend,
    Connection,
    Permanent,
    Transient,
    Unreachable,
    backend_for,
)
from maillage.mailing.wakeup import unwatch, watch
from maillage.settings import Settings

logger = logging.getLogger("maillage.envoi")

IDLE_WAIT = 1.0
"""Seconds an idle worker waits for a message queued elsewhere before it looks again."""


@dataclass(frozen=True)
class SenderConfig:
    envelope_from: str
    connections: int = 4
    rate: float = 0.0
    """Messages per second over all connections; 0: as fast as the server takes them."""
    batch_size: int = 50
    lease: dt.timedelta = dt.timedelta(minutes=5)
    backoff_base: dt.timedelta = dt.timedelta(minutes=1)
    backoff_max: dt.timedelta = dt.timedelta(hours=2)
    max_attempts: int = 10
    record_every: int = 50
    signer: Signer | None = None
    """DKIM: every message signed as it leaves (MAILLAGE_DKIM_*)."""
    """With ``batch_size``: two transactions a batch, the claim of the next (which records the
    first three quarters) and the record of the last quarter."""


@dataclass
class DrainReport:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    unreachable: str | None = None
    errors: list[str] = field(default_factory=list)


class RateLimiter:
    """Spaces sends ``1/rate`` seconds apart across every worker of the sender."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next_slot = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        moment = asyncio.get_running_loop().time()
        slot = max(moment, self.next_slot)
        self.next_slot = slot + self.interval
        if slot > moment:
            await asyncio.sleep(slot - moment)


class Sender:
    def __init__(self, backend: Backend, config: SenderConfig) -> None:
        self.backend = backend
        self.config = config
        self.limiter = RateLimiter(config.rate)

    def _batch_size(self) -> int:
        """A batch must be sent well within its lease, whatever the rate limit."""
        size = self.config.batch_size
        if self.config.rate > 0:
            per_worker = self.config.rate / self.config.connections
            size = min(size, int(per_worker * self.config.lease.total_seconds() / 2))
        return max(1, size)

    async def drain(self) -> DrainReport:
        """Send every message due now; returns when none is left or the server is unreachable.

        Messages queued while it runs are sent too: a worker that finds the queue empty while
        another is still claiming or sending waits for the next message queued in this process
        (a long invitation run is written a hundred at a time) instead of closing its
        connection."""
        report = DrainReport()
        self._busy = 0
        self._wakeups: set[asyncio.Event] = set()
        await asyncio.gather(*(self._worker(report) for _ in range(self.config.connections)))
        return report

    async def _worker(self, report: DrainReport) -> None:
        connection: Connection | None = None
        wakeup = asyncio.Event()
        self._wakeups.add(wakeup)
        watch(wakeup)
        # The next batch is claimed while the last messages of this one go out, so the
        # connection does not wait for the database between two batches.
        following: asyncio.Task[list[Claimed]] | None = None

        def claim_following(sent: list[Claimed]) -> bool:
            """Claim the next batch, recording ``sent`` in the same transaction; False when
            no claim starts (``sent`` is then the caller's to record)."""
            nonlocal following
            if following is not None or report.unreachable is not None:
                return False
            following = asyncio.create_task(self._claim(sent))
            return True

        try:
            while report.unreachable is None:
                wakeup.clear()
                batch: list[Claimed] = []
                # Busy from the claim on: on PostgreSQL the workers claim together, and one
                # whose claim finds the first rows locked by the others must not take them
                # for idle while their claims are still on their way back.
                self._busy += 1
                try:
                    batch = await following if following is not None else await self._claim()
                    following = None
                    if batch:
                        connection = await self._send_batch(
                            batch, connection, report, claim_following
                        )
                finally:
                    self._busy -= 1
                    if batch or not self._busy:
                        self._wake_all()
                if batch:
                    continue
                if not self._busy:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), timeout=IDLE_WAIT)
        finally:
            unwatch(wakeup)
            if following is not None:
                unsent = await following
                # Otherwise an error is on its way up: their lease runs out, another pass sends.
                if unsent and report.unreachable:
                    await self._give_back(unsent, report.unreachable)
            if connection is not None:
                await connection.close()

    def _wake_all(self) -> None:
        """Have the waiting workers look again (a batch was sent, or the last one stops)."""
        for other in self._wakeups:
            other.set()

    def _claim(self, sent: list[Claimed] | None = None) -> Coroutine[Any, Any, list[Claimed]]:
        return outbox.claim(self._batch_size(), self.config.lease, sent)

    async def _send_batch(
        self,
        batch: list[Claimed],
        connection: Connection | None,
        report: DrainReport,
        claim_following: Callable[[list[Claimed]], bool] = lambda sent: False,
    ) -> Connection | None:
        accepted: list[Claimed] = []
        # Acceptances are recorded while the next messages go out: waiting for SQLite's single
        # writer between two sends would idle the connection.
        recording: asyncio.Task[None] | None = None
        lookahead = max(1, len(batch) // 4)
        try:
            for position, message in enumerate(batch):
                if connection is None:
                    try:
                        connection = await self.backend.connect()
                    except Unreachable as error:
                        report.unreachable = error.reason
                        await self._give_back(batch[position:], error.reason)
                        return None
                if len(batch) - position == lookahead and claim_following(accepted):
                    accepted = []
                await self.limiter.wait()
                try:
                    usable = await self._send_one(connection, message, accepted, report)
                except Unreachable as error:
                    # The relay refuses us (authentication, sender): no message is at fault.
                    report.unreachable = error.reason
                    await connection.close()
                    await self._give_back(batch[position:], error.reason)
                    return None
                if not usable:
                    await connection.close()
                    connection = None
                if len(accepted) >= self.config.record_every:
                    if recording is not None:
                        await recording
                    recording = asyncio.create_task(outbox.mark_sent(accepted))
                    accepted = []
        finally:
            if recording is not None:
                await recording
            await outbox.mark_sent(accepted)
        return connection

    async def _send_one(
        self,
        connection: Connection,
        message: Claimed,
        accepted: list[Claimed],
        report: DrainReport,
    ) -> bool:
        """Send and sort the outcome; False when the connection is no longer usable.
        ``Unreachable`` goes up: the whole batch waits."""
        raw = message.raw.encode("utf-8")
        if self.config.signer is not None:
            try:
                raw = await self.config.signer.sign(raw)
            except SigningError as error:
                report.failed += 1
                report.errors.append(f"{message.recipient} : {error}")
                await outbox.fail(message, str(error))
                return True
        try:
            await connection.send(self.config.envelope_from, message.recipient, raw)
        except Permanent as error:
            report.failed += 1
            report.errors.append(f"{message.recipient} : {error.reason}")
            await outbox.fail(message, error.reason)
            return True
        except Transient as error:
            await self._retry_later(message, error.reason, report)
            return not error.connection_lost
        accepted.append(message)
        report.sent += 1
        return True

    async def _retry_later(self, message: Claimed, reason: str, report: DrainReport) -> None:
        if message.attempts >= self.config.max_attempts:
            report.failed += 1
            text = f"Abandon après {message.attempts} tentatives : {reason}"
            report.errors.append(f"{message.recipient} : {text}")
            await outbox.fail(message, text)
            return
        delay = self.backoff(message.attempts)
        report.retried += 1
        await outbox.reschedule(message, f"{reason} (tentative {message.attempts})", delay)

    def backoff(self, attempts: int) -> dt.timedelta:
        """Exponential, capped, with a little jitter so retries do not arrive in a wave."""
        base = self.config.backoff_base.total_seconds()
        seconds = min(base * 2 ** max(0, attempts - 1), self.config.backoff_max.total_seconds())
        return dt.timedelta(seconds=seconds * random.uniform(0.9, 1.1))

    async def _give_back(self, messages: list[Claimed], reason: str) -> None:
        await outbox.give_back(messages, f"En attente : {reason}", self.config.backoff_base)
        logger.warning(
            "Envoi suspendu : %s (%s en attente)", reason, plural(len(messages), "message")
        )


def sender_for(settings: Settings, **overrides: Any) -> Sender:
    config = SenderConfig(
        envelope_from=sender_mailbox(settings.mail_from).address,
        connections=settings.smtp_connections,
        rate=settings.smtp_rate,
        **{"signer": signer_for(settings), **overrides},
    )
    return Sender(backend_for(settings), config)
