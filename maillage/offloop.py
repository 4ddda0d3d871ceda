"""CPU work off the event loop (#16): assembling and rendering reports, drawing the network.

One request building a département's bilan (seconds of Python) must not stall every other
request: the work runs on this pool's threads while the event loop keeps answering. Two threads
at most, so that a burst of heavy requests waits its turn instead of taking the whole process;
the loop still gets the interpreter at every switch interval (5 ms), so ``/healthz`` and the
lists keep answering meanwhile.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

HEAVY_THREADS = 2
_heavy = ThreadPoolExecutor(max_workers=HEAVY_THREADS, thread_name_prefix="maillage-heavy")

P = ParamSpec("P")
R = TypeVar("R")


async def off_loop(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``function(*args, **kwargs)`` on a heavy-work thread, with the caller's context."""
    context = contextvars.copy_context()
    call = functools.partial(context.run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_heavy, call)
