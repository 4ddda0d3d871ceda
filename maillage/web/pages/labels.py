"""French labels of the codes stored in the database, and the template filters that use them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from maillage import french
from maillage.crm.rules import format_phone_fr

PARIS = french.PARIS

LABELS: dict[str, dict[str, str]] = {
    "organisation_kind": {
        "institution": "Institution",
        "collectivite": "Collectivité",
        "association": "Association",
        "operateur_dsp": "Opérateur en DSP",
        "etablissement": "Établissement ou service",
        "entreprise": "Entreprise",
        "autre": "Autre",
    },
    "group_kind": {
        "copil": "Comité de pilotage",
        "cotech": "Comité technique",
        "commission_thematique": "Commission thématique",
        "commission_territoriale": "Commission territoriale",
        "groupe_travail": "Groupe de travail",
        "reseau": "Réseau",
    },
    "role": {
        "president": "Président(e)",
        "copilote": "Copilote",
        "animateur": "Animateur, animatrice",
        "titulaire": "Titulaire",
        "suppleant": "Suppléant(e)",
        "invite_permanent": "Invité(e) permanent(e)",
        "membre": "Membre",
    },
    "meeting_status": {
        "brouillon": "Brouillon",
        "planifiee": "Planifiée",
        "annulee": "Annulée",
        "tenue": "Tenue",
    },
    "response": {
        "en_attente": "En attente",
        "acceptee": "Acceptée",
        "declinee": "Déclinée",
        "incertaine": "Incertaine",
    },
    "attendance": {"present": "Présent(e)", "absent": "Absent(e)", "excuse": "Excusé(e)"},
    "partnership_kind": {
        "convention": "Convention",
        "cofinancement": "Cofinancement",
        "partenariat": "Partenariat",
        "delegation_dsp": "Délégation de service public",
        "autre": "Autre",
    },
    "legal_basis": {
        "mission_interet_public": "Mission d'intérêt public",
        "consentement": "Consentement",
    },
    "user_role": {
        "admin": "Administration",
        "coordinateur": "Coordination",
        "lecteur": "Lecture seule",
    },
    "civility": {"": "—", "Mme": "Mme", "M.": "M."},
    "audit_action": {
        "create": "Création",
        "update": "Modification",
        "delete": "Suppression",
        "archive": "Archivage",
        "restore": "Restauration",
        "revoke": "Révocation",
        "login": "Connexion",
        "login_failed": "Échec de connexion",
        "change_password": "Changement de mot de passe",
        "reset_password": "Mot de passe temporaire",
        "unlock_sign_in": "Déblocage de la connexion",
    },
    "entity": {
        "organisation": "Organisation",
        "contact": "Contact",
        "affiliation": "Rattachement",
        "working_group": "Instance",
        "membership": "Participation",
        "meeting": "Réunion",
        "invitation": "Invitation",
        "partnership": "Partenariat",
        "user": "Utilisateur",
        "session": "Session",
        "api_token": "Jeton d'API",
        "commune": "Commune",
        "territory": "Territoire",
        "axis": "Axe",
        "interaction": "Échange",
        "action": "Fiche action",
    },
}


def choices(kind: str) -> tuple[tuple[str, str], ...]:
    return tuple(LABELS[kind].items())


def label(value: Any, kind: str) -> str:
    if value is None:
        return ""
    return LABELS.get(kind, {}).get(str(value), str(value))


def _local(moment: dt.datetime) -> dt.datetime:
    return french.in_paris(moment) if moment.tzinfo else moment


def date_fr(value: dt.date | dt.datetime | None, style: str = "long") -> str:
    """« 8 décembre 2026 », « mardi 8 décembre 2026 » (style="full"), « 08/12/2026 » ("short")."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = _local(value).date()
    return french.format_date(value, style)


def time_fr(value: dt.datetime | None) -> str:
    return "" if value is None else french.format_time(_local(value))


def datetime_fr(value: dt.datetime | None, style: str = "long") -> str:
    """« mardi 8 décembre 2026 à 14 h 00 » (style="full"), otherwise « 8 déc. 2026 à 14 h 00 »."""
    if value is None:
        return ""
    local = _local(value)
    day = french.format_date(local.date(), "full" if style == "full" else "abbreviated")
    return f"{day} à {french.format_time(local)}"


def iso_local(value: dt.datetime | None, part: str) -> str:
    """Value for a date or time input, in Paris time."""
    if value is None:
        return ""
    local = _local(value)
    return local.date().isoformat() if part == "date" else local.strftime("%H:%M")


def phone_fr(value: str | None) -> str:
    try:
        return format_phone_fr(value)
    except Exception:
        return value or ""


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    word = singular if count in (0, 1) else (plural_form or singular + "s")
    return f"{count} {word}"


FILTERS = {
    "label": label,
    "date_fr": date_fr,
    "time_fr": time_fr,
    "datetime_fr": datetime_fr,
    "iso_local": iso_local,
    "phone_fr": phone_fr,
    "plural": plural,
    "of": french.of,
}


def options_for(item: Any, options: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str]]:
    """``(value, label)`` pairs of a form field: fixed choices, or rows the page loaded."""
    if item.choices is None:
        return []
    if isinstance(item.choices, str):
        return [(str(row["id"]), row["name"]) for row in options.get(item.choices, [])]
    return [(str(value), text) for value, text in item.choices]


def is_selected(option: str, value: Any) -> bool:
    if isinstance(value, list | tuple | set):
        return option in {str(v) for v in value}
    return value is not None and option == str(value)


GLOBALS = {"options_for": options_for, "is_selected": is_selected}


def field_label(name: str, labels: dict[str, str]) -> str:
    return labels.get(name, name)


FILTERS["field_label"] = field_label


def axis_name(axis_id: Any, names: dict[Any, str]) -> str:
    return names.get(int(axis_id), str(axis_id)) if str(axis_id).isdigit() else str(axis_id)


FILTERS["axis_name"] = axis_name
