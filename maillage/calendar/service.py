"""Meetings on the calendar: schedule, move, cancel, materialise a body's recurrence, warn.

Every write goes through ``SERVICES["meetings"]``, so the UID and SEQUENCE rules
(``rules.ensure_meeting_uid``, ``rules.bump_meeting_sequence``), validation, optimistic
concurrency and the audit log stay in one place for the API, the pages, the CLI and mailing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import msgspec

from maillage import french
from maillage.actor import Actor
from maillage.calendar import recurrence
from maillage.calendar.events import (
    RESPONSES,
    Attendee,
    MeetingEvent,
    build_calendar,
    serialize,
)
from maillage.calendar.scheduling import BusyInvitee, SchedulingWarning, scheduling_warnings
from maillage.crm.registry import SERVICES, scoped
from maillage.crm.schemas import MeetingIn
from maillage.db import read_transaction, write_transaction
from maillage.errors import InvalidData, NotFound
from maillage.settings import Settings
from maillage.tables import (
    GroupAxis,
    Invitation,
    Meeting,
    Membership,
    Territory,
    WorkingGroup,
)
from maillage.vocabulary import CANCELLED, DECLINED

MEETING_PAGE = "/reunions/{id}"  # the page a person opens (#17)
MAX_HORIZON = dt.timedelta(days=5 * 366)
ORGANIZER_NAME = "Coordination CTG"

MEETING_COLUMNS = (
    Meeting.id,
    Meeting.version,
    Meeting.working_group,
    Meeting.title,
    Meeting.starts_at,
    Meeting.ends_at,
    Meeting.location,
    Meeting.video_url,
    Meeting.agenda,
    Meeting.status,
    Meeting.ical_uid,
    Meeting.ical_sequence,
    Meeting.recurrence_id,
    Meeting.updated_at,
)


class CalendarMeetingIn(MeetingIn, kw_only=True):
    """A meeting as the calendar creates it: with the UID of an imported event, or the
    occurrence of the body's rule it materialises."""

    ical_uid: str | None = None
    recurrence_id: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class GroupInfo:
    id: int
    name: str
    kind: str
    territory: int | None
    rrule: str | None
    default_location: str
    axes: tuple[str, ...] = ()


@dataclass
class Scheduled:
    meeting: dict[str, Any]
    warnings: list[SchedulingWarning] = field(default_factory=list)


def links(settings: Settings, path: str) -> dict[str, str]:
    """The https:// address and the webcal:// one calendar applications subscribe to."""
    url = settings.base_url + path
    rest = url.partition("://")[2]
    return {"https": url, "webcal": f"webcal://{rest}"}


# ----- reading ---------------------------------------------------------------------------------


async def group_infos(group_ids: set[int]) -> dict[int, GroupInfo]:
    """Names, kinds and axes of the bodies, in two queries whatever their number."""
    if not group_ids:
        return {}
    ids = sorted(group_ids)
    rows = await WorkingGroup.select(
        WorkingGroup.id,
        WorkingGroup.name,
        WorkingGroup.kind,
        WorkingGroup.territory,
        WorkingGroup.rrule,
        WorkingGroup.default_location,
    ).where(WorkingGroup.id.is_in(ids))
    axes = await (
        GroupAxis.select(GroupAxis.working_group, GroupAxis.axis.name.as_alias("axis_name"))
        .where(GroupAxis.working_group.is_in(ids))
        .order_by(GroupAxis.axis.position)
    )
    names: dict[int, list[str]] = {}
    for row in axes:
        names.setdefault(row["working_group"], []).append(row["axis_name"])
    return {
        row["id"]: GroupInfo(
            id=row["id"],
            name=row["name"],
            kind=row["kind"],
            territory=row["territory"],
            rrule=row["rrule"],
            default_location=row["default_location"],
            axes=tuple(names.get(row["id"], ())),
        )
        for row in rows
    }


