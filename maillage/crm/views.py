"""The views a coordinator opens every day: one call, a bounded number of queries.

Each view reads its parts with joins through Piccolo's foreign-key traversal, so the number of
queries does not grow with the number of rows (tests count them).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, TypedDict, cast

from piccolo.query import OrderByRaw
from piccolo.query.functions.aggregate import Count

from maillage.crm import scope as territory_scope
from maillage.crm.registry import SERVICES, scoped
from maillage.db import french_order, read_transaction
from maillage.tables import (
    Affiliation,
    Axis,
    Invitation,
    Meeting,
    Membership,
    Organisation,
    OrganisationAxis,
    Partnership,
    WorkingGroup,
)
from maillage.vocabulary import HELD, PRESENT, ROLES

RECENT_MEETINGS = 50

# Typed read models of the views (#17). They are the plain dicts the API serves and the pages'
# templates read (``row.name`` and ``row["name"]`` both work on a dict in Jinja); these types
# only name what is in them. A record read by the generic service stays a ``dict[str, Any]``:
# its columns are the registry's. Keys holding a dot (Piccolo's joined columns) or a Python
# keyword use the functional form.


class AttendanceSummary(TypedDict):
    """Invitations to held meetings per attendance, and the rate over those recorded."""

    invited: int
    present: int
    absent: int
    excused: int
    unknown: int
    rate: float | None


class OrganisationContact(TypedDict):
    affiliation: int
    contact: int
    name: str
    email: str | None
    phone: str | None
    archived: bool
    function: str
    elected_mandate: bool
    is_primary: bool
    start_date: dt.date | None
    end_date: dt.date | None
    current: bool


OrganisationPartnership = TypedDict(
    "OrganisationPartnership",
    {
        "partnership": int,
        "kind": str,
        "with": int,  # the other organisation, whichever side it was recorded on
        "with_name": str,
        "start_date": dt.date | None,
        "end_date": dt.date | None,
        "contract_reference": str | None,
        "delegated_service": int | None,
        "delegated_service_name": str | None,
        "description": str,
    },
)


class BodyMember(TypedDict):
    contact: int
    name: str
    role: str
    represents_this_organisation: bool
    end_date: dt.date | None


class OrganisationBody(TypedDict):
    group: int
    name: str
    kind: str
    members: list[BodyMember]


class MeetingAttended(TypedDict):
    meeting: int
    title: str
    starts_at: dt.datetime
    group_name: str
    present: int  # how many of the organisation's people were there


class MeetingsAttended(TypedDict):
    total: int
    items: list[MeetingAttended]


class SectionTotals(TypedDict):
    """Every section's row count, whatever the sections show."""

    contacts: int
    partnerships: int
    bodies: int
    meetings_attended: int


class OrganisationOverview(TypedDict):
    organisation: dict[str, Any]
    contacts: list[OrganisationContact]
    partnerships: list[OrganisationPartnership]
    bodies: list[OrganisationBody]
    meetings_attended: MeetingsAttended
    totals: SectionTotals


ContactAffiliation = TypedDict(
    "ContactAffiliation",
    {
        "id": int,
        "version": int,
        "created_at": dt.datetime,
        "updated_at": dt.datetime,
        "contact": int,
        "organisation": int,
        "function": str,
        "elected_mandate": bool,
        "start_date": dt.date | None,
        "end_date": dt.date | None,
        "is_primary": bool,
        "source": str,
        "source_ref": str | None,
        "organisation.name": str,
        "organisation.kind": str,
    },
)
ContactMembership = TypedDict(
    "ContactMembership",
    {
        "id": int,
        "version": int,
        "created_at": dt.datetime,
        "updated_at": dt.datetime,
        "contact": int,
        "working_group": int,
        "role": str,
        "organisation": int | None,
        "start_date": dt.date,
        "end_date": dt.date | None,
        "substitute": int | None,
        "working_group.name": str,
        "working_group.kind": str,
        "organisation.name": str | None,
    },
)
ContactInvitation = TypedDict(
    "ContactInvitation",
    {
        "id": int,
        "meeting": int,
        "meeting.title": str,
        "meeting.starts_at": dt.datetime,
        "meeting.status": str,
        "meeting.working_group.name": str,
        "response": str,
        "attendance": str | None,
        "sent_at": dt.datetime | None,
        "answered_at": dt.datetime | None,
    },
)


