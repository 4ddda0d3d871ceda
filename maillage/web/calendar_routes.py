"""HTTP side of the calendar: ``.ics`` feeds under ``/calendar`` and the API under ``/api/v1``.

Feeds answer ``text/calendar; charset=utf-8`` with ``ETag``/``Last-Modified`` and 304 to a
conditional request. Group and territory feeds need a login; the secret token URL
(``/calendar/feeds/<jeton>.ics``) needs none: the token is the permission.
"""

from __future__ import annotations

import datetime as dt
import re
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any

from litestar import Response, Router, delete, get, post
from litestar.datastructures import ResponseHeader, UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath, JSONBody, Parameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from maillage.calendar import feeds, importer, service
from maillage.calendar.events import build_calendar, serialize
from maillage.calendar.schemas import (
    CalendarMeetingPage,
    CalendarMeetingRead,
    CancelIn,
    FeedLink,
    FeedTokenCreated,
    FeedTokenIn,
    FeedTokenRead,
    ImportLineOut,
    ImportOut,
    Links,
    MaterialiseIn,
    MaterialiseOut,
    MoveIn,
    PlannedOut,
    ScheduledOut,
    WarningOut,
)
from maillage.crm.schemas import MeetingIn
from maillage.db import french_order, read_transaction
from maillage.mailing import invitations
from maillage.settings import Settings
from maillage.tables import ROW_ID_MAX, WorkingGroup
from maillage.web.openapi import error_responses
from maillage.web.security import AppRequest, requires, settings_of

# Litestar adds « ; charset=utf-8 » to text/* types itself.
ICS = "text/calendar"
RecordId = Annotated[int, Parameter(ge=1, le=ROW_ID_MAX, description="Identifiant")]
_ICS_NAME = re.compile(r"^([1-9]\d{0,8})\.ics$")  # stays within a 32-bit integer
_TOKEN_NAME = re.compile(r"^(mlf_[A-Za-z0-9_-]{20,100})\.ics$")
FEED_RESPONSES = {
    304: ResponseSpec(data_container=None, description="Non modifié depuis la dernière lecture"),
    **error_responses(401, 403, 404),
}
# documentation_only headers: Litestar derives the OpenAPI schema from the type of `value`
# (a header object without a schema makes the whole document invalid, and /schema unreadable).
FEED_HEADERS = [
    ResponseHeader(
        name="ETag", value="", description="Version du calendrier", documentation_only=True
    ),
    ResponseHeader(
        name="Last-Modified",
        value="",
        description="Date de dernière modification (format HTTP)",
        documentation_only=True,
    ),
]


def _id_from(filename: str, pattern: re.Pattern[str] = _ICS_NAME) -> str:
    match = pattern.match(filename)
    if match is None:
        raise NotFoundException()
    return match[1]


# ----- feeds -----------------------------------------------------------------------------------


