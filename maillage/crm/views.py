"""The views a coordinator opens every day: one call, a bounded number of queries.

Each view reads its parts with joins through Piccolo's foreign-key traversal, so the number of
queries does not grow with the number of rows (tests count them).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from maillage.crm.registry import SERVICES
from maillage.crm.tables import (
    Affiliation,
    Axis,
    Invitation,
    Meeting,
    Membership,
    Organisation,
    OrganisationAxis,
    Partnership,
)
from maillage.db import read_transaction

RECENT_MEETINGS = 50


def _active_on(day: dt.date, row: dict[str, Any], start: str, end: str) -> bool:
    started = row[start] is None or row[start] <= day
    return started and (row[end] is None or row[end] >= day)


async def organisation_overview(organisation_id: int, today: dt.date) -> dict[str, Any]:
    async with read_transaction():
        organisation = await SERVICES["organisations"].get(organisation_id)
        contacts = await _organisation_contacts(organisation_id, today)
        partnerships = await _organisation_partnerships(organisation_id)
        bodies = await _organisation_bodies(organisation_id, [c["contact"] for c in contacts])
        meetings = await _meetings_attended_by(organisation_id)
    return {
        "organisation": organisation,
        "contacts": contacts,
        "partnerships": partnerships,
        "bodies": bodies,
        "meetings_attended": meetings,
    }


async def _organisation_contacts(organisation_id: int, today: dt.date) -> list[dict[str, Any]]:
    rows = (
        await Affiliation.select(
            Affiliation.id,
            Affiliation.contact,
            Affiliation.contact.first_name,
            Affiliation.contact.last_name,
            Affiliation.contact.email,
            Affiliation.contact.phone,
            Affiliation.contact.archived,
            Affiliation.function,
            Affiliation.elected_mandate,
            Affiliation.is_primary,
            Affiliation.start_date,
            Affiliation.end_date,
        )
        .where(Affiliation.organisation == organisation_id)
        .order_by(Affiliation.contact.last_name)
        .run()
    )
    return [
        {
            "affiliation": row["id"],
            "contact": row["contact"],
            "name": f"{row['contact.first_name']} {row['contact.last_name']}",
            "email": row["contact.email"],
            "phone": row["contact.phone"],
            "archived": row["contact.archived"],
            "function": row["function"],
            "elected_mandate": row["elected_mandate"],
            "is_primary": row["is_primary"],
            "start_date": row["start_date"],
            "end_date": row["end_date"],
            "current": _active_on(today, row, "start_date", "end_date"),
        }
        for row in rows
    ]


async def _organisation_partnerships(organisation_id: int) -> list[dict[str, Any]]:
    rows = (
        await Partnership.select(
            Partnership.id,
            Partnership.kind,
            Partnership.organisation,
            Partnership.organisation.name,
            Partnership.partner,
            Partnership.partner.name,
            Partnership.start_date,
            Partnership.end_date,
            Partnership.contract_reference,
            Partnership.delegated_service,
            Partnership.delegated_service.name,
            Partnership.description,
        )
        .where(
            (Partnership.organisation == organisation_id) | (Partnership.partner == organisation_id)
        )
        .order_by(Partnership.end_date)
        .run()
    )
    result = []
    for row in rows:
        mine_first = row["organisation"] == organisation_id
        other = "partner" if mine_first else "organisation"
        result.append(
            {
                "partnership": row["id"],
                "kind": row["kind"],
                "with": row[other],
                "with_name": row[f"{other}.name"],
                "start_date": row["start_date"],
                "end_date": row["end_date"],
                "contract_reference": row["contract_reference"],
                "delegated_service": row["delegated_service"],
                "delegated_service_name": row["delegated_service.name"],
                "description": row["description"],
            }
        )
    return result


async def _organisation_bodies(organisation_id: int, contact_ids: list[int]) -> list[dict]:
    """Bodies where the organisation is represented, or where one of its people sits."""
    where: Any = Membership.organisation == organisation_id
    if contact_ids:
        where = where | Membership.contact.is_in(contact_ids)
    rows = (
        await Membership.select(
            Membership.working_group,
            Membership.working_group.name,
            Membership.working_group.kind,
            Membership.role,
            Membership.contact,
            Membership.contact.first_name,
            Membership.contact.last_name,
            Membership.organisation,
            Membership.end_date,
        )
        .where(where)
        .order_by(Membership.working_group.name)
        .run()
    )
    bodies: dict[int, dict[str, Any]] = {}
    for row in rows:
        body = bodies.setdefault(
            row["working_group"],
            {
                "group": row["working_group"],
                "name": row["working_group.name"],
                "kind": row["working_group.kind"],
                "members": [],
            },
        )
        body["members"].append(
            {
                "contact": row["contact"],
                "name": f"{row['contact.first_name']} {row['contact.last_name']}",
                "role": row["role"],
                "represents_this_organisation": row["organisation"] == organisation_id,
                "end_date": row["end_date"],
            }
        )
    return list(bodies.values())


async def _meetings_attended_by(organisation_id: int) -> dict[str, Any]:
    """Meetings where someone present represented the organisation or belongs to it."""
    people = Affiliation.select(Affiliation.contact).where(
        Affiliation.organisation == organisation_id
    )
    rows = (
        await Invitation.select(
            Invitation.meeting,
            Invitation.meeting.title,
            Invitation.meeting.starts_at,
            Invitation.meeting.working_group.name,
            Invitation.contact,
        )
        .where((Invitation.attendance == "present") & Invitation.contact.is_in(people))
        .order_by(Invitation.meeting.starts_at, ascending=False)
        .run()
    )
    meetings: dict[int, dict[str, Any]] = {}
    for row in rows:
        meeting = meetings.setdefault(
            row["meeting"],
            {
                "meeting": row["meeting"],
                "title": row["meeting.title"],
                "starts_at": row["meeting.starts_at"],
                "group_name": row["meeting.working_group.name"],
                "present": 0,
            },
        )
        meeting["present"] += 1
    items = list(meetings.values())
    return {"total": len(items), "items": items[:RECENT_MEETINGS]}


async def contact_overview(contact_id: int) -> dict[str, Any]:
    async with read_transaction():
        contact = await SERVICES["contacts"].get(contact_id)
        affiliations = (
            await Affiliation.select(
                Affiliation.all_columns(),
                Affiliation.organisation.name,
                Affiliation.organisation.kind,
            )
            .where(Affiliation.contact == contact_id)
            .order_by(Affiliation.start_date)
            .run()
        )
        memberships = (
            await Membership.select(
                Membership.all_columns(),
                Membership.working_group.name,
                Membership.working_group.kind,
                Membership.organisation.name,
            )
            .where(Membership.contact == contact_id)
            .order_by(Membership.start_date)
            .run()
        )
        invitations = (
            await Invitation.select(
                Invitation.id,
                Invitation.meeting,
                Invitation.meeting.title,
                Invitation.meeting.starts_at,
                Invitation.meeting.status,
                Invitation.meeting.working_group.name,
                Invitation.response,
                Invitation.attendance,
                Invitation.sent_at,
                Invitation.answered_at,
            )
            .where(Invitation.contact == contact_id)
            .order_by(Invitation.meeting.starts_at, ascending=False)
            .run()
        )
    return {
        "contact": contact,
        "affiliations": [_hide_secrets(row) for row in affiliations],
        "memberships": memberships,
        "invitations": invitations,
        "attendance": attendance_summary(invitations),
    }


def _hide_secrets(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "token_nonce"}


def attendance_summary(invitations: list[dict[str, Any]]) -> dict[str, Any]:
    """Invited, present, absent, excused over held meetings, and the attendance rate."""
    held = [i for i in invitations if i.get("meeting.status", "tenue") == "tenue"]
    counts: dict[str, int] = defaultdict(int)
    for invitation in held:
        counts[invitation["attendance"] or "inconnu"] += 1
    recorded = counts["present"] + counts["absent"] + counts["excuse"]
    return {
        "invited": len(held),
        "present": counts["present"],
        "absent": counts["absent"],
        "excused": counts["excuse"],
        "unknown": counts["inconnu"],
        "rate": round(counts["present"] / recorded, 3) if recorded else None,
    }


ROLE_ORDER = [
    "president",
    "copilote",
    "animateur",
    "titulaire",
    "suppleant",
    "invite_permanent",
    "membre",
]


async def group_overview(group_id: int, today: dt.date) -> dict[str, Any]:
    async with read_transaction():
        group = await SERVICES["groups"].get(group_id)
        members = (
            await Membership.select(
                Membership.id,
                Membership.role,
                Membership.contact,
                Membership.contact.first_name,
                Membership.contact.last_name,
                Membership.organisation,
                Membership.organisation.name,
                Membership.substitute,
                Membership.substitute.contact.first_name,
                Membership.substitute.contact.last_name,
                Membership.start_date,
                Membership.end_date,
            )
            .where(Membership.working_group == group_id)
            .order_by(Membership.contact.last_name)
            .run()
        )
        meetings = (
            await Meeting.select(
                Meeting.id, Meeting.title, Meeting.starts_at, Meeting.status, Meeting.location
            )
            .where(Meeting.working_group == group_id)
            .order_by(Meeting.starts_at, ascending=False)
            .run()
        )
        invitations = (
            await Invitation.select(
                Invitation.meeting, Invitation.attendance, Invitation.meeting.status
            )
            .where(Invitation.meeting.working_group == group_id)
            .run()
        )
    return {
        "group": group,
        "members_by_role": _members_by_role(members, today),
        "meetings": _with_meeting_attendance(meetings, invitations),
        "attendance": attendance_summary(invitations),
    }


def _members_by_role(members: list[dict[str, Any]], today: dt.date) -> dict[str, list]:
    by_role: dict[str, list[dict[str, Any]]] = {role: [] for role in ROLE_ORDER}
    for row in members:
        if not _active_on(today, row, "start_date", "end_date"):
            continue
        substitute = None
        if row["substitute"] is not None:
            substitute = (
                f"{row['substitute.contact.first_name']} {row['substitute.contact.last_name']}"
            )
        by_role[row["role"]].append(
            {
                "membership": row["id"],
                "contact": row["contact"],
                "name": f"{row['contact.first_name']} {row['contact.last_name']}",
                "organisation": row["organisation"],
                "organisation_name": row["organisation.name"],
                "substitute": row["substitute"],
                "substitute_name": substitute,
            }
        )
    return {role: rows for role, rows in by_role.items() if rows}


def _with_meeting_attendance(
    meetings: list[dict[str, Any]], invitations: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    invited: dict[int, int] = defaultdict(int)
    present: dict[int, int] = defaultdict(int)
    for invitation in invitations:
        invited[invitation["meeting"]] += 1
        present[invitation["meeting"]] += invitation["attendance"] == "present"
    return [{**m, "invited": invited[m["id"]], "present": present[m["id"]]} for m in meetings]


async def commune_overview(commune_id: int) -> dict[str, Any]:
    async with read_transaction():
        commune = await SERVICES["communes"].get(commune_id)
        axes = await Axis.select(Axis.id, Axis.name).order_by(Axis.position).run()
        links = (
            await OrganisationAxis.select(
                OrganisationAxis.axis,
                OrganisationAxis.organisation,
                OrganisationAxis.organisation.name,
                OrganisationAxis.organisation.kind,
            )
            .where(
                (OrganisationAxis.organisation.commune == commune_id)
                & (OrganisationAxis.organisation.archived == False)  # noqa: E712
            )
            .order_by(OrganisationAxis.organisation.name)
            .run()
        )
        without_axis = (
            await Organisation.select(Organisation.id, Organisation.name, Organisation.kind)
            .where(
                (Organisation.commune == commune_id)
                & (Organisation.archived == False)  # noqa: E712
                & Organisation.id.not_in(OrganisationAxis.select(OrganisationAxis.organisation))
            )
            .run()
        )
    by_axis: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for link in links:
        by_axis[link["axis"]].append(
            {
                "id": link["organisation"],
                "name": link["organisation.name"],
                "kind": link["organisation.kind"],
            }
        )
    return {
        "commune": commune,
        "axes": [
            {"axis": a["id"], "name": a["name"], "partners": by_axis.get(a["id"], [])} for a in axes
        ],
        "partners_without_axis": without_axis,
    }
