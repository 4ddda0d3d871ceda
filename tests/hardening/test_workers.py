"""``maillage serve --workers 2``: the connections of a burst are shared between the workers.

They share one listening socket; each worker used to accept every connection waiting when it
woke, so the 50 connections bench/load.py opens at once (or a proxy opening its pool) all went
to one worker, and the other stayed idle for as long as they were kept alive (#16)."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from tests.hardening.live import Instance, private_database, start_server

BURST = 24


def sockets_of(pid: int) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            continue
    return count


def test_a_burst_of_connections_is_shared_between_the_workers(tmp_path):
    with private_database(tmp_path) as database_url:
        instance = Instance(tmp_path, database_url)
        instance.command("init")
        server = start_server(instance, workers=2)
        try:
            deadline = time.monotonic() + 120
            while server.log().count("Application startup complete") < 2:  # both listen
                assert time.monotonic() < deadline, server.log()
                time.sleep(0.1)
            children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
            workers = [int(pid) for pid in children.read_text().split()]
            before = {pid: sockets_of(pid) for pid in workers}
            burst = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(BURST)]
            try:
                for connection in burst:  # each answered: accepted by one of the workers
                    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                for connection in burst:
                    assert connection.recv(1024).startswith(b"HTTP/1.1 200")
                gained = sorted(sockets_of(pid) - before[pid] for pid in workers)
            finally:
                for connection in burst:
                    connection.close()
        finally:
            server.stop()
    assert len(workers) >= 2
    assert sum(gained) >= BURST
    assert gained[-2] >= BURST // 6, gained  # the least busy worker took its share
