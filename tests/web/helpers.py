"""Records made through the API, and a browser-like client, so page tests start from a known network."""

from __future__ import annotations

import datetime as dt
import html
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

import httpx

PARIS_OFFSET = "+01:00"
PASSWORD = "mot-de-passe-de-test"
HOSTILE = "<script>alert(1)</script>\"'"


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


async def create(client, resource: str, payload: dict) -> dict:
    response = await client.post(f"/api/v1/{resource}", json=payload)
    assert response.status_code == 201, response.text
    return response.json()


async def small_network(client, name: str = "Centre social des Lilas") -> dict:
    """A commune, an organisation, a person attached to it, a body with them, a meeting."""
    commune = await create(client, "communes", {"insee_code": "35238", "name": "Rennes"})
    organisation = await create(
        client,
        "organisations",
        {"name": name, "kind": "association", "commune": commune["id"], "axes": [4]},
    )
    contact = await create(
        client,
        "contacts",
        {"first_name": "Hélène", "last_name": name if "<" in name else "Durand", "axes": [4]},
    )
    await create(
        client,
        "affiliations",
        {"contact": contact["id"], "organisation": organisation["id"], "is_primary": True},
    )
    group = await create(
        client,
        "groups",
        {"name": f"Commission {name}", "kind": "commission_thematique", "axes": [4]},
    )
    await create(
        client,
        "memberships",
        {
            "contact": contact["id"],
            "working_group": group["id"],
            "role": "titulaire",
            "organisation": organisation["id"],
        },
    )
    day = dt.date.today() + dt.timedelta(days=7)
    meeting = await create(
        client,
        "meetings",
        {
            "working_group": group["id"],
            "title": f"Réunion {name}",
            "starts_at": f"{day}T14:00:00{PARIS_OFFSET}",
            "ends_at": f"{day}T16:00:00{PARIS_OFFSET}",
            "location": "Salle du conseil",
        },
    )
    return {
        "commune": commune,
        "organisation": organisation,
        "contact": contact,
        "group": group,
        "meeting": meeting,
    }


def http_scope(raw_path: str, headers: list[tuple[bytes, bytes]] = ()) -> dict[str, Any]:
    """The ASGI scope of a GET of ``raw_path`` as a server hands it over (``..`` kept,
    ``%2F`` decoded into ``path``), for tests that call the application directly: httpx
    would fold dot segments and cannot disconnect mid-answer."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": urllib.parse.unquote(raw_path),
        "raw_path": raw_path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
