"""Contacts: the people of the network, their list, their page, their form and affiliations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import get, post
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Template

from maillage.crm import audit, lookups, views
from maillage.crm.people import Affiliated, add_contact_to_organisation
from maillage.crm.registry import SERVICES
from maillage.crm.resources import PAGE_COUNT_CAP, ListQuery
from maillage.crm.schemas import ContactIn
from maillage.db import read_transaction
from maillage.errors import ServiceError
from maillage.web.pages.common import (
    PAGE_SIZE,
    SECTION_SIZE,
    Field,
    FormState,
    build,
    flash,
    paginate,
    parse_int,
    read_form,
    redirect,
    render,
    take_service_error,
)
from maillage.web.pages.crud import RecordPages, record_handlers
from maillage.web.pages.labels import choices
from maillage.web.security import AppRequest, requires

SERVICE = SERVICES["contacts"]
WRITE = [requires("coordinateur")]
SORTS = {"nom": "last_name", "prenom": "first_name", "modification": "updated_at"}
PICKER_SIZE = 15
FIELDS = [
    Field("civility", "Civilité", "select", choices=choices("civility")[1:], empty_is_none=False),
    Field("first_name", "Prénom", required=True, autocomplete="off", maxlength=100),
    Field("last_name", "Nom", required=True, autocomplete="off", maxlength=100),
    Field(
        "email",
        "Adresse électronique",
        "email",
        autocomplete="off",
        hint="Une boîte partagée (accueil@mairie…) est permise.",
    ),
    Field("phone", "Téléphone", "tel", hint="Par exemple : 06 12 34 56 78."),
    Field("commune", "Commune", "select", choices="communes", integer_choices=True),
    Field("axes", "Axes de la CTG", "multi", choices="axes"),
    Field("notes", "Notes", "textarea", empty_is_none=False),
    Field(
        "legal_basis",
        "Base légale du traitement (RGPD)",
        "select",
        required=True,
        choices=choices("legal_basis"),
    ),
    Field(
        "consent_date",
        "Date du consentement",
        "date",
        hint="Si la base légale est le consentement.",
    ),
    Field("mailing_opt_out", "S'oppose aux envois groupés", "checkbox"),
]
AFFILIATION_FIELDS = [
    Field("organisation", "Organisation", "int", required=True),
    Field(
        "function",
        "Fonction",
        empty_is_none=False,
        hint="Par exemple : directrice, adjoint au maire délégué à l'enfance.",
    ),
    Field("elected_mandate", "Mandat électif", "checkbox"),
    Field("is_primary", "Rattachement principal", "checkbox"),
    Field("start_date", "Depuis le", "date"),
]
LABELS = {f.name: f.label for f in FIELDS}


async def _form_options(record: dict[str, Any] | None) -> dict[str, Any]:
    """A scoped user is offered the communes of their départements, and the record's (#20)."""
    async with read_transaction():
        communes = await lookups.form_communes([record["commune"]] if record else [])
        return {"axes": await lookups.axes(), "communes": communes}


