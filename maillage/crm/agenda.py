"""Meetings as a coordinator sees them: the agenda, one meeting with its people, attendance.

Attendance lives on the invitation (``Invitation.attendance`` in maillage/tables.py): recording
that a member came who was never invited creates the invitation, so the meeting keeps one row
per person either way.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from piccolo.query.functions.aggregate import Count

from maillage.actor import Actor
from maillage.crm import audit
from maillage.crm.registry import SERVICES, scoped
from maillage.crm.resources import is_reference_gone, versioned
from maillage.crm.rules import NOT_STARTED, ensure_token_nonce
from maillage.db import count_rows, is_sqlite, read_transaction, write_transaction
from maillage.errors import Conflict, FieldError, InvalidData
from maillage.folding import fold
from maillage.tables import Affiliation, Contact, Invitation, Meeting, Membership
from maillage.vocabulary import CANCELLED, HELD, PRESENT

ATTENDANCE = ("present", "absent", "excuse")


async def list_meetings(
    *,
    period: str,
    now: dt.datetime,
    group: int | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
    count_cap: int | None = None,
) -> dict[str, Any]:
    """Coming meetings in time order, or past ones from the latest, with their group's name;
    the total counted up to ``count_cap`` (`ListQuery.count_cap`: past it, the cap and one)."""
    where: Any = Meeting.starts_at >= now if period == "a_venir" else Meeting.starts_at < now
    if group is not None:
        where = where & (Meeting.working_group == group)
    if status is not None:
        where = where & (Meeting.status == status)
    service = SERVICES["meetings"]
    # The total as the shared meetings' and the user's territories' counts (#20).
    counted = [where & half for half in service.scope_halves() or []]
    visible = service.scope_clause()
    if visible is not None:
        where = where & visible
    # Narrowed to a body or a status, a scoped user's meetings are gathered then sorted (#20).
    order = service.sort_term(Meeting.starts_at, group is not None or status is not None)
    async with read_transaction():
        rows = (
            await Meeting.select(
                Meeting.id,
                Meeting.title,
                Meeting.starts_at,
                Meeting.ends_at,
                Meeting.location,
                Meeting.status,
                Meeting.working_group,
                Meeting.working_group.name,
            )
            .where(where)
            .order_by(order, ascending=period == "a_venir")
            .order_by(Meeting.id)
            .limit(limit)
            .offset(offset)
            .run()
        )
        total = sum([await count_rows(Meeting, part, count_cap) for part in counted or [where]])
        if count_cap is not None:
            total = min(total, count_cap + 1)
        counts = await _invitation_counts([row["id"] for row in rows])
    for row in rows:
        row.update(counts.get(row["id"], _no_counts()))
    return {"items": rows, "total": total, "limit": limit, "offset": offset}


async def meetings_between(
    start: dt.datetime, end: dt.datetime, group: int | None = None
) -> list[dict[str, Any]]:
    """The meetings starting in [start, end), in time order, with their body's name and kind:
    what the month and week calendar views show."""
    where: Any = (Meeting.starts_at >= start) & (Meeting.starts_at < end)
    if group is not None:
        where = where & (Meeting.working_group == group)
    select = Meeting.select(
        Meeting.id,
        Meeting.title,
        Meeting.starts_at,
        Meeting.ends_at,
        Meeting.location,
        Meeting.status,
        Meeting.working_group,
        Meeting.working_group.name.as_alias("group_name"),
    )
    rows: list[dict[str, Any]] = await (
        scoped(select, "meetings").where(where).order_by(Meeting.starts_at).order_by(Meeting.id)
    )
    return rows


async def _invitation_counts(meeting_ids: list[int]) -> dict[int, dict[str, int]]:
    if not meeting_ids:
        return {}
    rows = (
        await Invitation.select(
            Invitation.meeting, Invitation.attendance, Invitation.response, Count()
        )
        .where(Invitation.meeting.is_in(meeting_ids))
        .group_by(Invitation.meeting, Invitation.attendance, Invitation.response)
        .run()
    )
    counts: dict[int, dict[str, int]] = defaultdict(_no_counts)
    for row in rows:
        counts[row["meeting"]]["invited"] += row["count"]
        if row["attendance"] == PRESENT:
            counts[row["meeting"]]["present"] += row["count"]
        # « Peut-être » is still an answer to chase: counted with those awaited.
        answer = {"acceptee": "accepted", "declinee": "declined"}.get(row["response"], "awaiting")
        counts[row["meeting"]][answer] += row["count"]
    return counts


def _no_counts() -> dict[str, int]:
    return {"invited": 0, "present": 0, "accepted": 0, "declined": 0, "awaiting": 0}


async def invitees_informed(meeting_id: int) -> int:
    """How many invitees received the meeting (a change or a cancellation goes to them)."""
    count: int = await Invitation.count().where(
        (Invitation.meeting == meeting_id) & Invitation.sent_sequence.is_not_null()
    )
    return count


async def meeting_detail(meeting_id: int, today: dt.date) -> dict[str, Any]:
    """The meeting, its body, and one line per person expected: invited people and current
    members of the body (members not yet invited appear without a response)."""
    async with read_transaction():
        meeting = await SERVICES["meetings"].get(meeting_id)
        group = await SERVICES["groups"].get(meeting["working_group"])
        invitations = (
            await Invitation.select(
                Invitation.id,
                Invitation.version,
                Invitation.contact,
                Invitation.contact.first_name,
                Invitation.contact.last_name,
                Invitation.response,
                Invitation.attendance,
                Invitation.sent_at,
                Invitation.answered_at,
                Invitation.response_source,
                Invitation.absent_until,
            )
            .where(Invitation.meeting == meeting_id)
            .run()
        )
        members = (
            await Membership.select(
                Membership.contact,
                Membership.contact.first_name,
                Membership.contact.last_name,
                Membership.role,
                Membership.organisation.name,
                Membership.start_date,
                Membership.end_date,
            )
            .where(Membership.working_group == meeting["working_group"])
            .run()
        )
        people_ids = {row["contact"] for row in invitations} | {row["contact"] for row in members}
        organisations = await _primary_organisations(sorted(people_ids))
    return {
        "meeting": meeting,
        "group": group,
        "people": _people(invitations, members, organisations, meeting["starts_at"].date()),
    }


async def _primary_organisations(contact_ids: list[int]) -> dict[int, str]:
    if not contact_ids:
        return {}
    rows = (
        await Affiliation.select(
            Affiliation.contact, Affiliation.organisation.name, Affiliation.is_primary
        )
        .where(Affiliation.contact.is_in(contact_ids) & Affiliation.end_date.is_null())
        .order_by(Affiliation.is_primary)
        .run()
    )
    # Ordered with the primary affiliation last, so it wins.
    return {row["contact"]: row["organisation.name"] for row in rows}


def _people(
    invitations: list[dict[str, Any]],
    members: list[dict[str, Any]],
    organisations: dict[int, str],
    day: dt.date,
) -> list[dict[str, Any]]:
    people: dict[int, dict[str, Any]] = {}
    for row in members:
        active = row["start_date"] <= day and (row["end_date"] is None or row["end_date"] >= day)
        if not active:
            continue
        people[row["contact"]] = {
            "contact": row["contact"],
            "first_name": row["contact.first_name"],
            "last_name": row["contact.last_name"],
            "role": row["role"],
            "organisation": row["organisation.name"] or organisations.get(row["contact"]),
            "invitation": None,
            "response": None,
            "attendance": None,
            "sent_at": None,
            "answered_at": None,
            "response_source": None,
            "absent_until": None,
        }
    for row in invitations:
        person = people.setdefault(
            row["contact"],
            {
                "contact": row["contact"],
                "first_name": row["contact.first_name"],
                "last_name": row["contact.last_name"],
                "role": None,
                "organisation": organisations.get(row["contact"]),
            },
        )
        person.update(
            invitation=row["id"],
            response=row["response"],
            attendance=row["attendance"],
            sent_at=row["sent_at"],
            answered_at=row["answered_at"],
            response_source=row["response_source"],
            absent_until=row["absent_until"],
        )
    return sorted(people.values(), key=lambda p: (fold(p["last_name"]), fold(p["first_name"])))


async def record_attendance(
    actor: Actor,
    meeting_id: int,
    attendance: dict[int, str | None],
    held: bool,
    attendance_count: int | None = None,
) -> int:
    """Record who came: ``{contact_id: present|absent|excuse|None}``; returns rows changed."""
    for status in attendance.values():
        if status is not None and status not in ATTENDANCE:
            raise InvalidData.one("attendance", f"Présence non reconnue « {status} ».")
    meeting = await SERVICES["meetings"].get(meeting_id)
    if meeting["status"] == CANCELLED:
        raise InvalidData.one("status", "Cette réunion est annulée : rétablissez-la d'abord.")
    existing = {
        row["contact"]: row
        for row in await Invitation.select(Invitation.id, Invitation.contact, Invitation.attendance)
        .where(Invitation.meeting == meeting_id)
        .run()
    }
    members = {
        row["contact"]
        for row in await Membership.select(Membership.contact)
        .where(Membership.working_group == meeting["working_group"])
        .run()
    }
    strangers = set(attendance) - set(existing) - members
    if strangers:
        await _refuse_gone(sorted(strangers))
        raise InvalidData.one(
            "attendance", "Une des personnes n'est ni invitée ni membre de l'instance."
        )
    if meeting["starts_at"] > dt.datetime.now(dt.UTC):
        raise InvalidData.one("status", NOT_STARTED)
    try:
        return await _write_attendance(actor, meeting, existing, attendance, held, attendance_count)
    except Exception as error:
        await _refuse_changed(error, sorted(attendance))
        raise


class _InvitationGone(Exception):
    """An invitation read before the write was deleted meanwhile: the duplicate's, dropped by
    the merge of its person into another invitee (#20)."""


async def _refuse_changed(error: Exception, contact_ids: list[int]) -> None:
    """The answer to a write of attendance that found a person or an invitation gone (nothing
    written): the person named (`_refuse_gone`), or the list changed. Nothing for another
    error."""
    if is_reference_gone(error) or isinstance(error, _InvitationGone):
        await _refuse_gone(contact_ids)
    if isinstance(error, _InvitationGone):
        raise Conflict(
            "La liste des invités a changé pendant l'enregistrement : rechargez la page et "
            "refaites la saisie. Rien n'a été enregistré."
        ) from error


async def _refuse_gone(contact_ids: list[int]) -> None:
    """« Contact n° 12 introuvable. » for the people of ``contact_ids`` who do not exist: never
    were, or merged into another person (#20), also while the attendance was written (its
    invitation waited for the merge, then failed on its foreign key)."""
    found = {
        row["id"] for row in await Contact.select(Contact.id).where(Contact.id.is_in(contact_ids))
    }
    gone = [c for c in contact_ids if c not in found]
    if gone:
        raise InvalidData([FieldError("attendance", f"Contact n° {c} introuvable.") for c in gone])


async def _write_attendance(
    actor: Actor,
    meeting: dict[str, Any],
    existing: dict[int, dict[str, Any]],
    attendance: dict[int, str | None],
    held: bool,
    attendance_count: int | None,
) -> int:
    meeting_id = meeting["id"]
    changed = 0
    async with write_transaction():
        if not is_sqlite():
            # Taken before the invitations, whose trigger reads the meeting FOR SHARE
            # (migration 2026-12-10T13:00:00): two records at once would each hold it so and
            # wait for the other's to mark it held. One waits for the other instead (#20).
            await Meeting.raw(
                "SELECT id FROM meeting WHERE id = {} FOR NO KEY UPDATE", meeting_id
            ).run()
        for contact_id, status in attendance.items():
            row = existing.get(contact_id)
            if row is None:
                if status is None:
                    continue
                await _invite_present(actor, meeting_id, contact_id, status)
            elif row["attendance"] == status:
                continue
            else:
                await _set_attendance(actor, row, status)
            changed += 1
        await _mark_held(actor, meeting, held, attendance_count)
    return changed


async def _invite_present(actor: Actor, meeting_id: int, contact_id: int, status: str) -> None:
    values: dict[str, Any] = {"meeting": meeting_id, "contact": contact_id, "attendance": status}
    await ensure_token_nonce(values, None)
    result = await Invitation.insert(Invitation(**values)).returning(Invitation.id).run()
    await audit.record(actor, "create", "invitation", result[0]["id"], values)


async def _set_attendance(actor: Actor, row: dict[str, Any], status: str | None) -> None:
    written = (
        await Invitation.update({Invitation.attendance: status, **versioned(Invitation)})
        .where(Invitation.id == row["id"])
        .returning(Invitation.id)
        .run()
    )
    if not written:  # nothing to say « 1 modification » of
        raise _InvitationGone(row["id"])
    await audit.record(
        actor, "update", "invitation", row["id"], {"attendance": [row["attendance"], status]}
    )


async def _mark_held(
    actor: Actor, meeting: dict[str, Any], held: bool, attendance_count: int | None
) -> None:
    changes: dict[Any, Any] = {}
    if held and meeting["status"] != HELD:
        changes[Meeting.status] = HELD
    if attendance_count is not None and attendance_count != meeting["attendance_count"]:
        changes[Meeting.attendance_count] = attendance_count
    if not changes:
        return
    await Meeting.update({**changes, **versioned(Meeting)}).where(Meeting.id == meeting["id"]).run()
    await audit.record(
        actor,
        "update",
        "meeting",
        meeting["id"],
        {
            column._meta.name: str(value)
            for column, value in changes.items()
            if column._meta.name in ("status", "attendance_count")
        },
    )
