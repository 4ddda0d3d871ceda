"""Pages as a browser sees them: a session cookie, a CSRF token, HTML to read."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.web.helpers import Browser, open_browser, sign_in


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2's real cost (≈ 0.7 s a hash on two shared cores) is not what these tests check."""
    from argon2 import PasswordHasher

    from maillage.crm import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


async def _signed_in(app, persona) -> AsyncIterator[Browser]:
    async with await open_browser(app) as client:
        browser = Browser(client)
        response = await sign_in(browser, persona.email)
        assert response.status_code == 303, response.text
        yield browser


@pytest.fixture
async def visitor(app) -> AsyncIterator[Browser]:
    async with await open_browser(app) as client:
        yield Browser(client)


@pytest.fixture
async def admin_web(app, admin) -> AsyncIterator[Browser]:
    async for browser in _signed_in(app, admin):
        yield browser


@pytest.fixture
async def coordinator_web(app, coordinator) -> AsyncIterator[Browser]:
    async for browser in _signed_in(app, coordinator):
        yield browser


@pytest.fixture
async def reader_web(app, reader) -> AsyncIterator[Browser]:
    async for browser in _signed_in(app, reader):
        yield browser
