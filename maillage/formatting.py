"""French formatting of numbers and percentages (babel, locale fr_FR) and of dates (the shared
`maillage.french`)."""

from __future__ import annotations

import datetime as dt

from babel.numbers import format_decimal, format_percent

from maillage import french

LOCALE = "fr_FR"


def number(value: float | int | None, digits: int = 1) -> str:
    """« 12 345 » or « 3,5 »; an em dash when there is no value."""
    if value is None:
        return "—"
    if isinstance(value, int) or float(value).is_integer():
        return format_decimal(int(value), locale=LOCALE)
    return format_decimal(round(value, digits), format=f"#,##0.{'#' * digits}", locale=LOCALE)


def percent(ratio: float | None) -> str:
    """« 67 % » from 0.666…; an em dash when the ratio cannot be computed."""
    if ratio is None:
        return "—"
    return format_percent(ratio, format="#,##0 %", locale=LOCALE)


def long_date(day: dt.date) -> str:
    """« mardi 8 décembre 2026 »."""
    return french.format_date(day)


def short_date(day: dt.date | None) -> str:
    """« 08/12/2026 » (tables)."""
    return "—" if day is None else french.format_date(day, "short")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """« 1 réunion », « 3 réunions », « 1 234 réunions »."""
    word = singular if abs(count) < 2 else (plural_form or singular + "s")
    return f"{number(count)} {word}"
