"""The return date of an out-of-office reply (« absent jusqu'au … », #19): pure parsing.

Conservative on purpose: only a date introduced by the usual words, in French (« jusqu'au »,
« de retour le », « retour prévu le », « à partir du ») or English (« until », « back on »,
« returning on », « return on »), written with a month name, as dd/mm[/yyyy] in French, or as
ISO 8601 (never an English mm/dd, ambiguous). A date without a year is the next one from the
message's day; a date in the past or more than a year ahead is no date. Anything else: None.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

MONTHS = {
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY_NAME = (
    r"(?:(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday)\.?,?\s+)?"
)
_FR_LEAD = r"(?:jusqu'?\s*au|jusqu'?\s*a|de retour le|de retour au bureau le|retour prevu le|retour le|a partir du|des le)"
_EN_LEAD = r"(?:until|till|back on|back in the office on|returning on|return on|returning)"
_PATTERNS = [
    # « jusqu'au lundi 4 janvier 2027 », « until Monday 4 January »
    re.compile(
        rf"(?:{_FR_LEAD}|{_EN_LEAD})\s+(?:the\s+)?{_DAY_NAME}(?P<day>\d{{1,2}})(?:er|st|nd|rd|th)?"
        rf"\s+(?P<month>{_MONTH})\.?(?:,?\s+(?P<year>\d{{4}}))?\b"
    ),
    # « until January 4th, 2027 », « back on Monday, January 4 »
    re.compile(
        rf"{_EN_LEAD}\s+{_DAY_NAME}(?P<month>{_MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?"
        rf"(?:,?\s+(?P<year>\d{{4}}))?\b"
    ),
    # « jusqu'au 04/01/2027 », « de retour le 4.1. » (French order only)
    re.compile(
        rf"{_FR_LEAD}\s+{_DAY_NAME}(?P<day>\d{{1,2}})[/.](?P<month>\d{{1,2}})(?:[/.](?P<year>\d{{4}}|\d{{2}}))?\b"
    ),
    # ISO 8601 after either language's words
    re.compile(
        rf"(?:{_FR_LEAD}|{_EN_LEAD})\s+(?P<year>\d{{4}})-(?P<month>\d{{2}})-(?P<day>\d{{2}})\b"
    ),
]


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return " ".join("".join(c for c in folded if not unicodedata.combining(c)).split())


def return_date(text: str, today: dt.date) -> dt.date | None:
    """The first return date the text gives, or None."""
    plain = _plain(text[:20_000])
    for pattern in _PATTERNS:
        for match in pattern.finditer(plain):
            found = _date(match, today)
            if found is not None:
                return found
    return None


def _date(match: re.Match[str], today: dt.date) -> dt.date | None:
    month_text = match["month"]
    month = int(month_text) if month_text.isdigit() else MONTHS.get(month_text.rstrip("."))
    if not month:
        return None
    year_text = match["year"]
    try:
        if year_text:
            year = int(year_text) + (2000 if len(year_text) == 2 else 0)
            found = dt.date(year, month, int(match["day"]))
        else:
            found = dt.date(today.year, month, int(match["day"]))
            if found < today:
                found = dt.date(today.year + 1, month, int(match["day"]))
    except ValueError:  # 31 février
        return None
    if found < today or found > today + dt.timedelta(days=366):
        return None
    return found
