"""`maillage serve` in one process with a trace of where its event loop is held (#16).

    PYTHONPATH=<tree> python bench/loop_trace.py PORT TRACE_FILE [--debug]

Same environment as `maillage serve` (MAILLAGE_DATABASE_URL, MAILLAGE_HEAVY_PROCESSES…). Each
line of TRACE_FILE starts with `time.time()` and the process's CPU time, then one of:

- `lag N ms`: a task sleeping 5 ms woke N ms late (over 20 ms): the loop was held;
- `job start|end NAME`: a job sent to a heavy-work process (``offloop.in_process``);
- `recv N bytes read … loads …`: a worker's answer read from its pipe and unpickled (in the
  executor's thread, which keeps the interpreter lock while it unpickles), when over 100 kB
  or 20 ms;
- `write start|end N STATUS`: ``outbox._write`` of N messages in this process;
- with ``--debug``: asyncio's own warnings for callbacks over 50 ms.

Set the times beside those of `bench/stall.py --slow MS`. Works on older trees too (it only
wraps functions by name); the heavy-work processes are not traced.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import Any, TextIO


def main(port: int, trace: TextIO, debug: bool) -> None:
    from multiprocessing import connection
    from multiprocessing.reduction import ForkingPickler

    def log(*parts: object) -> None:
        head = f"{time.time():.3f} cpu={time.process_time():.3f} "
        trace.write(head + " ".join(map(str, parts)) + "\n")

    def recv(self: Any) -> Any:
        started, cpu = time.time(), time.thread_time()
        buffer = self._recv_bytes()
        read = time.time()
        result = ForkingPickler.loads(buffer.getbuffer())
        done = time.time()
        size = buffer.getbuffer().nbytes
        if size > 100_000 or done - started > 0.02:
            log(
                f"recv {size} bytes read {1000 * (read - started):.0f} ms "
                f"loads {1000 * (done - read):.0f} ms "
                f"thread cpu {1000 * (time.thread_time() - cpu):.0f} ms"
            )
        return result

    connection.Connection.recv = recv  # type: ignore[method-assign]

    from maillage import offloop
    from maillage.mailing import outbox
    from maillage.web import app  # noqa: F401 - imports every module that sends jobs

    original = offloop.in_process

    async def traced_in_process(function: Any, *args: Any, **kwargs: Any) -> Any:
        log("job start", function.__qualname__)
        try:
            return await original(function, *args, **kwargs)
        finally:
            log("job end", function.__qualname__)

    for module in list(sys.modules.values()):
        if module is not None and getattr(module, "in_process", None) is original:
            module.in_process = traced_in_process  # type: ignore[attr-defined]

    write = outbox._write

    async def traced_write(connection_: Any, items: Any, status: str) -> Any:
        items = list(items)
        log("write start", len(items), status)
        try:
            return await write(connection_, items, status)
        finally:
            log("write end", len(items))

    outbox._write = traced_write  # type: ignore[assignment]

    async def watch_the_loop() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            lag = time.perf_counter() - before - 0.005
            if lag > 0.02:
                log(f"lag {1000 * lag:.0f} ms")

    warm_up = offloop.warm_up
    watchers: set[asyncio.Task[None]] = set()

    async def traced_warm_up() -> None:
        loop = asyncio.get_running_loop()
        if debug:
            loop.set_debug(True)
            loop.slow_callback_duration = 0.05
            handler = logging.StreamHandler(trace)
            handler.setFormatter(logging.Formatter("%(created).3f asyncio %(message)s"))
            logging.getLogger("asyncio").addHandler(handler)
        watchers.add(asyncio.create_task(watch_the_loop()))
        log("loop watched")
        await warm_up()

    offloop.warm_up = traced_warm_up  # type: ignore[assignment]

    import uvicorn

    uvicorn.run(
        "maillage.web.app:app_from_environment", factory=True, port=port, log_level="warning"
    )


if __name__ == "__main__":  # the heavy-work processes import this module again: nothing to run
    arguments = sys.argv[1:]
    with open(arguments[1], "w", buffering=1, encoding="utf-8") as output:
        main(int(arguments[0]), output, "--debug" in arguments)
