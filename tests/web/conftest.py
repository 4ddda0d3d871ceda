"""Pages as a browser sees them: a session cookie, a CSRF token, HTML to read."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

PASSWORD = "mot-de-passe-de-test"
HOSTILE = "<script>alert(1)</script>\"'"


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2's real cost (≈ 0.7 s a hash on two shared cores) is not what these tests check."""
    from argon2 import PasswordHasher

    from maillage.crm import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@dataclass
class Browser:
    """An httpx client that keeps cookies and posts forms with their CSRF token."""

    client: httpx.AsyncClient
    email: str = ""

    async def get(self, url: str, **kwargs) -> httpx.Response:
        return await self.client.get(url, **kwargs)

    async def post(self, url: str, data: dict | list | None = None, csrf: bool = True):
        if "maillage_csrf" not in self.client.cookies:
            await self.client.get("/connexion")
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        if csrf:
            fields.append(("_csrf_token", self.client.cookies["maillage_csrf"]))
        form: dict[str, list[str]] = {}
        for name, value in fields:
            form.setdefault(name, []).append(str(value))
        return await self.client.post(url, data=form)


def html_text(response: httpx.Response) -> str:
    """The visible text of a page, roughly: tags removed, spaces collapsed."""
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", response.text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return " ".join(html.unescape(text).split())


async def open_browser(app) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def sign_in(browser: Browser, email: str, password: str = PASSWORD) -> httpx.Response:
    await browser.get("/connexion")
    response = await browser.post("/connexion", {"email": email, "password": password})
    browser.email = email
    return response


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
