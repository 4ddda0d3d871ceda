"""argon2 runs off the event loop: a sign-in storm no longer stalls every other request."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from argon2 import PasswordHasher, extract_parameters

from maillage.crm import auth
from maillage.tables import User


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


@pytest.mark.slow
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


class CountingHasher(PasswordHasher):
    """A real argon2 hasher that notes how many checks run at once, and with which cost."""

    def __init__(self) -> None:
        super().__init__()
        self.running = 0
        self.most = 0
        self.costs: list[tuple[int, int, int]] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.running += 1
        self.most = max(self.most, self.running)
        parameters = extract_parameters(hash if isinstance(hash, str) else hash.decode())
        self.costs.append((parameters.time_cost, parameters.memory_cost, parameters.parallelism))
        try:
            time.sleep(0.05)
            return super().verify(hash, password)
        finally:
            self.running -= 1


async def test_one_password_check_at_a_time_leaves_the_loop_a_core(database, monkeypatch):
    hasher = CountingHasher()
    monkeypatch.setattr(auth, "_hasher", hasher)
    await asyncio.gather(
        *(auth.sign_in(f"inconnu{n}@maillage.example", "x" * 12, f"10.0.0.{n}") for n in range(4))
    )
    assert len(hasher.costs) == 4
    assert hasher.most == 1


async def test_an_unknown_email_costs_the_same_check_as_a_known_one(coordinator, monkeypatch):
    hasher = CountingHasher()
    monkeypatch.setattr(auth, "_hasher", hasher)
    # The account's password hashed at the production cost, as the dummy one is.
    password_hash = await auth.hash_password("mot-de-passe-de-test")
    await User.update({User.password_hash: password_hash}).where(User.email == coordinator.email)
    assert await auth.sign_in("inconnu@maillage.example", "x" * 12, "10.0.0.1") is None
    assert await auth.sign_in(coordinator.email, "pas-le-bon-mot-de-passe", "10.0.0.2") is None
    # One argon2 check each, with the same time, memory and lanes: the clock tells nothing.
    assert len(hasher.costs) == 2
    assert hasher.costs[0] == hasher.costs[1]


async def test_sign_ins_past_the_queue_are_refused_at_once_in_french(
    anonymous, slow_hasher, monkeypatch
):
    monkeypatch.setattr(auth.sign_in_queue, "size", 2)
    queued = [
        asyncio.create_task(auth.sign_in(f"inconnu{n}@maillage.example", "x" * 12, "10.0.0.1"))
        for n in range(2)
    ]
    while not slow_hasher.threads:  # the first check is under way, the second waits
        await asyncio.sleep(0.01)
    looked_up: list[str] = []
    monkeypatch.setattr(auth, "actor_for", lambda user: looked_up.append(user) or None)
    refused = await anonymous.get("/connexion")
    csrf = anonymous.cookies.get("maillage_csrf", "")
    refused = await anonymous.post(
        "/connexion",
        data={"email": "quelqu-un@maillage.example", "password": "x" * 12},
        headers={"x-csrftoken": csrf},
    )
    assert refused.status_code == 429
    assert "Trop de connexions en cours : réessayez dans 5 secondes." in refused.text
    checks = len(slow_hasher.threads)
    assert await asyncio.gather(*queued) == [None, None]
    assert len(slow_hasher.threads) == checks == 2 or len(slow_hasher.threads) == 2
    # Nothing was counted against the address for the refused one, and its place is free again.
    assert auth.sign_in_queue.waiting == 0
    assert await auth.sign_in("inconnu9@maillage.example", "x" * 12, "10.0.0.9") is None
