"""The journal in plain French: actions as verbs, field labels, values by their name (#21).

The audit log stores codes (``send``, ``working_group``, ``en_attente``) so that it stays stable;
this module is the one place where a journal line is put into words.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from maillage.french import format_date, format_time, in_paris
from maillage.vocabulary import REGISTRATION_STATUSES
from maillage.web.pages.labels import LABELS

ACTIONS = {
    "create": "a créé",
    "update": "a modifié",
    "delete": "a supprimé",
    "archive": "a archivé",
    "restore": "a restauré",
    "revoke": "a révoqué",
    "login": "a ouvert une session",
    "login_failed": "n'a pas pu ouvrir de session",
    "change_password": "a changé le mot de passe",
    "reset_password": "a donné un mot de passe temporaire",
    "unlock_sign_in": "a débloqué la connexion",
    "send": "a envoyé",
    "send_minutes": "a envoyé le compte rendu",
    "relaunch": "a relancé les personnes sans réponse",
    "answer": "a répondu",
    "attendance": "a noté les présences",
    "merge": "a fusionné",
    "dismiss": "a écarté comme faux doublon",
    "export": "a exporté",
    "anonymise": "a anonymisé",
    "effacement": "a effacé",
    "purge": "a effacé à la fin de leur conservation",
}

FIELDS = {
    "action": "fiche action",
    "adresse_ip": "adresse IP",
    "password": "mot de passe",
    "password_hash": "mot de passe",
    "token_hash": "jeton",
    "raw_message": "message reçu",
    "active": "active",
    "address": "adresse",
    "agenda": "ordre du jour",
    "answered_at": "réponse reçue le",
    "archived": "archivé",
    "attendance": "présence",
    "attendance_count": "nombre de participants",
    "axis": "axe",
    "axes": "axes",
    "category": "catégorie",
    "civility": "civilité",
    "code": "code",
    "commune": "commune",
    "communes": "communes",
    "consent_date": "date du consentement",
    "contact": "contact",
    "contacts": "contacts",
    "contract_reference": "référence du contrat",
    "ctg_end": "fin de la CTG",
    "ctg_start": "début de la CTG",
    "default_location": "lieu habituel",
    "delegated_service": "service délégué",
    "description": "description",
    "document": "document",
    "elected_mandate": "mandat électif",
    "email": "courriel",
    "end_date": "date de fin",
    "ends_at": "fin",
    "first_name": "prénom",
    "follow_up_on": "relance prévue le",
    "format": "format",
    "function": "fonction",
    "fusionne_dans": "fusionné dans",
    "pas_doublon_de": "n'est pas un doublon de",
    "indicators": "indicateurs",
    "insee_code": "code INSEE",
    "is_primary": "rattachement principal",
    "is_public": "réunion publique",
    "registration_open": "inscriptions en ligne ouvertes",
    "capacity": "capacité",
    "retention_days": "conservation des inscriptions (jours)",
    "deleted": "effacées",
    "consultation_open": "consultation en ligne ouverte",
    "kind": "type",
    "last_name": "nom",
    "legal_basis": "base légale",
    "location": "lieu",
    "mailing_opt_out": "refus des envois groupés",
    "meeting": "réunion",
    "minutes": "compte-rendu",
    "must_change_password": "mot de passe à changer",
    "name": "nom",
    "notes": "notes",
    "objective": "objectif",
    "occurred_on": "date",
    "organisation": "organisation",
    "organisations": "organisations",
    "parent": "organisation parente",
    "partner": "partenaire",
    "personnes": "personnes nommées",
    "phone": "téléphone",
    "pilot": "pilote",
    "population": "population",
    "position": "ordre",
    "recipient": "destinataire",
    "response": "réponse",
    "rna": "numéro RNA",
    "role": "rôle",
    "rrule": "récurrence",
    "school_zone": "zone de vacances scolaires",
    "scope": "portée",
    "siren": "SIREN",
    "siret": "SIRET",
    "start_date": "date de début",
    "starts_at": "début",
    "status": "statut",
    "substitute": "suppléant",
    "summary": "résumé",
    "target_id": "fiche conservée",
    "territory": "territoire",
    "title": "titre",
    "uai": "code UAI",
    "user": "utilisateur",
    "video_url": "lien de visioconférence",
    "website": "site web",
    "working_group": "instance",
}

# Fields whose stored code has a label list of its own.
_CODED = {
    "attendance": "attendance",
    "civility": "civility",
    "legal_basis": "legal_basis",
    "response": "response",
    "role": "role",
}
_KIND_BY_ENTITY = {
    "organisation": "organisation_kind",
    "working_group": "group_kind",
    "partnership": "partnership_kind",
}
# Links to another record, stored as its number.
_REFERENCES = {
    "axis",
    "commune",
    "contact",
    "delegated_service",
    "fusionne_dans",
    "meeting",
    "organisation",
    "parent",
    "partner",
    "pilot",
    "substitute",
    "target_id",
    "territory",
    "user",
    "working_group",
}


# Bookkeeping a coordinator never acts on: left out of the journal's lines.
_INTERNAL = {"ical_uid", "ical_sequence", "sent_sequence", "search", "link_nonce", "version", "id"}


def action_text(action: str) -> str:
    return ACTIONS.get(action, "a agi sur")


def field_text(field: str) -> str:
    return FIELDS.get(field, "autre donnée")


def change_lines(event: dict[str, Any]) -> list[str]:
    """One « champ : valeur » line per stored change; an update shows « avant → après »."""
    changes = event.get("changes") or {}
    entity = event["entity"]
    lines = []
    for field, value in changes.items():
        if field in _INTERNAL or (event["action"] == "create" and value in (None, "", [])):
            continue  # a new record's empty fields say nothing
        if event["action"] == "update" and isinstance(value, list) and len(value) == 2:
            shown = f"{value_text(entity, field, value[0])} → {value_text(entity, field, value[1])}"
        else:
            shown = value_text(entity, field, value)
        lines.append(f"{field_text(field)} : {shown}")
    return lines


def value_text(entity: str, field: str, value: Any) -> str:
    """A stored value as a coordinator reads it: « vide », « oui », « Acceptée », « n° 7 »."""
    if value is None or value == "" or value == []:
        return "vide"
    if value == "***":
        return "masqué"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return ", ".join(value_text(entity, field, item) for item in value)
    if isinstance(value, dict):
        return "détail enregistré"
    labels = _labels_for(entity, field)
    if labels is not None and isinstance(value, str):
        return labels.get(value, value)
    if (field in _REFERENCES or field in {"axes", "communes"}) and isinstance(value, int):
        return f"n° {value}"
    return _scalar(value)


def _labels_for(entity: str, field: str) -> dict[str, str] | None:
    if field == "status" and entity == "meeting":
        return LABELS["meeting_status"]
    if field == "status" and entity == "inhabitant_registration":
        return REGISTRATION_STATUSES
    if field == "kind" and entity in _KIND_BY_ENTITY:
        return LABELS[_KIND_BY_ENTITY[entity]]
    if field == "role" and entity == "user":
        return LABELS["user_role"]
    code = _CODED.get(field)
    return LABELS[code] if code else None


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return str(value).replace(".", ",")
    if not isinstance(value, str) or len(value) < 10 or value[4:5] != "-":
        return str(value)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if len(value) == 10:
        return format_date(moment.date(), "short")
    if moment.tzinfo is not None:
        moment = in_paris(moment)
    return f"{format_date(moment.date(), 'short')} à {format_time(moment)}"
