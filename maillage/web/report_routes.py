"""HTTP routes of the reports: the API under /api/v1/reports (and the indicator values of a
fiche action), and the pages /bilan and /plan-d-action.

Handlers parse, check the role and choose the format; the work is in ``maillage.reports``.
The pages are rendered with the reports' own Jinja environment (auto-escaping, French number
filters) from ``maillage/web/templates/reports``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Response, Router, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from litestar.response import Redirect, Template
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup

from maillage.crm import lookups
from maillage.crm.registry import SERVICES
from maillage.errors import InvalidData, ServiceError
from maillage.french import number, parse_number, percent
from maillage.reports import service
from maillage.reports.actions import (
    EvaluationIn,
    IndicatorValueIn,
    evaluation_of,
    evaluation_problem,
    record_evaluation,
    record_indicator,
)
from maillage.reports.cli import kinds_label
from maillage.reports.coverage import coverage_gaps, diagnostic
from maillage.reports.files import MEDIA_TYPES, file_name
from maillage.reports.render_html import environment
from maillage.tables import ROW_ID_MAX
from maillage.vocabulary import (
    ACTION_STATUSES,
    EVALUATION_DECISIONS,
    FINANCERS,
    ORGANISATION_KINDS,
)
from maillage.web.heavy import heavy_cap
from maillage.web.openapi import error_responses
from maillage.web.pages.common import error_page, render
from maillage.web.security import AppRequest, requires

Year = Annotated[int, Parameter(ge=1900, le=2100, description="Année (ex. : 2026)")]
# Defaults go on the parameters (``territory: TerritoryId = None``), not inside Annotated.
TerritoryId = Annotated[
    int | None,
    QueryParameter(ge=1, description="Territoire (obligatoire s'il y en a plusieurs)"),
]
Kinds = Annotated[
    list[str] | None,
    QueryParameter(
        name="kind",
        description="Types d'organisation à compter (répétable) : " + ", ".join(ORGANISATION_KINDS),
    ),
]
READ: dict[str, Any] = {
    "guards": [requires("lecteur")],
    "responses": error_responses(400, 401, 403, 404),
}
# Bilans, diagnostics and packs: capped per user (``maillage.web.heavy``).
HEAVY: dict[str, Any] = {
    **READ,
    "middleware": [heavy_cap],
    "responses": error_responses(400, 401, 403, 404, 429),
}


def _download(content: bytes, name: str, extension: str) -> Response[bytes]:
    return Response(
        content,
        media_type=MEDIA_TYPES[extension],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@get(
    "/annual",
    summary="Bilan annuel pour la Caf",
    description="JSON (sections, chiffres, tableaux, données manquantes) ou fichier : "
    "`format=docx` (document à compléter), `xlsx` (les lignes derrière chaque chiffre), "
    "`html` (page imprimable).",
    **HEAVY,
)
async def annual_report(
    year: Year,
    territory: TerritoryId = None,
    output: Annotated[
        str, QueryParameter(name="format", description="json, docx, xlsx, html")
    ] = "json",
) -> Any:
    extension = service.check_format(output, service.ANNUAL_FORMATS)
    result = await service.annual(year, territory, dt.date.today(), extension)
    if extension == "json":
        return result
    return _download(result, file_name(year, extension), extension)


@get(
    "/diagnostic",
    summary="Diagnostic territorial",
    description="Matrice communes × axes des partenaires implantés, pondérée par la population, "
    "zones blanches signalées ; par commune, l'obligation petite enfance liée à sa taille, "
    "l'existence du schéma et du relais, la dernière valeur de chaque indicateur importé "
    "(date et source) et le taux de couverture en EAJE ; `format=csv` ou `xlsx` pour un "
    "fichier.",
    **HEAVY,
)
async def territorial_diagnostic(
    territory: TerritoryId = None,
    kinds: Kinds = None,
    output: Annotated[str, QueryParameter(name="format", description="json, csv, xlsx")] = "json",
) -> Any:
    extension = service.check_format(output, service.DIAGNOSTIC_FORMATS)
    chosen = tuple(kinds or ())
    if extension == "json":
        return service.coverage_as_data(await diagnostic(territory, chosen, details=True))
    content, name = await service.diagnostic_download(
        territory, chosen, extension, kinds_label(chosen)
    )
    return _download(content, name, extension)


@get(
    "/coverage-gaps",
    summary="Zones blanches (alerte du tableau de bord)",
    description="Le nombre de zones blanches et les plus peuplées d'abord.",
    **READ,
)
async def gaps(
    territory: TerritoryId = None,
    kinds: Kinds = None,
    limit: int = Parameter(default=20, ge=1, le=500),
) -> dict[str, Any]:
    return await coverage_gaps(territory, tuple(kinds or ()), limit)


@get(
    "/action-plan",
    summary="Plan d'action : fiches et indicateurs d'une année",
    description="Chaque fiche action avec ses indicateurs : cibles et valeurs de l'année et de "
    "l'année précédente, taux de réalisation.",
    **READ,
)
async def action_plan(year: Year, territory: TerritoryId = None) -> dict[str, Any]:
    return await service.action_plan(year, territory, dt.date.today())


@post(
    "/actions/{record_id:int}/indicator-values",
    summary="Saisir la valeur d'un indicateur pour une année",
    description="Valeur (et, si besoin, cible) d'un indicateur de la fiche action pour une "
    "année ; crée l'indicateur s'il n'existe pas. `value: null` efface la valeur de l'année. "
    "Envoyez la `version` lue de la fiche : 409 si elle a changé.",
    status_code=200,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404, 409),
    tags=["Fiche action"],
)
async def indicator_value(
    request: AppRequest,
    # Bounded: PostgreSQL refuses an id beyond 32 bits (a 500 found by Schemathesis).
    record_id: Annotated[int, Parameter(ge=1, le=ROW_ID_MAX)],
    data: JSONBody[IndicatorValueIn],
) -> Any:
    return await record_indicator(request.user, record_id, data)


@post(
    "/actions/{record_id:int}/evaluations",
    summary="Saisir l'évaluation annuelle d'une fiche action",
    description="Ce qui a été réalisé, les résultats (indicateurs atteints ou non et pourquoi), "
    "les partenaires mobilisés, la suite décidée (`poursuivre`, `ajuster`, `arreter`) et le "
    "budget de l'année : une ligne par financeur (`caf`, `commune`, `epci`, `departement`, "
    "`etat`, `region`, `autre`) avec le montant prévu et le montant dépensé, en euros. "
    "Remplace l'évaluation de la même année. Envoyez la `version` lue de la fiche : 409 si "
    "elle a changé.",
    status_code=200,
    guards=[requires("coordinateur")],
    responses=error_responses(400, 401, 403, 404, 409),
    tags=["Fiche action"],
)
async def evaluation(
    request: AppRequest,
    record_id: Annotated[int, Parameter(ge=1, le=ROW_ID_MAX)],
    data: JSONBody[EvaluationIn],
) -> Any:
    return await record_evaluation(request.user, record_id, data)


MeetingId = Annotated[int, Parameter(ge=1, le=ROW_ID_MAX, description="Numéro de la réunion")]
PackFormat = Annotated[str, QueryParameter(name="format", description="docx ou html")]


@get(
    "/meetings/{record_id:int}/pack",
    summary="Dossier de séance d'une réunion",
    description="Le dossier à remettre aux membres : ordre du jour, points appelant un "
    "arbitrage, suites données aux décisions précédentes, fiches action et indicateurs, "
    "évolution du réseau depuis la réunion précédente de l'instance, présence aux instances, "
    "chiffres clés du territoire. `format=docx` (document modifiable) ou `html` (page "
    "imprimable en A4, PDF par l'impression du navigateur). L'export est inscrit au journal.",
    tags=["Réunion"],
    **HEAVY,
)
async def meeting_pack(
    request: AppRequest, record_id: MeetingId, output: PackFormat = "docx"
) -> Response[Any]:
    extension = service.check_format(output, service.PACK_FORMATS)
    content, name = await service.pack_download(request.user, record_id, extension, dt.date.today())
    return _download(content, name, extension)


reports_api = Router(
    path="/api/v1/reports",
    route_handlers=[annual_report, territorial_diagnostic, gaps, action_plan],
    tags=["Bilans et diagnostic"],
)


# ----- pages ----------------------------------------------------------------------------------


def _in_layout(request: AppRequest, title: str, body: str) -> Template:
    """A report rendered by its own environment, shown inside the common layout (menu)."""
    return render(request, "reports/page.html", title=title, body=Markup(body))


def _page(request: AppRequest, template: str, title: str, **context: Any) -> Template:
    env = environment()
    env.globals.update(number=number, percent=percent)
    html = env.get_template(template).render(fragment=True, **context)
    return _in_layout(request, title, html)


async def _without_data(
    request: AppRequest, error: InvalidData, year: int, territory: int | None
) -> Template:
    """A year without data (or a territory to choose) is a normal answer, not a bad request:
    the page says why, in the service's words, and offers another year."""
    return render(
        request,
        "reports/sans_donnees.html",
        year=year,
        territory=territory,
        messages=[item.message for item in error.errors],
        this_year=dt.date.today().year,
        territories=await lookups.territories(),
    )


