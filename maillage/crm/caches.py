"""Caches that may hold a person's data register here, so that an erasure empties them.

Caches of other processes (the server, when the command line erases) are keyed by data
versions, which an erasure changes: they never answer with the erased data again, and drop it
as newer entries push it out.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from maillage.crm import scope

_FORGETTERS: list[Callable[[], None]] = []


def scope_key() -> Hashable:
    """What a user may see, as part of a memoised answer's key: their roles per territory and
    the départements of those (`Scope.departements`); None: everything (#20)."""
    current = scope.current()
    # The départements too (#20): a territory's moves with its communes, and a scope read
    # before that move must not be handed what is computed for one read after, or back.
    return None if current is None else (tuple(sorted(current.roles.items())), current.departements)


def on_erasure(forget: Callable[[], None]) -> Callable[[], None]:
    """Register a function that empties a cache of this process."""
    _FORGETTERS.append(forget)
    return forget


def forget_all() -> None:
    for forget in _FORGETTERS:
        forget()


class Memo:
    """Answers of heavy computations (a bilan's bytes…) by key, least recently used out.

    The caller puts the data version in the key (``versions.data_version``): any write of what
    the user may read changes it (another territory's leaves it), so a cached answer is never
    served for other data, and the stale entries are pushed out by newer ones. Identical requests arriving together wait for the one computation
    (``computations`` counts them). Bounded by a number of entries and of bytes."""

    def __init__(self, entries: int = 16, max_bytes: int = 64 * 2**20) -> None:
        self._entries = entries
        self._max_bytes = max_bytes
        self._values: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._running: dict[Hashable, asyncio.Future[Any]] = {}
        self._bytes = 0
        self.computations = 0
        on_erasure(self.forget)

    def forget(self) -> None:
        self._values.clear()
        self._bytes = 0

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
        # What a user may see is part of the answer (#20): a coordinator of one territory and
        # a Caf conseillère asking the same bilan get their own, and an answer computed for one
        # is never handed to a user the computation would have refused.
        key = (key, scope_key())
        if key in self._values:
            self._values.move_to_end(key)
            return self._values[key][0]
        running = self._running.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            self.computations += 1
            value = await compute()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no « never retrieved » warning without waiters
            raise
        else:
            future.set_result(value)
            self._keep(key, value)
            return value
        finally:
            del self._running[key]

    def _keep(self, key: Hashable, value: Any) -> None:
        size = _size(value)
        if size > self._max_bytes:
            return
        self._values[key] = (value, size)
        self._bytes += size
        while len(self._values) > self._entries or self._bytes > self._max_bytes:
            _, (_, dropped) = self._values.popitem(last=False)
            self._bytes -= dropped


def _size(value: Any) -> int:
    if isinstance(value, bytes | str):
        return len(value)
    if isinstance(value, tuple):
        return sum(_size(item) for item in value)
    return 256 * 1024  # a JSON-ready report: counted generously