class ContactOverview(TypedDict):
    contact: dict[str, Any]
    affiliations: list[ContactAffiliation]
    memberships: list[ContactMembership]
    invitations: list[ContactInvitation]  # the latest first, cut to the limit when given
    invitations_total: int
    attendance: AttendanceSummary


class GroupMember(TypedDict):
    membership: int
    contact: int
    name: str
    organisation: int | None
    organisation_name: str | None
    substitute: int | None
    substitute_name: str | None


class GroupMeeting(TypedDict):
    id: int
    title: str
    starts_at: dt.datetime
    status: str
    location: str
    invited: int
    present: int


class GroupOverview(TypedDict):
    group: dict[str, Any]
    members_by_role: dict[str, list[GroupMember]]  # the roles in the vocabulary's order
    meetings: list[GroupMeeting]  # the latest first, cut to the limit when given
    meetings_total: int
    attendance: AttendanceSummary


class CommunePartner(TypedDict):
    id: int
    name: str
    kind: str


class CommuneAxis(TypedDict):
    axis: int
    name: str
    partners: list[CommunePartner]


class CommuneOverview(TypedDict):
    commune: dict[str, Any]
    axes: list[CommuneAxis]
    partners_without_axis: list[CommunePartner]


# Sections of the organisation view, in the order the page shows them.
ORGANISATION_SECTIONS = ("contacts", "partnerships", "bodies", "meetings_attended")


def _active_on(day: dt.date, row: dict[str, Any], start: str, end: str) -> bool:
    started = row[start] is None or row[start] <= day
    return started and (row[end] is None or row[end] >= day)


async def organisation_overview(
    organisation_id: int, today: dt.date, limit: int | None = None, full: str | None = None
) -> OrganisationOverview:
    """The organisation and its sections; with `limit`, each section but `full` is cut to its
    first rows in SQL, so the page's cost does not grow with the partner's size. `totals`
    always counts every row."""

    def cap(section: str, default: int | None = None) -> int | None:
        return default if limit is None or section == full else limit

    async with read_transaction():
        organisation = await SERVICES["organisations"].get(organisation_id)
        contacts = await _organisation_contacts(organisation_id, today, cap("contacts"))
        partnerships = await _organisation_partnerships(organisation_id, cap("partnerships"))
        bodies = await _organisation_bodies(organisation_id, cap("bodies"))
        meetings, totals = await _meetings_attended_and_totals(
            organisation_id, cap("meetings_attended", RECENT_MEETINGS)
        )
    return {
        "organisation": organisation,
        "contacts": contacts,
        "partnerships": partnerships,
        "bodies": bodies,
        "meetings_attended": {"total": totals["meetings_attended"], "items": meetings},
        "totals": totals,
    }


def _visible(resource: str) -> Any:
    """What the request's user sees of ``resource`` (#20), as a clause true for all when
    unscoped, so the sections of a shared partner show only the user's territories."""
    clause = SERVICES[resource].scope_clause()
    table = SERVICES[resource].table
    return table._meta.primary_key.is_not_null() if clause is None else clause


def _first(query: Any, limit: int | None) -> Any:
    """The query cut to its first `limit` rows, or whole when `limit` is None."""
    return query if limit is None else query.limit(limit)


def _people_of(organisation_id: int) -> Any:
    """Subquery: the contacts affiliated to the organisation, past or present."""
    return Affiliation.select(Affiliation.contact).where(
        Affiliation.organisation == organisation_id
    )


