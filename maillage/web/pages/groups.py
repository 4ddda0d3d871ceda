"""Instances: the governance bodies, their members and roles, their meetings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import get, post
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Template

from maillage.calendar import feeds
from maillage.calendar import service as calendar_service
from maillage.crm import audit, decisions, lookups, members, views
from maillage.crm.registry import SERVICES
from maillage.crm.resources import ListQuery
from maillage.db import read_transaction
from maillage.errors import ServiceError
from maillage.french import plural
from maillage.vocabulary import DECISION_STATUSES
from maillage.web.pages.common import (
    SECTION_SIZE,
    Field,
    FormState,
    build,
    error_text,
    flash,
    parse_int,
    read_form,
    redirect,
    render,
    take_service_error,
)
from maillage.web.pages.crud import RecordPages, record_handlers
from maillage.web.pages.labels import LABELS as CODE_LABELS
from maillage.web.pages.labels import choices
from maillage.web.security import AppRequest, requires, settings_of

SERVICE = SERVICES["groups"]
MEMBERSHIPS = SERVICES["memberships"]
WRITE = [requires("coordinateur")]
PICKER_SIZE = 15
MAX_GROUPS = 500
FIELDS = [
    Field("name", "Nom", required=True, maxlength=200),
    Field("kind", "Type d'instance", "select", required=True, choices=choices("group_kind")),
    Field("description", "Description", "textarea", empty_is_none=False),
    Field("default_location", "Lieu habituel", empty_is_none=False, maxlength=300),
    Field("axes", "Axes de la CTG", "multi", choices="axes"),
    Field(
        "communes",
        "Communes couvertes",
        "multiselect",
        choices="communes",
        hint="Maintenez Ctrl (ou Cmd) pour en choisir plusieurs.",
    ),
    Field("active", "Instance active", "checkbox"),
]
MEMBER_FIELDS = [
    Field("contact", "Contact", "int", required=True),
    Field("role", "Rôle", "select", required=True, choices=choices("role")),
    Field(
        "organisation",
        "Organisation représentée",
        "select",
        choices="organisations",
        integer_choices=True,
    ),
    Field("start_date", "Depuis le", "date", hint="Par défaut : aujourd'hui."),
]
LABELS = {f.name: f.label for f in FIELDS}


async def _form_options(record: dict[str, Any] | None) -> dict[str, Any]:
    """A scoped user is offered the communes of their départements, and the record's (#20)."""
    async with read_transaction():
        communes = await lookups.form_communes(record["communes"] if record else [])
        return {"axes": await lookups.axes(), "communes": communes}


@get("/instances", include_in_schema=False)
async def group_list(
    request: AppRequest,
    q: str | None = Parameter(default=None, max_length=200),
    type: str | None = Parameter(default=None, max_length=30),
    axe: str | None = Parameter(default=None, max_length=12),
    archives: FromQuery[bool] = False,
) -> Template:
    params = {"q": q, "type": type, "axe": axe, "archives": archives}
    filters = {"kind": type or None, "axis": parse_int(axe)}
    async with read_transaction():
        result = await SERVICE.page(
            ListQuery(limit=MAX_GROUPS, q=q, filters=filters, include_archived=archives)
        )
        axes = await lookups.axes()
    by_kind: dict[str, list[dict[str, Any]]] = {kind: [] for kind in CODE_LABELS["group_kind"]}
    for group in result["items"]:
        by_kind.setdefault(group["kind"], []).append(group)
    return render(
        request,
        "instances/liste.html",
        by_kind={kind: rows for kind, rows in by_kind.items() if rows},
        total=result["total"],
        shown=len(result["items"]),
        params=params,
        options={"axes": axes},
        axes={row["id"]: row["name"] for row in axes},
        kinds=choices("group_kind"),
    )


@get("/instances/{record_id:int}", include_in_schema=False)
async def group_detail(
    request: AppRequest,
    record_id: FromPath[int],
    contact_q: str | None = Parameter(default=None, max_length=200),
    contact: int | None = Parameter(default=None, ge=1),
    tout: str | None = Parameter(default=None, max_length=30),
) -> Template:
    return await _detail_page(
        request, record_id, contact_q, contact, FormState(), full=tout == "reunions"
    )


