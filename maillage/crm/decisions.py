"""What the bodies decided, read the way the pages show it (#22): the decisions of a meeting,
the open ones of a body (« suites à donner » on its next meeting), the late ones (dashboard).
The bilan counts them from its own rows (``reports.annual.decision_counts``). Writes go
through the generic resource service (``SERVICES["decisions"]``): same checks, versions and
journal as every record."""

from __future__ import annotations

import datetime as dt
from typing import Any

from maillage.crm.registry import scoped
from maillage.db import read_transaction
from maillage.folding import fold
from maillage.tables import Affiliation, Decision
from maillage.vocabulary import OPEN_DECISION_STATUSES

COLUMNS = (
    Decision.id,
    Decision.version,
    Decision.summary,
    Decision.status,
    Decision.due_on,
    Decision.done_on,
    Decision.meeting,
    Decision.working_group,
    Decision.carrier_contact,
    Decision.carrier_organisation,
    Decision.action,
    Decision.meeting.title.as_alias("meeting_title"),
    Decision.meeting.starts_at.as_alias("meeting_starts_at"),
    Decision.working_group.name.as_alias("group_name"),
    Decision.carrier_contact.first_name.as_alias("carrier_first_name"),
    Decision.carrier_contact.last_name.as_alias("carrier_last_name"),
    Decision.carrier_organisation.name.as_alias("carrier_organisation_name"),
    Decision.action.title.as_alias("action_title"),
)


def _with_carrier(rows: list[dict[str, Any]], today: dt.date) -> list[dict[str, Any]]:
    for row in rows:
        person = f"{row['carrier_first_name'] or ''} {row['carrier_last_name'] or ''}".strip()
        organisation = row["carrier_organisation_name"]
        row["carrier"] = (
            f"{person} ({organisation})" if person and organisation else person or organisation
        ) or ""
        row["late"] = (
            row["status"] in OPEN_DECISION_STATUSES
            and row["due_on"] is not None
            and row["due_on"] < today
        )
    return rows


async def of_meeting(meeting_id: int, today: dt.date) -> list[dict[str, Any]]:
    async with read_transaction():
        rows = await (
            Decision.select(*COLUMNS).where(Decision.meeting == meeting_id).order_by(Decision.id)
        )
    return _with_carrier(rows, today)


async def open_of_group(
    group_id: int, today: dt.date, before_meeting: int | None = None
) -> list[dict[str, Any]]:
    """The body's decisions not done yet, the oldest due first (undated last); without those
    taken at ``before_meeting`` itself."""
    where: Any = (Decision.working_group == group_id) & Decision.status.is_in(
        list(OPEN_DECISION_STATUSES)
    )
    if before_meeting is not None:
        where = where & ((Decision.meeting != before_meeting) | Decision.meeting.is_null())
    async with read_transaction():
        rows = await Decision.select(*COLUMNS).where(where).order_by(Decision.id)
    rows.sort(key=lambda r: (r["due_on"] is None, r["due_on"] or today, r["id"]))
    return _with_carrier(rows, today)


async def of_group(group_id: int, today: dt.date) -> list[dict[str, Any]]:
    """Every decision of the body, in the order they were recorded, with the day each was
    taken (the meeting's, else the day it was recorded) as ``created_at`` beside it."""
    async with read_transaction():
        rows = await (
            Decision.select(*COLUMNS, Decision.created_at)
            .where(Decision.working_group == group_id)
            .order_by(Decision.id)
        )
    return _with_carrier(rows, today)


async def late(today: dt.date, limit: int = 20) -> list[dict[str, Any]]:
    """Open decisions past their due date, the most overdue first, of the bodies the user
    sees (#20: on SQLite the services' rule is the only barrier; on PostgreSQL the rule's test
    on the row's territory also lets the planner gather the user's decisions instead of
    walking the due dates of the whole country)."""
    # The decisions shown chosen first, then joined to their meeting, body, carrier and fiche
    # action: joined before the sort, SQLite read those five rows for every open decision
    # (2,000 on the ``departement`` demo: 5 ms of CPU on the dashboard, #16).
    shown = (
        scoped(Decision.select(Decision.id), "decisions")
        .where(Decision.status.is_in(list(OPEN_DECISION_STATUSES)) & (Decision.due_on < today))
        .order_by(Decision.due_on)
        .order_by(Decision.id)
        .limit(limit)
    )
    async with read_transaction():
        rows = await (
            Decision.select(*COLUMNS)
            .where(Decision.id.is_in(shown))
            .order_by(Decision.due_on)
            .order_by(Decision.id)
        )
    return _with_carrier(rows, today)


async def organisations_of(contact_ids: list[int]) -> list[dict[str, Any]]:
    """The organisations these people currently belong to: who may carry a decision."""
    if not contact_ids:
        return []
    async with read_transaction():
        rows = await Affiliation.select(
            Affiliation.organisation, Affiliation.organisation.name.as_alias("name")
        ).where(Affiliation.contact.is_in(contact_ids) & Affiliation.end_date.is_null())
    unique = {row["organisation"]: row["name"] for row in rows}
    return [
        {"id": org_id, "name": name}
        for org_id, name in sorted(unique.items(), key=lambda item: fold(item[1]))
    ]