@get("/contacts", include_in_schema=False)
async def contact_list(
    request: AppRequest,
    q: str | None = Parameter(default=None, max_length=200),
    axe: str | None = Parameter(default=None, max_length=12),
    commune: str | None = Parameter(default=None, max_length=12),
    organisation: str | None = Parameter(default=None, max_length=12),
    structure: str | None = Parameter(default=None, max_length=100),
    fonction: str | None = Parameter(default=None, max_length=100),
    instance: str | None = Parameter(default=None, max_length=12),
    archives: FromQuery[bool] = False,
    tri: str | None = Parameter(default=None, max_length=30),
    page: int = Parameter(default=1, ge=1, le=1_000_000),
) -> Template:
    params = {
        "q": q,
        "axe": axe,
        "commune": commune,
        "organisation": organisation,
        "structure": structure,
        "fonction": fonction,
        "instance": instance,
        "archives": archives,
    }
    tri = tri if tri and tri.lstrip("-") in SORTS else None
    params["tri"] = tri
    sort = None
    if tri:
        sort = ("-" if tri.startswith("-") else "") + SORTS[tri.lstrip("-")]
    filters = {
        "axis": parse_int(axe),
        "commune": parse_int(commune),
        "organisation": parse_int(organisation),
        "organisation_name": (structure or "").strip() or None,
        "function": (fonction or "").strip() or None,
        "group": parse_int(instance),
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
        options: dict[str, Any] = {
            "axes": await lookups.axes(),
            "communes": await lookups.filter_communes(),
        }
        # The organisation chosen from a partner's page is named; others are found by name.
        chosen = parse_int(organisation)
        options["organisation"] = None
        if chosen is not None:
            name = await lookups.visible_organisation_name(chosen)
            options["organisation"] = name or f"n° {chosen} (introuvable)"
        options["groups"] = await lookups.groups()
        works = await lookups.main_affiliations([row["id"] for row in result["items"]])
        communes = await lookups.commune_names(
            [row["commune"] for row in result["items"] if row["commune"]]
        )
    return render(
        request,
        "contacts/liste.html",
        items=result["items"],
        works=works,
        pager=paginate(page, result["total"], cap=PAGE_COUNT_CAP, shown=len(result["items"])),
        params=params,
        options=options,
        communes=communes,
    )


@get("/contacts/{record_id:int}", include_in_schema=False)
async def contact_detail(
    request: AppRequest,
    record_id: FromPath[int],
    organisation_q: str | None = Parameter(default=None, max_length=200),
    tout: str | None = Parameter(default=None, max_length=30),
) -> Template:
    return await _detail_page(
        request, record_id, organisation_q, FormState(), full=tout == "reunions"
    )


async def _detail_page(
    request: AppRequest,
    record_id: int,
    organisation_q: str | None,
    affiliation_form: FormState,
    status_code: int = 200,
    full: bool = False,
) -> Template:
    async with read_transaction():
        overview = await views.contact_overview(record_id, None if full else SECTION_SIZE)
        contact = overview["contact"]
        communes = await lookups.commune_names([contact["commune"]])
        axes = await lookups.axes()
        history = await audit.list_events(20, 0, "contact", record_id)
        found = None
        if organisation_q:
            found = await SERVICES["organisations"].page(
                ListQuery(limit=PICKER_SIZE, q=organisation_q)
            )
    return render(
        request,
        "contacts/fiche.html",
        status_code=status_code,
        full="reunions" if full else None,
        c=contact,
        overview=overview,
        commune_name=communes.get(contact["commune"]),
        axes={row["id"]: row["name"] for row in axes},
        history=history["items"],
        field_labels=LABELS,
        organisation_q=organisation_q,
        found=found,
        form=affiliation_form,
        affiliation_fields=AFFILIATION_FIELDS,
        can_erase=request.user.can("admin"),
    )


PAGES = RecordPages(
    resource="contacts",
    path="/contacts",
    new="nouveau",
    fields=FIELDS,
    options=_form_options,
    title=lambda record: f"{record['first_name']} {record['last_name']}",
    new_title="Nouveau contact",
    defaults={"legal_basis": "mission_interet_public", "axes": []},
    created="Contact « {name} » créé.",
    saved="Contact « {name} » enregistré.",
    archived="Contact archivé : il n'apparaît plus dans les listes.",
    restored="Contact restauré.",
    territory=True,
)


# « Ajouter un contact » from an organisation's page: the person and their part there.
AT_ORGANISATION_FIELDS = [
    f for f in FIELDS if f.name in ("civility", "first_name", "last_name", "email", "phone")
] + [
    Field(
        "function",
        "Fonction dans l'organisation",
        empty_is_none=False,
        maxlength=200,
        hint="Par exemple : présidente, directeur, adjointe au maire déléguée à l'enfance.",
    ),
    Field("elected_mandate", "Mandat électif", "checkbox"),
    Field("is_primary", "Rattachement principal", "checkbox"),
    *[f for f in FIELDS if f.name in ("legal_basis", "consent_date", "mailing_opt_out")],
]
PERSON_NAMES = {"civility", "first_name", "last_name", "email", "phone", "legal_basis",
                "consent_date", "mailing_opt_out"}  # fmt: skip


def _at_organisation_page(
    request: AppRequest, organisation: dict[str, Any], form: FormState, status_code: int = 200
) -> Template:
    return render(
        request,
        "formulaire.html",
        status_code=status_code,
        form=form,
        fields=AT_ORGANISATION_FIELDS,
        record=None,
        options={},
        path=f"/partenaires/{organisation['id']}",
        heading=f"Ajouter un contact — {organisation['name']}",
    )


@get("/partenaires/{record_id:int}/contacts/nouveau", guards=WRITE, include_in_schema=False)
async def contact_at_organisation_form(request: AppRequest, record_id: FromPath[int]) -> Template:
    organisation = await SERVICES["organisations"].get(record_id)
    form = FormState()
    form.values.update(legal_basis="mission_interet_public", is_primary=True)
    return _at_organisation_page(request, organisation, form)


@post("/partenaires/{record_id:int}/contacts/nouveau", guards=WRITE, include_in_schema=False)
async def contact_at_organisation(request: AppRequest, record_id: FromPath[int]) -> Any:
    organisation = await SERVICES["organisations"].get(record_id)
    form = read_form(AT_ORGANISATION_FIELDS, await request.form())
    if not form.has_errors:
        person = build(ContactIn, {k: v for k, v in form.values.items() if k in PERSON_NAMES}, form)
        role = build(
            Affiliated, {k: v for k, v in form.values.items() if k not in PERSON_NAMES}, form
        )
        if person is not None and role is not None:
            try:
                contact = await add_contact_to_organisation(request.user, record_id, person, role)
            except ServiceError as error:
                take_service_error(error, form)
            else:
                name = f"{contact['first_name']} {contact['last_name']}"
                flash(request, f"Contact « {name} » ajouté à « {organisation['name']} ».")
                return redirect(f"/partenaires/{record_id}#contacts")
    return _at_organisation_page(request, organisation, form, 400)


@post("/contacts/{record_id:int}/rattachements", guards=WRITE, include_in_schema=False)
async def affiliation_add(request: AppRequest, record_id: FromPath[int]) -> Any:
    await SERVICE.get(record_id)
    data = await request.form()
    form = read_form(AFFILIATION_FIELDS, data)
    if form.errors.get("organisation"):
        form.errors["organisation"] = [
            "Choisissez une organisation dans les résultats de recherche."
        ]
    if not form.has_errors:
        struct = build(
            SERVICES["affiliations"].spec.input, {**form.values, "contact": record_id}, form
        )
        if struct is not None:
            try:
                await SERVICES["affiliations"].create(request.user, struct)
            except ServiceError as error:
                take_service_error(error, form)
            else:
                flash(request, "Rattachement ajouté.")
                return redirect(f"/contacts/{record_id}#rattachements")
    return await _detail_page(request, record_id, data.get("organisation_q"), form, 400)


@post(
    "/contacts/{record_id:int}/rattachements/{affiliation_id:int}/clore",
    guards=WRITE,
    include_in_schema=False,
)
async def affiliation_end(
    request: AppRequest, record_id: FromPath[int], affiliation_id: FromPath[int]
) -> Any:
    service = SERVICES["affiliations"]
    affiliation = await service.get(affiliation_id)
    if affiliation["contact"] != record_id:
        return redirect(f"/contacts/{record_id}")
    today = dt.date.today()
    try:
        if affiliation["start_date"] is not None and affiliation["start_date"] >= today:
            await service.delete(request.user, affiliation_id)
        else:
            update = service.spec.update(version=affiliation["version"], end_date=today)
            await service.update(request.user, affiliation_id, update)
    except ServiceError as error:
        flash(request, error.message, "erreur")
    else:
        flash(request, "Rattachement clos à la date du jour.")
    return redirect(f"/contacts/{record_id}#rattachements")


HANDLERS = [
    contact_list,
    contact_detail,
    *record_handlers(PAGES),
    contact_at_organisation_form,
    contact_at_organisation,
    affiliation_add,
    affiliation_end,
]
