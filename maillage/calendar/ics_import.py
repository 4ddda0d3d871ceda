"""Reading an uploaded ``.ics`` into plain meeting values (the service writes them).

The whole file is checked before anything is written: one French problem per faulty event, all
of them at once, so the person fixes the file in one go and nothing is half-imported.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from icalendar import Calendar
from icalendar.cal.component import Component

from maillage import french
from maillage.french import plural
from maillage.vocabulary import PLANNED

MAX_IMPORT_EVENTS = 500
MAX_IMPORT_BYTES = 2 * 1024 * 1024
DEFAULT_DURATION = dt.timedelta(hours=1)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"[\r\n\t]+")
_STATUSES = {"CANCELLED": "annulee", "TENTATIVE": "brouillon"}
_SHOWN_PROBLEMS = 20


class IcsImportError(ValueError):
    """The file cannot be imported; ``problems`` lists each fault in French."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []


@dataclass(frozen=True, slots=True)
class ImportedEvent:
    uid: str
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    location: str = ""
    agenda: str = ""
    status: str = PLANNED


@dataclass(frozen=True, slots=True)
class ParsedFile:
    events: list[ImportedEvent]
    skipped: list[str]


def _text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older Outlook exports are Windows-1252; it decodes any byte, so it comes last.
        return data.decode("cp1252", errors="replace")


def parse_ics(data: bytes | str, limit: int = MAX_IMPORT_EVENTS) -> ParsedFile:
    if len(data) > MAX_IMPORT_BYTES:
        raise IcsImportError(
            f"Fichier trop volumineux ({len(data) // 1024} Kio) : l'import accepte "
            f"{MAX_IMPORT_BYTES // (1024 * 1024)} Mio au plus."
        )
    text = _text(data).strip()
    if not text.upper().startswith("BEGIN:VCALENDAR"):
        raise IcsImportError(
            "Ce fichier n'est pas un calendrier iCalendar (.ics) : il doit commencer par "
            "BEGIN:VCALENDAR. Exportez le calendrier au format iCalendar depuis votre messagerie."
        )
    if not text.upper().rstrip().endswith("END:VCALENDAR"):
        raise IcsImportError(
            "Le fichier semble tronqué : la fin du calendrier (END:VCALENDAR) manque. "
            "Téléchargez-le ou exportez-le de nouveau."
        )
    try:
        calendar = Calendar.from_ical(text)
    except ValueError as error:
        raise IcsImportError(
            f"Fichier iCalendar illisible : {_syntax_problem(str(error))}. "
            "Vérifiez qu'il n'a pas été modifié à la main."
        ) from error
    components = calendar.walk("VEVENT")
    if len(components) > limit:
        raise IcsImportError(
            f"Le fichier contient {len(components)} événements : l'import en accepte {limit} "
            "au plus par fichier. Exportez une période plus courte ou découpez le fichier."
        )
    return _read_events(components)


def _syntax_problem(message: str) -> str:
    """icalendar explains in English; its usual complaint names the line it could not read."""
    line = re.search(r"could not be parsed into parts: '(?P<line>.*)'", message)
    if line:
        return f"la ligne « {line['line'][:80]} » n'a pas la forme NOM:valeur"
    return "syntaxe non reconnue"


def _read_events(components: list[Component]) -> ParsedFile:
    events: list[ImportedEvent] = []
    skipped: list[str] = []
    problems: list[str] = []
    seen: set[str] = set()
    for position, component in enumerate(components, start=1):
        label = _label(position, component)
        try:
            event = _read_event(component, label)
        except _Skip as skip:
            skipped.append(str(skip))
            continue
        except _Problem as problem:
            problems.append(str(problem))
            continue
        if event.uid in seen:
            problems.append(f"{label} : UID « {event.uid} » présent deux fois dans le fichier.")
            continue
        seen.add(event.uid)
        events.append(event)
    if problems:
        shown = problems[:_SHOWN_PROBLEMS]
        more = len(problems) - len(shown)
        if more:
            shown.append(f"… et {plural(more, 'autre problème', 'autres problèmes')}.")
        raise IcsImportError(
            (
                f"{plural(len(problems), 'événement')} "
                + ("ne peuvent" if len(problems) > 1 else "ne peut")
                + " pas être importé"
                + ("s" if len(problems) > 1 else "")
                + " : rien n'a été importé."
            ),
            shown,
        )
    return ParsedFile(events, skipped)


