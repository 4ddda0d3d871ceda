"""The public registration page of a public meeting (#22): ``/participer/{meeting_id}``.

No account: GET shows the meeting and the form, POST registers. Only meetings marked public
with registration open answer; an unknown number, a private meeting and a closed one get the
same 404, so the page reveals nothing else. Abuse is held off without tracking anyone:
Litestar's rate limiter per address on the posts (``app.PARTICIPATION_RATE``), Litestar's CSRF
token (the cookie the site already sets), a honeypot field that people never see, and a signed
timestamp in the form that refuses a form sent back faster than a person types.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from litestar import get, post
from litestar.params import PathParameter
from litestar.response import Template

from maillage import french
from maillage.crm import consultations, inhabitants
from maillage.crm.inhabitants import RegistrationForm
from maillage.errors import NotFound, ServiceError
from maillage.mailing import participation
from maillage.web.pages.common import Field, FormState, take_service_error
from maillage.web.security import AppRequest, derive_key, settings_of

MeetingNumber = Annotated[str, PathParameter(max_length=40)]
FIELDS = [
    Field("nom", "Nom ou pseudonyme", required=True, maxlength=inhabitants.NAME_MAX),
    Field(
        "commune",
        "Commune de résidence",
        required=True,
        maxlength=inhabitants.COMMUNE_MAX,
        autocomplete="address-level2",
    ),
    Field(
        "courriel",
        "Adresse électronique (facultative)",
        "email",
        maxlength=inhabitants.EMAIL_MAX,
        autocomplete="email",
        hint=(
            "Seulement pour la confirmation avec l'événement à ajouter à votre agenda, un rappel "
            "deux jours avant et l'avis en cas d'annulation."
        ),
    ),
]
CONSENT = Field("consentement", inhabitants.CONSENT_TEXT, "checkbox")
HONEYPOT = "site_web"
# A person reads the page and types three fields: faster than this is a program.
MIN_FILL_SECONDS = 3
MAX_FORM_AGE = dt.timedelta(days=1)
TOO_FAST = (
    "Le formulaire a été envoyé trop vite après l'ouverture de la page. Vérifiez vos "
    "informations, puis envoyez-le de nouveau."
)
EXPIRED = "Ce formulaire a expiré : vérifiez vos informations, puis envoyez-le de nouveau."
REFUSED = "Votre inscription n'a pas pu être enregistrée. Rechargez la page et recommencez."
ANSWER_REFUSED = REFUSED.replace("Votre inscription", "Votre réponse")
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _meeting_id(raw: str) -> int:
    """ASCII digits only (``str.isdigit`` accepts « ² »), at most nine of them; else 0."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else 0


def _signature(secret: str, meeting_id: int, issued: int) -> str:
    key = derive_key(secret, "participer")
    return hmac.new(key, f"{meeting_id}.{issued}".encode(), hashlib.sha256).hexdigest()[:32]


def form_stamp(secret: str, meeting_id: int, moment: dt.datetime) -> str:
    """When the form was served, signed: the post says how long the person took."""
    issued = int(moment.timestamp())
    return f"{issued}.{_signature(secret, meeting_id, issued)}"


def stamp_age(secret: str, meeting_id: int, stamp: str, moment: dt.datetime) -> float | None:
    """Seconds since the form was served, or None for a stamp not ours (or another meeting's)."""
    issued_text, _, signature = stamp.partition(".")
    if not (issued_text.isascii() and issued_text.isdigit() and len(issued_text) <= 12):
        return None
    issued = int(issued_text)
    if not hmac.compare_digest(signature, _signature(secret, meeting_id, issued)):
        return None
    return moment.timestamp() - issued


def refusal(
    secret: str, signed_for: int, data: Any, moment: dt.datetime, refused: str = REFUSED
) -> str | None:
    """Why a public form sent back is not taken (honeypot filled, stamp not ours or another
    form's, sent faster than a person types, served too long ago), or None when it may be.
    ``signed_for`` is the number the form's stamp was signed for."""
    stamp = str(data.get("jeton") or "")[:100]
    age = stamp_age(secret, signed_for, stamp, moment)
    if str(data.get(HONEYPOT) or "") or age is None:
        return refused
    if age < MIN_FILL_SECONDS:
        return TOO_FAST
    if age > MAX_FORM_AGE.total_seconds():
        return EXPIRED
    return None


