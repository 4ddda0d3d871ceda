"""French wording, the one place where maillage writes a date, a time, a number or a plural
for a person (pages, emails, feeds, documents, reports, command line), in the Europe/Paris time
zone.

Dates use hand-written tables rather than Babel: feeds format thousands of dates, these few
words never change, and Babel writes « 1 décembre » where French writes « 1er décembre ».
Numbers and percentages use Babel (locale fr_FR): its grouping space and decimal comma are the
ones French typography asks for.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from zoneinfo import ZoneInfo

from babel import Locale
from babel.numbers import format_currency, format_decimal, format_percent

from maillage.vocabulary import GROUP_KINDS

PARIS_TZID = "Europe/Paris"
PARIS = ZoneInfo(PARIS_TZID)
# Parsed once (#16): given as a string, babel parsed it again at every number shown (half of
# each call's time).
LOCALE = Locale.parse("fr_FR")

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
MONTHS_ABBREVIATED = (
    "janv.", "févr.", "mars", "avr.", "mai", "juin",
    "juil.", "août", "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip


# The two steering bodies are known by their acronym; the others by their own name.
_ACRONYMS = {"copil": "COPIL CTG", "cotech": "COTECH CTG"}


def in_paris(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("date et heure sans fuseau horaire")
    return moment.astimezone(PARIS)


def format_date(day: dt.date, style: str = "full") -> str:
    """« mardi 8 décembre 2026 » (full), « 8 décembre 2026 » (long), « 8 déc. 2026 »
    (abbreviated), « 08/12/2026 » (short); « 1er » for the first of a month."""
    if style == "short":
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    number = "1er" if day.day == 1 else str(day.day)
    months = MONTHS_ABBREVIATED if style == "abbreviated" else MONTHS
    text = f"{number} {months[day.month - 1]} {day.year}"
    return f"{DAYS[day.weekday()]} {text}" if style == "full" else text


def format_time(moment: dt.datetime | dt.time) -> str:
    """« 14 h 00 », « 9 h 30 » (French typography, never « 14:00 »)."""
    return f"{moment.hour} h {moment.minute:02d}"


def format_moment(moment: dt.datetime, style: str = "full") -> str:
    """« mardi 8 décembre 2026 à 14 h 00 » (heure de Paris), or in another `format_date` style."""
    local = in_paris(moment)
    return f"{format_date(local.date(), style)} à {format_time(local)}"


def format_span(start: dt.datetime, end: dt.datetime) -> str:
    """« mardi 8 décembre 2026 de 14 h 00 à 16 h 00 » or « du … au … » over several days."""
    first, last = in_paris(start), in_paris(end)
    if first.date() == last.date():
        return f"{format_date(first.date())} de {format_time(first)} à {format_time(last)}"
    return f"du {format_moment(first)} au {format_moment(last)}"


def body_label(kind: str, name: str) -> str:
    """What a SUMMARY starts with: « COPIL CTG », or the body's own name."""
    return _ACRONYMS.get(kind) or name or GROUP_KINDS.get(kind, "Réunion")


def summary(kind: str, group_name: str, title: str) -> str:
    """« COPIL CTG — Bilan 2026 »; the title alone when it already names the body."""
    label = body_label(kind, group_name)
    if not title or title == label:
        return label
    if title.startswith(label):
        return title
    return f"{label} — {title}"


def strip_summary(kind: str, group_name: str, text: str) -> str:
    """The title back from a SUMMARY we produced (re-importing an exported feed)."""
    prefix = f"{body_label(kind, group_name)} — "
    text = text.removeprefix("Annulée — ")
    return text[len(prefix) :] if text.startswith(prefix) else text


_ELIDING = "aeiouyàâäéèêëîïôöùûüœæh"