@get("/bilan", include_in_schema=False, guards=[requires("lecteur")], middleware=[heavy_cap])
async def annual_page(
    request: AppRequest, year: FromQuery[int | None] = None, territory: FromQuery[int | None] = None
) -> Template:
    today = dt.date.today()
    chosen = year or (today.year - 1 if today.month == 1 else today.year)
    query = {"year": chosen, **({"territory": territory} if territory else {})}
    downloads = tuple(
        (f"Télécharger {label}", f"/bilan/telecharger?{urlencode({**query, 'format': ext})}")
        for label, ext in (("le document (DOCX)", "docx"), ("les données (XLSX)", "xlsx"))
    )
    try:
        title, territory_name, html = await service.annual(
            chosen, territory, today, "page", downloads
        )
    except InvalidData as error:
        return await _without_data(request, error, chosen, territory)
    return _in_layout(request, f"{title} — {territory_name}", html)


@get(
    "/bilan/telecharger",
    include_in_schema=False,
    guards=[requires("lecteur")],
    middleware=[heavy_cap],
)
async def annual_page_download(
    request: AppRequest,
    year: FromQuery[int],
    output: Annotated[str, QueryParameter(name="format")],
    territory: FromQuery[int | None] = None,
) -> Response[Any] | Template:
    extension = service.check_format(output, ("docx", "xlsx", "html"))
    try:
        content = await service.annual(year, territory, dt.date.today(), extension)
    except InvalidData as error:
        # Reached from a bookmarked or shared link: the same explanation as /bilan, with
        # the form to choose another year, rather than a generic error page.
        return await _without_data(request, error, year, territory)
    return _download(content, file_name(year, extension), extension)


