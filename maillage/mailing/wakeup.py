"""Wakes the senders of this process when a message is queued.

Its own module so that the outbox (low) can wake the background sender (high) without
importing it: the outbox calls ``nudge``, the senders ``watch`` an event.
"""

from __future__ import annotations

import asyncio

_wakeups: set[asyncio.Event] = set()


def nudge() -> None:
    """Wake every sender of this process: a message was just queued."""
    for event in list(_wakeups):
        event.set()


def watch(event: asyncio.Event) -> None:
    """Have ``event`` set whenever a message is queued in this process."""
    _wakeups.add(event)


def unwatch(event: asyncio.Event) -> None:
    _wakeups.discard(event)