async def _detail_page(
    request: AppRequest,
    record_id: int,
    contact_q: str | None,
    chosen: int | None,
    member_form: FormState,
    status_code: int = 200,
    full: bool = False,
) -> Template:
    async with read_transaction():
        overview = await views.group_overview(
            record_id, dt.date.today(), None if full else SECTION_SIZE
        )
        group = overview["group"]
        axes = await lookups.axes()
        communes = await lookups.commune_names(group["communes"])
        history = await audit.list_events(20, 0, "working_group", record_id)
        tokens = await feeds.list_tokens("group", record_id)
        found = None
        if contact_q:
            found = await SERVICES["contacts"].page(ListQuery(limit=PICKER_SIZE, q=contact_q))
        organisations = []
        chosen_contact = None
        if chosen:
            chosen_contact = await SERVICES["contacts"].get(chosen)
            organisations = await lookups.contact_organisations(chosen)
    if chosen_contact and "organisation" not in member_form.values and organisations:
        member_form.values["organisation"] = organisations[0]["id"]
    member_form.values.setdefault("role", "membre")
    return render(
        request,
        "instances/fiche.html",
        status_code=status_code,
        full="reunions" if full else None,
        g=group,
        open_decisions=await decisions.open_of_group(group["id"], dt.date.today()),
        decision_statuses=list(DECISION_STATUSES.items()),
        overview=overview,
        axes={row["id"]: row["name"] for row in axes},
        commune_names=[communes[c] for c in group["communes"] if c in communes],
        history=history["items"],
        field_labels=LABELS,
        contact_q=contact_q,
        found=found,
        chosen=chosen_contact,
        form=member_form,
        member_fields=MEMBER_FIELDS,
        substitutes=overview["members_by_role"].get("suppleant", []),
        options={"organisations": organisations},
        roles=choices("role"),
        calendar=calendar_service.links(settings_of(request), f"/calendar/groups/{record_id}.ics"),
        feed_tokens=[t for t in tokens if t["revoked_at"] is None],
    )


PAGES = RecordPages(
    resource="groups",
    path="/instances",
    new="nouvelle",
    fields=FIELDS,
    options=_form_options,
    title=lambda record: record["name"],
    new_title="Nouvelle instance",
    defaults={"axes": [], "communes": [], "active": True},
    created="Instance « {name} » créée.",
    saved="Instance « {name} » enregistrée.",
    archived="Instance archivée.",
    restored="Instance restaurée.",
    territory=True,
    territory_hints=(
        "Choisissez le territoire de l'instance parmi ceux que vous coordonnez.",
        "« — » : instance partagée entre les territoires.",
    ),
)


@post("/instances/{record_id:int}/membres", guards=WRITE, include_in_schema=False)
async def member_add(request: AppRequest, record_id: FromPath[int]) -> Any:
    data = await request.form()
    form = read_form(MEMBER_FIELDS, data)
    if not form.has_errors:
        values = {**form.values, "working_group": record_id}
        struct = build(MEMBERSHIPS.spec.input, values, form)
        if struct is not None:
            try:
                await MEMBERSHIPS.create(request.user, struct)
            except ServiceError as error:
                take_service_error(error, form)
            else:
                flash(request, "Membre ajouté.")
                return redirect(f"/instances/{record_id}#membres")
    return await _detail_page(
        request, record_id, data.get("contact_q"), parse_int(data.get("contact")), form, 400
    )


async def _own_membership(record_id: int, membership_id: int) -> dict[str, Any] | None:
    membership = await MEMBERSHIPS.get(membership_id)
    return membership if membership["working_group"] == record_id else None


@post(
    "/instances/{record_id:int}/membres/{membership_id:int}/role",
    guards=WRITE,
    include_in_schema=False,
)
async def member_role(
    request: AppRequest, record_id: FromPath[int], membership_id: FromPath[int]
) -> Any:
    membership = await _own_membership(record_id, membership_id)
    role = (await request.form()).get("role")
    if membership is None or role not in CODE_LABELS["role"]:
        flash(request, "Rôle non reconnu.", "erreur")
        return redirect(f"/instances/{record_id}#membres")
    try:
        update = MEMBERSHIPS.spec.update(version=membership["version"], role=role)
        await MEMBERSHIPS.update(request.user, membership_id, update)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        flash(request, f"Rôle changé : {CODE_LABELS['role'][role]}.")
    return redirect(f"/instances/{record_id}#membres")