@get(
    "/reunions/{record_id:int}/dossier",
    include_in_schema=False,
    guards=[requires("lecteur")],
    middleware=[heavy_cap],
)
async def meeting_pack_page(
    request: AppRequest,
    record_id: FromPath[int],
    output: Annotated[str, QueryParameter(name="format")] = "html",
) -> Response[Any]:
    """The pack as a page to print (A4, PDF through the browser), or the DOCX to download."""
    try:
        extension = service.check_format(output, service.PACK_FORMATS)
    except InvalidData as error:  # a hand-edited link: say what the field takes
        return error_page(request, 400, error.errors[0].message)
    if extension == "docx":
        content, name = await service.pack_download(
            request.user, record_id, extension, dt.date.today()
        )
        return _download(content, name, extension)
    links = (
        ("Retour à la réunion", f"/reunions/{record_id}"),
        ("Télécharger le document (DOCX)", f"/reunions/{record_id}/dossier?format=docx"),
    )
    html, _name = await service.pack_download(
        request.user, record_id, "page", dt.date.today(), links
    )
    return Response(html, media_type=MEDIA_TYPES["html"])


@get("/plan-d-action", include_in_schema=False, guards=[requires("lecteur")])
async def action_plan_page(
    request: AppRequest, year: FromQuery[int | None] = None, territory: FromQuery[int | None] = None
) -> Template:
    chosen = year or dt.date.today().year
    plan = await service.action_plan(chosen, territory, dt.date.today())
    return _page(
        request,
        "reports/actions.html",
        f"Plan d'action {plan['year']}",
        plan=plan,
        statuses=ACTION_STATUSES,
        can_write=request.user.can("coordinateur"),
    )


@get("/plan-d-action/{record_id:int}", include_in_schema=False, guards=[requires("lecteur")])
async def action_page(
    request: AppRequest,
    record_id: FromPath[int],
    erreur: FromQuery[str | None] = None,
    annee: Annotated[int | None, QueryParameter(ge=2000, le=2100)] = None,
) -> Template:
    action = await SERVICES["actions"].get(record_id)
    evaluated_year = annee or dt.date.today().year
    years = sorted(
        {y for i in action["indicators"] for y in (*i["targets"], *i["values"])}
        | {str(dt.date.today().year)}
    )
    return _page(
        request,
        "reports/action.html",
        f"{action['title']} — plan d'action",
        action=action,
        years=years,
        statuses=ACTION_STATUSES,
        can_write=request.user.can("coordinateur"),
        error=erreur,
        this_year=dt.date.today().year,
        csrf_token=_csrf_token(request),
        evaluated_year=evaluated_year,
        evaluation=evaluation_of(action, evaluated_year),
        financers=FINANCERS,
        evaluation_decisions=EVALUATION_DECISIONS,
        budget_rows=BUDGET_ROWS,
    )


