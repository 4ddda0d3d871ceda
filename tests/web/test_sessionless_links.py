"""The links whose own secret is the permission (answer, unsubscribe, feed token) read no
session: the session middleware is not run there (#16), so a signed-in browser's cookie is
neither decrypted nor sent again, and the session goes on as it was."""

from __future__ import annotations

from maillage.actor import CLI
from maillage.calendar import feeds


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
