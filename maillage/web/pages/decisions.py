"""Decisions on the pages (#22): record one on the meeting's page, change its status where it
is listed (meeting, body, dashboard). The service is the generic one: same checks, versions
and journal as the API's ``/api/v1/decisions``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import post
from litestar.params import FromPath

from maillage.crm.registry import SERVICES
from maillage.errors import ServiceError
from maillage.vocabulary import DECISION_STATUSES
from maillage.web.pages.common import error_text, flash, parse_int, redirect
from maillage.web.security import AppRequest, requires

WRITE = [requires("coordinateur")]
SERVICE = SERVICES["decisions"]
# Where « changer le statut » comes back to: only these pages, never an address from the form.
BACK = {"reunion": "/reunions/{}#decisions", "instance": "/instances/{}#decisions", "accueil": "/"}


def _date(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@post("/reunions/{record_id:int}/decisions", guards=WRITE, include_in_schema=False)
async def decision_create(request: AppRequest, record_id: FromPath[int]) -> Any:
    form = await request.form()
    summary = str(form.get("summary") or "").strip()
    raw_due = str(form.get("due_on") or "")
    back = f"/reunions/{record_id}#decisions"
    if not summary:
        flash(request, "Décision : écrivez ce qui a été décidé.", "erreur")
        return redirect(back)
    if raw_due and _date(raw_due) is None:
        flash(request, f"Décision : échéance « {raw_due[:20]} » illisible (AAAA-MM-JJ).", "erreur")
        return redirect(back)
    try:
        data = msgspec.convert(
            {
                "summary": summary,
                "meeting": record_id,
                "carrier_contact": parse_int(str(form.get("carrier_contact") or "")),
                "carrier_organisation": parse_int(str(form.get("carrier_organisation") or "")),
                "due_on": raw_due or None,
            },
            SERVICE.spec.input,
        )
        await SERVICE.create(request.user, data)
    except msgspec.ValidationError:
        flash(request, "Décision : texte trop long (2 000 caractères au plus).", "erreur")
        return redirect(back)
    except ServiceError as error:
        flash(request, "Décision non enregistrée : " + error_text(error), "erreur")
        return redirect(back)
    flash(request, "Décision enregistrée.")
    return redirect(back)


@post("/decisions/{record_id:int}/statut", guards=WRITE, include_in_schema=False)
async def decision_status(request: AppRequest, record_id: FromPath[int]) -> Any:
    form = await request.form()
    status = str(form.get("status") or "")
    place = str(form.get("retour") or "accueil")
    target = parse_int(str(form.get("cible") or ""))
    pattern = BACK.get(place, "/")
    back = pattern.format(target) if "{}" in pattern and target else "/"
    if status not in DECISION_STATUSES:
        flash(request, "Statut de décision inconnu.", "erreur")
        return redirect(back)
    try:
        version = int(str(form.get("version") or "0"))
        update = msgspec.convert({"version": version, "status": status}, SERVICE.spec.update)
        await SERVICE.update(request.user, record_id, update)
    except (ValueError, msgspec.ValidationError):
        flash(request, "Décision : version illisible, rechargez la page.", "erreur")
        return redirect(back)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
        return redirect(back)
    flash(request, f"Décision marquée « {DECISION_STATUSES[status].lower()} ».")
    return redirect(back)


HANDLERS = [decision_create, decision_status]
