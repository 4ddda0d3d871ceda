"""The governance year: meetings per body and per axis, attendance, organisations mobilised,
new partners and the participation of inhabitants. Pure functions over ``ReportRows``."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from maillage.folding import fold
from maillage.reports.collect import (
    AffiliationRow,
    InvitationRow,
    MembershipRow,
    OrganisationRow,
    ReportRows,
)
from maillage.vocabulary import CANCELLED, GROUP_KINDS, HELD, NO_AXIS, PRESENT

RECORDED = ("present", "absent", "excuse")


@dataclass
class BodyYear:
    group: int
    name: str
    kind: str
    held: int = 0
    cancelled: int = 0
    invited: int = 0
    present: int = 0
    absent: int = 0
    excused: int = 0
    unknown: int = 0

    @property
    def rate(self) -> float | None:
        recorded = self.present + self.absent + self.excused
        return self.present / recorded if recorded else None


@dataclass
class GovernanceYear:
    year: int
    bodies: list[BodyYear]
    by_axis: list[dict[str, Any]]  # axis name, held, cancelled
    mobilised: set[int]  # organisation ids present at least once
    present_without_organisation: set[int]  # contact ids
    public_meetings: list[dict[str, Any]]
    meeting_rows: list[dict[str, Any]]  # one per meeting with its attendance counts
    held: int = 0
    cancelled: int = 0
    present: int = 0
    recorded: int = 0
    presence_rows: list[dict[str, Any]] = field(default_factory=list)  # who came for whom

    @property
    def rate(self) -> float | None:
        return self.present / self.recorded if self.recorded else None

    @property
    def inhabitants(self) -> int:
        return sum(m["attendance_count"] or 0 for m in self.public_meetings)


class Representation:
    """Which organisation a person present at a meeting stands for.

    The membership of the body names it when it was recorded (« organisation représentée »);
    otherwise the person's primary affiliation at the meeting date, otherwise any affiliation.
    """

    def __init__(self, rows: ReportRows) -> None:
        self._memberships: dict[tuple[int, int], list[MembershipRow]] = defaultdict(list)
        for membership in rows.memberships:
            if membership["organisation"] is not None:
                key = (membership["contact"], membership["working_group"])
                self._memberships[key].append(membership)
        self._affiliations: dict[int, list[AffiliationRow]] = defaultdict(list)
        for affiliation in sorted(
            rows.affiliations, key=lambda a: (not a["is_primary"], a["organisation"])
        ):
            self._affiliations[affiliation["contact"]].append(affiliation)

    def organisation(self, contact: int, group: int, day: dt.date) -> int | None:
        for membership in self._memberships.get((contact, group), []):
            if _active(membership, day):
                return membership["organisation"]
        for affiliation in self._affiliations.get(contact, []):
            if _active(affiliation, day):
                return affiliation["organisation"]
        return None


def _active(row: MembershipRow | AffiliationRow, day: dt.date) -> bool:
    started = row["start_date"] is None or row["start_date"] <= day
    return started and (row["end_date"] is None or row["end_date"] >= day)


def governance_year(rows: ReportRows, year: int, representation: Representation) -> GovernanceYear:
    meetings = rows.meetings_of(year)
    by_meeting: dict[int, list[InvitationRow]] = defaultdict(list)
    ids = {m["id"] for m in meetings}
    for invitation in rows.invitations:
        if invitation["meeting"] in ids:
            by_meeting[invitation["meeting"]].append(invitation)
    bodies = {
        gid: BodyYear(gid, g["name"], g["kind"])
        for gid, g in rows.groups.items()
        if not g["archived"] or any(m["working_group"] == gid for m in meetings)
    }
    result = GovernanceYear(
        year=year,
        bodies=[],
        by_axis=[],
        mobilised=set(),
        present_without_organisation=set(),
        public_meetings=[],
        meeting_rows=[],
    )
    axis_counts: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    for meeting in meetings:
        body = bodies[meeting["working_group"]]
        held = meeting["status"] == HELD
        cancelled = meeting["status"] == CANCELLED
        body.held += held
        body.cancelled += cancelled
        axes: Sequence[int | None] = rows.groups[meeting["working_group"]]["axes"] or [None]
        for axis in axes:
            axis_counts[axis][0] += held
            axis_counts[axis][1] += cancelled
        counts = _count_meeting(by_meeting[meeting["id"]]) if held else _count_meeting([])
        result.meeting_rows.append({**meeting, "body": body.name, **counts})
        if not held:
            continue
        _add_counts(body, counts)
        if meeting["is_public"]:
            result.public_meetings.append({**meeting, "body": body.name})
        day = meeting["starts_at"].date()
        for invitation in by_meeting[meeting["id"]]:
            if invitation["attendance"] != PRESENT:
                continue
            organisation = representation.organisation(
                invitation["contact"], meeting["working_group"], day
            )
            result.presence_rows.append(
                {"meeting": meeting, "contact": invitation["contact"], "organisation": organisation}
            )
            if organisation is None:
                result.present_without_organisation.add(invitation["contact"])
            else:
                result.mobilised.add(organisation)
    result.bodies = sorted(bodies.values(), key=_body_order)
    result.held = sum(b.held for b in result.bodies)
    result.cancelled = sum(b.cancelled for b in result.bodies)
    result.present = sum(b.present for b in result.bodies)
    result.recorded = sum(b.present + b.absent + b.excused for b in result.bodies)
    axis_names: dict[int | None, str] = {a["id"]: a["name"] for a in rows.axes}
    order = [a["id"] for a in rows.axes] + [None]
    result.by_axis = [
        {"axis": axis_names.get(axis, NO_AXIS), "held": c[0], "cancelled": c[1]}
        for axis in order
        if (c := axis_counts.get(axis)) is not None
    ]
    return result


KIND_ORDER = list(GROUP_KINDS)


def _body_order(body: BodyYear) -> tuple[int, str]:
    rank = KIND_ORDER.index(body.kind) if body.kind in KIND_ORDER else len(KIND_ORDER)
    return (rank, body.name.lower())


def _count_meeting(invitations: list[InvitationRow]) -> dict[str, int]:
    counts = {"invited": len(invitations), "present": 0, "absent": 0, "excused": 0, "unknown": 0}
    names = {"present": "present", "absent": "absent", "excuse": "excused"}
    for invitation in invitations:
        counts[names.get(invitation["attendance"] or "", "unknown")] += 1
    return counts


def _add_counts(body: BodyYear, counts: dict[str, int]) -> None:
    body.invited += counts["invited"]
    body.present += counts["present"]
    body.absent += counts["absent"]
    body.excused += counts["excused"]
    body.unknown += counts["unknown"]


def new_partners(rows: ReportRows, year: int, mobilised: set[int]) -> list[OrganisationRow]:
    """Organisations registered during the year that belong to the report's territory."""
    scope = rows.scope
    members = {m["organisation"] for m in rows.memberships if m["organisation"] is not None}
    found = []
    for organisation in rows.organisations.values():
        if organisation["created_at"].year != year:
            continue
        local = organisation["commune"] in scope.commune_ids
        if scope.everything or local or organisation["id"] in mobilised | members:
            found.append(organisation)
    return sorted(found, key=lambda o: (o["created_at"], fold(o["name"])))