def to_event(
    row: dict[str, Any],
    group: GroupInfo | None,
    settings: Settings,
    attendees: tuple[Attendee, ...] = (),
) -> MeetingEvent:
    return MeetingEvent(
        uid=row["ical_uid"],
        sequence=row["ical_sequence"],
        title=row["title"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        group_name=group.name if group else "",
        group_kind=group.kind if group else "",
        axes=group.axes if group else (),
        location=row["location"],
        video_url=row["video_url"],
        agenda=row["agenda"],
        status=row["status"],
        url=settings.base_url + MEETING_PAGE.format(id=row["id"]),
        organizer_email=settings.mail_from,
        organizer_name=ORGANIZER_NAME,
        attendees=attendees,
        last_modified=row["updated_at"],
    )


async def meeting_rows(
    where: Any, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    query = Meeting.select(*MEETING_COLUMNS).order_by(Meeting.starts_at).order_by(Meeting.id)
    query = scoped(query, "meetings")  # the user's territories and the shared bodies (#20)
    if where is not None:
        query = query.where(where)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    rows: list[dict[str, Any]] = await query
    return rows


async def events_for(rows: list[dict[str, Any]], settings: Settings) -> list[MeetingEvent]:
    groups = await group_infos({row["working_group"] for row in rows})
    return [to_event(row, groups.get(row["working_group"]), settings) for row in rows]


async def meeting_event(meeting_id: int, settings: Settings) -> MeetingEvent:
    async with read_transaction():
        rows = await meeting_rows(Meeting.id == meeting_id)
        if not rows:
            raise NotFound("Réunion", meeting_id)
        return (await events_for(rows, settings))[0]


async def meeting_ics(meeting_id: int, settings: Settings) -> bytes:
    return serialize(build_calendar([await meeting_event(meeting_id, settings)]))


async def get_meeting(meeting_id: int) -> dict[str, Any]:
    rows = await meeting_rows(Meeting.id == meeting_id)
    if not rows:
        raise NotFound("Réunion", meeting_id)
    return rows[0]


async def list_meetings(
    group: int | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    clauses: list[Any] = []
    if group is not None:
        clauses.append(Meeting.working_group == group)
    if start is not None:
        clauses.append(Meeting.ends_at >= start)
    if end is not None:
        clauses.append(Meeting.starts_at < end)
    if status is not None:
        clauses.append(Meeting.status == status)
    where: Any = None
    for clause in clauses:
        where = clause if where is None else where & clause
    async with read_transaction():
        rows = await meeting_rows(where, limit, offset)
        count = scoped(Meeting.count(), "meetings")
        total = await (count.where(where) if where is not None else count)
    return rows, total


# ----- writing ---------------------------------------------------------------------------------


async def schedule(actor: Actor, data: MeetingIn) -> Scheduled:
    created = await SERVICES["meetings"].create(actor, data)
    return Scheduled(await get_meeting(created["id"]), await warnings_for(created["id"]))


async def move(
    actor: Actor,
    meeting_id: int,
    version: int,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    location: str | None = None,
) -> Scheduled:
    """New time (and place): SEQUENCE goes up, so calendars replace the old slot."""
    changes: dict[str, Any] = {"version": version, "starts_at": starts_at, "ends_at": ends_at}
    if location is not None:
        changes["location"] = location
    await update_meeting(actor, meeting_id, changes)
    return Scheduled(await get_meeting(meeting_id), await warnings_for(meeting_id))


async def cancel(actor: Actor, meeting_id: int, version: int) -> dict[str, Any]:
    """Status « annulée »: the meeting stays in feeds as STATUS:CANCELLED."""
    await update_meeting(actor, meeting_id, {"version": version, "status": "annulee"})
    return await get_meeting(meeting_id)


async def update_meeting(actor: Actor, meeting_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    service = SERVICES["meetings"]
    data = msgspec.convert(changes, service.spec.update)
    return await service.update(actor, meeting_id, data)


# ----- warnings --------------------------------------------------------------------------------


async def warnings_for(meeting_id: int) -> list[SchedulingWarning]:
    """Holidays of the body's territory and invitees already taken elsewhere at that time."""
    async with read_transaction():
        meeting = await get_meeting(meeting_id)
        return await _warnings(meeting)


async def warnings_before(
    group_id: int,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    meeting_id: int | None = None,
) -> list[SchedulingWarning]:
    """The same warnings for a slot not written yet, so a page can ask to confirm first."""
    slot = {"id": meeting_id, "working_group": group_id, "starts_at": starts_at}
    async with read_transaction():
        return await _warnings({**slot, "ends_at": ends_at})


async def warnings_of(meeting: dict[str, Any]) -> list[SchedulingWarning]:
    """Warnings for a meeting row already read (the page has it: one query less)."""
    async with read_transaction():
        return await _warnings(meeting)


async def _warnings(meeting: dict[str, Any]) -> list[SchedulingWarning]:
    zone = await _school_zone(meeting["working_group"])
    busy = await _busy_invitees(meeting)
    return scheduling_warnings(meeting["starts_at"], meeting["ends_at"], zone, busy)


async def _school_zone(group_id: int) -> str | None:
    row = await (
        WorkingGroup.select(WorkingGroup.territory.school_zone.as_alias("zone"))
        .where(WorkingGroup.id == group_id)
        .first()
    )
    if row is None or row["zone"] is None:
        # A body without territory: the only territory, when there is just one, is its own.
        zones = await Territory.select(Territory.school_zone).limit(2)
        only: str | None = zones[0]["school_zone"] if len(zones) == 1 else None
        return only
    zone: str | None = row["zone"]
    return zone


async def _busy_invitees(meeting: dict[str, Any]) -> list[BusyInvitee]:
    """Members and invitees of this meeting invited to another live meeting that overlaps."""
    today = french.in_paris(meeting["starts_at"]).date()
    members = Membership.select(Membership.contact).where(
        (Membership.working_group == meeting["working_group"])
        & (Membership.end_date.is_null() | (Membership.end_date >= today))
    )
    invited = Invitation.select(Invitation.contact).where(Invitation.meeting == meeting["id"])
    others = (
        Invitation.meeting != meeting["id"] if meeting["id"] else Invitation.meeting.is_not_null()
    )
    rows = await Invitation.select(
        Invitation.contact.first_name.as_alias("first_name"),
        Invitation.contact.last_name.as_alias("last_name"),
        Invitation.meeting.title.as_alias("title"),
        Invitation.meeting.starts_at.as_alias("starts_at"),
        Invitation.meeting.ends_at.as_alias("ends_at"),
    ).where(
        (Invitation.contact.is_in(members) | Invitation.contact.is_in(invited))
        & others
        & (Invitation.meeting.status != CANCELLED)
        & (Invitation.meeting.starts_at < meeting["ends_at"])
        & (Invitation.meeting.ends_at > meeting["starts_at"])
        & (Invitation.response != DECLINED)
    )
    return [
        BusyInvitee(
            f"{row['first_name']} {row['last_name']}",
            row["title"],
            _aware(row["starts_at"]),
            _aware(row["ends_at"]),
        )
        for row in rows
    ]


def _aware(value: dt.datetime | str) -> dt.datetime:
    """Joined timestamps come back as text on SQLite."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# ----- recurrence ------------------------------------------------------------------------------


@dataclass
class Materialised:
    planned: list[recurrence.Occurrence]
    created: list[dict[str, Any]]
    warnings: dict[int, list[SchedulingWarning]]


async def materialise(
    actor: Actor,
    group_id: int,
    until: dt.date,
    first_start: dt.datetime | None = None,
    duration: dt.timedelta = dt.timedelta(hours=2),
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> Materialised:
    """Create the body's meetings up to ``until`` from its rule; all of them or none."""
    now = now or dt.datetime.now(dt.UTC)
    group = (await group_infos({group_id})).get(group_id)
    if group is None:
        raise NotFound("Instance", group_id)
    if not group.rrule:
        raise InvalidData.one(
            "rrule", "Cette instance n'a pas de règle de récurrence : renseignez-la d'abord."
        )
    if until > (now + MAX_HORIZON).date():
        raise InvalidData.one("until", "Horizon trop lointain : cinq ans au plus.")
    if first_start is not None and first_start.tzinfo is None:
        raise InvalidData.one("first_start", "Indiquez le fuseau horaire (ex. : +01:00).")
    existing = await Meeting.select(Meeting.recurrence_id).where(
        (Meeting.working_group == group_id) & Meeting.recurrence_id.is_not_null()
    )
    try:
        rule = recurrence.parse_rule(group.rrule)
        planned = recurrence.plan(
            rule, until, duration, [r["recurrence_id"] for r in existing], now, first_start
        )
    except recurrence.RecurrenceError as error:
        raise InvalidData.one("rrule", str(error)) from error
    if dry_run or not planned:
        return Materialised(planned, [], {})
    created = []
    async with write_transaction():
        for occurrence in planned:
            data = CalendarMeetingIn(
                working_group=group_id,
                title=group.name,
                starts_at=occurrence.starts_at,
                ends_at=occurrence.ends_at,
                location=group.default_location,
                recurrence_id=occurrence.recurrence_id,
            )
            created.append(await SERVICES["meetings"].create(actor, data))
    warnings = {row["id"]: await warnings_for(row["id"]) for row in created}
    return Materialised(planned, [await get_meeting(r["id"]) for r in created], warnings)


async def contact_attendees(meeting_id: int) -> tuple[Attendee, ...]:
    """Invitees of a meeting as iCalendar attendees (for mailing's REQUEST messages)."""
    rows = await Invitation.select(
        Invitation.contact.email.as_alias("email"),
        Invitation.contact.first_name.as_alias("first_name"),
        Invitation.contact.last_name.as_alias("last_name"),
        Invitation.response,
    ).where((Invitation.meeting == meeting_id) & Invitation.contact.email.is_not_null())
    partstat = {response: value for value, response in RESPONSES.items()}
    return tuple(
        Attendee(
            email=row["email"],
            name=f"{row['first_name']} {row['last_name']}",
            partstat=partstat.get(row["response"], "NEEDS-ACTION"),
        )
        for row in rows
    )
