"""The service public de la petite enfance by commune size (#18), and what the coordinator
records of it.

Since 1 January 2025 every commune is an « autorité organisatrice » of childcare; above 3,500
inhabitants it must plan the offer (recensement des besoins, information of families), and above
10,000 it must also adopt a schéma pluriannuel de maintien et de développement de l'offre
d'accueil and run a relais petite enfance from 1 January 2026 (art. L.214-1-3 and D.214-10-1
CASF). The population is the commune's population municipale as recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from piccolo.columns import Column

from maillage.actor import Actor
from maillage.crm import audit
from maillage.crm.scope import current as current_scope
from maillage.db import read_transaction, write_transaction
from maillage.errors import Forbidden, InvalidData, NotFound
from maillage.tables import ROW_ID_MAX, Commune, CommuneChildcare
from maillage.vocabulary import COORDINATOR

PLANNING_THRESHOLD = 3_500
SCHEMA_THRESHOLD = 10_000
PLANNING = "planification"
SCHEMA = "schema_relais"
DUTY_LABELS = {
    PLANNING: "Plus de 3 500 habitants : planifier l'offre d'accueil du jeune enfant",
    SCHEMA: (
        "Plus de 10 000 habitants : schéma pluriannuel de l'offre d'accueil et relais petite "
        "enfance (depuis le 1er janvier 2026, art. D.214-10-1 CASF)"
    ),
}
SHORT_LABELS = {PLANNING: "Planification de l'offre", SCHEMA: "Schéma et relais"}
NOTE_MAX = 2_000


def duty(population: int | None) -> str | None:
    """The obligation a commune's size brings, or None below 3,500 inhabitants."""
    if population is None:
        return None
    if population > SCHEMA_THRESHOLD:
        return SCHEMA
    if population > PLANNING_THRESHOLD:
        return PLANNING
    return None


async def childcare_of(commune_ids: list[int]) -> dict[int, dict[str, Any]]:
    """What is recorded for each commune (absent: nothing recorded)."""
    rows = await CommuneChildcare.select(
        CommuneChildcare.id,
        CommuneChildcare.commune,
        CommuneChildcare.schema_exists,
        CommuneChildcare.relais_exists,
        CommuneChildcare.note,
        CommuneChildcare.version,
        CommuneChildcare.updated_at,
    ).where(CommuneChildcare.commune.is_in(commune_ids or [0]))
    return {row["commune"]: row for row in rows}


async def commune_childcare(commune_id: int) -> dict[str, Any]:
    if not 1 <= commune_id <= ROW_ID_MAX:  # past PostgreSQL's integer: no such commune, not a 500
        raise NotFound("Commune", commune_id)
    async with read_transaction():
        commune = (
            await Commune.select(Commune.id, Commune.name, Commune.insee_code, Commune.population)
            .where(Commune.id == commune_id)
            .first()
        )
        if commune is None:
            raise NotFound("Commune", commune_id)
        recorded = (await childcare_of([commune_id])).get(commune_id)
    return _view(commune, recorded)


def _view(commune: dict[str, Any], recorded: dict[str, Any] | None) -> dict[str, Any]:
    code = duty(commune["population"])
    return {
        "commune": commune["id"],
        "commune_name": commune["name"],
        "insee_code": commune["insee_code"],
        "population": commune["population"],
        "duty": code,
        "duty_label": DUTY_LABELS.get(code or "", "Aucune obligation liée à la taille"),
        "schema_exists": recorded["schema_exists"] if recorded else None,
        "relais_exists": recorded["relais_exists"] if recorded else None,
        "note": recorded["note"] if recorded else "",
        "version": recorded["version"] if recorded else 0,
    }


def check_scope(territory: int | None) -> None:
    """A coordinator scoped to territories (#20) records the communes of those territories
    only; one without territories records any."""
    scope = current_scope()
    if scope is not None and not scope.can_write(territory, COORDINATOR):
        raise Forbidden(
            "Cette commune n'appartient pas à un territoire où vous êtes coordinateur : "
            "vous ne pouvez pas y noter le schéma ni le relais."
        )


async def record_childcare(
    actor: Actor,
    commune_id: int,
    schema_exists: bool | None,
    relais_exists: bool | None,
    note: str = "",
) -> dict[str, Any]:
    """Record whether the commune's schéma and relais exist (None: not known)."""
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise InvalidData.one("note", f"La remarque dépasse {NOTE_MAX} caractères.")
    if any(ord(c) < 32 and c not in "\n\r\t" for c in note):
        raise InvalidData.one("note", "La remarque contient des caractères de contrôle.")
    values: dict[str, Any] = {
        "schema_exists": schema_exists,
        "relais_exists": relais_exists,
        "note": note,
    }
    async with write_transaction():
        commune = (
            await Commune.select(Commune.id, Commune.territory)
            .where(Commune.id == commune_id)
            .first()
        )
        if commune is None:
            raise NotFound("Commune", commune_id)
        check_scope(commune["territory"])
        before = (await childcare_of([commune_id])).get(commune_id)
        if before is None:
            row = CommuneChildcare(commune=commune_id, **values)
            await CommuneChildcare.insert(row).run()
            await audit.record(actor, "create", "commune_childcare", commune_id, values)
        else:
            changes = audit.diff(before, values)
            if changes:
                stamp = {"version": before["version"] + 1, "updated_at": dt.datetime.now(dt.UTC)}
                changed: dict[Column | str, Any] = {}
                changed.update(values)
                changed.update(stamp)
                await CommuneChildcare.update(changed).where(CommuneChildcare.id == before["id"])
                await audit.record(actor, "update", "commune_childcare", commune_id, changes)
    return await commune_childcare(commune_id)
