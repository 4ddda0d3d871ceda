"""The sender that runs inside ``maillage serve`` (and ``maillage mail send --watch``), and the
mailbox reader beside it when MAILLAGE_IMAP_URL is set (and ``maillage mail fetch --watch``).

It drains the outbox, queues the reminders that have come due, then sleeps until a message is
queued in this process (``nudge``) or the poll interval passes. Several processes may each run
one: the outbox's leases keep them from sending the same message.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from maillage.crm import inhabitants
from maillage.french import plural
from maillage.mailing import notices, outbox
from maillage.mailing.invitations import load_meeting
from maillage.mailing.mailbox import FetchReport, MailboxReader
from maillage.mailing.reminders import queue_due_reminders
from maillage.mailing.sender import sender_for
from maillage.mailing.wakeup import unwatch, watch
from maillage.settings import Settings

logger = logging.getLogger("maillage.envoi")

POLL_SECONDS = 30.0
# Inhabitants' registrations past their retention (#22) are looked for at this pace.
PURGE_EVERY = dt.timedelta(hours=1)
MAILBOX_POLL_SECONDS = 60.0
mailbox_logger = logging.getLogger("maillage.boite")


async def read_mailbox(
    settings: Settings, stop: asyncio.Event, poll: float = MAILBOX_POLL_SECONDS
) -> None:
    """Read MAILLAGE_IMAP_URL until ``stop``: IMAP IDLE where the server offers it, a pass
    every ``poll`` seconds otherwise; an unreachable or refusing server is logged in French and
    tried again with a growing delay (``MailboxReader.watch``)."""
    try:
        reader = MailboxReader.for_settings(settings)
    except Exception:  # a bad setting must not take the web service down with it
        mailbox_logger.exception("Lecture de la boîte de réception impossible à démarrer")
        return

    def log(report: FetchReport) -> None:
        if report.unreachable:
            mailbox_logger.warning("Boîte de réception illisible : %s", report.unreachable)
        elif report.outcomes or report.moved_again:
            mailbox_logger.info("Boîte de réception : %s.", report.summary())
        for line in report.errors:
            mailbox_logger.warning("Boîte de réception : %s", line)

    while not stop.is_set():
        try:
            await reader.watch(stop, log, poll=poll)
        except Exception:  # the loop must outlive a database hiccup
            mailbox_logger.exception("Erreur de la lecture de la boîte de réception")
            await _sleep(stop, asyncio.Event(), poll)


async def run(
    settings: Settings, stop: asyncio.Event, poll: float = POLL_SECONDS, **overrides: Any
) -> None:
    try:
        sender = sender_for(settings, **overrides)
    except Exception:  # a bad setting must not take the web service down with it
        logger.exception("Envoi en arrière-plan impossible à démarrer")
        return
    wakeup = asyncio.Event()
    watch(wakeup)
    purged_at: dt.datetime | None = None
    try:
        while not stop.is_set():
            wakeup.clear()
            try:
                purged_at = await purge_if_due(purged_at)
                await queue_due_reminders(settings)
                await notices.queue_due(settings, load_meeting)
                report = await sender.drain()
                if report.sent or report.failed:
                    logger.info(
                        "Envoi : %s, %s, %d à réessayer",
                        plural(report.sent, "envoyé"),
                        plural(report.failed, "échec"),
                        report.retried,
                    )
            except Exception:  # the loop must outlive a database hiccup
                logger.exception("Erreur de l'envoi en arrière-plan")
            await _sleep(stop, wakeup, poll)
    finally:
        unwatch(wakeup)


async def purge_if_due(
    last: dt.datetime | None, now: dt.datetime | None = None
) -> dt.datetime | None:
    """Delete the inhabitants' registrations past their retention, and the messages of a mass
    mailing a stopped process left « en préparation » (``outbox.drop_stale_staged``), at most
    once per ``PURGE_EVERY``; the moment of this pass (or ``last`` when not due yet)."""
    now = now or dt.datetime.now(dt.UTC)
    if last is not None and now - last < PURGE_EVERY:
        return last
    staged = await outbox.drop_stale_staged(now)
    if staged:
        logger.warning(
            "Envoi groupé interrompu : %s",
            plural(
                staged,
                "message en préparation effacé",
                "messages en préparation effacés",
            ),
        )
    done = await inhabitants.purge_expired(inhabitants.RETENTION, now)
    if done:
        logger.info(
            "Conservation : %s",
            plural(
                sum(done.values()),
                "inscription d'habitant effacée",
                "inscriptions d'habitants effacées",
            ),
        )
    return now


async def _sleep(stop: asyncio.Event, wakeup: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wakeup.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def sender_lifespan(settings: Settings) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A Litestar lifespan hook: start the sender with the app, let it finish its sends on exit."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(run(settings, stop), name="maillage-envoi")
        mailbox = (
            asyncio.create_task(read_mailbox(settings, stop), name="maillage-boite")
            if settings.imap_url
            else None
        )
        try:
            yield
        finally:
            stop.set()
            try:
                await asyncio.wait_for(task, timeout=20)
            except TimeoutError:
                # Cancelled: the messages it held go back to the queue when their lease runs out.
                logger.warning("Envoi en arrière-plan interrompu à l'arrêt")
            if mailbox is not None:
                try:
                    # A message recorded but not moved yet is moved at the next start.
                    await asyncio.wait_for(mailbox, timeout=20)
                except TimeoutError:
                    mailbox_logger.warning("Lecture de la boîte de réception interrompue à l'arrêt")

    return lifespan
