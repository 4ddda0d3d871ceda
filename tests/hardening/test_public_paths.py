"""The paths a stranger reaches from the internet (#23): answer links (`/r/`), unsubscribe links
(`/u/`), calendar feeds by secret link, the sign-in form and the registration page of public
meetings (`/participer/`, #22). Malformed, huge (1 MB),
Unicode-digit, NUL-holding and concurrent input gets a French 4xx (or the page), never a 500,
and nothing is logged as an error. Also: a NUL in any query string of any route, page or API,
is a 400 on both engines (PostgreSQL answered 500)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random

import httpx
import pytest

from maillage.actor import CLI
from maillage.calendar import feeds
from maillage.crm import auth, consultations
from maillage.mailing import tokens
from maillage.tables import InhabitantRegistration, Invitation, Meeting
from maillage.web import app as web_app
from maillage.web.pages import participation
from tests.crm.test_inhabitants import public_meeting
from tests.hardening.corpus import HOSTILE
from tests.web.helpers import Browser, create, open_browser, sign_in, small_network

MEGABYTE = "9" * 1_000_000
# Values typed or forged by a stranger: Unicode digits, long numbers, NUL, breaks, the corpus.
STRANGE = [
    "",
    "²",
    "٣",
    "１２",
    "9" * 5000,
    MEGABYTE,
    "\x00",
    "a\x00b",
    "\r\nX-Injected: 1",
    "-1",
    "1e9",
    "0x10",
    " 12 ",
    "\ud7ff",
    *list(HOSTILE.values())[:12],
]
ENGLISH = ("Internal Server Error", "Bad Request", "Traceback", "Exception", "Not Found")


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def errors_logged(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING)
    yield caplog
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [r.getMessage() for r in bad]


@pytest.fixture
async def links(app, settings, admin) -> dict[str, str]:
    net = await small_network(admin.client)
    invitation = await create(
        admin.client,
        "invitations",
        {"meeting": net["meeting"]["id"], "contact": net["contact"]["id"]},
    )
    row = (
        await Invitation.select(Invitation.token_nonce)
        .where(Invitation.id == invitation["id"])
        .first()
    )
    feed, _ = await feeds.create_token(CLI, "group", net["group"]["id"])
    return {
        "answer": tokens.answer_token(settings.secret_key, invitation["id"], row["token_nonce"]),
        "unsubscribe": tokens.unsubscribe_token(settings.secret_key, net["contact"]["id"], ""),
        "feed": feed,
    }


def check(response: httpx.Response, where: str) -> None:
    assert response.status_code < 500, (where, response.status_code, response.text[:300])
    assert not any(word in response.text for word in ENGLISH), (where, response.text[:300])


async def _form(client: httpx.AsyncClient, path: str, fields: dict[str, str]) -> httpx.Response:
    return await client.post(path, data=fields)


async def test_answer_links_take_any_form_value(anonymous, links, errors_logged):
    path = f"/r/{links['answer']}"
    for value in STRANGE:
        for field in ("reponse", "remplacant", "remplacant_adresse"):
            fields = {"reponse": "non", field: value}
            check(await _form(anonymous, path, fields), f"POST /r/ {field}={value[:20]!r}")
        check(
            await anonymous.get(path, params={"reponse": value[:30_000]}),
            f"GET /r/?reponse={value[:20]!r}",
        )


async def test_unsubscribe_links_take_any_form_value(anonymous, links, errors_logged):
    path = f"/u/{links['unsubscribe']}"
    for value in STRANGE:
        check(await _form(anonymous, path, {"List-Unsubscribe": value}), f"POST /u/ {value[:20]!r}")
    check(await anonymous.get(path, params={"x": "\x00"}), "GET /u/?x=NUL")


@pytest.mark.parametrize("kind", ["answer", "unsubscribe"])
async def test_forged_link_tokens_are_refused_in_french(anonymous, links, kind, errors_logged):
    prefix = "/r/" if kind == "answer" else "/u/"
    real = links[kind]
    # One character changed: the last one, to a letter it is not (a token ending in « A »
    # must not be "forged" into itself).
    tampered = real[:-1] + ("B" if real.endswith("A") else "A")
    for token in ["x", "²", tampered, real + "A", "A" * 5000, real.replace(".", "%00")]:
        for method in ("GET", "POST"):
            response = await anonymous.request(method, prefix + token)
            check(response, f"{method} {prefix}{token[:20]}")
            assert 400 <= response.status_code < 500


async def test_feed_links_take_any_name(anonymous, links, errors_logged):
    real = links["feed"]
    for name in ["x.ics", "²", "².ics", real, real + ".txt", "A" * 5000 + ".ics", "%00.ics"]:
        response = await anonymous.get(f"/calendar/feeds/{name}")
        check(response, f"feed {name[:20]}")
        assert 400 <= response.status_code < 500
    for header in ["\x7f", "W/" + "9" * 8000, '"' + MEGABYTE[:8000]]:
        response = await anonymous.get(
            f"/calendar/feeds/{real}.ics", headers={"If-None-Match": header}
        )
        check(response, "If-None-Match")


async def test_the_sign_in_form_takes_any_value(app, errors_logged):
    async with await open_browser(app) as client:
        browser = Browser(client)
        for value in STRANGE:
            for field in ("email", "password", "suivant"):
                fields = {"email": "a@b.fr", "password": "x" * 12, field: value}
                check(
                    await browser.post("/connexion", fields), f"/connexion {field}={value[:20]!r}"
                )
            check(await client.get("/connexion", params={"suivant": value[:30_000]}), "GET")


async def test_the_registration_page_takes_any_form_value(settings, database, monkeypatch):
    monkeypatch.setattr(web_app, "PARTICIPATION_RATE", ("minute", 100_000))
    app = web_app.create_app(settings, manage_database=False)
    meeting = await public_meeting(capacity=2)
    path = f"/participer/{meeting}"
    old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    stamp = participation.form_stamp(settings.secret_key, meeting, old)
    base = {"nom": "Hélène", "commune": "Ardoise", "consentement": "on", "jeton": stamp}
    async with await open_browser(app) as client:
        browser = Browser(client)
        for value in STRANGE:
            for field in ("nom", "commune", "courriel", "consentement", "site_web", "jeton"):
                response = await browser.post(path, {**base, field: value})
                check(response, f"POST /participer/ {field}={value[:20]!r}")
            check(await client.get(path, params={"x": value[:30_000]}), f"GET ?x={value[:20]!r}")
        for number in ["²", "٣", "9" * 5000, "%00", "-1", "1e9", " 12 "]:
            for method in ("GET", "POST"):
                response = await browser.client.request(method, f"/participer/{number}")
                check(response, f"{method} /participer/{number[:20]}")
                assert 400 <= response.status_code < 500
    await Meeting.update({Meeting.consultation_open: True}).where(Meeting.id == meeting)
    question = await consultations.add_question(CLI, meeting, "choix", "Garde ?", ["A", "B"])
    consult = f"{path}/consultation"
    stamp = participation.form_stamp(settings.secret_key, -meeting, old)
    field = f"q{question['id']}"
    async with await open_browser(app) as client:
        browser = Browser(client)
        for value in STRANGE:
            for name in (field, "site_web", "jeton", "q999999"):
                response = await browser.post(consult, {field: "A", "jeton": stamp, name: value})
                check(response, f"POST consultation {name}={value[:20]!r}")
    # Whatever got through is within the rules: never more registered than the capacity.
    registered = await InhabitantRegistration.count().where(
        InhabitantRegistration.status == "inscrit"
    )
    assert registered <= 2


async def test_public_posts_in_json_or_broken_multipart_are_refused(
    anonymous, links, errors_logged
):
    paths = [f"/r/{links['answer']}", f"/u/{links['unsubscribe']}"]
    bodies = [
        ({"content-type": "application/json"}, b'{"reponse": "acceptee"'),
        ({"content-type": "multipart/form-data; boundary=x"}, b"--x\r\nbroken"),
        ({"content-type": "application/x-www-form-urlencoded"}, b"reponse=%ff%fe&remplacant=%00"),
        ({"content-type": "text/plain"}, MEGABYTE.encode()),
    ]
    for path in paths:
        for headers, content in bodies:
            check(await anonymous.post(path, headers=headers, content=content), path)


async def test_concurrent_answers_to_one_link_all_get_an_answer(anonymous, links, errors_logged):
    path = f"/r/{links['answer']}"
    choices = ["oui", "non", "peut-etre", "²", MEGABYTE] * 4
    responses = await asyncio.gather(
        *(_form(anonymous, path, {"reponse": choice}) for choice in choices),
        *(_form(anonymous, path, {"reponse": "non", "remplacant": "²"}) for _ in range(4)),
    )
    for response in responses:
        check(response, "concurrent")
    answered = await Invitation.select(Invitation.response).first()
    assert answered["response"] in {"acceptee", "declinee", "incertaine"}


async def test_a_nul_in_any_query_string_is_a_french_400(app, admin, errors_logged):
    """Every route without a path parameter, as the API client and as the signed-in browser."""
    checked = 0
    async with await open_browser(app) as browser_client:
        assert (await sign_in(Browser(browser_client), admin.email)).status_code == 303
        for route in app.routes:
            if "GET" not in getattr(route, "methods", ()) or "{" in route.path:
                continue
            checked += await _nul_everywhere(route.path, (admin.client, browser_client))
    assert checked > 100


async def _nul_everywhere(path: str, clients) -> int:
    checked = 0
    for client in clients:
        if path.startswith("/api/") and "authorization" not in client.headers:
            continue  # the API reads no session cookie
        for query in ("q=%00", "sort=a%00", "x%00=1"):
            response = await client.get(f"{path}?{query}")
            assert response.status_code == 400, (path, query, response.status_code)
            assert "caractère nul" in response.text
            checked += 1
    return checked


def _random_text(rng: random.Random) -> str:
    """Mixed scripts, digits of other systems, controls, surrogates' neighbours, long runs."""
    alphabet = "aé²٣１\x00\x01\r\n\t =&%;\"'<>{}\\/\u202e\ufeff\U0001f600-_.@9"
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
    return text * rng.choice([1, 1, 1, 100, 5000])


async def test_random_forms_on_every_public_post(app, anonymous, links, errors_logged):
    """200 forms of random fields and values (seeded, so a failure replays)."""
    rng = random.Random(23)
    names = ["reponse", "remplacant", "remplacant_adresse", "email", "password", "suivant", "x"]
    async with await open_browser(app) as client:
        browser = Browser(client)
        posts = [
            lambda form: anonymous.post(f"/r/{links['answer']}", data=form),
            lambda form: anonymous.post(f"/u/{links['unsubscribe']}", data=form),
            lambda form: browser.post("/connexion", form),
        ]
        for _ in range(200):
            form = {rng.choice(names): _random_text(rng) for _ in range(rng.randint(0, 4))}
            check(await rng.choice(posts)(form), f"random {sorted(form)}")
