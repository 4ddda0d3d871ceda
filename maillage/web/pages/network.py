"""Réseau: the drawing, the under-connected partners with reasons and suggestions, and the
button that acts on a suggestion (register the partner in a body).

The drawing is the network module's own page, served here behind the session (the API under
``/api/`` reads bearer tokens only) with its own Content-Security-Policy, framed by ``/reseau``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from litestar import Response, get, post
from litestar.params import FromQuery
from litestar.response import Template

from maillage.crm import lookups
from maillage.errors import NotFound, ServiceError
from maillage.folding import fold
from maillage.graph import drawing
from maillage.graph.data import NetworkFilter
from maillage.graph.network import add_to_body, network_service
from maillage.tables import ROW_ID_MAX
from maillage.web.heavy import heavy_cap
from maillage.web.pages.common import (
    Field,
    FormState,
    error_page,
    error_text,
    flash,
    parse_int,
    query_string,
    read_form,
    redirect,
    render,
)
from maillage.web.pages.labels import choices
from maillage.web.security import AppRequest, requires

TOP = 15
LEVELS = {"organisations": "Organisations", "contacts": "Personnes"}
MAX_CHOICES = 100
KINDS = dict(choices("organisation_kind"))
# The filters the network service accepts (``NetworkFilter``), as a GET form.
FILTER_FIELDS = [
    Field("du", "Du", "date", hint="Liens actifs et réunions tenues pendant la période."),
    Field("au", "Au", "date", hint="Par défaut : aujourd'hui."),
    Field("axe", "Axes de la CTG", "multi", choices="axes"),
    Field("type", "Types d'organisation", "multi", choices=choices("organisation_kind")),
    Field("commune", "Communes", "multiselect", choices="communes"),
    Field("archives", "Inclure les fiches archivées", "checkbox"),
]


Level = Literal["organisations", "contacts"]


@dataclass
class Selection:
    filter: NetworkFilter
    level: Level
    form: FormState
    params: dict[str, Any]


def _kinds(query: Any, form: FormState) -> list[str]:
    kinds = [str(v) for v in query.getall("type", []) if str(v).strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        form.add("type", f"Type d'organisation non reconnu : {', '.join(unknown[:3])}.")
    return [k for k in kinds if k in KINDS]


def _selection(request: AppRequest) -> Selection:
    """The page's query string to a network filter, with French messages for what is wrong."""
    query = request.query_params
    # Kinds are text codes, not the record ids the « multi » fields convert to.
    form = read_form([f for f in FILTER_FIELDS if f.name != "type"], query)
    kinds = _kinds(query, form)
    values = form.values
    for name in ("axe", "commune"):
        if len(values[name]) > MAX_CHOICES:
            form.add(name, f"{MAX_CHOICES} choix au plus.")
    if values["du"] and values["au"] and values["du"] > values["au"]:
        form.add("du", "La date de début doit précéder la date de fin.")
    level: Level = "contacts" if query.get("niveau") == "contacts" else "organisations"
    form.values["type"] = kinds
    selection = NetworkFilter(
        start=values["du"],
        end=values["au"],
        axes=frozenset(values["axe"]),
        communes=frozenset(values["commune"]),
        kinds=frozenset(kinds),
        include_archived=bool(values["archives"]),
    )
    params = {
        "niveau": level,
        "du": values["du"].isoformat() if values["du"] else None,
        "au": values["au"].isoformat() if values["au"] else None,
        "axe": values["axe"],
        "type": kinds,
        "commune": values["commune"],
        "archives": "on" if values["archives"] else None,
    }
    return Selection(selection, level, form, params)


FIRST_SHOWN = 5  # partners « à faire en premier »: a short list one can act on today
# Cards in the full list before « afficher tout »: on a département's data the whole list
# (thousands of cards, each with its enrol forms) weighed 4.7 MB.
LISTED = 100


def _day(value: Any) -> dt.date | None:
    """The report gives days as ISO text (it is also JSON); the page shows them in French."""
    try:
        return dt.date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _record_link(node: str) -> str | None:
    """Node keys are « o12 » (organisation) or « c7 » (contact)."""
    pages = {"o": "/partenaires/", "c": "/contacts/"}
    if node[:1] in pages and node[1:].isdigit():
        return pages[node[:1]] + node[1:]
    return None