class _Skip(Exception):
    pass


class _Problem(Exception):
    pass


def _label(position: int, component: Component) -> str:
    summary = _one_line(str(component.get("SUMMARY", "")))[:60]
    return f"Événement n° {position}" + (f" (« {summary} »)" if summary else "")


def _one_line(value: str) -> str:
    return " ".join(_LINE_BREAKS.sub(" ", _CONTROL.sub("", value)).split())


def _read_event(component: Component, label: str) -> ImportedEvent:
    uid = _one_line(str(component.get("UID", "")))
    if not uid:
        raise _Problem(f"{label} : pas d'identifiant UID (obligatoire pour ne pas le dupliquer).")
    if len(uid) > 255:
        raise _Problem(f"{label} : identifiant UID trop long (255 caractères au plus).")
    if "RRULE" in component or "RECURRENCE-ID" in component:
        raise _Problem(
            f"{label} : événement récurrent non pris en charge. Exportez les occurrences une à "
            "une, ou indiquez la règle sur l'instance (récurrence de l'instance)."
        )
    start = _moment(component, "DTSTART", label)
    if start is None:
        raise _Problem(f"{label} : date de début (DTSTART) absente.")
    end = _moment(component, "DTEND", label)
    if end is None:
        end = _end_from_duration(component, start, label)
    if end <= start:
        raise _Problem(f"{label} : la fin doit être postérieure au début.")
    status = _STATUSES.get(str(component.get("STATUS", "")).upper(), "planifiee")
    return ImportedEvent(
        uid=uid,
        title=_one_line(str(component.get("SUMMARY", "")))[:300] or "Réunion importée",
        starts_at=start,
        ends_at=end,
        location=_one_line(str(component.get("LOCATION", "")))[:300],
        agenda=_CONTROL.sub("", str(component.get("DESCRIPTION", ""))).strip()[:20_000],
        status=status,
    )


def _end_from_duration(component: Component, start: dt.datetime, label: str) -> dt.datetime:
    """DTSTART + DURATION, or an hour without one; a duration past Python's calendar (year
    9999) is the file's fault, not a server error (#23)."""
    prop = component.get("DURATION")
    if prop is None:
        duration = DEFAULT_DURATION
    else:
        try:
            duration = prop.dt
        except Exception as error:  # icalendar raises its own error for a broken duration
            raise _Problem(f"{label} : durée (DURATION) illisible.") from error
        if not isinstance(duration, dt.timedelta):
            raise _Problem(f"{label} : durée (DURATION) illisible.")
    try:
        return start + duration
    except OverflowError as error:
        raise _Problem(
            f"{label} : durée (DURATION) hors limites : la fin tomberait après l'an 9999."
        ) from error


def _moment(component: Component, name: str, label: str) -> dt.datetime | None:
    prop = component.get(name)
    if prop is None:
        return None
    try:
        value = prop.dt
    except Exception as error:  # icalendar raises its own error for a broken date
        raise _Problem(f"{label} : date {name} illisible.") from error
    if not isinstance(value, dt.datetime):
        raise _Skip(f"{label} : journée entière, ignoré (une réunion a une heure de début).")
    if value.tzinfo is None:
        tzid = prop.params.get("TZID")
        if tzid:
            raise _Problem(
                f"{label} : fuseau horaire inconnu « {_one_line(str(tzid))[:60]} » "
                "(ni un fuseau connu ni défini dans le fichier par un VTIMEZONE)."
            )
        value = value.replace(tzinfo=french.PARIS)  # floating time: read as Paris time
    return value.astimezone(french.PARIS)
