"""CPU work off the event loop (#16): assembling and rendering reports, drawing the network.

Two doors, and callers do not know what is behind them:

- ``off_loop(function, ...)``: a short piece of CPU work on one of two threads of this process.
  The loop still gets the interpreter at every switch interval (5 ms), but a thread drawing
  charts holds the interpreter lock most of the time: ten bilans at once pushed the p99 of
  ``/healthz`` to hundreds of milliseconds.
- ``in_process(function, ...)``: a whole job (read the rows, assemble, render) in a worker
  *process* of a bounded pool. The serving process only sends the parameters and receives the
  bytes, so its loop keeps the interpreter to itself. Sending the rows instead was measured:
  pickling a département's bilan rows (7.7 MB) held the lock of the serving process for 0.7 to
  1.7 s, longer than the work saved, and reading them (0.7 s of CPU on the loop) stalled it too.
  The workers open their own database connections (``configure``'s ``initializer``).

The pool is created at the first job (``forkserver``: workers fork from a server that has
already imported the modules named in ``preload``, no interpreter start per worker), sized by
``MAILLAGE_HEAVY_PROCESSES``, and shut down with the application. Not configured (the command
line, a script), ``in_process`` runs the job in this process: its coroutine is awaited, a plain
function goes to ``off_loop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import importlib
import inspect
import logging
import multiprocessing
import os
import threading
from collections import Counter
from collections.abc import Callable, Coroutine
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ParamSpec, TypeVar, overload

HEAVY_THREADS = 2
WORKER_NICENESS = 10


def lower_thread_priority() -> None:
    """Lower the calling thread's CPU priority (Linux schedules each thread with its own
    niceness): a worker thread's C code (argon2, compression) then leaves the loop's thread
    the core first. Elsewhere, or refused, nothing changes."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICENESS)


_heavy = ThreadPoolExecutor(
    max_workers=HEAVY_THREADS,
    thread_name_prefix="maillage-heavy",
    initializer=lower_thread_priority,
)

logger = logging.getLogger("maillage")

P = ParamSpec("P")
R = TypeVar("R")

# Jobs sent to ``in_process`` by name of function, in this process: tests check a memoised
# report is not recomputed, whatever process computed it the first time.
dispatched: Counter[str] = Counter()

_lock = threading.Lock()
_config: tuple[int, Any, tuple[Any, ...], tuple[str, ...]] = (0, None, (), ())
_pool: ProcessPoolExecutor | None = None
# In a worker: the loop its jobs' coroutines run on (it keeps the worker's connections).
_worker_loop: asyncio.AbstractEventLoop | None = None
# What every job must see of its caller's context, by name: how to read it here, and the
# ``module:function`` that sets it again in the worker (a user's territories, #20).
_carried: dict[str, tuple[Callable[[], Any], str]] = {}


def carry(name: str, capture: Callable[[], Any], restore: str) -> None:
    """Send ``capture()`` with every ``in_process`` job; the worker calls ``restore`` (a
    module-level function named ``"module:function"``) with it before running the job."""
    _carried[name] = (capture, restore)


async def off_loop(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``function(*args, **kwargs)`` on a heavy-work thread, with the caller's context.

    In a worker process the job is the only work there is: the function runs right away."""
    if _worker_loop is not None:
        return function(*args, **kwargs)
    context = contextvars.copy_context()
    call = functools.partial(context.run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_heavy, call)


def configure(
    processes: int,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple[Any, ...] = (),
    preload: tuple[str, ...] = (),
) -> None:
    """Use ``processes`` worker processes for ``in_process`` (0: run jobs in this process).

    ``initializer(*initargs)`` (a module-level function, maybe a coroutine function) runs once
    in each worker, e.g. to open its database connections. A changed configuration drops the
    running pool; the next job starts a new one."""
    global _config
    wanted = (processes, initializer, tuple(initargs), tuple(preload))
    with _lock:
        if wanted == _config:
            return
        _config = wanted
        old = _take_pool()
    if old is not None:
        old.shutdown(wait=False, cancel_futures=True)


def processes() -> int:
    return _config[0]


def _take_pool() -> ProcessPoolExecutor | None:
    global _pool
    pool, _pool = _pool, None
    return pool


def _get_pool() -> ProcessPoolExecutor | None:
    global _pool
    with _lock:
        count, initializer, initargs, preload = _config
        if count <= 0:
            return None
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["maillage.offloop", *preload])
            _pool = ProcessPoolExecutor(
                max_workers=count,
                mp_context=context,
                initializer=_start_worker,
                initargs=(initializer, initargs),
            )
        return _pool


@overload
async def in_process(
    function: Callable[P, Coroutine[Any, Any, R]], *args: P.args, **kwargs: P.kwargs
) -> R: ...


@overload
async def in_process(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R: ...


async def in_process(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)`` in a worker process; a coroutine function is run to its
    end there. Arguments and result cross by pickling: send ids and parameters, get bytes.

    The caller's context variables do not cross: pass what the job needs (a scope…)."""
    dispatched[function.__qualname__] += 1
    pool = _get_pool()
    if pool is None:
        if inspect.iscoroutinefunction(function):
            return await function(*args, **kwargs)
        return await off_loop(function, *args, **kwargs)
    # Submitting may start a worker (a fork from the fork server, which at its own first start
    # imports the preloaded modules): never on the loop.
    try:
        carried = {restore: capture() for capture, restore in _carried.values()}
        future = await asyncio.to_thread(pool.submit, _run_job, function, args, kwargs, carried)
        return await asyncio.wrap_future(future)
    except BrokenProcessPool:
        # A worker died (killed, out of memory): this job fails, the next starts a new pool.
        with _lock:
            if _pool is pool:
                _take_pool()
        raise


async def warm_up() -> None:
    """Start the worker processes now (the application is starting), not at the first job."""
    pool = _get_pool()
    if pool is None:
        return
    try:
        count = _config[0]
        futures = [await asyncio.to_thread(pool.submit, _ready) for _ in range(count)]
        await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
    except Exception:  # the application starts anyway: the first job will try again
        logger.exception("Processus de calcul non démarrés")
        with _lock:
            if _pool is pool:
                _take_pool()


def _ready() -> bool:
    return True


async def shutdown() -> None:
    """Stop the worker processes (the application is stopping); the next job starts new ones."""
    with _lock:
        pool = _take_pool()
    if pool is not None:
        await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


# ----- in the worker process ------------------------------------------------------------------


def _start_worker(initializer: Callable[..., Any] | None, initargs: tuple[Any, ...]) -> None:
    global _worker_loop
    # Below the serving process in the scheduler's eyes: on a small host the heavy work waits
    # for the core while a request is being answered, not the other way round.
    os.nice(WORKER_NICENESS)
    _worker_loop = asyncio.new_event_loop()
    asyncio.set_event_loop(_worker_loop)
    if initializer is not None:
        result = initializer(*initargs)
        if inspect.isawaitable(result):
            _worker_loop.run_until_complete(result)


def _run_job(
    function: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    carried: dict[str, Any] | None = None,
) -> Any:
    """One job, in a context of its own: what it carries from its caller is set there, and
    nothing of it is left for the worker's next job."""
    return contextvars.copy_context().run(_run_in_context, function, args, kwargs, carried or {})


def _run_in_context(
    function: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    carried: dict[str, Any],
) -> Any:
    assert _worker_loop is not None
    for restore, value in carried.items():
        module, name = restore.split(":")
        getattr(importlib.import_module(module), name)(value)
    if inspect.iscoroutinefunction(function):
        return _worker_loop.run_until_complete(function(*args, **kwargs))
    return function(*args, **kwargs)