def of(name: str) -> str:
    """« de Marie », « d'Étienne », « d'Hélène »: the French elision before a vowel or an h.

    The h is treated as mute (most first names: Hélène, Hugo…); an aspirated h is rare enough in
    the names maillage shows to read naturally either way.
    """
    return f"d'{name}" if name[:1].lower() in _ELIDING else f"de {name}"


_OPENING = re.compile(r"«[\s\u00a0\u202f]*")
_CLOSING = re.compile(r"[\s\u00a0\u202f]*»")


def quoted(value: object) -> str:
    """« value » between French guillemets, its own quotes turned into second-level ones.

    A cell written « Amicale « Les loustics » » or « Centre "La Passerelle" » reads
    « Amicale “Les loustics” » and « Centre “La Passerelle” » (French typography: “ ” inside
    « », without inner spaces), so that no quote seems to close the value early. Straight quotes
    are turned only when they pair up; an odd one is left as written.
    """
    text = _CLOSING.sub("”", _OPENING.sub("“", str(value)))
    parts = text.split('"')
    if len(parts) > 1 and len(parts) % 2:
        text = (
            "".join(
                part + ("“" if index % 2 == 0 else "”") for index, part in enumerate(parts[:-1])
            )
            + parts[-1]
        )
    return f"« {text} »"


def number(value: float | int | None, digits: int = 1) -> str:
    """« 12 345 » or « 3,5 »; an em dash when there is no value."""
    if value is None:
        return "—"
    if isinstance(value, int) or float(value).is_integer():
        return format_decimal(int(value), locale=LOCALE)
    return format_decimal(round(value, digits), format=f"#,##0.{'#' * digits}", locale=LOCALE)


def parse_number(text: str) -> float | None:
    """« 12 000,50 € », « 3,5 » or « 1200 » as a float; ``None`` for an empty text. Raises
    ``ValueError`` with a French message for anything else, « nan » and « inf » included (floats
    to Python, not to a reader)."""
    cleaned = "".join(text.split()).removesuffix("€").replace(",", ".")
    if not cleaned:
        return None
    try:
        value = float(cleaned)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"« {text.strip()} » n'est pas un nombre.")
    return value


def euros(amount: float | None) -> str:
    """« 12 500,00 € »; an em dash when there is no amount."""
    if amount is None:
        return "—"
    return format_currency(amount, "EUR", locale=LOCALE)


def percent(ratio: float | None) -> str:
    """« 67 % » from 0.666…; an em dash when the ratio cannot be computed."""
    if ratio is None:
        return "—"
    return format_percent(ratio, format="#,##0 %", locale=LOCALE)


def long_date(day: dt.date) -> str:
    """« mardi 8 décembre 2026 »."""
    return format_date(day)


def short_date(day: dt.date | None) -> str:
    """« 08/12/2026 » (tables); an em dash when there is no date."""
    return "—" if day is None else format_date(day, "short")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """« 0 réunion », « 1 réunion », « 3 réunions », « 1 234 réunions »: French keeps the
    singular below two."""
    word = singular if abs(count) < 2 else (plural_form or singular + "s")
    return f"{number(count)} {word}"


def _local(moment: dt.datetime) -> dt.datetime:
    return in_paris(moment) if moment.tzinfo else moment


def date_fr(value: dt.date | dt.datetime | None, style: str = "long") -> str:
    """« 8 décembre 2026 », « mardi 8 décembre 2026 » (style="full"), « 08/12/2026 » ("short")."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = _local(value).date()
    return format_date(value, style)


def time_fr(value: dt.datetime | None) -> str:
    return "" if value is None else format_time(_local(value))


def datetime_fr(value: dt.datetime | None, style: str = "long") -> str:
    """« mardi 8 décembre 2026 à 14 h 00 » (style="full"), otherwise « 8 déc. 2026 à 14 h 00 »."""
    if value is None:
        return ""
    local = _local(value)
    day = format_date(local.date(), "full" if style == "full" else "abbreviated")
    return f"{day} à {format_time(local)}"
