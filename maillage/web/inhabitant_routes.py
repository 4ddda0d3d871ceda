"""JSON API of inhabitants' registrations to public meetings (#22): lecteur reads,
coordinateur cancels and promotes from the waiting list. Registering is the public page's
business (``/participer/{meeting_id}``), which needs no account."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from litestar import Router, delete, get, patch, post
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import Meta, Struct

from maillage.crm import consultations, inhabitants
from maillage.mailing import participation
from maillage.tables import ROW_ID_MAX
from maillage.web.openapi import error_responses
from maillage.web.security import AppRequest, requires, settings_of

MeetingId = Annotated[int, Parameter(ge=1, le=ROW_ID_MAX, description="Identifiant de la réunion")]
RegistrationId = Annotated[
    int, Parameter(ge=1, le=ROW_ID_MAX, description="Identifiant de l'inscription")
]
TAGS = ["Inscriptions des habitants"]


class RegistrationRead(Struct):
    id: int
    version: int
    meeting: int
    name: str
    commune: str
    email: str | None
    status: str
    consent_text: str
    consent_at: dt.datetime
    created_at: dt.datetime


class RegistrationPage(Struct):
    meeting: int
    open: bool
    capacity: int | None
    registered: int
    waiting: int
    cancelled: int
    places_left: int | None
    attendance_count: int | None
    expires_at: dt.datetime
    items: list[RegistrationRead]
    total: int


def _read(row: dict[str, Any]) -> RegistrationRead:
    return RegistrationRead(**{name: row[name] for name in RegistrationRead.__struct_fields__})


@get(
    "/meetings/{meeting_id:int}/registrations",
    summary="Lister les inscriptions des habitants à une réunion publique",
    description=(
        "Inscrits, liste d'attente et annulations, dans l'ordre d'arrivée, avec les comptes, "
        "les places restantes et la date d'effacement automatique (fin de la conservation)."
    ),
    guards=[requires("lecteur")],
    responses=error_responses(400, 401, 403, 404),
    tags=TAGS,
)
async def list_registrations(meeting_id: MeetingId) -> RegistrationPage:
    listing = await inhabitants.meeting_registrations(meeting_id)
    return RegistrationPage(
        meeting=meeting_id,
        open=listing["open"],
        capacity=listing["capacity"],
        registered=listing["registered"],
        waiting=listing["waiting"],
        cancelled=listing["cancelled"],
        places_left=listing["places_left"],
        attendance_count=listing["meeting"]["attendance_count"],
        expires_at=listing["expires_at"],
        items=[_read(row) for row in listing["items"]],
        total=len(listing["items"]),
    )


@post(
    "/registrations/{registration_id:int}/cancel",
    summary="Annuler l'inscription d'un habitant",
    description="La place se libère ; la personne suivante de la liste d'attente peut être promue.",
    status_code=HTTP_200_OK,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404, 409),
    tags=TAGS,
)
async def cancel_registration(
    request: AppRequest, registration_id: RegistrationId
) -> RegistrationRead:
    return _read(await inhabitants.cancel(request.user, registration_id))


@post(
    "/registrations/{registration_id:int}/promote",
    summary="Donner une place à un habitant de la liste d'attente",
    description=(
        "Refusé (409) quand la réunion est complète. La personne reçoit la confirmation "
        "avec l'événement si elle a laissé son adresse."
    ),
    status_code=HTTP_200_OK,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404, 409),
    tags=TAGS,
)
async def promote_registration(
    request: AppRequest, registration_id: RegistrationId
) -> RegistrationRead:
    settings = settings_of(request)
    return _read(await participation.promote(request.user, settings, registration_id))


# ----- the consultation ------------------------------------------------------------------------

QuestionId = Annotated[
    int, Parameter(ge=1, le=ROW_ID_MAX, description="Identifiant de la question")
]
CONSULTATION_TAGS = ["Consultation des habitants"]


class QuestionIn(Struct, forbid_unknown_fields=True, kw_only=True):
    kind: Literal["choix", "echelle", "texte"]
    """Choix dans une liste, échelle de 1 à 5, texte libre."""
    label: Annotated[str, Meta(min_length=1, max_length=300)]
    choices: Annotated[list[Annotated[str, Meta(max_length=100)]], Meta(max_length=10)] = (
        msgspec.field(default_factory=list)
    )
    """Pour un choix : de 2 à 10 réponses possibles."""


class QuestionResult(Struct):
    id: int
    kind: str
    label: str
    choices: list[str]
    answers: int
    counts: list[tuple[str, int]] | None = None
    mean: float | None = None
    texts: list[str] | None = None


class ConsultationRead(Struct):
    meeting: int
    open: bool
    respondents: int
    questions: list[QuestionResult]


@get(
    "/meetings/{meeting_id:int}/consultation",
    summary="Lire la consultation d'une réunion publique et la synthèse des réponses",
    description="Les réponses sont anonymes : comptes par réponse, moyenne de l'échelle, textes.",
    guards=[requires("lecteur")],
    responses=error_responses(400, 401, 403, 404),
    tags=CONSULTATION_TAGS,
)
async def read_consultation(meeting_id: MeetingId) -> ConsultationRead:
    meeting = await inhabitants.meeting_of(meeting_id)
    result = await consultations.results(meeting_id)
    opened = await consultations.open_consultation(meeting_id)
    return ConsultationRead(
        meeting=meeting["id"],
        open=opened is not None,
        respondents=result["respondents"],
        questions=[
            QuestionResult(**{k: q.get(k) for k in QuestionResult.__struct_fields__})
            for q in result["questions"]
        ],
    )


@post(
    "/meetings/{meeting_id:int}/consultation/questions",
    summary="Ajouter une question à la consultation d'une réunion",
    status_code=HTTP_201_CREATED,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
    tags=CONSULTATION_TAGS,
)
async def add_question(
    request: AppRequest, meeting_id: MeetingId, data: JSONBody[QuestionIn]
) -> dict[str, Any]:
    return await consultations.add_question(
        request.user, meeting_id, data.kind, data.label, list(data.choices)
    )


@delete(
    "/consultation-questions/{question_id:int}",
    summary="Supprimer une question de consultation, avec ses réponses",
    status_code=HTTP_204_NO_CONTENT,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
    tags=CONSULTATION_TAGS,
)
async def delete_question(request: AppRequest, question_id: QuestionId) -> None:
    await consultations.delete_question(request.user, question_id)


# ----- consultations per theme, and editing questions (#22) ------------------------------------

ConsultationId = Annotated[
    int, Parameter(ge=1, le=ROW_ID_MAX, description="Identifiant de la consultation par thème")
]


class ThemeIn(Struct, forbid_unknown_fields=True, kw_only=True):
    axis: Annotated[int, Meta(ge=1, le=ROW_ID_MAX)]
    """L'axe de la CTG sur lequel porte la consultation."""
    title: Annotated[str, Meta(min_length=1, max_length=200)]


