"""Cell values as people type them, turned into the registry's values.

Each parser returns the value or raises ``BadValue`` with a French reason; the import adds the
line and the column.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from maillage.crm.text import normalise
from maillage.exchange.cells import unneutralise
from maillage.exchange.labels import choices, code_for
from maillage.french import quoted


class BadValue(ValueError):
    pass


def text(cell: Any) -> str:
    """The cell as text, without our formula neutralisation or surrounding spaces."""
    if cell is None:
        return ""
    if isinstance(cell, dt.datetime | dt.date):
        return cell.strftime("%d/%m/%Y")
    return unneutralise(str(cell)).strip()


_DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")


def date(cell: Any) -> dt.date:
    if isinstance(cell, dt.datetime):
        return cell.date()
    if isinstance(cell, dt.date):
        return cell
    value = text(cell)
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise BadValue(f"date illisible {quoted(value)} (attendu JJ/MM/AAAA, ex. : 31/01/2026)")


_TRUE = {"oui", "o", "x", "1", "vrai", "true", "yes", "y"}
_FALSE = {"non", "n", "0", "faux", "false", "no", ""}


def boolean(cell: Any) -> bool:
    if isinstance(cell, bool):
        return cell
    value = normalise(text(cell))
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadValue(f"{quoted(text(cell))} : répondez « Oui » ou « Non »")


def coded(labels: dict[str, str], cell: Any, what: str) -> str:
    value = text(cell)
    code = code_for(labels, value)
    if code is None:
        raise BadValue(
            f"valeur inconnue {quoted(value)} pour le champ « {what} » ; "
            f"valeurs permises : {choices(labels)}"
        )
    return code


def integer(cell: Any) -> int:
    value = re.sub(r"[\s\u202f\u00a0]", "", text(cell))
    if not value.isdigit():
        raise BadValue(f"{quoted(text(cell))} n'est pas un nombre entier")
    return int(value)


def decimal(cell: Any) -> float:
    """« 1 234,5 », « 1234.5 » or a spreadsheet number; never negative."""
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        value = float(cell)
    else:
        raw = re.sub(r"[\s\u202f\u00a0]", "", text(cell)).replace(",", ".")
        try:
            value = float(raw)
        except ValueError:
            raise BadValue(f"{quoted(text(cell))} n'est pas un nombre") from None
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        raise BadValue(f"{quoted(text(cell))} : nombre positif attendu")
    return value


def day_or_year(cell: Any) -> dt.date:
    """A date, or a year alone (« 2024 »: figures « au 31 décembre », as Cafdata gives them)."""
    value = text(cell)
    if re.fullmatch(r"(19|20)\d\d(\.0)?", value):
        return dt.date(int(value[:4]), 12, 31)
    try:
        return date(cell)
    except BadValue:
        raise BadValue(
            f"date illisible {quoted(value)} (attendu une année, ex. : 2024, ou JJ/MM/AAAA)"
        ) from None


def civility(cell: Any) -> str:
    value = normalise(text(cell)).rstrip(".")
    if value in ("", "-"):
        return ""
    if value in ("mme", "madame", "mlle", "mademoiselle"):
        return "Mme"
    if value in ("m", "mr", "monsieur"):
        return "M."
    raise BadValue(f"civilité inconnue {quoted(text(cell))} (attendu « Mme » ou « M. »)")


def split_list(cell: Any) -> list[str]:
    """« Enfance, Jeunesse » or « Enfance / Jeunesse »."""
    return [part.strip() for part in re.split(r"[,;/|\n]", text(cell)) if part.strip()]
