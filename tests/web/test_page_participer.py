"""The public registration page of a public meeting, `/participer/{id}` (#22): no account, the
same 404 for unknown, private and closed meetings, CSRF, honeypot, minimum fill time, capacity
then waiting list, French errors for malformed or huge input, concurrent posts within capacity."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import pytest

from maillage.tables import InhabitantRegistration, Meeting, OutboxMessage
from maillage.web import app as web_app
from maillage.web.pages import participation
from tests.crm.test_inhabitants import public_meeting
from tests.web.helpers import Browser, html_text, open_browser

CLOSED = "Inscriptions fermées"
ENGLISH = ("Internal Server Error", "Bad Request", "Traceback", "Not Found")


def _fields(response, **values: str) -> dict[str, str]:
    """The form as a person fills it: the hidden fields of the page, then what they type."""
    token = re.search(r'name="jeton" value="([^"]+)"', response.text)
    assert token, response.text[:500]
    return {
        "jeton": token.group(1),
        "nom": "Hélène Lefèvre",
        "commune": "Ardoise",
        "courriel": "",
        "consentement": "on",
        "site_web": "",
        **values,
    }


def _older(settings, meeting_id: int, seconds: int = 10) -> str:
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
    return participation.form_stamp(settings.secret_key, meeting_id, moment)


async def _register(visitor: Browser, settings, meeting_id: int, **values: str):
    page = await visitor.get(f"/participer/{meeting_id}")
    assert page.status_code == 200, page.text
    fields = _fields(page, jeton=_older(settings, meeting_id), **values)
    return await visitor.post(f"/participer/{meeting_id}", fields)


async def test_the_page_is_french_public_and_sets_no_other_cookie(visitor, database):
    meeting = await public_meeting(capacity=30)
    response = await visitor.get(f"/participer/{meeting}")
    assert response.status_code == 200
    text = html_text(response)
    assert "S'inscrire à la réunion publique" in text
    assert "Atelier parentalité — Réunion publique sur l'accueil du jeune enfant" in text
    assert "Salle des fêtes" in text
    assert "(heure de Paris)" in text
    assert "Nom ou pseudonyme" in text and "Commune de résidence" in text
    assert response.headers["cache-control"] == "no-store"
    assert set(visitor.client.cookies.keys()) <= {"maillage_csrf"}
    assert 'name="_csrf_token"' in response.text


async def test_a_registration_then_the_waiting_list(visitor, settings, database):
    meeting = await public_meeting(capacity=1)
    first = await _register(visitor, settings, meeting, courriel="helene@exemple.fr")
    assert first.status_code == 200, html_text(first)
    assert "Inscription enregistrée" in html_text(first)
    assert "Un courriel de confirmation part à l'adresse helene@exemple.fr" in html_text(first)
    full = await visitor.get(f"/participer/{meeting}")
    assert "Toutes les places sont prises" in html_text(full)
    second = await _register(visitor, settings, meeting, nom="Marc")
    assert "Vous êtes sur la liste d'attente" in html_text(second)
    assert "en position 1" in html_text(second)
    rows = await InhabitantRegistration.select(
        InhabitantRegistration.name, InhabitantRegistration.status
    ).order_by(InhabitantRegistration.id)
    assert rows == [
        {"name": "Hélène Lefèvre", "status": "inscrit"},
        {"name": "Marc", "status": "attente"},
    ]
    assert await OutboxMessage.count() == 1


async def test_unknown_private_and_closed_meetings_get_the_same_404(visitor, settings, database):
    private = await public_meeting(public=False)
    closed = await public_meeting(open_=False)
    past = await public_meeting(days=-2)
    cancelled = await public_meeting()
    await Meeting.update({Meeting.status: "annulee"}).where(Meeting.id == cancelled)
    answers = set()
    for number in (private, closed, past, cancelled, 999_999, "abc", "²", "1" * 30, "0", "-1"):
        for method in ("GET", "POST"):
            if method == "GET":
                response = await visitor.get(f"/participer/{number}")
            else:
                response = await visitor.post(f"/participer/{number}", {"nom": "x"})
            assert response.status_code == 404, (number, method, response.status_code)
            assert CLOSED in html_text(response)
            answers.add(response.text)
    assert len(answers) == 1
    assert await InhabitantRegistration.count() == 0


async def test_the_honeypot_and_a_forged_stamp_register_nobody(visitor, settings, database):
    meeting = await public_meeting()
    page = await visitor.get(f"/participer/{meeting}")
    for fields in (
        _fields(page, jeton=_older(settings, meeting), site_web="http://spam.example"),
        _fields(page, jeton="1.abc"),
        _fields(page, jeton=_older(settings, meeting + 1)),
        _fields(page, jeton=""),
    ):
        response = await visitor.post(f"/participer/{meeting}", fields)
        assert response.status_code == 400
        assert "Votre inscription n'a pas pu être enregistrée" in html_text(response)
    assert await InhabitantRegistration.count() == 0


async def test_a_form_sent_too_fast_or_too_late_is_refused_in_french(visitor, settings, database):
    meeting = await public_meeting()
    page = await visitor.get(f"/participer/{meeting}")
    response = await visitor.post(f"/participer/{meeting}", _fields(page))  # at once
    assert response.status_code == 400
    assert "envoyé trop vite" in html_text(response)
    assert 'value="Hélène Lefèvre"' in response.text  # what was typed is kept
    stale = _fields(page, jeton=_older(settings, meeting, 2 * 86400))
    response = await visitor.post(f"/participer/{meeting}", stale)
    assert "Ce formulaire a expiré" in html_text(response)
    assert await InhabitantRegistration.count() == 0


async def test_a_post_without_the_csrf_token_is_refused(visitor, settings, database):
    meeting = await public_meeting()
    page = await visitor.get(f"/participer/{meeting}")
    fields = _fields(page, jeton=_older(settings, meeting))
    response = await visitor.post(f"/participer/{meeting}", fields, csrf=False)
    assert response.status_code == 403
    assert "Ce formulaire a expiré ou ne vient pas de maillage" in html_text(response)
    assert await InhabitantRegistration.count() == 0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"nom": ""}, "Indiquez votre nom ou un pseudonyme."),
        ({"nom": "x" * 5000}, "Le nom est limité à 100 caractères."),
        ({"commune": "\x00\x00"}, "Indiquez votre commune."),
        ({"courriel": "pas-une-adresse"}, "Adresse électronique invalide"),
        ({"courriel": "a@b.fr\r\nBcc: x@y.fr"}, "Adresse électronique invalide"),
        ({"consentement": ""}, "Cochez la case d'accord"),
        ({"nom": "9" * 1_000_000}, "Le nom est limité à 100 caractères."),
    ],
)
async def test_malformed_input_gets_a_french_error_naming_the_field(
    visitor, settings, database, values, message
):
    meeting = await public_meeting()
    response = await _register(visitor, settings, meeting, **values)
    assert response.status_code == 400
    text = html_text(response)
    assert message in text
    assert not any(word in text for word in ENGLISH)
    assert await InhabitantRegistration.count() == 0


async def test_a_body_over_the_limit_is_refused_in_french(visitor, settings, database):
    meeting = await public_meeting()
    response = await _register(visitor, settings, meeting, nom="9" * 3_000_000)
    assert response.status_code == 413
    assert not any(word in html_text(response) for word in ENGLISH)


async def test_hostile_text_is_shown_escaped(visitor, settings, database):
    meeting = await public_meeting()
    response = await _register(visitor, settings, meeting, nom="<script>alert(1)</script>")
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text


async def test_concurrent_posts_never_exceed_the_capacity(app, settings, database):
    meeting = await public_meeting(capacity=4)

    async def one(n: int):
        async with await open_browser(app) as client:
            browser = Browser(client)
            return await _register(browser, settings, meeting, nom=f"Personne {n}")

    responses = await asyncio.gather(*(one(n) for n in range(12)))
    assert [r.status_code for r in responses] == [200] * 12
    statuses = await InhabitantRegistration.select(InhabitantRegistration.status)
    assert sorted(s["status"] for s in statuses) == ["attente"] * 8 + ["inscrit"] * 4


async def test_posts_are_rate_limited_per_address(settings, database, monkeypatch):
    monkeypatch.setattr(web_app, "PARTICIPATION_RATE", ("minute", 3))
    app = web_app.create_app(settings, manage_database=False)
    meeting = await public_meeting()
    async with await open_browser(app) as client:
        browser = Browser(client)
        statuses = [
            (await _register(browser, settings, meeting, nom=f"P{n}")).status_code for n in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        assert (await browser.get(f"/participer/{meeting}")).status_code == 200
    assert await InhabitantRegistration.count() == 3