def _territory(request: AppRequest) -> int | None:
    """« ?territoire=N »: one of the user's territories (another is 404); by default all of
    them together (#20)."""
    value = request.query_params.get("territoire", "")
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= ROW_ID_MAX:
        raise NotFound("Territoire", value)
    return int(value)


PAGE_PARTS = ("empty_reason", "network", "nodes", "under_connected", "suggestions")


@get("/reseau", include_in_schema=False, middleware=[heavy_cap])
async def network_page(request: AppRequest) -> Template:
    chosen = _selection(request)
    context: dict[str, Any] = {
        "form": chosen.form,
        "fields": FILTER_FIELDS,
        "params": chosen.params,
        "levels": LEVELS,
        "options": {"axes": await lookups.axes(), "communes": await lookups.filter_communes()},
        "record_link": _record_link,
    }
    if chosen.form.has_errors:
        return render(request, "reseau.html", status_code=400, report=None, **context)
    # The parts the page shows, as JSON made by the heavy-work process (#16): decoding it here
    # costs a few milliseconds, the analysis pickled back and its ``to_dict`` cost far more.
    report = msgspec.json.decode(
        await network_service.json(
            PAGE_PARTS, chosen.filter, chosen.level, territory=_territory(request)
        )
    )
    advice = {item["id"]: item for item in report["suggestions"]}
    findings = [
        {**item, "link": _record_link(item["id"]), "advice": advice.get(item["id"])}
        for item in report["under_connected"]
    ]
    nodes = [row for row in report["nodes"] if row["type"] != "group"]
    best = sorted(nodes, key=lambda row: (-(row.get("degree") or 0), fold(row["name"])))[:TOP]
    whole_list = request.query_params.get("tous") == "oui"
    return render(
        request,
        "reseau.html",
        report=report,
        best_connected=[
            {**row, "link": _record_link(row["id"]), "last_contact": _day(row.get("last_contact"))}
            for row in best
        ],
        findings=findings,
        listed_findings=findings if whole_list else findings[:LISTED],
        whole_list=whole_list,
        first_shown=FIRST_SHOWN,
        drawing_query=query_string(chosen.params),
        **context,
    )


@get("/reseau/dessin", include_in_schema=False, media_type="text/html", middleware=[heavy_cap])
async def network_drawing(request: AppRequest, autonome: FromQuery[bool] = False) -> Response[Any]:
    chosen = _selection(request)
    if chosen.form.has_errors:
        messages = [m for errors in chosen.form.errors.values() for m in errors]
        return error_page(request, 400, "Filtres invalides : " + " ".join(messages))
    if autonome:
        html = await network_service.rendered(
            "html", chosen.filter, chosen.level, territory=_territory(request)
        )
        headers = {"Content-Disposition": 'attachment; filename="reseau.html"'}
        return Response(html, media_type="text/html", headers=headers)
    nonce = secrets.token_urlsafe(16)
    marked = await network_service.rendered(
        "drawing", chosen.filter, chosen.level, territory=_territory(request)
    )
    assert isinstance(marked, str)
    html = drawing.with_nonce(marked, nonce)
    return Response(
        html,
        media_type="text/html",
        headers={
            "Content-Security-Policy": drawing.content_security_policy(nonce),
            # Framed by /reseau, on the same site only.
            "X-Frame-Options": "SAMEORIGIN",
        },
    )


@post("/reseau/inscrire", guards=[requires("coordinateur")], include_in_schema=False)
async def add_suggested_member(request: AppRequest) -> Any:
    data = await request.form()
    group = parse_int(data.get("working_group"))
    if group is None:
        flash(request, "Choisissez l'instance.", "erreur")
        return redirect("/reseau")
    try:
        membership = await add_to_body(
            request.user,
            group,
            parse_int(data.get("organisation")),
            parse_int(data.get("contact")),
        )
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
        return redirect("/reseau#sous-connectes")
    flash(
        request,
        "Inscription enregistrée dans l'instance. Invitez cette personne à la prochaine "
        "réunion depuis la page de la réunion.",
    )
    return redirect(f"/instances/{membership['working_group']}")


HANDLERS = [network_page, network_drawing, add_suggested_member]
