"""API of the network analysis (``/api/v1/network/…``) and its drawing.

Every read takes the same filters as ``maillage network report``; the service caches the
analysis per data version, so the page and the exports do not recompute on every view.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated, Any, Literal, cast

from litestar import MediaType, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED
from msgspec import Struct

from maillage.crm.schemas import Id
from maillage.errors import InvalidData, NotFound
from maillage.graph import drawing
from maillage.graph.data import NetworkFilter
from maillage.graph.network import add_to_body, network_service
from maillage.tables import ROW_ID_MAX
from maillage.vocabulary import MembershipRole, OrganisationKind
from maillage.web.heavy import heavy_cap
from maillage.web.openapi import error_responses
from maillage.web.security import AppRequest, requires

Params = NamedDependency[dict[str, Any]]


def Q(description: str) -> QueryParameter:
    return QueryParameter(description=description)


READ: dict[str, Any] = {
    "guards": [requires("lecteur")],
    "responses": error_responses(400, 401, 403, 404),
}


def filters(
    start: Annotated[dt.date | None, Q("Début de la période (AAAA-MM-JJ)")] = None,
    end: Annotated[
        dt.date | None, Q("Fin de la période, et date de référence (défaut : aujourd'hui)")
    ] = None,
    axis: Annotated[list[int] | None, Q("Axes de la CTG (identifiants, répétable)")] = None,
    commune: Annotated[list[int] | None, Q("Communes (identifiants, répétable)")] = None,
    kind: Annotated[list[OrganisationKind] | None, Q("Types d'organisation (répétable)")] = None,
    include_archived: Annotated[bool, Q("Inclure les fiches archivées")] = False,
    level: Annotated[
        Literal["organisations", "contacts"], Q("Réseau des organisations ou des personnes")
    ] = "organisations",
    territory: Annotated[
        int | None,
        QueryParameter(
            ge=1,
            le=ROW_ID_MAX,
            description="Territoire (identifiant) : par défaut, tous ceux du compte ensemble",
        ),
    ] = None,
) -> dict[str, Any]:
    if start and end and start > end:
        raise InvalidData.one("start", "La date de début doit précéder la date de fin.")
    return {
        "selection": NetworkFilter(
            start=start,
            end=end,
            axes=frozenset(axis or ()),
            communes=frozenset(commune or ()),
            kinds=frozenset(kind or ()),
            include_archived=include_archived,
        ),
        "level": level,
        "territory": territory,
    }


def _json(content: bytes) -> Response[dict[str, Any]]:
    # Typed as the object it encodes, for the OpenAPI document: Litestar sends bytes as they are.
    return Response(cast("dict[str, Any]", content), media_type=MediaType.JSON)


async def _parts(params: Params, keys: tuple[str, ...] | None) -> Response[dict[str, Any]]:
    """The JSON of the analysis, encoded by the heavy-work process that made it (#16)."""
    return _json(
        await network_service.json(
            keys, params["selection"], params["level"], territory=params["territory"]
        )
    )


@get("/report", summary="Analyse complète du réseau", **READ)
async def full_report(params: Params) -> Response[dict[str, Any]]:
    """Chiffres du réseau, mesures par partenaire, partenaires peu reliés avec leurs raisons,
    suggestions, points fragiles, zones non couvertes et relances dues."""
    return await _parts(params, None)


@get("/metrics", summary="Mesures du réseau et de chaque partenaire", **READ)
async def metrics(params: Params) -> Response[dict[str, Any]]:
    return await _parts(params, ("level", "filter", "empty_reason", "network", "nodes"))


@get("/under-connected", summary="Partenaires peu reliés et points fragiles", **READ)
async def under_connected(params: Params) -> Response[dict[str, Any]]:
    keys = ("level", "filter", "empty_reason", "under_connected", "fragile_points", "coverage_gaps")
    return await _parts(params, keys)


@get("/suggestions", summary="Que faire : instances et partenaires à proposer", **READ)
async def suggestions(params: Params) -> Response[dict[str, Any]]:
    return await _parts(params, ("level", "filter", "empty_reason", "suggestions"))


@get("/graph", summary="Le graphe (format node-link de NetworkX)", **READ)
async def graph(params: Params) -> Response[dict[str, Any]]:
    content = await network_service.rendered(
        "node-link-json", params["selection"], params["level"], territory=params["territory"]
    )
    assert isinstance(content, bytes)
    return _json(content)


EXPORTS = {
    "gexf": ("application/gexf+xml", "reseau.gexf"),
    "graphml": ("application/graphml+xml", "reseau.graphml"),
    "csv": ("text/csv", "reseau.csv"),
}


@get(
    "/export/{fmt:str}",
    summary="Export GEXF, GraphML ou CSV (Excel)",
    description="`gexf` et `graphml` s'ouvrent dans Gephi avec les mesures en attributs ; `csv` "
    "s'ouvre dans Excel (UTF-8 avec BOM, séparateur « ; », virgule décimale).",
    guards=[requires("lecteur")],
    responses=error_responses(400, 401, 403, 404),
)
async def export_file(fmt: FromPath[str], params: Params) -> Response[Any]:
    if fmt not in EXPORTS:
        raise NotFound("Format d'export", fmt)
    content = await network_service.rendered(
        fmt, params["selection"], params["level"], territory=params["territory"]
    )
    media_type, filename = EXPORTS[fmt]
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@get(
    "/graph.html",
    summary="Dessin interactif du réseau (page HTML)",
    description="Avec `standalone=true`, un fichier autonome qui fonctionne hors connexion.",
    guards=[requires("lecteur")],
    responses=error_responses(400, 401, 403, 404),
    media_type="text/html",
)
async def graph_page(
    params: Params,
    standalone: Annotated[bool, Q("Fichier autonome à télécharger")] = False,
) -> Response[Any]:
    if standalone:
        html = await network_service.rendered(
            "html", params["selection"], params["level"], territory=params["territory"]
        )
        headers = {"Content-Disposition": 'attachment; filename="reseau.html"'}
        return Response(html, media_type="text/html", headers=headers)
    marked = await network_service.rendered(
        "drawing", params["selection"], params["level"], territory=params["territory"]
    )
    assert isinstance(marked, str)
    nonce = secrets.token_urlsafe(16)
    html = drawing.with_nonce(marked, nonce)
    return Response(
        html,
        media_type="text/html",
        headers={"Content-Security-Policy": drawing.content_security_policy(nonce)},
    )


class AddToBody(Struct, forbid_unknown_fields=True, kw_only=True):
    working_group: Id
    organisation: Id | None = None
    contact: Id | None = None
    role: MembershipRole = "membre"


@post(
    "/memberships",
    summary="Inscrire un partenaire dans une instance (action d'une suggestion)",
    description="Pour une organisation sans personne désignée, son contact principal est inscrit.",
    status_code=HTTP_201_CREATED,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404, 409),
)
async def add_membership(request: AppRequest, data: JSONBody[AddToBody]) -> dict[str, Any]:
    return await add_to_body(
        request.user, data.working_group, data.organisation, data.contact, data.role
    )


network_router = Router(
    path="/api/v1/network",
    route_handlers=[
        full_report,
        metrics,
        under_connected,
        suggestions,
        graph,
        export_file,
        graph_page,
        add_membership,
    ],
    dependencies={"params": Provide(filters, sync_to_thread=False)},
    middleware=[heavy_cap],
    tags=["Réseau"],
)
