"""Deadline awareness: the missing data that would weaken the bilan, each with what to do."""

from __future__ import annotations

import datetime as dt
from typing import Any

from maillage.french import plural, short_date
from maillage.reports.actions import actions_in_scope, runs_during
from maillage.reports.collect import ReportRows
from maillage.reports.governance import GovernanceYear
from maillage.reports.model import MissingData
from maillage.vocabulary import DRAFT, HELD, PLANNED

QUOTED = 5


def _quote(items: list[str]) -> str:
    shown = " ; ".join(items[:QUOTED])
    return shown + (f" ; et {plural(len(items) - QUOTED, 'autre')}" if len(items) > QUOTED else "")


def _meeting_label(meeting: dict[str, Any]) -> str:
    return f"« {meeting['title']} » ({meeting['body']}, {short_date(meeting['starts_at'].date())})"


def missing_data(
    rows: ReportRows, year: int, today: dt.date, governance: GovernanceYear
) -> list[MissingData]:
    warnings: list[MissingData] = []
    held = [m for m in governance.meeting_rows if m["status"] == HELD]
    if not governance.meeting_rows:
        warnings.append(
            MissingData(
                "réunions",
                f"Aucune réunion enregistrée en {year} : la partie gouvernance est vide.",
                0,
            )
        )
    private = [m for m in held if not m["is_public"]]
    unrecorded = [m for m in private if m["invited"] and m["unknown"] == m["invited"]]
    if unrecorded:
        warnings.append(
            MissingData(
                "présence",
                f"{plural(len(unrecorded), 'réunion tenue', 'réunions tenues')} sans présence "
                f"saisie : {_quote([_meeting_label(m) for m in unrecorded])}. "
                "Saisissez la feuille d'émargement de chacune.",
                len(unrecorded),
            )
        )
    partial = [m for m in private if 0 < m["unknown"] < m["invited"]]
    if partial:
        missing = sum(m["unknown"] for m in partial)
        warnings.append(
            MissingData(
                "présence",
                f"Présence incomplète dans {plural(len(partial), 'réunion')} "
                f"({plural(missing, 'invité')} sans présence saisie) : "
                f"{_quote([_meeting_label(m) for m in partial])}.",
                len(partial),
            )
        )
    uninvited = [m for m in private if not m["invited"]]
    if uninvited:
        warnings.append(
            MissingData(
                "invitations",
                f"{plural(len(uninvited), 'réunion tenue', 'réunions tenues')} sans aucune "
                f"invitation enregistrée : {_quote([_meeting_label(m) for m in uninvited])}.",
                len(uninvited),
            )
        )
    uncounted = [m for m in held if m["is_public"] and m["attendance_count"] is None]
    if uncounted:
        warnings.append(
            MissingData(
                "habitants",
                f"{plural(len(uncounted), 'réunion publique', 'réunions publiques')} sans nombre "
                f"de participants : {_quote([_meeting_label(m) for m in uncounted])}.",
                len(uncounted),
            )
        )
    stale = [
        m
        for m in governance.meeting_rows
        if m["status"] in (PLANNED, DRAFT) and m["starts_at"].date() < today
    ]
    if stale:
        warnings.append(
            MissingData(
                "statut",
                f"{plural(len(stale), 'réunion passée', 'réunions passées')} encore « planifiée » "
                f"ou « brouillon » : {_quote([_meeting_label(m) for m in stale])}. "
                "Indiquez si elles se sont tenues ou ont été annulées.",
                len(stale),
            )
        )
    warnings += _silent_bodies(rows, governance)
    warnings += _missing_indicators(rows, year)
    warnings += _missing_communes(rows)
    return warnings


def _silent_bodies(rows: ReportRows, governance: GovernanceYear) -> list[MissingData]:
    held = {b.group for b in governance.bodies if b.held}
    silent = [
        g["name"]
        for gid, g in rows.groups.items()
        if g["active"] and not g["archived"] and gid not in held
    ]
    if not silent:
        return []
    return [
        MissingData(
            "instances",
            f"{plural(len(silent), 'instance active', 'instances actives')} sans aucune réunion "
            f"tenue en {governance.year} : {_quote(sorted(silent))}.",
            len(silent),
        )
    ]


def _missing_indicators(rows: ReportRows, year: int) -> list[MissingData]:
    missing = []
    for action in actions_in_scope(rows):
        if action["status"] not in ("en_cours", "realisee") or not runs_during(action, year):
            continue
        for indicator in action["indicators"] or []:
            if str(year) not in indicator.get("values", {}):
                missing.append(f"« {indicator['name']} » ({action['title']})")
    without = [
        a["title"]
        for a in actions_in_scope(rows)
        if a["status"] in ("en_cours", "realisee") and not a["indicators"]
    ]
    warnings = []
    if missing:
        warnings.append(
            MissingData(
                "indicateurs",
                f"{plural(len(missing), 'indicateur')} sans valeur pour {year} : "
                f"{_quote(missing)}.",
                len(missing),
            )
        )
    if without:
        warnings.append(
            MissingData(
                "indicateurs",
                f"{plural(len(without), 'fiche action en cours ou réalisée', 'fiches action en cours ou réalisées')} sans "
                f"indicateur : {_quote(without)}.",
                len(without),
            )
        )
    return warnings


def _missing_communes(rows: ReportRows) -> list[MissingData]:
    if not rows.scope.communes:
        return [
            MissingData(
                "communes",
                f"Le territoire « {rows.scope.name} » n'a aucune commune rattachée : "
                "la couverture territoriale ne peut pas être établie.",
                0,
            )
        ]
    unknown = [c["name"] for c in rows.scope.communes if c["population"] is None]
    if not unknown:
        return []
    return [
        MissingData(
            "communes",
            f"{plural(len(unknown), 'commune')} sans population renseignée (la pondération "
            f"les compte pour zéro) : {_quote(unknown)}.",
            len(unknown),
        )
    ]
