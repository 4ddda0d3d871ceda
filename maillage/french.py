"""French wording of dates and bodies, in the Europe/Paris time zone: the one place where
maillage writes a date for a person (pages, emails, feeds, documents, reports).

Hand-written tables rather than Babel: feeds format thousands of dates, these few words never
change, and Babel writes « 1 décembre » where French writes « 1er décembre ».
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

PARIS_TZID = "Europe/Paris"
PARIS = ZoneInfo(PARIS_TZID)

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
MONTHS_ABBREVIATED = (
    "janv.", "févr.", "mars", "avr.", "mai", "juin",
    "juil.", "août", "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip


GROUP_KIND_LABELS = {
    "copil": "Comité de pilotage",
    "cotech": "Comité technique",
    "commission_thematique": "Commission thématique",
    "commission_territoriale": "Commission territoriale",
    "groupe_travail": "Groupe de travail",
    "reseau": "Réseau",
}

# The two steering bodies are known by their acronym; the others by their own name.
_ACRONYMS = {"copil": "COPIL CTG", "cotech": "COTECH CTG"}

STATUS_LABELS = {
    "brouillon": "brouillon",
    "planifiee": "planifiée",
    "annulee": "annulée",
    "tenue": "tenue",
}


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
    return _ACRONYMS.get(kind) or name or GROUP_KIND_LABELS.get(kind, "Réunion")


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
