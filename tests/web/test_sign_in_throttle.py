"""Sign-in throttle (#23): counted before the check, per account and address, delays instead
of a lock-out, an administrator's unlock, Litestar's rate limiter in front."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest
from click.testing import CliRunner

from maillage import db
from maillage.crm import auth, throttle
from maillage.tables import AuditEvent
from maillage.web import app as web_app
from tests.web.helpers import PASSWORD, Browser, html_text, sign_in

WRONG = "pas-le-bon-mot-de-passe"


def browser_at(app, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password actually checked (argon2 run), real or dummy."""
    seen: list[str] = []
    verify, spend = auth.verify_password, auth.spend_a_check

    async def counted_verify(password_hash: str, password: str) -> bool:
        seen.append(password)
        return await verify(password_hash, password)

    async def counted_spend(password: str) -> None:
        seen.append(password)
        await spend(password)

    monkeypatch.setattr(auth, "verify_password", counted_verify)
    monkeypatch.setattr(auth, "spend_a_check", counted_spend)
    return seen


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):
    """The throttle's clock, moved by hand."""

    class Clock:
        now = dt.datetime.now(dt.UTC)

        def advance(self, **delta: float) -> None:
            self.now += dt.timedelta(**delta)

    moving = Clock()
    monkeypatch.setattr(throttle, "_now", lambda: moving.now)
    return moving


async def _attempt(app, address: str, email: str, password: str) -> int:
    async with browser_at(app, address) as client:
        return (await sign_in(Browser(client), email, password)).status_code


async def test_parallel_wrong_passwords_are_counted_before_they_are_checked(
    app, coordinator, checks
):
    """12 at once: the limit (5) are checked, the 7 others answered 429 without a check."""
    statuses = await asyncio.gather(
        *(_attempt(app, "203.0.113.7", coordinator.email, WRONG) for _ in range(12))
    )
    assert sorted(statuses) == [400] * 5 + [429] * 7
    assert len(checks) == auth.LOGIN_MAX_FAILURES == 5


async def test_an_attacker_elsewhere_does_not_keep_the_person_out(app, coordinator):
    for _ in range(6):
        await _attempt(app, "203.0.113.7", coordinator.email, WRONG)
    assert await _attempt(app, "203.0.113.7", coordinator.email, PASSWORD) == 429
    assert await _attempt(app, "192.0.2.10", coordinator.email, PASSWORD) == 303


async def test_many_addresses_against_one_account_are_slowed_but_not_from_the_usual_one(
    app, coordinator
):
    assert await _attempt(app, "192.0.2.10", coordinator.email, PASSWORD) == 303  # usual
    for n in range(throttle.ACCOUNT.failures):
        assert await _attempt(app, f"198.51.100.{n + 1}", coordinator.email, WRONG) == 400
    assert await _attempt(app, "198.51.100.200", coordinator.email, PASSWORD) == 429
    assert await _attempt(app, "192.0.2.10", coordinator.email, PASSWORD) == 303


async def test_one_address_trying_many_accounts_is_slowed(app, coordinator):
    for n in range(throttle.ADDRESS.failures):
        assert await _attempt(app, "203.0.113.9", f"personne{n}@exemple.fr", WRONG) == 400
    assert await _attempt(app, "203.0.113.9", coordinator.email, PASSWORD) == 429
    assert await _attempt(app, "192.0.2.10", coordinator.email, PASSWORD) == 303


async def test_delays_grow_then_stop_growing_and_waiting_does_not_lengthen_them(
    app, coordinator, clock
):
    address, email = "203.0.113.7", coordinator.email
    for _ in range(5):
        assert await _attempt(app, address, email, WRONG) == 400
    waits = []
    for _ in range(8):
        assert await _attempt(app, address, email, WRONG) == 429  # while waiting: not counted
        row = (
            await throttle.SignInThrottle.select()
            .where(throttle.SignInThrottle.key == throttle.digest("compte-adresse", email, address))
            .first()
            .run()
        )
        waits.append(round((row["next_allowed_at"] - clock.now).total_seconds()))
        clock.advance(seconds=waits[-1])
        assert await _attempt(app, address, email, WRONG) == 400
    assert waits == [30, 60, 120, 240, 480, 900, 900, 900]
    clock.advance(seconds=900)
    assert await _attempt(app, address, email, PASSWORD) == 303


async def test_the_refusal_says_how_long_to_wait(app, coordinator):
    async with browser_at(app, "203.0.113.7") as client:
        browser = Browser(client)
        for _ in range(5):
            await sign_in(browser, coordinator.email, WRONG)
        response = await sign_in(browser, coordinator.email, PASSWORD)
    assert response.status_code == 429
    text = html_text(response)
    assert "Trop de tentatives de connexion : réessayez dans 30 secondes" in text
    assert "débloquer" in text


async def test_an_administrator_unlocks_from_the_users_page(app, admin_web, coordinator):
    for _ in range(5):
        await _attempt(app, "127.0.0.1", coordinator.email, WRONG)
    page = html_text(await admin_web.get("/utilisateurs"))
    assert "connexion freinée jusqu'à" in page
    user = await auth.find_user(coordinator.email)
    response = await admin_web.post(f"/utilisateurs/{user['id']}/debloquer")
    assert response.status_code == 303
    assert "Connexion débloquée pour coordination@maillage.example" in html_text(
        await admin_web.get("/utilisateurs")
    )
    assert await _attempt(app, "127.0.0.1", coordinator.email, PASSWORD) == 303
    assert await AuditEvent.exists().where(AuditEvent.action == "unlock_sign_in").run()


