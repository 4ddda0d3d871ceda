"""Routes outside the resource API: health check and audit log (the pages live in ``pages``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import get
from litestar.params import Parameter
from msgspec import Struct

from maillage import __version__
from maillage.crm import audit
from maillage.db import check_reachable
from maillage.tables import ROW_ID_MAX
from maillage.web.openapi import error_responses
from maillage.web.security import requires


class Health(Struct):
    status: str
    database: str
    version: str


@get(
    "/healthz",
    summary="État du service",
    description="Sans authentification ; 503 quand la base de données ne répond pas.",
    tags=["Système"],
    exclude_from_auth=True,
)
async def healthz() -> Any:
    from litestar import Response

    reachable = await check_reachable()
    body = Health(
        status="ok" if reachable else "indisponible",
        database="joignable" if reachable else "injoignable",
        version=__version__,
    )
    return Response(body, status_code=200 if reachable else 503)


class AuditEventRead(Struct):
    id: int
    occurred_at: dt.datetime
    user: int | None
    actor: str
    action: str
    entity: str
    entity_id: int | None
    changes: Any


class AuditPage(Struct):
    items: list[AuditEventRead]
    total: int
    limit: int
    offset: int


@get(
    "/api/v1/audit",
    summary="Journal des modifications",
    description="Qui a fait quoi, sur quel enregistrement, quand, avec les champs modifiés.",
    tags=["Journal"],
    guards=[requires("admin")],
    responses=error_responses(400, 401, 403),
)
async def audit_log(
    limit: int = Parameter(default=50, ge=1, le=500),
    offset: int = Parameter(default=0, ge=0, le=ROW_ID_MAX),
    # Bounds on an optional value go in Parameter: Litestar drops a Meta nested in « | None »,
    # and PostgreSQL refuses an id beyond 32 bits (found by Schemathesis).
    entity: str | None = Parameter(default=None, max_length=40),
    entity_id: int | None = Parameter(default=None, ge=1, le=ROW_ID_MAX),
    actor: str | None = Parameter(default=None, max_length=254),
) -> AuditPage:
    page = await audit.list_events(limit, offset, entity, entity_id, actor)
    return page  # type: ignore[return-value]  # Litestar encodes the dict, which AuditPage documents