def _context(
    request: AppRequest, meeting: dict[str, Any], form: FormState, moment: dt.datetime
) -> dict[str, Any]:
    return {
        "meeting": meeting,
        "summary": french.summary(meeting["group_kind"], meeting["group_name"], meeting["title"]),
        "span": french.format_span(meeting["starts_at"], meeting["ends_at"]),
        "form": form,
        "fields": FIELDS,
        "consent": CONSENT,
        "honeypot": HONEYPOT,
        "stamp": form_stamp(settings_of(request).secret_key, meeting["id"], moment),
        "erased_on": french.format_date(french.in_paris(inhabitants.expires_on(meeting)).date()),
        "full": False,
    }


def _page(template: str, context: dict[str, Any], status: int = 200) -> Template:
    return Template(template_name=template, context=context, status_code=status, headers=HEADERS)


def _closed() -> Template:
    return _page("public/participer_ferme.html", {}, 404)


@get("/participer/{meeting_id:str}", include_in_schema=False, exclude_from_auth=True)
async def participation_page(request: AppRequest, meeting_id: MeetingNumber) -> Template:
    moment = dt.datetime.now(dt.UTC)
    meeting = await inhabitants.open_meeting(_meeting_id(meeting_id), moment)
    if meeting is None:
        return _closed()
    context = _context(request, meeting, FormState(), moment)
    context["full"] = await inhabitants.is_full(meeting)
    return _page("public/participer.html", context)


def _read(data: Any) -> tuple[FormState, RegistrationForm]:
    values = {f.name: str(data.get(f.name) or "")[:1000] for f in FIELDS}
    consent = bool(data.get(CONSENT.name))
    state = FormState(values={**values, CONSENT.name: consent})
    form = RegistrationForm(
        name=values["nom"], commune=values["commune"], email=values["courriel"], consent=consent
    )
    return state, form


@post(
    "/participer/{meeting_id:str}",
    include_in_schema=False,
    exclude_from_auth=True,
    status_code=200,
)
async def register(request: AppRequest, meeting_id: MeetingNumber) -> Template:
    moment = dt.datetime.now(dt.UTC)
    number = _meeting_id(meeting_id)
    meeting = await inhabitants.open_meeting(number, moment)
    if meeting is None:
        return _closed()
    data = await request.form()
    state, form = _read(data)
    settings = settings_of(request)
    refused = refusal(settings.secret_key, number, data, moment)
    if refused:
        state.general.append(refused)
    else:
        try:
            done = await participation.register(settings, number, form, moment)
        except NotFound:
            return _closed()
        except ServiceError as error:
            take_service_error(error, state)
        else:
            context = {
                **_context(request, meeting, state, moment),
                "done": done,
                "waiting": done.status == inhabitants.WAITING,
                "consultation": await consultations.open_consultation(number) is not None,
            }
            return _page("public/participer_merci.html", context)
    return _page("public/participer.html", _context(request, meeting, state, moment), 400)


# ----- the consultation: anonymous answers --------------------------------------------------

CONSULTATION_ACTOR = inhabitants.PUBLIC_PAGE


def _consultation_context(
    request: AppRequest,
    meeting: dict[str, Any],
    asked: list[dict[str, Any]],
    form: FormState,
    moment: dt.datetime,
) -> dict[str, Any]:
    return {
        "meeting": meeting,
        "summary": french.summary(meeting["group_kind"], meeting["group_name"], meeting["title"]),
        "span": french.format_span(meeting["starts_at"], meeting["ends_at"]),
        "questions": asked,
        "scale": consultations.SCALE,
        "form": form,
        "honeypot": HONEYPOT,
        "stamp": form_stamp(settings_of(request).secret_key, -meeting["id"], moment),
        "action": f"/participer/{meeting['id']}/consultation",
    }


@get("/participer/{meeting_id:str}/consultation", include_in_schema=False, exclude_from_auth=True)
async def consultation_page(request: AppRequest, meeting_id: MeetingNumber) -> Template:
    moment = dt.datetime.now(dt.UTC)
    opened = await consultations.open_consultation(_meeting_id(meeting_id))
    if opened is None:
        return _page("public/consultation_fermee.html", {}, 404)
    context = _consultation_context(request, *opened, FormState(), moment)
    return _page("public/consultation.html", context)


