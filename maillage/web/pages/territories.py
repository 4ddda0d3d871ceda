"""Territoires: the list, each territory's map, and a new territory from the public registers
(administrators: find the EPCI by name, preview the dry run, confirm)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from maillage.crm.registry import SERVICES
from maillage.crm.resources import ListQuery
from maillage.crm.schemas import DEPARTEMENT_RULE
from maillage.errors import ServiceError
from maillage.geo.maps import territory_map
from maillage.opendata import registers
from maillage.opendata.load import load_territory
from maillage.web.pages.common import Field, error_text, flash, redirect, render
from maillage.web.pages.crud import RecordPages, record_handlers
from maillage.web.security import AppRequest, requires, settings_of

READER = [requires("lecteur")]
ADMIN = [requires("admin")]


@get("/territoires", guards=READER, include_in_schema=False)
async def territory_list(request: AppRequest) -> Template:
    result = await SERVICES["territories"].page(ListQuery(limit=500, sort="name"))
    return render(request, "territoires/liste.html", territories=result["items"])


@get("/territoires/{record_id:int}/carte", guards=READER, include_in_schema=False)
async def territory_map_page(request: AppRequest, record_id: FromPath[int]) -> Template:
    return render(request, "territoires/carte.html", map=await territory_map(record_id))


@get("/territoires/nouveau", guards=ADMIN, include_in_schema=False)
async def territory_new(
    request: AppRequest,
    q: Annotated[str | None, QueryParameter(max_length=200)] = None,
    epci: Annotated[str | None, QueryParameter(max_length=20)] = None,
) -> Template:
    context: dict[str, Any] = {"q": q or "", "results": None, "report": None, "error": None}
    try:
        if q:
            context["results"] = registers.search_epcis(q)
        if epci:
            context["report"] = await load_territory(
                request.user,
                epci,
                dry_run=True,
                data_dir=settings_of(request).data_dir,
                secret=settings_of(request).secret_key,
            )
    except ServiceError as error:
        context["error"] = error_text(error)
    status = 400 if context["error"] else 200
    return render(request, "territoires/nouveau.html", status_code=status, **context)


@post("/territoires/nouveau", guards=ADMIN, include_in_schema=False)
async def territory_load(request: AppRequest) -> Any:
    siren = str((await request.form()).get("epci") or "")
    try:
        report = await load_territory(
            request.user,
            siren,
            dry_run=False,
            data_dir=settings_of(request).data_dir,
            secret=settings_of(request).secret_key,
        )
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
        return redirect("/territoires/nouveau")
    flash(request, report.summary())
    return redirect(f"/territoires/{report.territory_id}/carte")


async def _no_options(_record: dict[str, Any] | None) -> dict[str, Any]:
    return {}


# A territory typed or corrected by hand (#20: its département while it has no communes); a
# new one comes from the public registers (`territory_new`).
PAGES = RecordPages(
    resource="territories",
    path="/territoires",
    new="nouveau",
    fields=[
        Field("name", "Nom", required=True, maxlength=300),
        Field("siren", "SIREN de l'EPCI", hint="9 chiffres."),
        Field(
            "departement",
            "Département (code INSEE)",
            hint=f"35, 2A, 974… : {DEPARTEMENT_RULE}.",
            maxlength=10,
        ),
        Field("ctg_start", "Début de la CTG", "date"),
        Field("ctg_end", "Fin de la CTG", "date"),
        Field(
            "school_zone",
            "Zone de vacances scolaires",
            "select",
            choices=(("A", "Zone A"), ("B", "Zone B"), ("C", "Zone C")),
        ),
    ],
    options=_no_options,
    title=lambda record: record["name"],
    new_title="Nouveau territoire",
    created="Territoire « {name} » créé.",
    saved="Territoire « {name} » enregistré.",
    archived="",
    restored="",
    show="/carte",
)

# The edit pages only: « nouveau » is the load from the registers, territories are not archived.
_EDIT = {"territories-edit", "territories-update"}
HANDLERS = [
    territory_list,
    territory_map_page,
    territory_new,
    territory_load,
    *(handler for handler in record_handlers(PAGES) if handler.name in _EDIT),
]
