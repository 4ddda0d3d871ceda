"""argon2 runs off the event loop: a sign-in storm no longer stalls every other request."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from argon2 import PasswordHasher

from maillage.crm import auth


class SlowHasher(PasswordHasher):
    """A real argon2 hasher that also takes a deliberate 0.3 s and notes its thread."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[int] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.threads.append(threading.get_ident())
        time.sleep(0.3)
        return super().verify(hash, password)


@pytest.fixture
def slow_hasher(monkeypatch: pytest.MonkeyPatch) -> SlowHasher:
    hasher = SlowHasher()
    monkeypatch.setattr(auth, "_hasher", hasher)
    return hasher


async def test_password_checks_run_on_another_thread(database, slow_hasher):
    assert await auth.authenticate_password("inconnu@maillage.example", "x" * 12) is None
    assert slow_hasher.threads
    assert threading.get_ident() not in slow_hasher.threads


async def test_healthz_answers_while_sign_ins_are_in_flight(anonymous, slow_hasher):
    sign_ins = [
        asyncio.create_task(auth.sign_in(f"inconnu{n}@maillage.example", "x" * 12, "10.0.0.1"))
        for n in range(4)
    ]
    while not slow_hasher.threads:  # the first check is under way
        await asyncio.sleep(0.01)
    response = await anonymous.get("/healthz")
    assert response.status_code == 200
    assert not all(task.done() for task in sign_ins)  # answered before the storm ended
    assert await asyncio.gather(*sign_ins) == [None] * 4