async def test_an_administrator_unlocks_through_the_api(app, admin, coordinator, reader):
    for _ in range(5):
        await _attempt(app, "127.0.0.1", coordinator.email, WRONG)
    user = await auth.find_user(coordinator.email)
    path = f"/api/v1/users/{user['id']}/unlock"
    assert (await reader.client.post(path)).status_code == 403
    response = await admin.client.post(path)
    assert response.status_code == 200
    assert response.json()["debloque"] is True
    assert await _attempt(app, "127.0.0.1", coordinator.email, PASSWORD) == 303


async def test_the_command_unlocks(app, coordinator, settings, monkeypatch):
    for _ in range(5):
        await _attempt(app, "127.0.0.1", coordinator.email, WRONG)
    from maillage.cli import main

    # As tests/exchange/test_cli.py does: the command reads the test database's address.
    monkeypatch.setenv("MAILLAGE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MAILLAGE_DATABASE_URL", settings.database_url)
    engine = db.current_engine()  # the command binds its own; the test's comes back after
    try:
        result = await asyncio.to_thread(
            CliRunner().invoke, main, ["user", "unlock", coordinator.email]
        )
    finally:
        db.bind(engine)
    assert result.exit_code == 0, result.output
    assert "Connexion débloquée pour coordination@maillage.example" in result.output
    assert await _attempt(app, "127.0.0.1", coordinator.email, PASSWORD) == 303


async def test_litestar_limits_password_posts_per_address(
    settings, database, coordinator, monkeypatch
):
    monkeypatch.setattr(web_app, "SIGN_IN_RATE", ("minute", 3))
    app = web_app.create_app(settings, manage_database=False)
    statuses = [await _attempt(app, "192.0.2.10", coordinator.email, PASSWORD) for _ in range(4)]
    assert statuses == [303, 303, 303, 429]
    assert await _attempt(app, "192.0.2.11", coordinator.email, PASSWORD) == 303
    async with browser_at(app, "192.0.2.10") as client:
        assert (await client.get("/connexion")).status_code == 200  # only posts count


async def test_the_current_password_check_is_limited(app, coordinator_web, checks):
    form = {"new_password": "un-nouveau-mot-de-passe", "confirmation": "un-nouveau-mot-de-passe"}
    statuses = await asyncio.gather(
        *(
            coordinator_web.post("/compte/mot-de-passe", {**form, "current_password": WRONG})
            for _ in range(8)
        )
    )
    assert sorted(r.status_code for r in statuses) == [400] * 5 + [429] * 3
    assert len(checks) == 5
    response = await coordinator_web.post(
        "/compte/mot-de-passe", {**form, "current_password": PASSWORD}
    )
    assert response.status_code == 429
    assert "Trop de tentatives avec le mot de passe actuel" in html_text(response)


async def test_right_passwords_from_one_office_address_never_add_up(app, coordinator):
    """Everyone behind one address signing in is not an attack: only failures count there."""
    for _ in range(throttle.ADDRESS.failures + 5):
        assert await _attempt(app, "192.0.2.50", coordinator.email, PASSWORD) == 303


async def test_counters_that_mean_nothing_any_more_are_purged(app, coordinator, clock):
    """Made-up addresses leave no row for ever; a usual address is remembered 30 days."""
    await _attempt(app, "192.0.2.10", coordinator.email, PASSWORD)  # usual address
    for n in range(3):
        await _attempt(app, "203.0.113.7", f"invente{n}@exemple.fr", WRONG)
    before = await throttle.SignInThrottle.count()
    clock.advance(hours=2)
    purged = await throttle.purge_stale()
    usual = throttle.digest("compte-adresse", coordinator.email, "192.0.2.10")
    assert purged > 0 and await throttle.SignInThrottle.count() == before - purged
    assert await throttle.usual_address(usual)
    clock.advance(days=31)
    await throttle.purge_stale()
    assert await throttle.SignInThrottle.count() == 0


async def test_an_attempt_counted_a_moment_later_does_not_make_the_next_one_wait(database, clock):
    """Two sign-ins at once from one address (colleagues behind a town hall's address): the
    one counted second may have read the clock first, or on another host whose clock is a
    little ahead. Below the limit no attempt waits (CI, PostgreSQL: four sign-ins at once from
    one address, one refused « réessayez dans 1 seconde »)."""
    clock.advance(seconds=2)
    await throttle.before_sign_in("premiere@maillage.example", "192.0.2.77")
    clock.advance(seconds=-2)
    await throttle.before_sign_in("seconde@maillage.example", "192.0.2.77")
    # From the limit on, the delay still holds whatever the clocks.
    for _ in range(throttle.ADDRESS.failures):
        clock.advance(seconds=1)
        try:
            await throttle.before_sign_in("autre@maillage.example", "192.0.2.77")
        except throttle.TooManyAttempts:
            break
    else:
        pytest.fail("the address's limit no longer refuses")
