"""French labels of the codes stored in the database, and the template filters that use them."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time

from maillage.crm.rules import format_phone_fr

PARIS = ZoneInfo("Europe/Paris")

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
    return moment.astimezone(PARIS) if moment.tzinfo else moment


def date_fr(value: dt.date | dt.datetime | None, style: str = "long") -> str:
    """« 8 décembre 2026 », or « mardi 8 décembre 2026 » with style="full"."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = _local(value).date()
    pattern = {"full": "EEEE d MMMM y", "long": "d MMMM y", "short": "dd/MM/y"}[style]
    return format_date(value, pattern, locale="fr_FR")


def time_fr(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return format_time(_local(value), "HH' h 'mm", locale="fr_FR")


def datetime_fr(value: dt.datetime | None, style: str = "long") -> str:
    if value is None:
        return ""
    pattern = "EEEE d MMMM y 'à' HH' h 'mm" if style == "full" else "d MMM y, HH:mm"
    return format_datetime(_local(value), pattern, locale="fr_FR")


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
