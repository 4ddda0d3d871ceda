"""Public pages opened from a message: answer an invitation (``/r/…``), leave mass mailings
(``/u/…``). No login: the signed token in the address is the permission.

GET only shows; POST records. Mail security scanners follow every link of a message with GET,
so a GET that recorded anything would answer on the invitee's behalf. The unsubscribe POST also
serves RFC 8058 one-click requests (``List-Unsubscribe=One-Click``) sent by mail clients.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Router, get, post
from litestar.params import PathParameter
from litestar.response import Template

from maillage import french
from maillage.actor import Actor
from maillage.mailing import answers, mailings
from maillage.mailing.answers import RESPONSE_LABELS, AnswerPage
from maillage.web.security import AppRequest, settings_of

Token = Annotated[str, PathParameter(max_length=100)]
UNSUBSCRIBE_LINK = Actor(name="lien-de-desabonnement", role="lecteur")
_STATUS = {"ok": 200, "annulee": 200, "passee": 410, "invalide": 404, "remplacant_invalide": 400}


def _answer_context(page: AnswerPage, token: str, chosen: str | None) -> dict[str, Any]:
    meeting = page.meeting
    return {
        "page": page,
        "token": token,
        "chosen": chosen if chosen in answers.CHOICES else None,
        "choices": {"oui": "Je participe", "non": "Je ne participe pas", "peut-etre": "Peut-être"},
        "response_label": RESPONSE_LABELS.get(page.response, ""),
        "summary": meeting.summary if meeting else "",
        "span": french.format_span(meeting.starts_at, meeting.ends_at) if meeting else "",
        "answered_at": french.format_moment(page.answered_at) if page.answered_at else None,
    }


def _render(template: str, context: dict[str, Any], status: int) -> Template:
    return Template(
        template_name=template,
        context=context,
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _record_id(raw: str) -> int | None:
    """A record number typed by a stranger: ASCII digits only, at most 18 of them (``str.isdigit``
    accepts « ² », which ``int`` refuses, and ``int`` refuses more than 4,300 digits)."""
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return -1 if raw else None


@get("/r/{token:str}", include_in_schema=False, exclude_from_auth=True)
async def answer_page(request: AppRequest, token: Token) -> Template:
    page = await answers.open_answer(settings_of(request), token)
    chosen = request.query_params.get("reponse")
    return _render("public/reponse.html", _answer_context(page, token, chosen), _STATUS[page.state])


@post("/r/{token:str}", include_in_schema=False, exclude_from_auth=True, status_code=200)
async def record_answer(request: AppRequest, token: Token) -> Template:
    form = await request.form()
    choice = str(form.get("reponse") or "")
    raw_replacement = str(form.get("remplacant") or "").strip()
    replacement = _record_id(raw_replacement)
    colleague = str(form.get("remplacant_adresse") or "")[:254]
    page = await answers.record_answer(settings_of(request), token, choice, replacement, colleague)
    if page.state == "ok" and choice in answers.CHOICES:
        return _render("public/reponse_enregistree.html", _answer_context(page, token, choice), 200)
    return _render(
        "public/reponse.html", _answer_context(page, token, choice), _STATUS.get(page.state, 400)
    )


@get("/u/{token:str}", include_in_schema=False, exclude_from_auth=True)
async def unsubscribe_page(request: AppRequest, token: Token) -> Template:
    contact = await mailings.contact_for_unsubscribe(settings_of(request), token)
    context = {"contact": contact, "token": token, "done": False}
    return _render("public/desabonnement.html", context, 200 if contact else 404)


@post("/u/{token:str}", include_in_schema=False, exclude_from_auth=True, status_code=200)
async def unsubscribe(request: AppRequest, token: Token) -> Template:
    name = await mailings.unsubscribe(settings_of(request), token, UNSUBSCRIBE_LINK)
    context = {"contact": {"name": name} if name else None, "token": token, "done": bool(name)}
    return _render("public/desabonnement.html", context, 200 if name else 404)


def public_router() -> Router:
    return Router(
        path="/", route_handlers=[answer_page, record_answer, unsubscribe_page, unsubscribe]
    )
