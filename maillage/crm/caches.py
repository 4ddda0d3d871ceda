"""Caches that may hold a person's data register here, so that an erasure empties them.

Caches of other processes (the server, when the command line erases) are keyed by data
versions, which an erasure changes: they never answer with the erased data again, and drop it
as newer entries push it out.
"""

from __future__ import annotations

from collections.abc import Callable

_FORGETTERS: list[Callable[[], None]] = []


def on_erasure(forget: Callable[[], None]) -> Callable[[], None]:
    """Register a function that empties a cache of this process."""
    _FORGETTERS.append(forget)
    return forget


def forget_all() -> None:
    for forget in _FORGETTERS:
        forget()
