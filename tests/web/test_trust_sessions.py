"""Sessions end on the server: a cookie copied before signing out opens nothing afterwards (#23)."""

from __future__ import annotations

import datetime as dt

from maillage.crm import auth
from maillage.web import security
from tests.web.helpers import Browser, open_browser


async def _replay(app, cookies) -> int:
    async with await open_browser(app) as client:
        for name, value in cookies.items():
            client.cookies.set(name, value)
        return (await Browser(client).get("/")).status_code


async def test_it_kills_a_copied_cookie_on_sign_out(app, coordinator_web):
    copied = dict(coordinator_web.client.cookies.items())
    assert await _replay(app, copied) == 200
    await coordinator_web.post("/deconnexion")
    assert await _replay(app, copied) == 303


async def test_it_ends_sessions_on_a_role_change(app, coordinator_web, admin_web):
    copied = dict(coordinator_web.client.cookies.items())
    user = await auth.find_user(coordinator_web.email)
    await auth.User.update({auth.User.role: "lecteur"}).where(auth.User.id == user["id"]).run()
    assert await _replay(app, copied) == 303


async def test_it_ends_an_idle_session(app, coordinator_web, monkeypatch):
    later = dt.datetime.now(dt.UTC) + security.SESSION_IDLE + dt.timedelta(minutes=1)
    monkeypatch.setattr(security, "_now", lambda: later)
    assert (await coordinator_web.get("/")).status_code == 303


async def test_it_does_not_renew_a_session_past_its_absolute_life(
    app, coordinator_web, monkeypatch
):
    start = dt.datetime.now(dt.UTC)
    step = security.SESSION_IDLE - dt.timedelta(minutes=5)
    moment = start
    while moment - start < security.SESSION_LIFETIME - step:
        moment += step
        monkeypatch.setattr(security, "_now", lambda at=moment: at)
        assert (await coordinator_web.get("/")).status_code == 200
    monkeypatch.setattr(security, "_now", lambda: start + security.SESSION_LIFETIME + step)
    assert (await coordinator_web.get("/")).status_code == 303


async def test_a_nul_byte_in_the_sign_in_form_is_refused_not_a_500(visitor):
    """PostgreSQL rejects NUL in text: the sign-in form answered 500 there (#23)."""
    for fields in (
        {"email": "a\x00b@mairie.example", "password": "x"},
        {"email": "a@b.fr", "password": "x\x00"},
    ):
        response = await visitor.post("/connexion", fields)
        assert response.status_code == 400, response.status_code