class ThemeRead(Struct):
    id: int
    axis: int
    axis_name: str
    title: str
    is_open: bool
    created_at: dt.datetime


class ThemeResults(Struct):
    consultation: ThemeRead
    respondents: int
    questions: list[QuestionResult]


class OpenIn(Struct, forbid_unknown_fields=True, kw_only=True):
    is_open: bool
    """Vrai : la page publique /consulter/{id} répond ; faux : elle est fermée."""


class QuestionEdit(Struct, forbid_unknown_fields=True, kw_only=True):
    label: Annotated[str, Meta(min_length=1, max_length=300)]
    choices: Annotated[list[Annotated[str, Meta(max_length=100)]], Meta(max_length=10)] | None = (
        None
    )
    """Nouvelles réponses possibles d'un choix, tant que personne n'a répondu."""


class MoveIn(Struct, forbid_unknown_fields=True, kw_only=True):
    step: Literal[-1, 1]
    """−1 : monter d'un cran ; 1 : descendre d'un cran."""


def _theme(row: dict[str, Any]) -> ThemeRead:
    return ThemeRead(**{name: row[name] for name in ThemeRead.__struct_fields__})


@get(
    "/consultations",
    summary="Lister les consultations par thème",
    guards=[requires("lecteur")],
    responses=error_responses(401, 403),
    tags=CONSULTATION_TAGS,
)
async def list_themes() -> list[ThemeRead]:
    return [_theme(row) for row in await consultations.themes()]


