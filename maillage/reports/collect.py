"""Read everything a report needs, for year N and year N-1, in a bounded number of queries.

The rows are plain dicts; the sections are computed from them by pure functions, so a test can
recompute any figure independently and the XLSX can list the rows behind each figure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, TypedDict, cast

from maillage.crm import consultations, reach
from maillage.crm.childcare import childcare_of
from maillage.db import french_order, read_transaction
from maillage.folding import fold
from maillage.graph.data import NetworkData
from maillage.graph.network import load_network_data
from maillage.reports.scope import PARIS, Scope, year_bounds
from maillage.tables import (
    Action,
    ActionPartner,
    Affiliation,
    Axis,
    CommuneOutline,
    ConsultationAnswer,
    ConsultationQuestion,
    Decision,
    GroupAxis,
    Interaction,
    InteractionOrganisation,
    Invitation,
    Meeting,
    Membership,
    Organisation,
    OrganisationAxis,
    Partnership,
    WorkingGroup,
)

# Typed read models of the rows the governance figures are computed from: the columns each
# loader selects (Piccolo hands back plain dicts; these only name what is in them).


class MeetingRow(TypedDict):
    """A meeting of years N-1 and N, ``starts_at`` in Paris time, ``year`` its year there."""

    id: int
    working_group: int
    title: str
    starts_at: dt.datetime
    status: str
    is_public: bool
    attendance_count: int | None
    year: int


class InvitationRow(TypedDict):
    meeting: int
    contact: int
    attendance: str | None


class MembershipRow(TypedDict):
    contact: int
    working_group: int
    organisation: int | None  # the organisation represented, when recorded
    start_date: dt.date
    end_date: dt.date | None


class AffiliationRow(TypedDict):
    contact: int
    organisation: int
    is_primary: bool
    start_date: dt.date | None
    end_date: dt.date | None


class DecisionRow(TypedDict):
    """A body's decision; ``taken_on``: its meeting's day, else the day it was recorded."""

    status: str
    due_on: dt.date | None
    done_on: dt.date | None
    created_at: dt.datetime
    taken_at: dt.datetime | None
    taken_on: dt.date


class AxisRow(TypedDict):
    id: int
    code: str
    name: str


class GroupRow(TypedDict):
    id: int
    name: str
    kind: str
    active: bool
    archived: bool
    axes: list[int]


class OrganisationRow(TypedDict):
    """``created_at`` and ``updated_at`` in Paris time."""

    id: int
    name: str
    kind: str
    category: str
    commune: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    archived: bool
    axes: list[int]


class PartnershipRow(TypedDict):
    id: int
    organisation: int
    partner: int
    kind: str
    start_date: dt.date | None
    end_date: dt.date | None


# An exchange of year N with one of the organisations it names.
InteractionRow = TypedDict(
    "InteractionRow",
    {
        "organisation": int,
        "interaction.occurred_on": dt.date,
        "interaction.kind": str,
        "interaction.summary": str,
    },
)


class ConsultedMeeting(TypedDict):
    """What stands for the meeting of a theme's consultation: dated by its creation."""

    year: int
    starts_at: dt.datetime
    title: str


class ConsultationRow(TypedDict):
    meeting: MeetingRow | ConsultedMeeting  # the public meeting's, or the theme's
    questions: list[dict[str, Any]]  # as ``consultations.summarise`` gives them
    respondents: int


class ActionPartnerRow(TypedDict):
    id: int
    name: str


# A fiche action as `load_actions` reads it: Piccolo names joined columns with a dot, hence the
# functional form; ``indicators`` and ``evaluations`` are the JSON lists the action plan edits.
ActionRow = TypedDict(
    "ActionRow",
    {
        "id": int,
        "title": str,
        "axis": int | None,
        "axis.name": str | None,
        "objective": str,
        "pilot": int | None,
        "pilot.name": str | None,
        "pilot.commune": int | None,
        "working_group": int | None,
        "working_group.name": str | None,
        "territory": int | None,
        "status": str,
        "start_date": dt.date | None,
        "end_date": dt.date | None,
        "indicators": list[dict[str, Any]],
        "evaluations": list[dict[str, Any]],
        "partners": list[ActionPartnerRow],
    },
)


