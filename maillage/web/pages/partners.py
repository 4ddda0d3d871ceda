"""Partenaires: the organisations of the network, their list, their page and their form."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import get
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Template

from maillage.crm import audit, lookups, views
from maillage.crm.registry import SERVICES
from maillage.crm.resources import PAGE_COUNT_CAP, ListQuery
from maillage.db import read_transaction
from maillage.web.pages.common import (
    PAGE_SIZE,
    SECTION_SIZE,
    Field,
    paginate,
    parse_int,
    render,
)
from maillage.web.pages.crud import RecordPages, record_handlers
from maillage.web.pages.labels import choices
from maillage.web.security import AppRequest

SERVICE = SERVICES["organisations"]
SORTS = {"nom": "name", "type": "kind", "categorie": "category", "modification": "updated_at"}
CATEGORIES = tuple(
    (name, name)
    for name in (
        "Caf", "Conseil départemental", "PMI", "DDETS", "Éducation nationale", "Mairie",
        "CCAS", "Centre social", "EAJE", "ALSH", "LAEP", "RPE", "Espace de vie sociale",
        "Bailleur social", "Mission locale", "France services",
    )
)  # fmt: skip
FIELDS = [
    Field("name", "Nom", required=True, maxlength=300),
    Field("kind", "Type", "select", required=True, choices=choices("organisation_kind")),
    Field(
        "category",
        "Catégorie",
        choices=CATEGORIES,
        empty_is_none=False,
        hint="Texte libre : Caf, CCAS, centre social, EAJE, bailleur social…",
        maxlength=100,
    ),
    Field("siret", "SIRET", hint="14 chiffres, espaces permis."),
    Field("siren", "SIREN", hint="9 chiffres, quand le SIRET n'est pas connu."),
    Field("rna", "Numéro RNA", hint="Associations : W suivi de 9 chiffres."),
    Field("uai", "Code UAI", hint="Établissements scolaires : 7 chiffres et une lettre."),
    Field("address", "Adresse", "textarea", empty_is_none=False),
    Field("commune", "Commune", "select", choices="communes", integer_choices=True),
    Field("email", "Adresse électronique", "email", autocomplete="off"),
    Field("phone", "Téléphone", "tel", hint="Par exemple : 02 99 12 34 56."),
    Field("website", "Site web", "url"),
    Field("axes", "Axes de la CTG", "multi", choices="axes"),
    Field("notes", "Notes", "textarea", empty_is_none=False),
]
LABELS = {f.name: f.label for f in FIELDS}


async def _form_options(record: dict[str, Any] | None) -> dict[str, Any]:
    """A scoped user is offered the communes of their départements, and the record's (#20)."""
    async with read_transaction():
        communes = await lookups.form_communes([record["commune"]] if record else [])
        return {"axes": await lookups.axes(), "communes": communes}


async def _filter_options() -> dict[str, Any]:
    """The list's filters: a scoped user's communes are those of their départements (#20)."""
    return {"axes": await lookups.axes(), "communes": await lookups.filter_communes()}


@get("/partenaires", include_in_schema=False)
async def partner_list(
    request: AppRequest,
    q: str | None = Parameter(default=None, max_length=200),
    type: str | None = Parameter(default=None, max_length=30),
    axe: str | None = Parameter(default=None, max_length=12),
    commune: str | None = Parameter(default=None, max_length=12),
    archives: FromQuery[bool] = False,
    tri: str | None = Parameter(default=None, max_length=30),
    page: int = Parameter(default=1, ge=1, le=1_000_000),
) -> Template:
    params = {"q": q, "type": type, "axe": axe, "commune": commune, "archives": archives}
    tri = tri if tri and tri.lstrip("-") in SORTS else None
    params["tri"] = tri
    sort = None
    if tri:
        sort = ("-" if tri.startswith("-") else "") + SORTS[tri.lstrip("-")]
    filters = {
        "kind": type or None,
        "axis": parse_int(axe),
        "commune": parse_int(commune),
    }
    async with read_transaction():
        result = await SERVICE.page(
            ListQuery(
                limit=PAGE_SIZE,
                offset=(page - 1) * PAGE_SIZE,
                sort=sort,
                q=q,
                filters=filters,
                include_archived=archives,
                count_cap=PAGE_COUNT_CAP,
            )
        )
        options = await _filter_options()
        communes = await lookups.commune_names(
            [row["commune"] for row in result["items"] if row["commune"]]
        )
    axes = {row["id"]: row["name"] for row in options["axes"]}
    return render(
        request,
        "partenaires/liste.html",
        items=result["items"],
        pager=paginate(page, result["total"], cap=PAGE_COUNT_CAP, shown=len(result["items"])),
        params=params,
        options=options,
        communes=communes,
        axes=axes,
        kinds=choices("organisation_kind"),
    )


# `?tout=` names, in French in the address, of the sections the view cuts.
SECTIONS = {
    "contacts": "contacts",
    "partenariats": "partnerships",
    "instances": "bodies",
    "reunions": "meetings_attended",
}


@get("/partenaires/{record_id:int}", include_in_schema=False)
async def partner_detail(
    request: AppRequest,
    record_id: FromPath[int],
    tout: str | None = Parameter(default=None, max_length=30),
) -> Template:
    full = tout if tout in SECTIONS else None
    async with read_transaction():
        overview = await views.organisation_overview(
            record_id, dt.date.today(), SECTION_SIZE, SECTIONS.get(full or "")
        )
        organisation = overview["organisation"]
        names = await lookups.organisation_names([organisation["parent"]])
        communes = await lookups.commune_names([organisation["commune"]])
        axes = await lookups.axes()
        history = await audit.list_events(20, 0, "organisation", record_id)
    return render(
        request,
        "partenaires/fiche.html",
        o=organisation,
        overview=overview,
        parent_name=names.get(organisation["parent"]),
        commune_name=communes.get(organisation["commune"]),
        axes={row["id"]: row["name"] for row in axes},
        history=history["items"],
        field_labels=LABELS,
        full=full,
    )


PAGES = RecordPages(
    resource="organisations",
    path="/partenaires",
    new="nouveau",
    fields=FIELDS,
    options=_form_options,
    title=lambda record: record["name"],
    new_title="Nouveau partenaire",
    defaults={"kind": None, "axes": []},
    created="Partenaire « {name} » créé.",
    saved="Partenaire « {name} » enregistré.",
    archived="Partenaire « {name} » archivé : il n'apparaît plus dans les listes.",
    restored="Partenaire « {name} » restauré.",
    territory=True,
)


HANDLERS = [partner_list, partner_detail, *record_handlers(PAGES)]
