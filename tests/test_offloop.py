"""The heavy work runs in worker processes (#16): the serving process's loop keeps the
interpreter to itself while a bilan is computed; without a pool (the command line) the same
call runs in the calling process."""

from __future__ import annotations

import asyncio
import os

import pytest

from maillage import offloop
from maillage.errors import InvalidData, NotFound


async def pid_after_a_pause() -> int:
    await asyncio.sleep(0)
    return os.getpid()


def refuse_the_year() -> None:
    raise InvalidData.one("year", "Aucune donnée pour 1990 sur Ardoise.")


def unknown_meeting() -> None:
    raise NotFound("Réunion", 54)


@pytest.fixture
async def one_worker():
    before = offloop._config
    offloop.configure(1)
    yield
    await offloop.shutdown()
    offloop.configure(*before)


async def test_a_job_runs_in_a_worker_process(one_worker):
    assert await offloop.in_process(os.getpid) != os.getpid()


async def test_a_coroutine_job_runs_to_its_end_in_the_worker(one_worker):
    first = await offloop.in_process(pid_after_a_pause)
    assert first != os.getpid()
    # The pool is kept: the next job goes to the same worker, its connections already open.
    assert await offloop.in_process(pid_after_a_pause) == first


async def test_service_errors_come_back_as_they_were_raised(one_worker):
    with pytest.raises(InvalidData) as refused:
        await offloop.in_process(refuse_the_year)
    assert refused.value.errors[0].field == "year"
    assert refused.value.to_dict()["errors"][0]["message"].startswith("Aucune donnée pour 1990")
    with pytest.raises(NotFound) as missing:
        await offloop.in_process(unknown_meeting)
    assert (missing.value.status_code, missing.value.message) == (404, "Réunion n° 54 introuvable.")


async def test_jobs_wait_their_turn_on_a_bounded_pool(one_worker):
    pids = await asyncio.gather(*(offloop.in_process(pid_after_a_pause) for _ in range(4)))
    assert len(set(pids)) == 1 and os.getpid() not in pids


async def test_a_stopped_pool_starts_again_at_the_next_job(one_worker):
    first = await offloop.in_process(os.getpid)
    await offloop.shutdown()
    second = await offloop.in_process(os.getpid)
    assert os.getpid() not in (first, second) and first != second


async def test_without_processes_the_job_runs_here():
    before = offloop._config
    offloop.configure(0)
    try:
        assert await offloop.in_process(pid_after_a_pause) == os.getpid()
        assert await offloop.in_process(os.getpid) == os.getpid()
    finally:
        offloop.configure(*before)


def test_heavy_threads_run_below_the_loop_thread():
    # Linux gives each thread its own niceness: argon2 and the heavy threads yield the core to
    # the thread that runs the event loop.
    import threading

    seen: list[int] = []

    def niceness() -> None:
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    offloop._heavy.submit(niceness).result()
    assert seen == [os.getpriority(os.PRIO_PROCESS, 0) + offloop.WORKER_NICENESS] or seen == [19]


async def test_worker_processes_run_below_the_server(one_worker):
    assert await offloop.in_process(os.nice, 0) >= os.nice(0) + offloop.WORKER_NICENESS or (
        await offloop.in_process(os.nice, 0) == 19
    )


def exit_at_once() -> None:
    os._exit(1)


async def test_a_dead_worker_fails_its_job_and_the_next_job_gets_a_new_pool(one_worker):
    from concurrent.futures.process import BrokenProcessPool

    with pytest.raises(BrokenProcessPool):
        await offloop.in_process(exit_at_once)
    assert await offloop.in_process(os.getpid) != os.getpid()
