"""Exports, imports (upload, preview, confirm) and duplicates (review, merge).

The rules live in ``maillage.exchange``; these handlers read the form, call the service and
show its report. An uploaded file waits for confirmation in the data directory, under a random
name known only to the session that uploaded it, one per account at most. A file whose preview was never confirmed nor
abandoned (a closed tab, an expired session) is deleted after ``PENDING_MAX_AGE``: at start-up
and at every upload, so no timer is needed and several workers may share the directory.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from pathlib import Path
from typing import Annotated, Any

from litestar import Litestar, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter, QueryParameter
from litestar.response import Response, Template

from maillage.crm import lookups
from maillage.crm.registry import SERVICES
from maillage.errors import ServiceError
from maillage.exchange import duplicates
from maillage.exchange.exports import ENTITIES, FORMATS, start_export
from maillage.exchange.imports import ImportRefused, run_import, warnings_csv
from maillage.exchange.mapping import KINDS
from maillage.exchange.reading import MAX_IMPORT_BYTES
from maillage.exchange.sources import ExportFilters
from maillage.tables import ROW_ID_MAX
from maillage.web.exchange_routes import export_stream
from maillage.web.pages.common import (
    Field,
    FormState,
    error_page,
    error_text,
    flash,
    parse_int,
    read_form,
    redirect,
    render,
    take_service_error,
)
from maillage.web.pages.labels import LABELS as CODE_LABELS
from maillage.web.pages.labels import choices
from maillage.web.security import AppRequest, WebSession, app_settings, requires, settings_of

WRITE = [requires("coordinateur")]
ENTITY_LABELS = {
    "contacts": "Contacts",
    "organisations": "Organisations",
    "memberships": "Participations aux instances",
    "meetings": "Réunions (avec les présences)",
    "annuaire": "Annuaire complet (XLSX, une feuille par type)",
}
FORMAT_LABELS = {"csv": "CSV (Excel)", "xlsx": "XLSX (Excel)", "vcf": "vCard (carnet d'adresses)"}
KIND_LABELS = {
    "contacts": "Contacts",
    "organisations": "Organisations",
    "communes": "Communes",
    "groups": "Instances",
    "memberships": "Participations aux instances",
    "indicateurs": "Indicateurs par commune (places en EAJE, enfants de moins de 3 ans…)",
}
DUPLICATE_TYPES = {"contacts": "Contacts", "organisations": "Organisations"}
PENDING_DIR = "imports-en-attente"
SHOWN_WARNINGS = 50
# Long enough for a preview read over lunch, short enough that partners' data uploaded by
# mistake does not linger (RGPD: keep no more than needed).
PENDING_MAX_AGE = dt.timedelta(hours=24)


# ----- exports ---------------------------------------------------------------------------------


# The export filters the service accepts (``ExportFilters``), as the download form's fields.
# The hint says which exports a filter applies to: the others do not read it.
FOR_PEOPLE = "Contacts, organisations, annuaire."
FOR_BODIES = "Participations et réunions."
EXPORT_FIELDS = [
    Field("q", "Recherche", maxlength=200, hint="Nom, sans accents ni majuscules requis."),
    Field("axe", "Axe de la CTG", "select", choices="axes", integer_choices=True),
    Field("territoire", "Territoire", "select", choices="territories", integer_choices=True),
    Field(
        "commune",
        "Commune",
        "select",
        choices="communes",
        integer_choices=True,
        hint=FOR_PEOPLE,
    ),
    Field(
        "type_organisation",
        "Type d'organisation",
        "select",
        choices=choices("organisation_kind"),
        hint=FOR_PEOPLE,
    ),
    Field("categorie", "Catégorie d'organisation", maxlength=100, hint="Organisations."),
    Field(
        "instance",
        "Instance",
        "select",
        choices="groups",
        integer_choices=True,
        hint="Contacts (membres), participations, réunions.",
    ),
    Field(
        "type_instance", "Type d'instance", "select", choices=choices("group_kind"), hint=FOR_BODIES
    ),
    Field(
        "role", "Rôle dans l'instance", "select", choices=choices("role"), hint="Participations."
    ),
    Field(
        "statut", "Statut de réunion", "select", choices=choices("meeting_status"), hint="Réunions."
    ),
    Field("du", "Période : du", "date", hint=FOR_BODIES),
    Field("au", "Période : au", "date", hint=FOR_BODIES),
    Field("archives", "Inclure les fiches archivées", "checkbox"),
    Field(
        "envoi",
        "Pour un envoi : sans les personnes opposées aux envois",
        "checkbox",
        hint="Toujours appliqué aux vCards et à l'Export Caf.",
    ),
]
# Which « kind » the service reads depends on the data: organisations' or bodies'.
BODY_ENTITIES = {"memberships", "meetings"}


async def _export_page(
    request: AppRequest, form: FormState | None = None, status_code: int = 200
) -> Template:
    form = form or FormState(values={"entite": "contacts", "format": "csv"})
    return render(
        request,
        "echanges/exports.html",
        status_code=status_code,
        entities=[(key, ENTITY_LABELS.get(key, key)) for key in ENTITIES],
        formats=[(key, FORMAT_LABELS[key]) for key in FORMATS],
        form=form,
        fields=EXPORT_FIELDS,
        options={
            "axes": await lookups.axes(),
            "territories": await lookups.territories(),
            "communes": await lookups.filter_communes(),
            "groups": await lookups.groups(include_inactive=True),
        },
    )


@get("/exports", guards=WRITE, include_in_schema=False)
async def export_page(request: AppRequest) -> Template:
    return await _export_page(request)


def _export_filters(entity: str, form: FormState) -> ExportFilters:
    values = form.values
    if values["du"] and values["au"] and values["du"] > values["au"]:
        form.add("du", "La date de début doit précéder la date de fin.")
    kind = values["type_instance"] if entity in BODY_ENTITIES else values["type_organisation"]
    wrong = "type_organisation" if entity in BODY_ENTITIES else "type_instance"
    if values[wrong]:
        label = next(f.label for f in EXPORT_FIELDS if f.name == wrong)
        form.add(wrong, f"« {label} » ne s'applique pas à cet export : videz ce champ.")
    return ExportFilters(
        q=values["q"],
        axis=values["axe"],
        kind=kind,
        category=values["categorie"],
        group=values["instance"],
        commune=values["commune"],
        territory=values["territoire"],
        role=values["role"],
        status=values["statut"],
        start=values["du"],
        end=values["au"],
        include_archived=values["archives"],
        mailing=values["envoi"],
    )


@get("/exports/telecharger", guards=WRITE, include_in_schema=False)
async def export_download(
    request: AppRequest,
    entite: str = Parameter(default="contacts", max_length=40),
    format_: Annotated[str, QueryParameter(name="format", max_length=10)] = "csv",
    modele: str | None = Parameter(default=None, max_length=10),
) -> Any:
    form = read_form(EXPORT_FIELDS, request.query_params)
    form.values.update(entite=entite, format=format_, modele=modele)
    filters = _export_filters(entite, form)
    if form.has_errors:
        return await _export_page(request, form, 400)
    try:
        export = start_export(
            request.user,
            entite,
            format_,
            filters,
            modele or None,
            settings_of(request).base_url,
        )
    except ServiceError as error:
        take_service_error(error, form)
        return await _export_page(request, form, 400)
    return export_stream(export)


# ----- imports ---------------------------------------------------------------------------------


def _pending_dir(request: AppRequest) -> Path:
    path: Path = settings_of(request).data_dir / PENDING_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def purge_stale_imports(directory: Path, now: float | None = None) -> int:
    """Delete the uploads older than ``PENDING_MAX_AGE``; returns how many were deleted."""
    if not directory.is_dir():
        return 0
    limit = (time.time() if now is None else now) - PENDING_MAX_AGE.total_seconds()
    deleted = 0
    for path in directory.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
                deleted += 1
        except FileNotFoundError:
            continue  # another worker deleted it first
    return deleted


def purge_stale_imports_at_startup(app: Litestar) -> None:
    purge_stale_imports(app_settings(app).data_dir / PENDING_DIR)


def _session(request: AppRequest) -> dict[str, Any]:
    session = request.scope.get("session")
    return session if isinstance(session, dict) else {}


def _pending(request: AppRequest) -> dict[str, str] | None:
    pending: dict[str, str] | None = _session(request).get("import")
    if not pending or not (_pending_dir(request) / pending["token"]).is_file():
        return None
    return pending


def _forget_pending(request: AppRequest) -> None:
    pending = _session(request).get("import")
    if pending:
        (_pending_dir(request) / pending["token"]).unlink(missing_ok=True)
    session = dict(request.session) if request.scope.get("session") else {}
    session.pop("import", None)
    request.set_session(session)


def _owner_prefix(request: AppRequest) -> str:
    return f"u{request.user.user_id}-"


def _forget_own_uploads(request: AppRequest) -> None:
    """One waiting file per account: a client that drops the updated session cookie (and so
    forgets its previous upload) cannot pile files up on disk."""
    prefix = _owner_prefix(request)
    for path in _pending_dir(request).glob(f"{prefix}*"):
        path.unlink(missing_ok=True)


@get("/imports", guards=WRITE, include_in_schema=False)
async def import_page(request: AppRequest) -> Template:
    return render(request, "echanges/imports.html", kinds=KIND_LABELS, report=None, error=None)


async def _preview(
    request: AppRequest, pending: dict[str, str], status_code: int = 200
) -> Template:
    content = (_pending_dir(request) / pending["token"]).read_bytes()
    try:
        report = await run_import(request.user, content, pending["filename"], pending["kind"])
    except ServiceError as error:
        _forget_pending(request)
        return render(
            request,
            "echanges/imports.html",
            status_code=400,
            kinds=KIND_LABELS,
            report=None,
            error=error_text(error),
        )
    return render(
        request,
        "echanges/imports.html",
        status_code=status_code,
        kinds=KIND_LABELS,
        report=report.to_dict(),
        warnings=[w.to_dict() for w in report.warnings[:SHOWN_WARNINGS]],
        error=None,
    )


@post(
    "/imports",
    guards=WRITE,
    include_in_schema=False,
    request_max_body_size=MAX_IMPORT_BYTES + 1024 * 1024,
)
async def import_upload(
    request: AppRequest,
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Any:
    upload, kind = data.get("fichier"), str(data.get("type") or "contacts")
    if not isinstance(upload, UploadFile) or not upload.filename:
        flash(request, "Choisissez un fichier CSV ou XLSX.", "erreur")
        return redirect("/imports")
    if not isinstance(request.auth, WebSession):
        # Nothing would remember the file for the confirmation: it would wait a day on disk.
        return error_page(
            request,
            400,
            "Le dépôt d'un fichier à confirmer demande une session ouverte par le formulaire "
            "de connexion ; avec un jeton d'API, importez par « POST /api/v1/imports ».",
        )
    if kind not in KINDS:
        kind = "contacts"
    _forget_pending(request)
    _forget_own_uploads(request)
    purge_stale_imports(_pending_dir(request))
    token = f"{_owner_prefix(request)}{secrets.token_urlsafe(24)}"
    (_pending_dir(request) / token).write_bytes(await upload.read())
    pending = {"token": token, "filename": upload.filename[:200], "kind": kind}
    request.set_session({**dict(request.session), "import": pending})
    return await _preview(request, pending)


@post("/imports/confirmer", guards=WRITE, include_in_schema=False)
async def import_confirm(request: AppRequest) -> Any:
    pending = _pending(request)
    if pending is None:
        flash(request, "Aucun import en attente : déposez à nouveau le fichier.", "erreur")
        return redirect("/imports")
    form = await request.form()
    content = (_pending_dir(request) / pending["token"]).read_bytes()
    try:
        report = await run_import(
            request.user,
            content,
            pending["filename"],
            pending["kind"],
            commit=True,
            only_valid=form.get("lignes_valides") == "on",
        )
    except ImportRefused as error:
        flash(request, error.message, "erreur")
        return await _preview(request, pending, 400)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
        return redirect("/imports")
    _forget_pending(request)
    flash(request, report.summary())
    return redirect("/imports")


@get("/imports/avertissements", guards=WRITE, include_in_schema=False)
async def import_warnings(request: AppRequest) -> Any:
    """Every warning of the file waiting for confirmation, as CSV (the page shows 50)."""
    pending = _pending(request)
    if pending is None:
        flash(request, "Aucun import en attente : déposez à nouveau le fichier.", "erreur")
        return redirect("/imports")
    content = (_pending_dir(request) / pending["token"]).read_bytes()
    try:
        report = await run_import(request.user, content, pending["filename"], pending["kind"])
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
        return redirect("/imports")
    stem = Path(pending["filename"]).stem or "import"
    filename = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "-_" else "-" for ch in stem)[
        :80
    ]
    return Response(
        warnings_csv(report),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="avertissements-{filename}.csv"'},
    )


@post("/imports/abandonner", guards=WRITE, include_in_schema=False)
async def import_cancel(request: AppRequest) -> Any:
    _forget_pending(request)
    flash(request, "Import abandonné : rien n'a été enregistré.")
    return redirect("/imports")


# ----- duplicates ------------------------------------------------------------------------------


@get("/doublons", guards=WRITE, include_in_schema=False)
async def duplicate_page(
    request: AppRequest,
    type_: Annotated[str, QueryParameter(name="type", max_length=20)] = "contacts",
) -> Template:
    entity = type_ if type_ in DUPLICATE_TYPES else "contacts"
    pairs = await duplicates.find_duplicates(entity)
    return render(
        request,
        "echanges/doublons.html",
        entity=entity,
        types=DUPLICATE_TYPES,
        pairs=[pair.to_dict() for pair in pairs[:100]],
        total=len(pairs),
    )


# The fields compared side by side, with their labels; the merge keeps, for each, the value of
# the record the coordinator ticked.
COMPARED = {
    "contacts": [("civility", "Civilité"), ("first_name", "Prénom"), ("last_name", "Nom"),
                 ("email", "Adresse électronique"), ("phone", "Téléphone"),
                 ("commune", "Commune")],
    "organisations": [("name", "Nom"), ("kind", "Type"), ("category", "Catégorie"),
                      ("address", "Adresse"), ("commune", "Commune"),
                      ("email", "Adresse électronique"), ("phone", "Téléphone"),
                      ("website", "Site web")],
}  # fmt: skip


@get("/doublons/comparer", guards=WRITE, include_in_schema=False)
async def duplicate_compare(
    request: AppRequest,
    type_: Annotated[str, QueryParameter(name="type", max_length=20)] = "contacts",
    a: Annotated[int | None, QueryParameter(ge=1, le=ROW_ID_MAX)] = None,
    b: Annotated[int | None, QueryParameter(ge=1, le=ROW_ID_MAX)] = None,
) -> Any:
    entity = type_ if type_ in DUPLICATE_TYPES else "contacts"
    if a is None or b is None or a == b:
        flash(request, "Choisissez deux fiches différentes à comparer.", "erreur")
        return redirect(f"/doublons?type={entity}")
    service = SERVICES["contacts" if entity == "contacts" else "organisations"]
    first, second = await service.get(a), await service.get(b)
    communes = await lookups.commune_names(
        [c for c in (first.get("commune"), second.get("commune")) if c is not None]
    )
    rows = []
    for name, label in COMPARED[entity]:
        shown = [_compared_value(name, record, communes) for record in (first, second)]
        rows.append({"name": name, "label": label, "a": shown[0], "b": shown[1],
                     "default": "b" if not shown[0] and shown[1] else "a"})  # fmt: skip
    return render(
        request,
        "echanges/comparer.html",
        entity=entity,
        types=DUPLICATE_TYPES,
        first=first,
        second=second,
        rows=rows,
        linked={
            "a": await duplicates.linked_counts(entity, a),
            "b": await duplicates.linked_counts(entity, b),
        },
    )


def _compared_value(name: str, record: dict[str, Any], communes: dict[int, str]) -> str:
    value = record.get(name)
    if value in (None, ""):
        return ""
    if name == "commune":
        return communes.get(value, f"n° {value}")
    if name == "kind":
        return str(CODE_LABELS["organisation_kind"].get(value, value))
    return str(value)


@post("/doublons/fusionner", guards=WRITE, include_in_schema=False)
async def duplicate_merge(request: AppRequest) -> Any:
    form = await request.form()
    entity = "organisations" if form.get("type") == "organisations" else "contacts"
    ids = {"a": parse_int(form.get("a")), "b": parse_int(form.get("b"))}
    kept_side = form.get("garder")
    if kept_side not in ids or ids["a"] is None or ids["b"] is None:
        flash(request, "Choisissez la fiche à garder.", "erreur")
        return redirect(f"/doublons?type={entity}")
    other_side = "b" if kept_side == "a" else "a"
    keep, remove = ids[kept_side], ids[other_side]
    assert keep is not None and remove is not None
    # Each compared field says whose value to keep: « a » or « b ».
    prefer_other = {name for name, _ in COMPARED[entity] if form.get(f"champ_{name}") == other_side}
    try:
        await duplicates.merge(request.user, entity, keep, remove, prefer_other)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
        return redirect(f"/doublons/comparer?type={entity}&a={ids['a']}&b={ids['b']}")
    flash(request, f"Fiches fusionnées : la fiche n° {remove} a rejoint la n° {keep}.")
    return redirect(f"/doublons?type={entity}")


@post("/doublons/ignorer", guards=WRITE, include_in_schema=False)
async def duplicate_dismiss(request: AppRequest) -> Any:
    form = await request.form()
    entity = "organisations" if form.get("type") == "organisations" else "contacts"
    a, b = parse_int(form.get("a")), parse_int(form.get("b"))
    try:
        await duplicates.dismiss(request.user, entity, a or 0, b or 0)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        flash(request, f"Noté : les fiches n° {a} et n° {b} ne seront plus proposées.")
    return redirect(f"/doublons?type={entity}")


HANDLERS = [
    export_page,
    export_download,
    import_page,
    import_upload,
    import_confirm,
    import_warnings,
    import_cancel,
    duplicate_page,
    duplicate_compare,
    duplicate_merge,
    duplicate_dismiss,
]
