"""The links whose own secret is the permission (answer, unsubscribe, feed token) read no
session: the session middleware is not run there (#16), so a signed-in browser's cookie is
neither decrypted nor sent again, and the session goes on as it was."""

from __future__ import annotations

import pytest

from maillage.actor import CLI
from maillage.calendar import feeds
from tests.web.helpers import http_scope


async def _group(admin) -> int:
    group = await admin.client.post("/api/v1/groups", json={"name": "COPIL", "kind": "copil"})
    assert group.status_code == 201, group.text
    return group.json()["id"]


async def test_public_links_leave_the_session_cookie_alone(admin, admin_web):
    token, _ = await feeds.create_token(CLI, "group", await _group(admin))
    session = admin_web.client.cookies["maillage_session"]
    for path, status in [
        (f"/calendar/feeds/{token}.ics", 200),
        ("/r/1.AAAAAAAAAAAAAAAAAAAAAA", 404),
        ("/u/1.AAAAAAAAAAAAAAAAAAAAAA", 404),
    ]:
        answer = await admin_web.get(path)
        assert answer.status_code == status, (path, answer.text[:200])
        assert "maillage_session" not in answer.headers.get("set-cookie", ""), path
    assert admin_web.client.cookies["maillage_session"] == session
    # Pages still read the session: the person is still signed in.
    home = await admin_web.get("/")
    assert home.status_code == 200, home.status_code
    assert "maillage_session" in home.headers.get("set-cookie", "")


async def test_public_links_cross_none_of_the_session_token_csrf_and_rate_middlewares(
    admin, admin_web, monkeypatch
):
    """#16: the links go straight to their route (`PublicLinks`); each of these four
    middlewares only passed them on. Fails where they are crossed (counted per class)."""
    from litestar.middleware.session.base import SessionMiddleware

    from maillage.web.app import PostRateLimits
    from maillage.web.security import BearerAwareCSRFMiddleware, TokenAuthenticationMiddleware

    token, _ = await feeds.create_token(CLI, "group", await _group(admin))
    crossed: list[str] = []
    for cls in (
        PostRateLimits,
        SessionMiddleware,
        TokenAuthenticationMiddleware,
        BearerAwareCSRFMiddleware,
    ):
        original = cls.__call__

        async def counted(self, scope, receive, send, _original=original, _name=cls.__name__):
            crossed.append(_name)
            await _original(self, scope, receive, send)

        monkeypatch.setattr(cls, "__call__", counted)
    for method, path, status in [
        ("GET", f"/calendar/feeds/{token}.ics", 200),
        ("HEAD", f"/calendar/feeds/{token}.ics", 200),
        ("GET", "/r/1.AAAAAAAAAAAAAAAAAAAAAA", 404),
        ("POST", "/r/1.AAAAAAAAAAAAAAAAAAAAAA", 404),
        ("GET", "/u/1.AAAAAAAAAAAAAAAAAAAAAA", 404),
    ]:
        answer = await admin_web.client.request(method, path)
        assert answer.status_code == status, (method, path, answer.text[:200])
        # The security headers are the application's, sent on these answers too.
        assert "content-security-policy" in answer.headers, path
    assert crossed == []
    # Every other request crosses the four, pages and API alike.
    assert (await admin_web.get("/")).status_code == 200
    assert crossed == [
        "PostRateLimits",
        "SessionMiddleware",
        "TokenAuthenticationMiddleware",
        "BearerAwareCSRFMiddleware",
    ]


async def _status_of_raw_path(app, raw_path: str) -> int:
    """The status the application gives a GET of ``raw_path`` as a server hands it over
    (``..`` kept, ``%2F`` decoded into ``path``): httpx would fold the dot segments first."""
    scope = http_scope(raw_path)
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


@pytest.mark.parametrize(
    "raw_path",
    [
        "/r/../tableau-de-bord",
        "/r/..%2Ftableau-de-bord",
        "/calendar/feeds/../../api/v1/contacts",
        "/r/x/../../api/v1/contacts",
        "/u/../contacts",
        "/r//../utilisateurs",
    ],
)
async def test_a_public_link_prefix_leads_to_no_other_route(app, database, raw_path):
    """`PublicLinks` sends what starts with a public link's prefix past the session and the
    token checks (#16): the router must not fold ``..`` into a signed-in page or API route."""
    assert await _status_of_raw_path(app, raw_path) == 404
    assert await _status_of_raw_path(app, "/api/v1/contacts") == 401  # the same door, checked