# The meetings attended by an organisation's people, grouped per meeting, with every section's
# row count in the same statement. The grouping runs on the invitation ids alone (the meeting's
# title and date are joined after it), `COUNT(*) OVER ()` counts the grouped meetings before the
# LIMIT cuts them, and the totals sit in a one-row subquery LEFT JOINed to the page so they come
# back even when nobody from the organisation attended anything. The bodies are counted as a
# UNION of two index lookups rather than one OR, which neither engine can serve from an index.
_MEETINGS_AND_TOTALS = """
WITH people AS (SELECT contact FROM affiliation WHERE organisation = {org}),
attended AS (
  SELECT meeting, COUNT(*) AS present FROM invitation
  WHERE attendance = 'present' AND contact IN (SELECT contact FROM people)
  GROUP BY meeting
),
page AS (
  SELECT attended.meeting, attended.present, meeting.title, meeting.starts_at,
    working_group.name AS group_name, COUNT(*) OVER () AS meetings_attended
  FROM attended
  JOIN meeting ON meeting.id = attended.meeting
  JOIN working_group ON working_group.id = meeting.working_group
  {visible}
  ORDER BY meeting.starts_at DESC, attended.meeting
  {limit}
),
totals AS (
  SELECT
    (SELECT COUNT(*) FROM affiliation WHERE organisation = {org}{seen_contact}) AS contacts,
    (SELECT COUNT(*) FROM partnership WHERE organisation = {org}{seen_partner})
      + (SELECT COUNT(*) FROM partnership
         WHERE partner = {org} AND organisation <> {org}{seen_organisation})
      AS partnerships,
    (SELECT COUNT(*) FROM (
       SELECT working_group FROM membership WHERE organisation = {org}{seen_group}
       UNION
       SELECT working_group FROM membership
       WHERE contact IN (SELECT contact FROM people){seen_group}
     ) AS bodies_of) AS bodies
)
SELECT totals.contacts, totals.partnerships, totals.bodies, page.meeting, page.present,
  page.title, page.starts_at, page.group_name, page.meetings_attended
FROM totals LEFT JOIN page ON 1 = 1
ORDER BY page.starts_at DESC, page.meeting
"""


def _text_literal(value: str) -> str:
    """A string as an SQL literal of both engines (standard strings: a quote is doubled)."""
    return "'" + value.replace("'", "''") + "'"


async def _meetings_attended_and_totals(
    organisation_id: int, limit: int | None
) -> tuple[list[MeetingAttended], SectionTotals]:
    """Meetings where someone present belongs to the organisation, latest first, with how many
    of its people were there, and every section's row count: one statement."""
    # Only integers and quoted départements reach the SQL text: the id is an int, the limit a
    # fixed page size, a département a string of the scope with its quotes doubled.
    scope = territory_scope.current()
    visible = ""
    seen = dict.fromkeys(("seen_contact", "seen_partner", "seen_organisation", "seen_group"), "")
    if scope is not None:
        # The meetings of the user's territories and the shared bodies' only (#20).
        territories = ", ".join(str(int(t)) for t in scope.territories) or "0"
        visible = (
            f"WHERE working_group.territory IS NULL OR working_group.territory IN ({territories})"
        )
        # The totals count what the sections list: the people, partners and bodies the user
        # sees (the organisation itself is seen, or the page answered 404).
        local = f"territory IS NULL OR territory IN ({territories})"
        # A shared person or organisation: of none of the départements or of one of theirs.
        theirs = (
            f"SELECT t.departement FROM territory t WHERE t.id IN ({territories})"
            if scope.departements is None
            else ", ".join(_text_literal(d) for d in scope.departements) or "NULL"
        )
        partner = (
            f"territory IN ({territories}) OR (territory IS NULL AND (departement IS NULL OR "
            f"departement IN ({theirs})))"
        )
        seen = {
            "seen_contact": f" AND contact IN (SELECT id FROM contact WHERE {partner})",
            "seen_partner": f" AND partner IN (SELECT id FROM organisation WHERE {partner})",
            "seen_organisation": (
                f" AND organisation IN (SELECT id FROM organisation WHERE {partner})"
            ),
            "seen_group": f" AND working_group IN (SELECT id FROM working_group WHERE {local})",
        }
    sql = _MEETINGS_AND_TOTALS.format(
        org="{}", limit="" if limit is None else f"LIMIT {int(limit)}", visible=visible, **seen
    )
    rows = await Organisation.raw(sql, *[organisation_id] * sql.count("{}")).run()
    first = rows[0]
    totals: SectionTotals = {
        "contacts": int(first["contacts"]),
        "partnerships": int(first["partnerships"]),
        "bodies": int(first["bodies"]),
        "meetings_attended": int(first["meetings_attended"] or 0),
    }
    meetings: list[MeetingAttended] = [
        {
            "meeting": row["meeting"],
            "title": row["title"],
            "starts_at": _timestamp(row["starts_at"]),
            "group_name": row["group_name"],
            "present": int(row["present"]),
        }
        for row in rows
        if row["meeting"] is not None
    ]
    return meetings, totals


