"""HTTP API of the petite enfance duties of a commune (#18): what its size obliges it to do,
and whether the coordinator recorded its schéma pluriannuel and its relais petite enfance."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Router, get, put
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from maillage.crm.childcare import NOTE_MAX, commune_childcare, record_childcare
from maillage.web.openapi import error_responses
from maillage.web.security import AppRequest, requires


class ChildcareRecord(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    schema_exists: bool | None = msgspec.field(default=None)
    relais_exists: bool | None = msgspec.field(default=None)
    note: Annotated[str, Meta(max_length=NOTE_MAX)] = ""


@get(
    "/communes/{record_id:int}/childcare",
    summary="Obligations petite enfance d'une commune",
    description=(
        "L'obligation que la population de la commune entraîne (`planification` au-delà de "
        "3 500 habitants, `schema_relais` au-delà de 10 000) et ce que le coordinateur a "
        "enregistré : existence du schéma pluriannuel et du relais petite enfance (`null` : "
        "non renseigné)."
    ),
    guards=[requires("lecteur")],
    responses=error_responses(401, 403, 404),
    operation_id="get_commune_childcare",
)
async def get_childcare(record_id: FromPath[int]) -> dict[str, Any]:
    return await commune_childcare(record_id)


@put(
    "/communes/{record_id:int}/childcare",
    summary="Enregistrer le schéma et le relais petite enfance d'une commune",
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
    operation_id="put_commune_childcare",
)
async def put_childcare(
    request: AppRequest, record_id: FromPath[int], data: JSONBody[ChildcareRecord]
) -> dict[str, Any]:
    return await record_childcare(
        request.user, record_id, data.schema_exists, data.relais_exists, data.note
    )


def diagnostic_router() -> Router:
    return Router(
        path="/api/v1",
        route_handlers=[get_childcare, put_childcare],
        tags=["Bilans et diagnostic"],
    )
