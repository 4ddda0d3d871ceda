"""Diagnostic: the territory on two maps drawn by the server (#18) — communes coloured by their
partners on an axis or by an imported indicator, zones blanches hatched, partners at their
commune sized by their centrality — with the petite enfance duties of each commune and the form
where the coordinator records whether the schéma and the relais exist."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from maillage.crm import lookups
from maillage.crm.childcare import record_childcare
from maillage.crm.scope import current as current_scope
from maillage.errors import InvalidData, ServiceError
from maillage.reports.territory_maps import PARTNERS, diagnostic_maps
from maillage.web.pages.common import error_text, flash, parse_int, redirect, render
from maillage.web.security import AppRequest, requires

KNOWN = {"oui": True, "non": False, "": None}


@get("/diagnostic", guards=[requires("lecteur")], include_in_schema=False)
async def diagnostic_page(
    request: AppRequest,
    territoire: Annotated[str | None, QueryParameter(max_length=12)] = None,
    axe: Annotated[str | None, QueryParameter(max_length=12)] = None,
    mesure: Annotated[str | None, QueryParameter(max_length=40)] = None,
    date: Annotated[str | None, QueryParameter(max_length=10)] = None,
    date_de: Annotated[str | None, QueryParameter(max_length=40)] = None,
) -> Template:
    territories = await lookups.territories()
    territory = parse_int(territoire)
    if territory is None and len(territories) > 1:
        # A user scoped to territories (#20) starts on one of theirs.
        scope = current_scope()
        mine = [t["id"] for t in territories if scope is None or t["id"] in scope.roles]
        territory = (mine or [territories[0]["id"]])[0]
    context: dict[str, Any] = {
        "territories": territories,
        "territory": territory,
        "maps": None,
        "errors": [],
    }
    try:
        measure = mesure or PARTNERS
        # The date chosen for another indicator (the form keeps it when the measure changes)
        # does not apply: the new one starts on its latest values.
        day = parse_day(date) if date and date_de in (None, measure) else None
        context["maps"] = await diagnostic_maps(territory, parse_int(axe), measure, day)
    except ServiceError as error:
        context["errors"] = (
            [item.message for item in error.errors]
            if isinstance(error, InvalidData)
            else [str(error)]
        )
    status = 400 if context["errors"] and (axe or mesure or date) else 200
    return render(request, "diagnostic.html", status_code=status, **context)


def parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidData.one(
            "date", f"Date illisible : « {text} » (attendu AAAA-MM-JJ)."
        ) from None


@post(
    "/diagnostic/communes/{record_id:int}/petite-enfance",
    guards=[requires("coordinateur")],
    include_in_schema=False,
)
async def childcare_form(request: AppRequest, record_id: FromPath[int]) -> Any:
    form = await request.form()
    back = {k: form.get(k) for k in ("territoire", "axe", "mesure") if form.get(k)}
    values = {name: str(form.get(name) or "") for name in ("schema", "relais")}
    try:
        if any(v not in KNOWN for v in values.values()):
            raise InvalidData.one("schema", "Réponse attendue : oui, non ou non renseigné.")
        saved = await record_childcare(
            request.user,
            record_id,
            KNOWN[values["schema"]],
            KNOWN[values["relais"]],
            str(form.get("note") or ""),
        )
        flash(request, f"Petite enfance de {saved['commune_name']} enregistrée.")
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    query = f"?{urlencode(back)}" if back else ""
    return redirect(f"/diagnostic{query}#petite-enfance")


HANDLERS = [diagnostic_page, childcare_form]
