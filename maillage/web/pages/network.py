"""Réseau: the drawing, the under-connected partners with reasons and suggestions, and the
button that acts on a suggestion (register the partner in a body).

The drawing is the network module's own page, served here behind the session (the API under
``/api/`` reads bearer tokens only) with its own Content-Security-Policy, framed by ``/reseau``.
"""

from __future__ import annotations

import secrets
from typing import Any, Literal

from litestar import Request, Response, get, post
from litestar.params import Parameter
from litestar.response import Template

from maillage.crm import lookups
from maillage.crm.errors import ServiceError
from maillage.crm.network import add_to_body, network_service
from maillage.graph import drawing
from maillage.graph.data import NetworkFilter
from maillage.web.pages.common import error_text, flash, parse_int, query_string, redirect, render
from maillage.web.security import requires

TOP = 15
LEVELS = {"organisations": "Organisations", "contacts": "Personnes"}


Level = Literal["organisations", "contacts"]


def _selection(axe: str | None, niveau: str) -> tuple[NetworkFilter, Level, dict[str, Any]]:
    axis = parse_int(axe)
    level: Level = "contacts" if niveau == "contacts" else "organisations"
    selection = NetworkFilter(axes=frozenset({axis} if axis else ()))
    return selection, level, {"axe": axis, "niveau": level}


def _record_link(node: str) -> str | None:
    """Node keys are « o12 » (organisation) or « c7 » (contact)."""
    pages = {"o": "/partenaires/", "c": "/contacts/"}
    if node[:1] in pages and node[1:].isdigit():
        return pages[node[:1]] + node[1:]
    return None


@get("/reseau", include_in_schema=False)
async def network_page(
    request: Request,
    axe: str | None = Parameter(default=None, max_length=12),
    niveau: str = Parameter(default="organisations", max_length=20),
) -> Template:
    selection, level, params = _selection(axe, niveau)
    report = (await network_service.report(selection, level)).to_dict()
    advice = {item["id"]: item for item in report["suggestions"]}
    findings = [
        {**item, "link": _record_link(item["id"]), "advice": advice.get(item["id"])}
        for item in report["under_connected"]
    ]
    nodes = [row for row in report["nodes"] if row["type"] != "group"]
    best = sorted(nodes, key=lambda row: (-(row.get("degree") or 0), row["name"]))[:TOP]
    return render(
        request,
        "reseau.html",
        report=report,
        best_connected=[{**row, "link": _record_link(row["id"])} for row in best],
        findings=findings,
        params=params,
        drawing_query=query_string(params),
        levels=LEVELS,
        axes=await lookups.axes(),
        record_link=_record_link,
    )


@get("/reseau/dessin", include_in_schema=False, media_type="text/html")
async def network_drawing(
    axe: str | None = Parameter(default=None, max_length=12),
    niveau: str = Parameter(default="organisations", max_length=20),
    autonome: bool = False,
) -> Response:
    selection, level, _ = _selection(axe, niveau)
    if autonome:
        html = await network_service.rendered("html", selection, level)
        headers = {"Content-Disposition": 'attachment; filename="reseau.html"'}
        return Response(html, media_type="text/html; charset=utf-8", headers=headers)
    nonce = secrets.token_urlsafe(16)
    html = drawing.render_html(await network_service.report(selection, level), nonce=nonce)
    return Response(
        html,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": drawing.content_security_policy(nonce),
            # Framed by /reseau, on the same site only.
            "X-Frame-Options": "SAMEORIGIN",
        },
    )


@post("/reseau/inscrire", guards=[requires("coordinateur")], include_in_schema=False)
async def add_suggested_member(request: Request) -> Any:
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
