"""HTTP API of the public registers (#18): load or refresh a territory from an EPCI's SIREN."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Router, post
from litestar.params import JSONBody
from msgspec import Meta

from maillage.opendata.load import load_territory
from maillage.web.openapi import error_responses
from maillage.web.security import AppRequest, requires, settings_of


class TerritoryLoad(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    epci: Annotated[str, Meta(min_length=1, max_length=20, description="SIREN de l'EPCI")]
    dry_run: bool = True


@post(
    "/territories/load",
    summary="Charger ou mettre à jour un territoire depuis les répertoires publics",
    description=(
        "Le territoire de l'EPCI `epci` (SIREN), ses communes, ses mairies, ses élus "
        "municipaux et intercommunaux, les conseillers départementaux des cantons et les "
        "députés des circonscriptions qui le couvrent. Par défaut (`dry_run`: true) rien n'est "
        "écrit : la réponse liste chaque changement. Avec `dry_run`: false, tout ou rien ; une "
        "nouvelle exécution ne change que ce que les répertoires ont changé, sans remplacer ce "
        "qui a été saisi à la main, et termine (sans les supprimer) les mandats disparus."
    ),
    guards=[requires("admin")],
    responses=error_responses(400, 401, 403, 409),
    operation_id="load_territory",
    status_code=200,
)
async def load(request: AppRequest, data: JSONBody[TerritoryLoad]) -> dict[str, Any]:
    report = await load_territory(
        request.user,
        data.epci,
        dry_run=data.dry_run,
        data_dir=settings_of(request).data_dir,
        secret=settings_of(request).secret_key,
    )
    return report.to_dict()


def territory_router() -> Router:
    return Router(path="/api/v1", route_handlers=[load], tags=["Territoires"])