@post(
    "/consultations",
    summary="Créer une consultation sur un thème (un axe de la CTG), fermée",
    status_code=HTTP_201_CREATED,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403),
    tags=CONSULTATION_TAGS,
)
async def create_theme(request: AppRequest, data: JSONBody[ThemeIn]) -> ThemeRead:
    return _theme(await consultations.create_theme(request.user, data.axis, data.title))


@get(
    "/consultations/{consultation_id:int}",
    summary="Lire une consultation par thème et la synthèse de ses réponses anonymes",
    guards=[requires("lecteur")],
    responses=error_responses(400, 401, 403, 404),
    tags=CONSULTATION_TAGS,
)
async def read_theme(consultation_id: ConsultationId) -> ThemeResults:
    row = await consultations.theme(consultation_id)
    result = await consultations.results_of(("consultation", consultation_id))
    return ThemeResults(
        consultation=_theme(row),
        respondents=result["respondents"],
        questions=[
            QuestionResult(**{k: q.get(k) for k in QuestionResult.__struct_fields__})
            for q in result["questions"]
        ],
    )


@post(
    "/consultations/{consultation_id:int}/open",
    summary="Ouvrir ou fermer une consultation par thème",
    status_code=HTTP_200_OK,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
    tags=CONSULTATION_TAGS,
)
async def open_theme(
    request: AppRequest, consultation_id: ConsultationId, data: JSONBody[OpenIn]
) -> ThemeRead:
    return _theme(await consultations.set_theme_open(request.user, consultation_id, data.is_open))


@post(
    "/consultations/{consultation_id:int}/questions",
    summary="Ajouter une question à une consultation par thème",
    status_code=HTTP_201_CREATED,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
    tags=CONSULTATION_TAGS,
)
async def add_theme_question(
    request: AppRequest, consultation_id: ConsultationId, data: JSONBody[QuestionIn]
) -> dict[str, Any]:
    owner = ("consultation", consultation_id)
    return await consultations.add_question_to(
        request.user, owner, data.kind, data.label, list(data.choices)
    )


@patch(
    "/consultation-questions/{question_id:int}",
    summary="Modifier une question (le libellé ; les réponses possibles avant toute réponse)",
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
    tags=CONSULTATION_TAGS,
)
async def edit_question(
    request: AppRequest, question_id: QuestionId, data: JSONBody[QuestionEdit]
) -> dict[str, Any]:
    choices = None if data.choices is None else list(data.choices)
    return await consultations.edit_question(request.user, question_id, data.label, choices)


@post(
    "/consultation-questions/{question_id:int}/move",
    summary="Déplacer une question d'un cran dans sa consultation",
    status_code=HTTP_200_OK,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
    tags=CONSULTATION_TAGS,
)
async def move_question(
    request: AppRequest, question_id: QuestionId, data: JSONBody[MoveIn]
) -> dict[str, Any]:
    return await consultations.move_question(request.user, question_id, data.step)


def inhabitant_router() -> Router:
    return Router(
        path="/api/v1",
        route_handlers=[
            list_registrations,
            cancel_registration,
            promote_registration,
            read_consultation,
            add_question,
            delete_question,
            list_themes,
            create_theme,
            read_theme,
            open_theme,
            add_theme_question,
            edit_question,
            move_question,
        ],
    )
