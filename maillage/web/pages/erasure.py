"""Droit à l'effacement from the contact's page, for administrators (#23).

The same service as ``maillage rgpd anonymise`` and ``POST /api/v1/rgpd/contacts/{id}/anonymise``;
the answer page lists what was scrubbed and, above all, the backups that still hold the person
and the day each one expires: a backup is never rewritten."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import post
from litestar.params import FromPath

from maillage.crm.registry import SERVICES
from maillage.exchange import erasure, rgpd
from maillage.web.pages.common import flash, redirect, render
from maillage.web.security import AppRequest, requires, settings_of

CONFIRMATION = "EFFACER"


@post("/contacts/{record_id:int}/effacer", guards=[requires("admin")], include_in_schema=False)
async def contact_erase(request: AppRequest, record_id: FromPath[int]) -> Any:
    contact = await SERVICES["contacts"].get(record_id)  # 404 before anything else
    if str((await request.form()).get("confirmation") or "").strip().upper() != CONFIRMATION:
        flash(request, f"Effacement non fait : tapez « {CONFIRMATION} » pour confirmer.", "erreur")
        return redirect(f"/contacts/{record_id}#titre-effacement")
    name = f"{contact['first_name']} {contact['last_name']}"
    report = await rgpd.anonymise(request.user, record_id, settings_of(request).data_dir)
    backups = [
        {
            "file": backup["fichier"],
            "made": dt.datetime.fromisoformat(backup["faite_le"]),
            "expires": dt.date.fromisoformat(backup["expire_le"]),
        }
        for backup in report["sauvegardes"]
    ]
    return render(
        request,
        "contacts/effacement.html",
        contact_id=record_id,
        name=name,
        report=report,
        backups=backups,
        retention_days=erasure.BACKUP_RETENTION_DAYS,
        folder=str(settings_of(request).data_dir / "sauvegardes"),
    )


HANDLERS = [contact_erase]
