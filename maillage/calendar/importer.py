"""Importing an ``.ics`` into a body's meetings: idempotent by UID, dry run first, all or nothing.

Re-importing a file updates the meetings it created (through ``SERVICES["meetings"]``, so a new
time bumps SEQUENCE) and never duplicates them. A dry run reports exactly what a real import
would do, and nothing is written unless every event of the file can be imported.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from maillage import french
from maillage.actor import Actor
from maillage.calendar.ics_import import IcsImportError, ImportedEvent, parse_ics
from maillage.calendar.service import CalendarMeetingIn, group_infos, update_meeting
from maillage.crm.registry import SERVICES
from maillage.db import write_transaction
from maillage.errors import FieldError, InvalidData, NotFound
from maillage.french import plural
from maillage.tables import Meeting

COMPARED_FIELDS = ("title", "starts_at", "ends_at", "location", "agenda", "status")


@dataclass
class ImportLine:
    uid: str
    title: str
    starts_at: dt.datetime
    action: str  # creee, modifiee, inchangee
    changed: list[str] = field(default_factory=list)
    meeting_id: int | None = None


@dataclass
class ImportReport:
    dry_run: bool
    lines: list[ImportLine]
    skipped: list[str]

    def count(self, action: str) -> int:
        return sum(1 for line in self.lines if line.action == action)

    def summary(self) -> str:
        created = self.count("creee")
        many = created > 1
        if self.dry_run:
            verb = "seraient créées" if many else "serait créée"
        else:
            verb = "ont été créées" if many else "a été créée"
        text = (
            f"{plural(created, 'réunion')} {verb}, "
            f"{plural(self.count('modifiee'), 'modifiée', 'modifiées')}, "
            f"{plural(self.count('inchangee'), 'inchangée', 'inchangées')}"
        )
        if self.skipped:
            text += f", {plural(len(self.skipped), 'événement ignoré', 'événements ignorés')}"
        return text + "."


def import_error(error: IcsImportError) -> InvalidData:
    """The parser's French problems as the API's usual list of field errors."""
    problems = [FieldError("fichier", error.message)]
    problems += [FieldError("fichier", problem) for problem in error.problems]
    return InvalidData(problems)


async def import_ics(
    actor: Actor, group_id: int, data: bytes | str, dry_run: bool = True
) -> ImportReport:
    group = (await group_infos({group_id})).get(group_id)
    if group is None:
        raise NotFound("Instance", group_id)
    try:
        parsed = parse_ics(data)
    except IcsImportError as error:
        raise import_error(error) from error
    events = [_retitled(event, group.kind, group.name) for event in parsed.events]
    existing = await _existing(events)
    foreign = [
        e for e in events if e.uid in existing and existing[e.uid]["working_group"] != group_id
    ]
    if foreign:
        raise import_error(
            IcsImportError(
                "Certains événements appartiennent déjà à une autre instance : rien n'a été importé.",
                [
                    f"« {e.title} » (UID {e.uid}) : réunion n° {existing[e.uid]['id']} d'une autre instance."
                    for e in foreign[:20]
                ],
            )
        )
    lines = [_plan(event, existing.get(event.uid)) for event in events]
    report = ImportReport(dry_run, lines, parsed.skipped)
    if not dry_run:
        await _apply(actor, group_id, events, existing, lines)
    return report


def _retitled(event: ImportedEvent, kind: str, name: str) -> ImportedEvent:
    """Our own exports say « COPIL CTG — Bilan »: keep « Bilan » as the title."""
    return replace(event, title=french.strip_summary(kind, name, event.title) or event.title)


async def _existing(events: list[ImportedEvent]) -> dict[str, dict[str, Any]]:
    uids = [event.uid for event in events]
    if not uids:
        return {}
    rows = await Meeting.select(
        Meeting.id,
        Meeting.version,
        Meeting.working_group,
        Meeting.ical_uid,
        *[Meeting._meta.get_column_by_name(name) for name in COMPARED_FIELDS],
    ).where(Meeting.ical_uid.is_in(uids))
    return {row["ical_uid"]: row for row in rows}


def _values(event: ImportedEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in COMPARED_FIELDS}


def _plan(event: ImportedEvent, row: dict[str, Any] | None) -> ImportLine:
    if row is None:
        return ImportLine(event.uid, event.title, event.starts_at, "creee")
    changed = [name for name, value in _values(event).items() if row[name] != value]
    action = "modifiee" if changed else "inchangee"
    return ImportLine(event.uid, event.title, event.starts_at, action, changed, row["id"])


async def _apply(
    actor: Actor,
    group_id: int,
    events: list[ImportedEvent],
    existing: dict[str, dict[str, Any]],
    lines: list[ImportLine],
) -> None:
    meetings = SERVICES["meetings"]
    async with write_transaction():
        for event, line in zip(events, lines, strict=True):
            if line.action == "creee":
                data = CalendarMeetingIn(
                    working_group=group_id, ical_uid=event.uid, **_values(event)
                )
                line.meeting_id = (await meetings.create(actor, data))["id"]
            elif line.action == "modifiee":
                row = existing[event.uid]
                changes = {name: getattr(event, name) for name in line.changed}
                await update_meeting(actor, row["id"], {"version": row["version"], **changes})
