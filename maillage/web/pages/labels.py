"""The template filters of the pages, and the vocabulary's labels by the name templates use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup, escape

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
    "decision_status": vocabulary.DECISION_STATUSES,
    "registration_status": vocabulary.REGISTRATION_STATUSES,
}


def choices(kind: str) -> tuple[tuple[str, str], ...]:
    return tuple(LABELS[kind].items())


def label(value: Any, kind: str) -> str:
    if value is None:
        return ""
    return LABELS.get(kind, {}).get(str(value), str(value))


def iso_local(value: dt.datetime | None, part: str) -> str:
    """Value for a date or time input, in Paris time."""
    if value is None:
        return ""
    local = french.in_paris(value) if value.tzinfo else value
    return local.date().isoformat() if part == "date" else local.strftime("%H:%M")


def phone_fr(value: str | None) -> str:
    try:
        return format_phone_fr(value)
    except Exception:
        return value or ""


# The pages' own filters; the French wording ones come with `maillage.templating.environment`.
FILTERS: dict[str, Any] = {
    "label": label,
    "iso_local": iso_local,
    "phone_fr": phone_fr,
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


def filter_options(choices: Iterable[Any], current: str | None) -> Markup:
    """The ``<option>`` elements of a list page's filter (`select_filter` in _macros.html):
    ``choices`` are (value, text) pairs or rows with ``id`` and ``name``; the one whose value
    is ``current`` is selected. Written here rather than by a loop of the template (#16): the
    partner list's 500 communes were a third of the page's time."""
    parts = []
    for choice in choices:
        value, text = (choice["id"], choice["name"]) if isinstance(choice, Mapping) else choice
        selected = " selected" if current == str(value) else ""
        parts.append(f'<option value="{escape(value)}"{selected}>{escape(text)}</option>')
    return Markup("".join(parts))


GLOBALS = {"options_for": options_for, "is_selected": is_selected, "filter_options": filter_options}


def field_label(name: str, labels: dict[str, str]) -> str:
    return labels.get(name, name)


FILTERS["field_label"] = field_label


def axis_name(axis_id: Any, names: dict[Any, str]) -> str:
    return names.get(int(axis_id), str(axis_id)) if str(axis_id).isdigit() else str(axis_id)


FILTERS["axis_name"] = axis_name
