"""How a table cell reads in the DOCX and HTML (the XLSX keeps raw numbers)."""

from __future__ import annotations

from typing import Any

from maillage.french import number, percent

RATIO_PREFIXES = ("Taux", "Réalisation", "Part ")


def is_ratio_column(column: str) -> bool:
    return column.startswith(RATIO_PREFIXES)


def display(value: Any, column: str) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int | float):
        return percent(value) if is_ratio_column(column) else number(value)
    return str(value)


def is_numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