@post(
    "/instances/{record_id:int}/membres/{membership_id:int}/retirer",
    guards=WRITE,
    include_in_schema=False,
)
async def member_remove(
    request: AppRequest, record_id: FromPath[int], membership_id: FromPath[int]
) -> Any:
    """A member who leaves keeps their history: the membership ends yesterday, unless it
    started today or later (an entry made by mistake), which is deleted."""
    membership = await _own_membership(record_id, membership_id)
    if membership is None:
        return redirect(f"/instances/{record_id}")
    today = dt.date.today()
    try:
        if membership["start_date"] >= today:
            await MEMBERSHIPS.delete(request.user, membership_id)
        else:
            end = today - dt.timedelta(days=1)
            update = MEMBERSHIPS.spec.update(version=membership["version"], end_date=end)
            await MEMBERSHIPS.update(request.user, membership_id, update)
    except ServiceError as error:
        flash(request, error.message, "erreur")
    else:
        flash(request, "Membre retiré de l'instance (l'historique est conservé).")
    return redirect(f"/instances/{record_id}#membres")


CANDIDATES = 100  # people shown at once to tick; a narrower search finds the others


@get("/instances/{record_id:int}/membres/plusieurs", guards=WRITE, include_in_schema=False)
async def members_search(
    request: AppRequest,
    record_id: FromPath[int],
    q: str | None = Parameter(default=None, max_length=200),
    organisation: str | None = Parameter(default=None, max_length=12),
    fonction: str | None = Parameter(default=None, max_length=100),
) -> Template:
    params = {"q": q, "organisation": organisation, "fonction": fonction}
    filters = {
        "organisation": parse_int(organisation),
        "function": (fonction or "").strip() or None,
    }
    searched = bool(q or filters["organisation"] or filters["function"])
    async with read_transaction():
        group = await SERVICES["groups"].get(record_id)
        candidates = None
        if searched:
            found = await SERVICES["contacts"].page(
                ListQuery(limit=CANDIDATES, q=q, filters=filters)
            )
            candidates = found["items"]
            ids = [c["id"] for c in candidates]
            works = await lookups.main_affiliations(ids)
            sitting = await members.sitting(record_id, ids)
            for candidate in candidates:
                candidate["work"] = works.get(candidate["id"])
                candidate["member"] = candidate["id"] in sitting
        organisations = await lookups.organisations()
    return render(
        request,
        "instances/plusieurs.html",
        g=group,
        params=params,
        candidates=candidates,
        organisations=organisations,
        roles=choices("role"),
    )


@post("/instances/{record_id:int}/membres/plusieurs", guards=WRITE, include_in_schema=False)
async def members_add_many(request: AppRequest, record_id: FromPath[int]) -> Any:
    data = await request.form()
    ids = [int(v) for v in data.getall("contacts", []) if str(v).isdigit() and 0 < int(v) < 2**31]
    if not ids:
        flash(request, "Cochez au moins une personne à inscrire.", "erreur")
        return redirect(f"/instances/{record_id}/membres/plusieurs")
    try:
        report = await members.add_members(request.user, record_id, ids, data.get("role", ""))
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
        return redirect(f"/instances/{record_id}/membres/plusieurs")
    message = plural(len(report.added), "personne inscrite", "personnes inscrites") + "."
    if report.already:
        message += " Déjà membres : " + ", ".join(report.already) + "."
    flash(request, message)
    return redirect(f"/instances/{record_id}#membres")


@post(
    "/instances/{record_id:int}/membres/{membership_id:int}/suppleant",
    guards=WRITE,
    include_in_schema=False,
)
async def member_substitute(
    request: AppRequest, record_id: FromPath[int], membership_id: FromPath[int]
) -> Any:
    chosen = parse_int((await request.form()).get("substitute"))
    try:
        await members.pair_substitute(request.user, record_id, membership_id, chosen)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        flash(request, "Suppléance enregistrée." if chosen else "Suppléance retirée.")
    return redirect(f"/instances/{record_id}#membres")


HANDLERS = [
    group_list,
    group_detail,
    *record_handlers(PAGES),
    members_search,
    members_add_many,
    member_substitute,
    member_add,
    member_role,
    member_remove,
]