@dataclass
class ReportRows:
    scope: Scope
    year: int
    axes: list[AxisRow] = field(default_factory=list)
    groups: dict[int, GroupRow] = field(default_factory=dict)
    meetings: list[MeetingRow] = field(default_factory=list)  # years N-1 and N
    invitations: list[InvitationRow] = field(default_factory=list)
    memberships: list[MembershipRow] = field(default_factory=list)
    affiliations: list[AffiliationRow] = field(default_factory=list)
    organisations: dict[int, OrganisationRow] = field(default_factory=dict)
    partnerships: list[PartnershipRow] = field(default_factory=list)
    interactions: list[InteractionRow] = field(default_factory=list)  # year N, one per organisation
    network: NetworkData = field(default_factory=lambda: NetworkData(today=dt.date.today()))
    actions: list[ActionRow] = field(default_factory=list)
    decisions: list[DecisionRow] = field(default_factory=list)  # of the report's bodies
    # Consultations of the public meetings of years N-1 and N, summarised (#22).
    consultations: list[ConsultationRow] = field(default_factory=list)
    first_meeting_year: int | None = None
    # Communes' outlines (WKB, hex) and petite enfance records, by commune id (#18).
    outlines: dict[int, str] = field(default_factory=dict)
    childcare: dict[int, dict[str, Any]] = field(default_factory=dict)

    def meetings_of(self, year: int) -> list[MeetingRow]:
        return [m for m in self.meetings if m["year"] == year]


