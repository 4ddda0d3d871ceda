"""The template filters of the pages, and the vocabulary's labels by the name templates use."""

from __future__ import annotations

import datetime as dt
from typing import Any

from maillage import french, vocabulary
from maillage.crm.rules import format_phone_fr

PARIS = french.PARIS

LABELS: dict[str, dict[str, str]] = {
    "organisation_kind": vocabulary.ORGANISATION_KINDS,
    "group_kind": vocabulary.GROUP_KINDS,
    "role": vocabulary.ROLES,
    "meeting_status": vocabulary.MEETING_STATUSES,
    "response": vocabulary.RESPONSES,
    "attendance": vocabulary.ATTENDANCE,
    "partnership_kind": vocabulary.PARTNERSHIP_KINDS,
    "legal_basis": vocabulary.LEGAL_BASES,
    "user_role": vocabulary.USER_ROLES,
    "civility": vocabulary.CIVILITIES,
    "audit_action": vocabulary.AUDIT_ACTIONS,
    "entity": vocabulary.ENTITIES,
    "interaction_kind": vocabulary.INTERACTION_KINDS,
    "action_status": vocabulary.ACTION_STATUSES,
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


FILTERS = {
    "label": label,
    "date_fr": date_fr,
    "time_fr": time_fr,
    "datetime_fr": datetime_fr,
    "iso_local": iso_local,
    "phone_fr": phone_fr,
    "plural": french.plural,
    "number": french.number,
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