def _timestamp(value: Any) -> dt.datetime:
    """A raw query's timestamp as the ORM gives it (SQLite returns the stored text)."""
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return cast(dt.datetime, value)


async def _organisation_contacts(
    organisation_id: int, today: dt.date, limit: int | None
) -> list[OrganisationContact]:
    query = (
        Affiliation.select(
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
        .where(_visible("affiliations"))
        # The primary contacts first: they are who a coordinator calls.
        .order_by(Affiliation.is_primary, ascending=False)
        .order_by(Affiliation.contact.last_name, Affiliation.contact.first_name, Affiliation.id)
    )
    rows = await _first(query, limit).run()
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


async def _organisation_partnerships(
    organisation_id: int, limit: int | None
) -> list[OrganisationPartnership]:
    query = (
        Partnership.select(
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
        .where(_visible("partnerships"))
        # The nearest end dates first (DSP contracts to renew), open-ended ones last on both
        # engines (PostgreSQL and SQLite sort NULL differently).
        .order_by(OrderByRaw("end_date IS NULL"), OrderByRaw("end_date"), Partnership.id)
    )
    rows = await _first(query, limit).run()
    result: list[OrganisationPartnership] = []
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


async def _organisation_bodies(organisation_id: int, limit: int | None) -> list[OrganisationBody]:
    """Bodies where the organisation is represented, or where one of its people sits."""
    where: Any = (Membership.organisation == organisation_id) | Membership.contact.is_in(
        _people_of(organisation_id)
    )
    where = where & _visible("memberships")
    if limit is not None:
        # The first bodies by name, as a subquery: the cap costs no extra round trip.
        first = (
            WorkingGroup.select(WorkingGroup.id)
            .where(WorkingGroup.id.is_in(Membership.select(Membership.working_group).where(where)))
            .order_by(french_order(WorkingGroup.name), WorkingGroup.id)
            .limit(limit)
        )
        where = where & Membership.working_group.is_in(first)
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
        .order_by(Membership.working_group.name, Membership.working_group)
        .order_by(Membership.contact.last_name)
        .run()
    )
    bodies: dict[int, OrganisationBody] = {}
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


async def contact_overview(contact_id: int, limit: int | None = None) -> ContactOverview:
    """The contact, its affiliations and bodies, and its invitations (the latest `limit` when
    given); the attendance summary and `invitations_total` count them all, in SQL."""
    async with read_transaction():
        contact = await SERVICES["contacts"].get(contact_id)
        affiliations = (
            await Affiliation.select(
                Affiliation.all_columns(),
                Affiliation.organisation.name,
                Affiliation.organisation.kind,
            )
            .where((Affiliation.contact == contact_id) & _visible("affiliations"))
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
            .where((Membership.contact == contact_id) & _visible("memberships"))
            .order_by(Membership.start_date)
            .run()
        )
        query = (
            Invitation.select(
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
            .where((Invitation.contact == contact_id) & _visible("invitations"))
            .order_by(Invitation.meeting.starts_at, ascending=False)
            .order_by(Invitation.id)
        )
        invitations = await _first(query, limit).run()
        counts = await _attendance_counts(
            (Invitation.contact == contact_id) & _visible("invitations")
        )
    return {
        "contact": contact,
        # the columns selected are a ContactAffiliation's, a ContactMembership's, a
        # ContactInvitation's
        "affiliations": cast(list[ContactAffiliation], affiliations),
        "memberships": cast(list[ContactMembership], memberships),
        "invitations": cast(list[ContactInvitation], invitations),
        "invitations_total": counts["total"],
        "attendance": counts["held"],
    }


class _AttendanceCounts(TypedDict):
    total: int
    held: AttendanceSummary


async def _attendance_counts(invited: Any) -> _AttendanceCounts:
    """How many invitations match `invited`, and the attendance summary of those to held
    meetings, from one grouped query."""
    rows = (
        await Invitation.select(Invitation.meeting.status, Invitation.attendance, Count(alias="n"))
        .where(invited)
        .group_by(Invitation.meeting.status, Invitation.attendance)
        .run()
    )
    return {"total": sum(row["n"] for row in rows), "held": _summary(_held_counts(rows))}


def _held_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Grouped invitation counts (`n`) of held meetings, per attendance."""
    held: dict[str, int] = defaultdict(int)
    for row in rows:
        if row["meeting.status"] == HELD:
            held[row["attendance"] or "inconnu"] += row["n"]
    return held


def _summary(counts: dict[str, int]) -> AttendanceSummary:
    """The attendance summary from the number of held invitations per attendance."""
    recorded = counts["present"] + counts["absent"] + counts["excuse"]
    return {
        "invited": sum(counts.values()),
        "present": counts["present"],
        "absent": counts["absent"],
        "excused": counts["excuse"],
        "unknown": counts["inconnu"],
        "rate": round(counts["present"] / recorded, 3) if recorded else None,
    }


ROLE_ORDER = list(ROLES)  # the vocabulary lists the roles from the chair down


async def group_overview(group_id: int, today: dt.date, limit: int | None = None) -> GroupOverview:
    """The body, its current members by role, its meetings (the latest `limit` when given)
    with their invited and present counts, and the attendance summary over all of them."""
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
        query = (
            Meeting.select(
                Meeting.id, Meeting.title, Meeting.starts_at, Meeting.status, Meeting.location
            )
            .where(Meeting.working_group == group_id)
            .order_by(Meeting.starts_at, ascending=False)
            .order_by(Meeting.id)
        )
        meetings = await _first(query, limit).run()
        # One grouped pass over the body's invitations gives both the shown meetings' counts
        # and the summary over every meeting.
        per_meeting = (
            await Invitation.select(
                Invitation.meeting,
                Invitation.meeting.status,
                Invitation.attendance,
                Count(alias="n"),
            )
            .where(Invitation.meeting.working_group == group_id)
            .group_by(Invitation.meeting, Invitation.meeting.status, Invitation.attendance)
            .run()
        )
        meetings_total = len(meetings)
        if limit is not None and meetings_total == limit:
            # Only a full first page needs counting (one more query, whatever the size).
            meetings_total = await Meeting.count().where(Meeting.working_group == group_id).run()
    return {
        "group": group,
        "members_by_role": _members_by_role(members, today),
        "meetings": _with_meeting_attendance(meetings, per_meeting),
        "meetings_total": meetings_total,
        "attendance": _summary(_held_counts(per_meeting)),
    }


def _members_by_role(members: list[dict[str, Any]], today: dt.date) -> dict[str, list[GroupMember]]:
    by_role: dict[str, list[GroupMember]] = {role: [] for role in ROLE_ORDER}
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
    meetings: list[dict[str, Any]], per_meeting: list[dict[str, Any]]
) -> list[GroupMeeting]:
    invited: dict[int, int] = defaultdict(int)
    present: dict[int, int] = defaultdict(int)
    for row in per_meeting:
        invited[row["meeting"]] += row["n"]
        if row["attendance"] == PRESENT:
            present[row["meeting"]] += row["n"]
    # the meetings' columns are a GroupMeeting's but its two counts
    return [
        cast(GroupMeeting, {**m, "invited": invited[m["id"]], "present": present[m["id"]]})
        for m in meetings
    ]


async def commune_overview(commune_id: int) -> CommuneOverview:
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
                & OrganisationAxis.organisation.is_in(
                    scoped(Organisation.select(Organisation.id), "organisations")
                )
            )
            .order_by(OrganisationAxis.organisation.name)
            .run()
        )
        without_axis = (
            await scoped(
                Organisation.select(Organisation.id, Organisation.name, Organisation.kind),
                "organisations",
            )
            .where(
                (Organisation.commune == commune_id)
                & (Organisation.archived == False)  # noqa: E712
                & Organisation.id.not_in(OrganisationAxis.select(OrganisationAxis.organisation))
            )
            .run()
        )
    by_axis: dict[int, list[CommunePartner]] = defaultdict(list)
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
        # the columns selected are a CommunePartner's
        "partners_without_axis": cast(list[CommunePartner], without_axis),
    }