def _not_modified(request: AppRequest, state: feeds.FeedState) -> bool:
    """RFC 9110: If-None-Match wins; If-Modified-Since only when it is absent."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or state.etag in tags
    since = request.headers.get("if-modified-since")
    if since and state.settled:
        try:
            return state.last_modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _calendar_response(
    body: bytes | None, state: feeds.FeedState | None, filename: str, download: bool = False
) -> Response[Any]:
    headers = {"Cache-Control": "private, no-cache"}
    if state is not None:
        headers["ETag"] = state.etag
        headers["Last-Modified"] = format_datetime(state.last_modified, usegmt=True)
    disposition = "attachment" if download else "inline"
    headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    if body is None:
        return Response(content=b"", status_code=304, headers=headers, media_type=ICS)
    return Response(content=body, headers=headers, media_type=ICS)


async def _answer_feed(
    request: AppRequest, feed: feeds.Feed, state: feeds.FeedState | None = None
) -> Response[Any]:
    settings = settings_of(request)
    if state is None:
        async with read_transaction():
            state = await feeds.feed_state(feed, settings)
    if _not_modified(request, state):
        return _calendar_response(None, state, feed.filename)
    body = await feeds.feed_body(feed, settings, state)
    return _calendar_response(body, state, feed.filename)


@get(
    "/calendar/meetings/{filename:str}",
    summary="Réunion au format iCalendar (.ics)",
    description="Un événement à télécharger (`/calendar/meetings/12.ics`).",
    tags=["Calendrier"],
    media_type=ICS,
    guards=[requires("lecteur")],
    responses=error_responses(401, 403, 404),
)
async def meeting_file(request: AppRequest, filename: FromPath[str]) -> Response[Any]:
    meeting_id = int(_id_from(filename))
    body = await service.meeting_ics(meeting_id, settings_of(request))
    return _calendar_response(body, None, f"reunion-{meeting_id}.ics", download=True)


@get(
    "/calendar/groups/{filename:str}",
    summary="Calendrier d'une instance (.ics)",
    description="Les réunions des 12 derniers mois et toutes les suivantes "
    "(`/calendar/groups/3.ics`). Les réunions annulées restent, avec STATUS:CANCELLED.",
    tags=["Calendrier"],
    media_type=ICS,
    guards=[requires("lecteur")],
    responses=FEED_RESPONSES,
    response_headers=FEED_HEADERS,
)
async def group_file(request: AppRequest, filename: FromPath[str]) -> Response[Any]:
    feed = feeds.group_feed(int(_id_from(filename)))
    async with read_transaction():
        state = await feeds.feed_state(feed, settings_of(request))
        if state.empty:  # only then can the body be unknown: spare a query otherwise
            await feeds.check_target(feed)
    return await _answer_feed(request, feed, state)


@get(
    "/calendar/territory.ics",
    summary="Calendrier de toutes les instances (.ics)",
    tags=["Calendrier"],
    media_type=ICS,
    guards=[requires("lecteur")],
    responses=FEED_RESPONSES,
    response_headers=FEED_HEADERS,
)
async def territory_file(request: AppRequest) -> Response[Any]:
    return await _answer_feed(request, feeds.territory_feed())


@get(
    "/calendar/me.ics",
    summary="Mes réunions (.ics), pour le compte connecté",
    description="Le compte doit être lié à une fiche contact.",
    tags=["Calendrier"],
    media_type=ICS,
    guards=[requires("lecteur")],
    responses=FEED_RESPONSES,
    response_headers=FEED_HEADERS,
)
async def my_file(request: AppRequest) -> Response[Any]:
    feed = feeds.contact_feed(await feeds.user_contact(request.user))
    return await _answer_feed(request, feed)


@get(
    "/calendar/feeds/{filename:str}",
    summary="Abonnement par lien secret (.ics), sans connexion",
    description="Le jeton du lien est la permission : révoqué, le lien ne répond plus (404).",
    tags=["Calendrier"],
    media_type=ICS,
    exclude_from_auth=True,
    responses={304: FEED_RESPONSES[304], **error_responses(404)},
    response_headers=FEED_HEADERS,
)
async def token_file(request: AppRequest, filename: FromPath[str]) -> Response[Any]:
    token = _id_from(filename, _TOKEN_NAME)
    found = await feeds.token_feed_state(token, settings_of(request))
    if found is None:
        raise NotFoundException()
    return await _answer_feed(request, *found)


# ----- API -------------------------------------------------------------------------------------


def _read(row: dict[str, Any], settings: Settings, ical: str | None = None) -> CalendarMeetingRead:
    fields = {k: v for k, v in row.items() if k in CalendarMeetingRead.__struct_fields__}
    links = service.links(settings, f"/calendar/meetings/{row['id']}.ics")
    return CalendarMeetingRead(**fields, links=Links(**links), ical=ical)


def _scheduled(result: service.Scheduled, settings: Settings) -> ScheduledOut:
    return ScheduledOut(
        meeting=_read(result.meeting, settings),
        warnings=[WarningOut(w.kind, w.message) for w in result.warnings],
    )


@get(
    "/meetings",
    summary="Lister les réunions avec leur vue iCalendar",
    tags=["Calendrier"],
    guards=[requires("lecteur")],
    responses=error_responses(400, 401, 403),
)
async def list_calendar_meetings(
    request: AppRequest,
    group: int | None = Parameter(default=None, ge=1, le=ROW_ID_MAX, description="Instance"),
    start: Annotated[dt.datetime | None, Parameter(description="Finissant après")] = None,
    end: Annotated[dt.datetime | None, Parameter(description="Commençant avant")] = None,
    status: str | None = Parameter(default=None, max_length=20, description="Statut"),
    with_ical: bool = Parameter(default=True, description="Inclure le texte iCalendar"),
    limit: int = Parameter(default=50, ge=1, le=200),
    offset: int = Parameter(default=0, ge=0, le=ROW_ID_MAX),
) -> CalendarMeetingPage:
    settings = settings_of(request)
    rows, total = await service.list_meetings(group, start, end, status, limit, offset)
    items = []
    async with read_transaction():
        events = await service.events_for(rows, settings) if with_ical else []
    for position, row in enumerate(rows):
        ical = serialize(build_calendar([events[position]])).decode() if with_ical else None
        items.append(_read(row, settings, ical))
    return CalendarMeetingPage(items=items, total=total, limit=limit, offset=offset)


@get(
    "/meetings/{meeting_id:int}",
    summary="Lire une réunion, sa vue iCalendar et ses avertissements",
    tags=["Calendrier"],
    guards=[requires("lecteur")],
    responses=error_responses(400, 401, 403, 404),
)
async def read_calendar_meeting(request: AppRequest, meeting_id: RecordId) -> ScheduledOut:
    settings = settings_of(request)
    row = await service.get_meeting(meeting_id)
    ical = (await service.meeting_ics(meeting_id, settings)).decode()
    warnings = await service.warnings_for(meeting_id)
    return ScheduledOut(
        meeting=_read(row, settings, ical),
        warnings=[WarningOut(w.kind, w.message) for w in warnings],
    )


@post(
    "/meetings",
    summary="Programmer une réunion",
    description="Crée la réunion (UID stable, SEQUENCE 0) et renvoie les avertissements : "
    "jour férié, vacances scolaires de la zone du territoire, invités déjà pris.",
    tags=["Calendrier"],
    status_code=HTTP_201_CREATED,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 409, 413),
)
async def schedule_meeting(request: AppRequest, data: JSONBody[MeetingIn]) -> ScheduledOut:
    return _scheduled(await service.schedule(request.user, data), settings_of(request))


@post(
    "/meetings/{meeting_id:int}/move",
    summary="Déplacer une réunion",
    description="Nouvel horaire (et lieu) : la SEQUENCE augmente, les agendas remplacent "
    "l'ancien créneau, et la modification part aussitôt à ceux qui avaient reçu "
    "l'invitation. Envoyez la `version` lue (409 si la fiche a changé).",
    tags=["Calendrier"],
    status_code=200,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404, 409),
)
async def move_meeting(
    request: AppRequest, meeting_id: RecordId, data: JSONBody[MoveIn]
) -> ScheduledOut:
    result = await service.move(
        request.user, meeting_id, data.version, data.starts_at, data.ends_at, data.location
    )
    await invitations.queue_changes(request.user, settings_of(request), meeting_id)
    return _scheduled(result, settings_of(request))


@post(
    "/meetings/{meeting_id:int}/cancel",
    summary="Annuler une réunion",
    description="Elle reste dans les calendriers avec STATUS:CANCELLED (SEQUENCE augmentée) ; "
    "l'annulation part aussitôt à ceux qui avaient reçu l'invitation.",
    tags=["Calendrier"],
    status_code=200,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404, 409),
)
async def cancel_meeting(
    request: AppRequest, meeting_id: RecordId, data: JSONBody[CancelIn]
) -> CalendarMeetingRead:
    row = await service.cancel(request.user, meeting_id, data.version)
    await invitations.queue_changes(request.user, settings_of(request), meeting_id)
    return _read(row, settings_of(request))


@post(
    "/groups/{group_id:int}/materialise",
    summary="Créer les réunions d'une instance récurrente",
    description="Déroule la règle de l'instance jusqu'à `until` : seules les dates postérieures "
    "à la dernière occurrence déjà créée sont ajoutées, les réunions déplacées, annulées ou "
    "supprimées restent telles quelles. `dry_run` liste sans rien créer.",
    tags=["Calendrier"],
    status_code=200,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404, 409),
)
async def materialise_group(
    request: AppRequest, group_id: RecordId, data: JSONBody[MaterialiseIn]
) -> MaterialiseOut:
    settings = settings_of(request)
    result = await service.materialise(
        request.user,
        group_id,
        data.until,
        data.first_start,
        dt.timedelta(minutes=data.duration_minutes),
        data.dry_run,
    )
    created = [
        _scheduled(service.Scheduled(row, result.warnings.get(row["id"], [])), settings)
        for row in result.created
    ]
    planned = [PlannedOut(o.starts_at, o.ends_at, o.recurrence_id) for o in result.planned]
    return MaterialiseOut(dry_run=data.dry_run, planned=planned, created=created)


@get(
    "/feeds",
    summary="Liens d'abonnement (web et webcal)",
    description="Un lien par instance et un pour tout le territoire ; ils demandent une "
    "connexion. Pour un lien sans connexion, créez un jeton d'abonnement.",
    tags=["Calendrier"],
    guards=[requires("lecteur")],
    responses=error_responses(401, 403),
)
async def list_feeds(request: AppRequest) -> list[FeedLink]:
    settings = settings_of(request)
    async with read_transaction():
        groups = (
            await WorkingGroup.select(WorkingGroup.id, WorkingGroup.name)
            .where(
                WorkingGroup.archived == False  # noqa: E712 - SQL expression
            )
            .order_by(french_order(WorkingGroup.name))
        )
    links = [
        FeedLink(
            "Toutes les instances", "territory", None, _links(settings, "/calendar/territory.ics")
        )
    ]
    links += [
        FeedLink(g["name"], "group", g["id"], _links(settings, f"/calendar/groups/{g['id']}.ics"))
        for g in groups
    ]
    return links


def _links(settings: Settings, path: str) -> Links:
    return Links(**service.links(settings, path))


@post(
    "/feed-tokens",
    summary="Créer un lien d'abonnement secret",
    description="Le jeton n'est affiché qu'une fois (seule son empreinte est gardée). Portées : "
    "`contact` (mes réunions), `group` (une instance), `territory` (toutes, ou un territoire).",
    tags=["Calendrier"],
    status_code=HTTP_201_CREATED,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403),
)
async def create_feed_token(request: AppRequest, data: JSONBody[FeedTokenIn]) -> FeedTokenCreated:
    token, token_id = await feeds.create_token(request.user, data.scope, data.target_id)
    return _token_created(request, token_id, data.scope, data.target_id, token)


def _token_created(
    request: AppRequest, token_id: int, scope: str, target_id: int | None, token: str
) -> FeedTokenCreated:
    links = _links(settings_of(request), feeds.token_path(token))
    return FeedTokenCreated(token_id, scope, target_id, token, links)


@post(
    "/my-feed-token",
    summary="Créer mon lien secret « mes réunions »",
    description="Pour le compte connecté, lié à une fiche contact.",
    tags=["Calendrier"],
    status_code=HTTP_201_CREATED,
    guards=[requires("lecteur")],
    responses=error_responses(400, 401, 403, 404),
)
async def create_my_feed_token(request: AppRequest) -> FeedTokenCreated:
    contact_id = await feeds.user_contact(request.user)
    token, token_id = await feeds.create_token(request.user, "contact", contact_id)
    return _token_created(request, token_id, "contact", contact_id, token)


@get(
    "/feed-tokens",
    summary="Lister les liens d'abonnement secrets",
    tags=["Calendrier"],
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403),
)
async def list_feed_tokens(
    # « scope » is Litestar's name for the ASGI scope: the query parameter is aliased.
    feed_scope: Annotated[str | None, QueryParameter(name="scope", max_length=20)] = None,
    target_id: int | None = Parameter(default=None, ge=1, le=ROW_ID_MAX),
) -> list[FeedTokenRead]:
    rows = await feeds.list_tokens(feed_scope, target_id)
    return [FeedTokenRead(**row) for row in rows]


@delete(
    "/feed-tokens/{token_id:int}",
    summary="Révoquer un lien d'abonnement secret",
    description="Le lien répond 404 aussitôt.",
    tags=["Calendrier"],
    status_code=HTTP_204_NO_CONTENT,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
)
async def revoke_feed_token(request: AppRequest, token_id: RecordId) -> None:
    await feeds.revoke_token(request.user, token_id)


@post(
    "/import",
    summary="Importer un fichier .ics dans une instance",
    description="Formulaire multipart avec le fichier iCalendar (champ `data`). Idempotent par "
    "UID : réimporter met à jour, ne duplique jamais. Par défaut `dry_run=true` : la réponse "
    "liste ce qui changerait, sans rien écrire. Au plus 500 événements et 2 Mio par fichier ; "
    "au moindre événement fautif, rien n'est importé et chaque problème est nommé.",
    tags=["Calendrier"],
    status_code=200,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404, 409, 413),
)
async def import_file(
    request: AppRequest,
    data: Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)],
    group: int = Parameter(ge=1, le=ROW_ID_MAX, description="Instance qui reçoit les réunions"),
    dry_run: bool = Parameter(default=True, description="Simuler sans rien écrire"),
) -> ImportOut:
    content = await data.read()
    report = await importer.import_ics(request.user, group, content, dry_run)
    # A meeting the file changed owes its invitees the update, as an edit on the page does.
    for line in report.lines:
        if not dry_run and line.action == "modifiee" and line.meeting_id is not None:
            await invitations.queue_changes(request.user, settings_of(request), line.meeting_id)
    return ImportOut(
        dry_run=report.dry_run,
        summary=report.summary(),
        lines=[
            ImportLineOut(x.uid, x.title, x.starts_at, x.action, x.changed, x.meeting_id)
            for x in report.lines
        ],
        skipped=report.skipped,
    )


feed_handlers = [meeting_file, group_file, territory_file, my_file, token_file]
api_router = Router(
    path="/api/v1/calendar",
    route_handlers=[
        list_calendar_meetings,
        read_calendar_meeting,
        schedule_meeting,
        move_meeting,
        cancel_meeting,
        materialise_group,
        list_feeds,
        create_feed_token,
        create_my_feed_token,
        list_feed_tokens,
        revoke_feed_token,
        import_file,
    ],
)
calendar_router = Router(path="/", route_handlers=[*feed_handlers, api_router])
