"""The data version: what memoised reports and analyses are keyed by (#16, #20).

Database triggers (migration ``2026-12-09T01:30:00``) add one to a counter of ``data_change``
on every write of a content table: the counter of the territory of the row (of both when a
row moves), 0 for the shared rows (no territory, reference data). Imports, raw SQL and every
service path alike. On PostgreSQL the counters a transaction touched move on at its commit,
once, in the order of the territories (migration ``2026-12-09T07:00:00``): writers do not wait
for each other's transactions. A cached answer is served only while the counters of what it may read are
the same; reading them is a look-up of a few rows by key, whatever the size of the instance
(the version was a count of every table: 5 s on 24 départements).

The version of an answer:

- for a user limited to territories (`maillage.crm.scope`): the shared counter and those of
  their territories. Everything they read is shared or of their territories (PostgreSQL's
  policies refuse the rest): a write in another territory leaves their answers cached;
- for a user without territories (an administrator, the command line): the sum of every
  counter (counters only grow: any write changes it). Their answer of one territory may read
  rows of another (a person living in its communes placed elsewhere, an organisation of
  another territory represented in its bodies): any write changes it.

The answer is the same in every process of the service: the caches of two workers agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from piccolo.query.functions.aggregate import Sum
from piccolo.querystring import QueryString
from piccolo.table import Table

from maillage.crm import scope
from maillage.tables import (
    Action,
    ActionPartner,
    Affiliation,
    Axis,
    Commune,
    CommuneChildcare,
    CommuneIndicator,
    Consultation,
    ConsultationAnswer,
    ConsultationQuestion,
    Contact,
    ContactAxis,
    DataChange,
    Decision,
    GroupAxis,
    GroupCommune,
    InhabitantRegistration,
    Interaction,
    InteractionContact,
    InteractionOrganisation,
    Invitation,
    Meeting,
    Membership,
    Organisation,
    OrganisationAxis,
    Partnership,
    PartnershipAxis,
    Territory,
    WorkingGroup,
)

SHARED = 0  # the counter of the shared rows

# The tables whose writes the counters count (a test checks each has its triggers).
CONTENT_TABLES: list[type[Table]] = [
    Territory,
    Commune,
    CommuneChildcare,
    CommuneIndicator,
    Axis,
    Organisation,
    OrganisationAxis,
    Contact,
    ContactAxis,
    Affiliation,
    WorkingGroup,
    GroupAxis,
    GroupCommune,
    Membership,
    Meeting,
    Invitation,
    Partnership,
    PartnershipAxis,
    Interaction,
    InteractionOrganisation,
    InteractionContact,
    Action,
    ActionPartner,
    Decision,
    InhabitantRegistration,
    Consultation,
    ConsultationQuestion,
    ConsultationAnswer,
]


async def counters(territories: Iterable[int]) -> tuple[tuple[int, int], ...]:
    """The shared counter and those of ``territories``: (territory, counter), in order; a
    territory never written counts 0."""
    wanted = sorted({SHARED, *territories})
    rows = (
        await DataChange.select(DataChange.territory, DataChange.counter)
        .where(DataChange.territory.is_in(wanted))
        .run()
    )
    found = {row["territory"]: row["counter"] for row in rows}
    return tuple((one, found.get(one, 0)) for one in wanted)


async def total() -> int:
    """The sum of every counter: changes with any write."""
    rows = await DataChange.raw("SELECT COALESCE(SUM(counter), 0) AS total FROM data_change").run()
    return int(rows[0]["total"])


async def data_version(territories: Iterable[int] | None = None) -> tuple[Any, ...]:
    """The version of what a reader may read: ``territories`` given, their counters and the
    shared one; else those of the current user's territories, or, for a user without
    territories, the sum of every counter. One query."""
    if territories is None:
        current = scope.current()
        if current is None:
            return ("all", await total())
        territories = current.territories
    return ("territories", await counters(territories))


def summed(territories: Iterable[int] | None) -> QueryString:
    """The data version as one number, for a statement that reads it beside other values (the
    dashboard's key figures, #16): the sum of the shared counter and those of ``territories``,
    or of every counter (None: a user without territories). Counters only grow, so any write
    of what the reader may read changes the sum, and no other write does."""
    return QueryString("COALESCE(({}), 0)", _sum_of(territories))


def _sum_of(territories: Iterable[int] | None) -> QueryString:
    query = DataChange.select(Sum(DataChange.counter))
    if territories is not None:
        query = query.where(DataChange.territory.is_in(sorted({SHARED, *territories})))
    statement: QueryString = query.querystrings[0]
    return statement
