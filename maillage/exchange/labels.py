"""The registry's codes read back from what people write: exports write the vocabulary's labels,
imports read them.

Imports accept the code itself, the label, the label without accents or case, and the synonyms of
`maillage.vocabulary`, so that « Opérateur en DSP », « Opérateur DSP », « operateur dsp » and
« operateur_dsp » all mean the same kind.
"""

from __future__ import annotations

from collections.abc import Mapping

from maillage.crm.text import normalise
from maillage.vocabulary import (
    ATTENDANCE,
    GROUP_KINDS,
    LEGAL_BASES,
    MEETING_STATUSES,
    ORGANISATION_KINDS,
    RESPONSES,
    ROLES,
    SYNONYMS,
)

__all__ = [
    "ATTENDANCE",
    "GROUP_KINDS",
    "LEGAL_BASES",
    "MEETING_STATUSES",
    "ORGANISATION_KINDS",
    "RESPONSES",
    "ROLES",
    "choices",
    "code_for",
]


def _reverse(labels: Mapping[str, str]) -> dict[str, str]:
    table: dict[str, str] = {}
    for code, label in labels.items():
        for word in (code, label, code.replace("_", " "), *SYNONYMS.get(code, ())):
            table[normalise(word)] = code
    return table


_REVERSE = {id(labels): _reverse(labels) for labels in (
    ORGANISATION_KINDS, GROUP_KINDS, ROLES, MEETING_STATUSES, RESPONSES, ATTENDANCE, LEGAL_BASES
)}  # fmt: skip


def code_for(labels: Mapping[str, str], text: str) -> str | None:
    """The code a person meant by ``text``, or None."""
    return _REVERSE[id(labels)].get(normalise(text))


def choices(labels: Mapping[str, str]) -> str:
    """« Institution, Collectivité, … » for an error message."""
    return ", ".join(f"« {label} »" for label in labels.values())