@post(
    "/participer/{meeting_id:str}/consultation",
    include_in_schema=False,
    exclude_from_auth=True,
    status_code=200,
)
async def consultation_answer(request: AppRequest, meeting_id: MeetingNumber) -> Template:
    number = _meeting_id(meeting_id)
    opened = await consultations.open_consultation(number)
    # The stamp of the consultation is signed for the meeting's negative number: a
    # registration form's stamp does not open it, nor the reverse.
    return await _take_answers(
        request,
        opened,
        -number,
        lambda given: consultations.answer(number, given, CONSULTATION_ACTOR),
        _consultation_context,
    )


AnswerContext = Callable[
    [AppRequest, dict[str, Any], list[dict[str, Any]], FormState, dt.datetime], dict[str, Any]
]


async def _take_answers(
    request: AppRequest,
    opened: tuple[dict[str, Any], list[dict[str, Any]]] | None,
    signed_for: int,
    record: Callable[[dict[int, str]], Awaitable[object]],
    context_for: AnswerContext,
) -> Template:
    """The anonymous answers to a consultation (a meeting's or a theme's): the same gate as
    the registration form, then the answers recorded, or the form again with what was typed."""
    if opened is None:
        return _page("public/consultation_fermee.html", {}, 404)
    owner, asked = opened
    moment = dt.datetime.now(dt.UTC)
    data = await request.form()
    given = {q["id"]: str(data.get(f"q{q['id']}") or "")[:5000] for q in asked}
    state = FormState(values={f"q{key}": value for key, value in given.items()})
    secret = settings_of(request).secret_key
    refused = refusal(secret, signed_for, data, moment, ANSWER_REFUSED)
    if refused:
        state.general.append(refused)
    else:
        try:
            await record(given)
        except NotFound:
            return _page("public/consultation_fermee.html", {}, 404)
        except ServiceError as error:
            take_service_error(error, state)
        else:
            context = context_for(request, owner, asked, state, moment)
            return _page("public/consultation_merci.html", context)
    return _page("public/consultation.html", context_for(request, owner, asked, state, moment), 400)


# ----- a consultation per theme (#22): /consulter/{id} -------------------------------------

# Stamps of theme consultations are signed under their own offset: a meeting's form never
# opens a theme's, nor the reverse.
THEME_STAMP = 2**31


def _theme_context(
    request: AppRequest,
    theme: dict[str, Any],
    asked: list[dict[str, Any]],
    form: FormState,
    moment: dt.datetime,
) -> dict[str, Any]:
    secret = settings_of(request).secret_key
    return {
        "meeting": {"id": theme["id"], "title": theme["title"]},
        "summary": f"{theme['title']} ({theme['axis_name']})",
        "span": "",
        "questions": asked,
        "scale": consultations.SCALE,
        "form": form,
        "honeypot": HONEYPOT,
        "stamp": form_stamp(secret, THEME_STAMP + theme["id"], moment),
        "action": f"/consulter/{theme['id']}",
    }


@get("/consulter/{consultation_id:str}", include_in_schema=False, exclude_from_auth=True)
async def theme_page(request: AppRequest, consultation_id: MeetingNumber) -> Template:
    opened = await consultations.open_theme(_meeting_id(consultation_id))
    if opened is None:
        return _page("public/consultation_fermee.html", {}, 404)
    moment = dt.datetime.now(dt.UTC)
    return _page("public/consultation.html", _theme_context(request, *opened, FormState(), moment))


@post(
    "/consulter/{consultation_id:str}",
    include_in_schema=False,
    exclude_from_auth=True,
    status_code=200,
)
async def theme_answer(request: AppRequest, consultation_id: MeetingNumber) -> Template:
    number = _meeting_id(consultation_id)
    return await _take_answers(
        request,
        await consultations.open_theme(number),
        THEME_STAMP + number,
        lambda given: consultations.answer_theme(number, given, CONSULTATION_ACTOR),
        _theme_context,
    )


HANDLERS = [
    participation_page,
    register,
    consultation_page,
    consultation_answer,
    theme_page,
    theme_answer,
]
