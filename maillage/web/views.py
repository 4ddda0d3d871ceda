"""API of the registry's daily views and of the elections turnover."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from litestar import Router, get, post
from litestar.params import JSONBody, Parameter
from msgspec import Struct

from maillage.crm import elections, views
from maillage.web.api import RecordId
from maillage.web.openapi import error_responses
from maillage.web.security import AppRequest, requires

READ: dict[str, Any] = {
    "guards": [requires("lecteur")],
    "responses": error_responses(400, 401, 403, 404),
}


@get("/organisations/{record_id:int}/overview", summary="Vue d'une organisation", **READ)
async def organisation_overview(record_id: RecordId) -> Mapping[str, Any]:
    """Ses contacts, ses partenariats (contrats de DSP et leurs échéances), ses instances et
    les réunions où elle était présente."""
    return await views.organisation_overview(record_id, dt.date.today())


@get("/contacts/{record_id:int}/overview", summary="Vue d'un contact", **READ)
async def contact_overview(record_id: RecordId) -> Mapping[str, Any]:
    """Ses rattachements, ses participations, ses invitations et sa présence."""
    return await views.contact_overview(record_id)


@get("/groups/{record_id:int}/overview", summary="Vue d'une instance", **READ)
async def group_overview(record_id: RecordId) -> Mapping[str, Any]:
    """Ses membres par rôle, ses réunions et le taux de présence."""
    return await views.group_overview(record_id, dt.date.today())


@get("/communes/{record_id:int}/overview", summary="Partenaires d'une commune par axe", **READ)
async def commune_overview(record_id: RecordId) -> Mapping[str, Any]:
    return await views.commune_overview(record_id)


class ElectionsIn(Struct, forbid_unknown_fields=True):
    date: dt.date


@get(
    "/communes/{record_id:int}/elections",
    summary="Renouvellement des élus : aperçu",
    description="Mandats qui seraient clos et sièges à pourvoir, sans rien modifier.",
    **READ,
)
async def elections_preview(
    record_id: RecordId, date: dt.date = Parameter(description="Date de l'élection")
) -> dict[str, Any]:
    return await elections.plan_turnover(record_id, date)


@post(
    "/communes/{record_id:int}/elections",
    summary="Renouvellement des élus : clore les mandats",
    description="Clôt à la date donnée les mandats électifs de la commune et les "
    "participations tenues à ce titre ; renvoie les sièges à pourvoir. L'historique reste.",
    status_code=200,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
)
async def elections_apply(
    request: AppRequest, record_id: RecordId, data: JSONBody[ElectionsIn]
) -> dict[str, Any]:
    return await elections.apply_turnover(request.user, record_id, data.date)


views_router = Router(
    path="/api/v1",
    route_handlers=[
        organisation_overview,
        contact_overview,
        group_overview,
        commune_overview,
        elections_preview,
        elections_apply,
    ],
    tags=["Vues"],
)