def _csrf_token(request: AppRequest) -> str:
    """The anti-forgery token of this request (these fragments are rendered outside Litestar's
    template response, which alone offers ``csrf_input``)."""
    return value_or_default(ScopeState.from_scope(request.scope).csrf_token, "")


def _parse_number(raw: str, field: str) -> float | None:
    try:
        return parse_number(raw)
    except ValueError as error:
        raise InvalidData.one(field, str(error)) from error


@post(
    "/plan-d-action/{record_id:int}/indicateurs",
    include_in_schema=False,
    guards=[requires("coordinateur")],
)
async def action_page_record(
    request: AppRequest,
    record_id: FromPath[int],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect:
    try:
        value = msgspec.convert(
            {
                "version": int(data.get("version") or 0),
                "indicator": data.get("indicator", "").strip(),
                "year": int(data.get("year") or 0),
                "value": _parse_number(data.get("value", ""), "value"),
                "target": _parse_number(data.get("target", ""), "target"),
            },
            IndicatorValueIn,
        )
        await record_indicator(request.user, record_id, value)
    except (ServiceError, ValueError, msgspec.ValidationError) as error:
        errors = getattr(error, "errors", None)
        text = errors[0].message if errors else getattr(error, "message", "Saisie invalide.")
        return Redirect(
            f"/plan-d-action/{record_id}?{urlencode({'erreur': text})}", status_code=303
        )
    return Redirect(f"/plan-d-action/{record_id}", status_code=303)


# Blank budget rows offered by the evaluation form beyond the lines already entered.
BUDGET_ROWS = 4


def _budget_lines(data: dict[str, str]) -> list[dict[str, Any]]:
    """The form's budget rows as lines; a row with neither financer nor amount is left out, a
    row with an amount but no financer is an error named by its row."""
    lines = []
    for row in range(BUDGET_ROWS + 30):
        financer = data.get(f"financer_{row}", "").strip()
        planned = _parse_number(data.get(f"planned_{row}", ""), "budget")
        spent = _parse_number(data.get(f"spent_{row}", ""), "budget")
        note = data.get(f"note_{row}", "").strip()
        if not financer and planned is None and spent is None and not note:
            continue
        if not financer:
            raise InvalidData.one(
                "budget", f"Ligne de budget n° {row + 1} : choisissez le financeur."
            )
        lines.append(
            {"financer": financer, "planned": planned or 0.0, "spent": spent, "note": note}
        )
    return lines


@post(
    "/plan-d-action/{record_id:int}/evaluation",
    include_in_schema=False,
    guards=[requires("coordinateur")],
)
async def action_page_evaluation(
    request: AppRequest,
    record_id: FromPath[int],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect:
    year = data.get("year", "").strip()
    back = f"/plan-d-action/{record_id}?" + urlencode({"annee": year} if year.isdigit() else {})
    try:
        evaluation = msgspec.convert(
            {
                "version": int(data.get("version") or 0),
                "year": int(year or 0),
                "done": data.get("done", "").strip(),
                "results": data.get("results", "").strip(),
                "partners": data.get("partners", "").strip(),
                "decision": data.get("decision") or None,
                "budget": _budget_lines(data),
            },
            EvaluationIn,
        )
        await record_evaluation(request.user, record_id, evaluation)
    except (ServiceError, ValueError, msgspec.ValidationError) as error:
        return Redirect(f"{back}&{urlencode({'erreur': _form_error(error)})}", status_code=303)
    return Redirect(f"{back}#evaluation", status_code=303)


def _form_error(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    if errors:
        message: str = errors[0].message
        return message
    if isinstance(error, msgspec.ValidationError):
        return evaluation_problem(error)
    return getattr(error, "message", "Saisie invalide.")


reports_pages = Router(
    path="/",
    route_handlers=[
        annual_page,
        annual_page_download,
        meeting_pack_page,
        action_plan_page,
        action_page,
        action_page_record,
        action_page_evaluation,
    ],
)
reports_router = Router(
    path="/",
    route_handlers=[
        reports_api,
        Router(path="/api/v1", route_handlers=[indicator_value, evaluation, meeting_pack]),
        reports_pages,
    ],
)
