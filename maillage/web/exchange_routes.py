"""HTTP API of data exchange: exports, imports, duplicates and RGPD rights, under ``/api/v1``.

Handlers parse the request, check the role and call the exchange services; the rules live in
the services, shared with the command line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import anyio
from litestar import Response, Router, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody, PathParameter, QueryParameter
from litestar.response import Stream

from maillage.exchange import duplicates, rgpd
from maillage.exchange.exports import FORMATS, Export, start_export
from maillage.exchange.imports import run_import
from maillage.exchange.mapping import KINDS
from maillage.exchange.reading import MAX_IMPORT_BYTES
from maillage.exchange.sources import ExportFilters, closing
from maillage.tables import ROW_ID_MAX
from maillage.web.heavy import heavy_cap
from maillage.web.openapi import error_responses
from maillage.web.security import AppRequest, requires, settings_of

RecordId = Annotated[int, PathParameter(ge=1, le=ROW_ID_MAX, description="Identifiant du contact")]


def _filters(**values: Any) -> ExportFilters:
    return ExportFilters(**{k: v for k, v in values.items() if v is not None})


@get(
    "/exports/{filename:str}",
    summary="Exporter (CSV, XLSX, vCard, « Export Caf »)",
    description=(
        "`{entité}.{format}` : `organisations`, `contacts`, `memberships`, `meetings` (avec la "
        "présence) ou `annuaire` (XLSX, une feuille par type) ; format `csv` (Excel français : "
        "UTF-8 avec BOM, `;`, dates JJ/MM/AAAA), `xlsx` ou `vcf` (contacts). `preset=caf` : "
        "colonnes fixes de l'Export Caf. Les filtres sont ceux des listes. Le fichier est produit "
        "au fil de l'eau et l'export est inscrit au journal."
    ),
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 429),
    middleware=[heavy_cap],
    operation_id="export",
)
async def export_file(
    request: AppRequest,
    filename: Annotated[
        str, PathParameter(max_length=40, description="contacts.csv, annuaire.xlsx…")
    ],
    preset: Annotated[
        Literal["caf"] | None, QueryParameter(description="Modèle de colonnes")
    ] = None,
    q: Annotated[str | None, QueryParameter(max_length=200, description="Recherche")] = None,
    axis: Annotated[
        int | None, QueryParameter(ge=1, le=ROW_ID_MAX, description="Axe de la CTG")
    ] = None,
    kind: Annotated[
        str | None, QueryParameter(max_length=40, description="Type (organisation ou instance)")
    ] = None,
    category: Annotated[
        str | None, QueryParameter(max_length=100, description="Catégorie d'organisation")
    ] = None,
    group: Annotated[
        int | None, QueryParameter(ge=1, le=ROW_ID_MAX, description="Instance")
    ] = None,
    commune: Annotated[
        int | None, QueryParameter(ge=1, le=ROW_ID_MAX, description="Commune")
    ] = None,
    territory: Annotated[
        int | None, QueryParameter(ge=1, le=ROW_ID_MAX, description="Territoire")
    ] = None,
    organisation: Annotated[
        int | None, QueryParameter(ge=1, le=ROW_ID_MAX, description="Organisation")
    ] = None,
    role: Annotated[
        str | None, QueryParameter(max_length=20, description="Rôle dans l'instance")
    ] = None,
    status: Annotated[
        str | None, QueryParameter(max_length=20, description="Statut de réunion")
    ] = None,
    start: Annotated[
        dt.date | None, QueryParameter(description="Période : à partir du (AAAA-MM-JJ)")
    ] = None,
    end: Annotated[
        dt.date | None, QueryParameter(description="Période : jusqu'au (AAAA-MM-JJ)")
    ] = None,
    include_archived: Annotated[
        bool, QueryParameter(description="Inclure les fiches archivées")
    ] = False,
    mailing: Annotated[
        bool, QueryParameter(description="Pour un envoi : sans les personnes opposées")
    ] = False,
) -> Stream:
    entity, _, fmt = filename.rpartition(".")
    filters = _filters(
        q=q, axis=axis, kind=kind, category=category, group=group, commune=commune,
        territory=territory, organisation=organisation, role=role, status=status,
        start=start, end=end, include_archived=include_archived, mailing=mailing,
    )  # fmt: skip
    base_url = settings_of(request).base_url
    export = start_export(request.user, entity, fmt, filters, preset, base_url)
    return export_stream(export)


def export_stream(export: Export) -> Stream:
    """The export as a streamed download (API and page), closed even if the client leaves.

    Litestar cancels the sending task when the client disconnects but leaves the iterator
    suspended: the background task, run after the response either way, closes it in the
    request's context, so its transaction, connection and audit event are dealt with at once.
    """
    chunks = _shielded(export.chunks)
    return Stream(
        chunks,
        media_type=FORMATS[export.filename.rpartition(".")[2]],
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
        background=BackgroundTask(_close, chunks),
    )


async def _close(chunks: AsyncGenerator[bytes, None]) -> None:
    # A coroutine function: Litestar would run the bare ``aclose`` method as a sync callable
    # in a thread, and the closing it returns would never be awaited.
    await chunks.aclose()


async def _shielded(chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    """Each chunk is produced whole: a disconnection cancels the sending, never a database
    read halfway (its clean-up would be cancelled too, leaving the connection open)."""
    async with closing(chunks) as source:
        while True:
            with anyio.CancelScope(shield=True):
                try:
                    chunk = await anext(source)
                except StopAsyncIteration:
                    return
            yield chunk


@dataclass
class ImportForm:
    file: UploadFile
    mapping: UploadFile | None = None


@post(
    "/imports",
    summary="Importer un fichier CSV ou XLSX (simulation par défaut)",
    description=(
        "Formulaire multipart : `file` (CSV ou XLSX, 20 Mo au plus), `mapping` facultatif "
        '(JSON `{"Colonne": "champ"}` ou CSV à deux colonnes). Sans `commit=true`, rien '
        "n'est écrit : la réponse liste ce qui serait créé, mis à jour ou rejeté, avec ligne, "
        "colonne et motif. Avec `commit=true`, tout ou rien, sauf `only_valid=true`."
    ),
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 409, 413),
    operation_id="import",
    status_code=200,
    request_max_body_size=MAX_IMPORT_BYTES + 1024 * 1024,
)
async def import_file(
    request: AppRequest,
    data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    kind: Annotated[
        Literal["contacts", "organisations", "communes", "groups", "memberships", "indicateurs"],
        QueryParameter(description="Type de données : " + ", ".join(KINDS)),
    ] = "contacts",
    commit: Annotated[bool, QueryParameter(description="Enregistrer (sinon : simulation)")] = False,
    only_valid: Annotated[
        bool, QueryParameter(description="N'importer que les lignes valides")
    ] = False,
) -> dict[str, Any]:
    content = await data.file.read()
    mapping = await data.mapping.read() if data.mapping is not None else None
    report = await run_import(
        request.user, content, data.file.filename or "fichier", kind, mapping, commit, only_valid
    )
    return report.to_dict()


@get(
    "/duplicates",
    summary="Doublons probables (score et raisons)",
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403),
    operation_id="list_duplicates",
)
async def list_duplicates(
    entity: Annotated[
        Literal["contacts", "organisations"],
        QueryParameter(name="type", description="contacts ou organisations"),
    ] = "contacts",
    threshold: Annotated[
        int, QueryParameter(ge=0, le=100, description="Score minimal")
    ] = duplicates.THRESHOLD,
) -> list[dict[str, Any]]:
    return [pair.to_dict() for pair in await duplicates.find_duplicates(entity, threshold)]


@dataclass
class MergeRequest:
    type: Literal["contacts", "organisations"]
    keep: int
    remove: int


@post(
    "/duplicates/merge",
    summary="Fusionner deux fiches (la seconde dans la première)",
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404, 409),
    operation_id="merge_duplicates",
    status_code=200,
)
async def merge_duplicates(request: AppRequest, data: JSONBody[MergeRequest]) -> dict[str, Any]:
    return await duplicates.merge(request.user, data.type, data.keep, data.remove)


@get(
    "/rgpd/contacts/{contact_id:int}",
    summary="RGPD : toutes les données d'une personne (droit d'accès)",
    description="`format=json` (par défaut) ou `format=html` (document lisible, en français).",
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404),
    operation_id="rgpd_access",
)
async def rgpd_access(
    contact_id: RecordId,
    format: Annotated[Literal["json", "html"], QueryParameter(description="json ou html")] = "json",
) -> Response[Any]:
    data = await rgpd.subject_access(contact_id)
    if format == "html":
        return Response(rgpd.subject_access_html(data), media_type="text/html")
    return Response(data, media_type="application/json")


@post(
    "/rgpd/contacts/{contact_id:int}/anonymise",
    summary="RGPD : anonymiser une personne (droit à l'effacement)",
    description="Irréversible. Garde les chiffres de présence ; efface la personne de chaque "
    "table (colonnes de recherche comprises), du journal, de la boîte d'envoi, des fichiers .eml "
    "et des exports conservés ; révoque ses liens ; liste les sauvegardes qui la contiennent "
    "encore (`sauvegardes`) et leur date d'expiration.",
    guards=[requires("admin")],
    responses=error_responses(400, 401, 403, 404),
    operation_id="rgpd_anonymise",
    status_code=200,
)
async def rgpd_anonymise(request: AppRequest, contact_id: RecordId) -> dict[str, Any]:
    return await rgpd.anonymise(request.user, contact_id, settings_of(request).data_dir)


@get(
    "/rgpd/notice",
    summary="RGPD : note d'information (article 14), modèle pour un envoi",
    guards=[requires("lecteur")],
    responses=error_responses(401, 403),
    operation_id="rgpd_notice",
    media_type="text/plain",
)
async def rgpd_notice(request: AppRequest) -> str:
    return await rgpd.information_notice(settings_of(request).mail_from)


@get(
    "/rgpd/retention",
    summary="RGPD : contacts sans activité depuis le délai de conservation",
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403),
    operation_id="rgpd_retention",
)
async def rgpd_retention(
    months: Annotated[
        int, QueryParameter(ge=1, le=240, description="Délai en mois après la fin de la CTG")
    ] = rgpd.DEFAULT_RETENTION_MONTHS,
) -> dict[str, Any]:
    plain: dict[str, Any] = rgpd.json_ready(await rgpd.retention_check(months))
    return plain


@get(
    "/rgpd/register",
    summary="RGPD : projet de fiche du registre des traitements",
    guards=[requires("lecteur")],
    responses=error_responses(401, 403),
    operation_id="rgpd_register",
    media_type="text/markdown",
)
async def rgpd_register() -> str:
    return await rgpd.processing_register()


def exchange_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            export_file,
            import_file,
            list_duplicates,
            merge_duplicates,
            rgpd_access,
            rgpd_anonymise,
            rgpd_notice,
            rgpd_retention,
            rgpd_register,
        ],
        tags=["Échange de données"],
    )