def paris_time(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:  # SQLite may hand back naive UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(PARIS)


async def collect(scope: Scope, year: int) -> ReportRows:
    rows = ReportRows(scope=scope, year=year)
    async with read_transaction():
        axes = Axis.select(Axis.id, Axis.code, Axis.name).order_by(Axis.position)
        rows.axes = cast(list[AxisRow], await axes.run())  # the columns of an AxisRow
        rows.groups = await _groups(scope)
        rows.meetings = await _meetings(scope, year)
        rows.invitations = await _invitations(scope, year)
        rows.memberships = await _memberships(scope)
        rows.affiliations = await _affiliations(scope, year, rows.memberships)
        rows.interactions = await _interactions(scope, year)
        # The network as /reseau reads it: one loader, the same figures (#17), kept to the
        # report's territories (#20).
        rows.network = await load_network_data(dt.date(year, 12, 31), scope.territory_ids)
        rows.organisations = await _organisations(scope, _named_organisations(rows))
        rows.partnerships = await _partnerships(scope, set(rows.organisations))
        rows.actions = await load_actions(scope.territory_ids)
        rows.decisions = await _decisions(scope)
        rows.consultations = await _consultations(rows.meetings) + await _themes(year)
        rows.first_meeting_year = await _first_meeting_year(scope)
        commune_ids = sorted(scope.commune_ids)
        rows.outlines = {
            row["commune"]: row["wkb"]
            for row in await CommuneOutline.select(
                CommuneOutline.commune, CommuneOutline.wkb
            ).where(CommuneOutline.commune.is_in(commune_ids or [0]))
        }
        rows.childcare = await childcare_of(commune_ids)
    return rows


async def _consultations(meetings: list[MeetingRow]) -> list[ConsultationRow]:
    """Per public meeting with questions: its summary (counts, means, free texts)."""
    public = {m["id"]: m for m in meetings if m["is_public"]}
    if not public:
        return []
    questions = await (
        ConsultationQuestion.select(
            ConsultationQuestion.id,
            ConsultationQuestion.meeting,
            ConsultationQuestion.kind,
            ConsultationQuestion.label,
            ConsultationQuestion.choices,
        )
        .where(ConsultationQuestion.meeting.is_in(sorted(public)))
        .order_by(ConsultationQuestion.position)
        .order_by(ConsultationQuestion.id)
    )
    if not questions:
        return []
    answers = await ConsultationAnswer.select(
        ConsultationAnswer.meeting,
        ConsultationAnswer.question,
        ConsultationAnswer.submission,
        ConsultationAnswer.value,
    ).where(ConsultationAnswer.meeting.is_in(sorted({q["meeting"] for q in questions})))
    result: list[ConsultationRow] = []
    for meeting_id in sorted(
        {q["meeting"] for q in questions}, key=lambda i: public[i]["starts_at"]
    ):
        asked = [
            {**q, "choices": consultations.choices_of(q)}
            for q in questions
            if q["meeting"] == meeting_id
        ]
        given = [a for a in answers if a["meeting"] == meeting_id]
        summary = consultations.summarise(asked, given)
        result.append(
            {
                "meeting": public[meeting_id],
                "questions": summary["questions"],
                "respondents": summary["respondents"],
            }
        )
    return result


async def _themes(year: int) -> list[ConsultationRow]:
    """The consultations per theme created in the year (shared by every territory, as the
    axes are), summarised as a meeting's: a line per question in the bilan (#22)."""
    rows = [t for t in await consultations.themes() if paris_time(t["created_at"]).year == year]
    result: list[ConsultationRow] = []
    for theme in sorted(rows, key=lambda t: t["created_at"]):
        created = paris_time(theme["created_at"])
        summary = await consultations.results_of(("consultation", theme["id"]))
        if not summary["questions"]:
            continue
        label = f"Consultation « {theme['title']} » ({theme['axis_name']})"
        result.append(
            {
                "meeting": {"year": year, "starts_at": created, "title": label},
                "questions": summary["questions"],
                "respondents": summary["respondents"],
            }
        )
    return result


async def _decisions(scope: Scope) -> list[DecisionRow]:
    """The bodies' decisions with the day they were taken (the meeting's, else the record's)."""
    query = Decision.select(
        Decision.status,
        Decision.due_on,
        Decision.done_on,
        Decision.created_at,
        Decision.meeting.starts_at.as_alias("taken_at"),
    )
    rows: list[DecisionRow] = await _where(query, _in_groups(scope, Decision.working_group)).run()
    for row in rows:
        row["taken_on"] = paris_time(row["taken_at"] or row["created_at"]).date()
    return rows


def _in_groups(scope: Scope, column: Any) -> Any:
    """A clause keeping the report's bodies, or None when it covers the whole database."""
    if scope.everything:
        return None
    return column.is_in(sorted(scope.group_ids) or [0])


def _where(query: Any, *clauses: Any) -> Any:
    for clause in clauses:
        if clause is not None:
            query = query.where(clause)
    return query


async def _groups(scope: Scope) -> dict[int, GroupRow]:
    groups = await _where(
        WorkingGroup.select(
            WorkingGroup.id,
            WorkingGroup.name,
            WorkingGroup.kind,
            WorkingGroup.active,
            WorkingGroup.archived,
        ).order_by(french_order(WorkingGroup.name)),
        _in_groups(scope, WorkingGroup.id),
    ).run()
    links = await _where(
        GroupAxis.select(GroupAxis.working_group, GroupAxis.axis),
        _in_groups(scope, GroupAxis.working_group),
    ).run()
    # the columns selected are a GroupRow's but its axes
    by_id = {g["id"]: cast(GroupRow, {**g, "axes": []}) for g in groups}
    for link in links:
        by_id[link["working_group"]]["axes"].append(link["axis"])
    return by_id


async def _meetings(scope: Scope, year: int) -> list[MeetingRow]:
    start, _ = year_bounds(year - 1)
    _, end = year_bounds(year)
    meetings: list[MeetingRow] = await _where(
        Meeting.select(
            Meeting.id,
            Meeting.working_group,
            Meeting.title,
            Meeting.starts_at,
            Meeting.status,
            Meeting.is_public,
            Meeting.attendance_count,
        ).order_by(Meeting.starts_at),
        (Meeting.starts_at >= start) & (Meeting.starts_at < end),
        _in_groups(scope, Meeting.working_group),
    ).run()
    for meeting in meetings:
        meeting["starts_at"] = paris_time(meeting["starts_at"])
        meeting["year"] = meeting["starts_at"].year
    return meetings


async def _invitations(scope: Scope, year: int) -> list[InvitationRow]:
    start, _ = year_bounds(year - 1)
    _, end = year_bounds(year)
    rows: list[InvitationRow] = await _where(
        Invitation.select(Invitation.meeting, Invitation.contact, Invitation.attendance),
        (Invitation.meeting.starts_at >= start) & (Invitation.meeting.starts_at < end),
        _in_groups(scope, Invitation.meeting.working_group),
    ).run()
    return rows


async def _memberships(scope: Scope) -> list[MembershipRow]:
    rows: list[MembershipRow] = await _where(
        Membership.select(
            Membership.contact,
            Membership.working_group,
            Membership.organisation,
            Membership.start_date,
            Membership.end_date,
        ),
        _in_groups(scope, Membership.working_group),
    ).run()
    return rows


async def _affiliations(
    scope: Scope, year: int, memberships: list[MembershipRow]
) -> list[AffiliationRow]:
    """Affiliations of the people invited to the report's meetings (since year N-1) or
    sitting in its bodies (``memberships``), read through the index of their contact."""
    start, _ = year_bounds(year - 1)

    def query() -> Any:
        return Affiliation.select(
            Affiliation.id,
            Affiliation.contact,
            Affiliation.organisation,
            Affiliation.is_primary,
            Affiliation.start_date,
            Affiliation.end_date,
        )

    invited = Invitation.select(Invitation.contact).where(Invitation.meeting.starts_at >= start)
    if scope.everything:  # the whole database: one query (the count is pinned by a test)
        members = Membership.select(Membership.contact)
        found = await query().where(
            Affiliation.contact.is_in(invited) | Affiliation.contact.is_in(members)
        )
    else:
        rows = await invited.where(_in_groups(scope, Invitation.meeting.working_group)).distinct()
        people = {row["contact"] for row in rows} | {m["contact"] for m in memberships}
        found = await _in_chunks(query, Affiliation.contact, people)
    # the columns selected are an AffiliationRow's
    return cast(list[AffiliationRow], sorted(found, key=lambda row: row["id"]))


def _named_organisations(rows: ReportRows) -> set[int]:
    """The organisations the report's rows name: represented in its bodies, employing its
    people, met in its exchanges, in its network."""
    named = {m["organisation"] for m in rows.memberships}
    named |= {a["organisation"] for a in rows.affiliations}
    named |= {i["organisation"] for i in rows.interactions}
    named |= {o.id for o in rows.network.organisations}
    return {i for i in named if i is not None}


# Ids given to one query at most: few enough for an index lookup (`maillage.graph.network`).
CHUNK = 1_000


async def _in_chunks(query: Any, column: Any, ids: set[int]) -> list[dict[str, Any]]:
    """``query`` (a callable giving a fresh select) for the rows whose ``column`` is one of
    ``ids``, through the column's index, by chunks."""
    wanted = sorted(ids)
    rows: list[dict[str, Any]] = []
    for at in range(0, len(wanted), CHUNK):
        rows += await query().where(column.is_in(wanted[at : at + CHUNK])).run()
    return rows


def _organisation_query() -> Any:
    return Organisation.select(
        Organisation.id,
        Organisation.name,
        Organisation.kind,
        Organisation.category,
        Organisation.commune,
        Organisation.created_at,
        Organisation.updated_at,
        Organisation.archived,
    )


async def _organisations(scope: Scope, named: set[int]) -> dict[int, OrganisationRow]:
    """The organisations of the report: every one when it covers the whole database; else
    those of its communes and those its rows name (#20), read through the indexes, so that the
    cost follows the report's territories, not the instance's."""
    if scope.everything:
        organisations = await _organisation_query().run()
        links = await OrganisationAxis.select(
            OrganisationAxis.id, OrganisationAxis.organisation, OrganisationAxis.axis
        ).run()
    else:
        organisations = await _in_chunks(
            _organisation_query, Organisation.commune, scope.commune_ids
        )
        named -= {o["id"] for o in organisations}
        organisations += await _in_chunks(_organisation_query, Organisation.id, named)
        links = await _in_chunks(
            lambda: OrganisationAxis.select(
                OrganisationAxis.id, OrganisationAxis.organisation, OrganisationAxis.axis
            ),
            OrganisationAxis.organisation,
            {o["id"] for o in organisations},
        )
    # the columns selected are an OrganisationRow's but its axes
    by_id = {
        o["id"]: cast(OrganisationRow, {**o, "axes": []})
        for o in sorted(organisations, key=lambda o: o["id"])
    }
    for link in sorted(links, key=lambda link: link["id"]):
        by_id[link["organisation"]]["axes"].append(link["axis"])
    for organisation in by_id.values():
        organisation["created_at"] = paris_time(organisation["created_at"])
        organisation["updated_at"] = paris_time(organisation["updated_at"])
    return by_id


async def _partnerships(scope: Scope, organisations: set[int]) -> list[PartnershipRow]:
    """The partnerships between the report's organisations (all of them for the whole
    database)."""

    def query() -> Any:
        return Partnership.select(
            Partnership.id,
            Partnership.organisation,
            Partnership.partner,
            Partnership.kind,
            Partnership.start_date,
            Partnership.end_date,
        )

    if scope.everything:
        return list(await query().order_by(Partnership.id).run())
    found = await _in_chunks(query, Partnership.organisation, organisations)
    kept = sorted((p for p in found if p["partner"] in organisations), key=lambda p: p["id"])
    return cast(list[PartnershipRow], kept)  # the columns of a PartnershipRow


async def _interactions(scope: Scope, year: int) -> list[InteractionRow]:
    territories = scope.territory_ids
    rows: list[InteractionRow] = (
        await _where(
            InteractionOrganisation.select(
                InteractionOrganisation.organisation,
                InteractionOrganisation.interaction.occurred_on,
                InteractionOrganisation.interaction.kind,
                InteractionOrganisation.interaction.summary,
            ),
            None
            if territories is None
            else InteractionOrganisation.interaction.is_in(
                Interaction.select(Interaction.id).where(reach.interactions_clause(territories))
            ),
        )
        .where(
            (InteractionOrganisation.interaction.occurred_on >= dt.date(year, 1, 1))
            & (InteractionOrganisation.interaction.occurred_on <= dt.date(year, 12, 31))
        )
        .order_by(InteractionOrganisation.interaction.occurred_on)
        .run()
    )
    return rows


async def load_actions(territories: list[int] | None = None) -> list[ActionRow]:
    """The fiches action; with ``territories`` (#20), those of the territories and those tied
    to none (`actions_in_scope` keeps the report's among them)."""
    query = (
        Action.select(
            Action.id,
            Action.title,
            Action.axis,
            Action.axis.name,
            Action.objective,
            Action.pilot,
            Action.pilot.name,
            Action.pilot.commune,
            Action.working_group,
            Action.working_group.name,
            Action.territory,
            Action.status,
            Action.start_date,
            Action.end_date,
            Action.indicators,
            Action.evaluations,
        )
        .order_by(Action.axis.position)
        .order_by(french_order(Action.title))
        .output(load_json=True)
    )
    if territories is not None:
        query = query.where(Action.territory.is_null() | Action.territory.is_in(territories or [0]))
    actions = await query.run()
    partners = await _in_chunks(
        lambda: ActionPartner.select(
            ActionPartner.action, ActionPartner.organisation, ActionPartner.organisation.name
        ).order_by(ActionPartner.id),
        ActionPartner.action,
        {action["id"] for action in actions},
    )
    by_action: dict[int, list[dict[str, Any]]] = {}
    for partner in partners:
        by_action.setdefault(partner["action"], []).append(
            {"id": partner["organisation"], "name": partner["organisation.name"]}
        )
    for action in actions:
        action["partners"] = sorted(by_action.get(action["id"], []), key=lambda p: fold(p["name"]))
    return cast(list[ActionRow], actions)


async def _first_meeting_year(scope: Scope) -> int | None:
    first = await _where(
        Meeting.select(Meeting.starts_at).order_by(Meeting.starts_at).limit(1),
        _in_groups(scope, Meeting.working_group),
    ).run()
    return paris_time(first[0]["starts_at"]).year if first else None
