"""CPU per request in-process (#16): the ASGI application called directly N times after 30
warm-up calls, process CPU time (the SQLite threads included) and wall time; ``--profile``
prints a cProfile on the loop thread's CPU clock; ``--floor`` runs bench/baseline_app.py.

    PYTHONPATH=<tree> TOKEN=… python bench/inproc_cpu.py "/api/v1/contacts?offset=5000" -n 200

Needs the MAILLAGE_* environment of ``maillage serve`` (MAILLAGE_HEAVY_PROCESSES=0 spares the
worker processes' start)."""

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("path")
p.add_argument("-n", type=int, default=300)
p.add_argument("--profile", action="store_true")
p.add_argument("--floor", action="store_true")
p.add_argument("--header", action="append", default=[])
p.add_argument("--conc", type=int, default=1)
p.add_argument("--method", default="GET")
p.add_argument("--body", default="")
p.add_argument("--ctype", default="application/x-www-form-urlencoded")
# A feed's revalidation: the first answer's ETag is sent as If-None-Match (answered 304).
p.add_argument("--revalidate", action="store_true")
a = p.parse_args()
token = os.environ.get("TOKEN", "")


async def main():
    if a.floor:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import baseline_app

        app = baseline_app.app
    else:
        from maillage.settings import load_settings
        from maillage.web.app import create_app

        app = create_app(load_settings())
    # lifespan
    lq = asyncio.Queue()
    sent = []
    await lq.put({"type": "lifespan.startup"})

    async def lrecv():
        return await lq.get()

    async def lsend(m):
        sent.append(m)

    lt = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, lrecv, lsend)
    )
    while not sent:
        await asyncio.sleep(0.01)
    print("startup", sent[-1]["type"], file=sys.stderr)
    # maillage's outbox sender makes its first pass (due reminders, notices) right after the
    # start: 0.3-0.5 s of CPU on this loop that landed in the measured batch (#16).
    await asyncio.sleep(float(os.environ.get("SETTLE", "5")))
    path, _, qs = a.path.partition("?")
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())]
    for h in a.header:
        k, _, v = h.partition(":")
        headers.append((k.strip().lower().encode(), v.strip().encode()))
    body = a.body.encode()
    if body:
        headers += [
            (b"content-type", a.ctype.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
    statuses = {}

    async def one():
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": a.method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": qs.encode(),
            "root_path": "",
            "headers": list(headers),
            "client": ("127.0.0.1", 5555),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        done = False

        async def recv():
            nonlocal done
            if not done:
                done = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)

        async def send(m):
            if m["type"] == "http.response.start":
                statuses[m["status"]] = statuses.get(m["status"], 0) + 1
                if a.revalidate and not any(k == b"if-none-match" for k, _ in headers):
                    etag = dict(m.get("headers", [])).get(b"etag")
                    if etag:
                        headers.append((b"if-none-match", etag))

        await app(scope, recv, send)

    async def batch(n):
        for _ in range(n // a.conc):
            await asyncio.gather(*(one() for _ in range(a.conc)))

    await batch(30)
    print("warm statuses", statuses, file=sys.stderr)
    statuses.clear()
    prof = cProfile.Profile(time.thread_time) if a.profile else None
    c0, w0 = time.process_time(), time.perf_counter()
    if prof:
        prof.enable()
    await batch(a.n)
    if prof:
        prof.disable()
    c1, w1 = time.process_time(), time.perf_counter()
    print(
        f"{a.path} cpu_ms/req={(c1 - c0) * 1000 / a.n:.3f} wall_ms/req={(w1 - w0) * 1000 / a.n:.3f} statuses={statuses}"
    )
    if prof:
        st = pstats.Stats(prof)
        st.sort_stats("cumulative").print_stats(60)
        st.sort_stats("tottime").print_stats(40)
    await lq.put({"type": "lifespan.shutdown"})
    await asyncio.wait_for(lt, 10)


if __name__ == "__main__":
    asyncio.run(main())
