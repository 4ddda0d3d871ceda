"""The data version: one cheap query whose answer changes with any write to the registry (#16).

Memoised reports and analyses are keyed by it: a cached answer is served only while the data
it was computed from is the same. For every table a report may read: its row count, highest id
and latest ``updated_at`` (a deletion changes the count, an insertion the highest id, an update
the date); plus the latest audit event, which every service write records, so a write that
leaves those three alike (a field updated without ``updated_at``) still changes the version.
The answer is the same in every process of the service: the caches of two workers agree.
"""

from __future__ import annotations

from typing import Any

from piccolo.table import Table

from maillage.tables import (
    Action,
    ActionPartner,
    Affiliation,
    AuditEvent,
    Axis,
    Commune,
    ConsultationAnswer,
    ConsultationQuestion,
    Contact,
    ContactAxis,
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

CONTENT_TABLES: list[type[Table]] = [
    Territory,
    Commune,
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
    ConsultationQuestion,
    ConsultationAnswer,
]


def _part(table: type[Table]) -> str:
    name = table._meta.tablename
    columns = {c._meta.name for c in table._meta.columns}
    changed = "MAX(updated_at)" if "updated_at" in columns else "NULL"
    return (
        f"SELECT '{name}' AS name, COUNT(*) AS n, MAX(id) AS top, "
        f'CAST({changed} AS TEXT) AS changed FROM "{name}"'
    )


_QUERY = " UNION ALL ".join(
    [
        *(_part(table) for table in CONTENT_TABLES),
        f"SELECT 'audit' AS name, 0 AS n, MAX(id) AS top, NULL AS changed "
        f'FROM "{AuditEvent._meta.tablename}"',
    ]
)


async def data_version(
    tables: list[type[Table]] | None = None,
) -> tuple[tuple[Any, ...], ...]:
    """Count, highest id and latest change of each table (all content tables by default) and
    the latest audit event: one query."""
    sql = _QUERY if tables is None else " UNION ALL ".join(_part(table) for table in tables)
    rows = await Organisation.raw(sql).run()
    return tuple(sorted((r["name"], r["n"], r["top"], r["changed"]) for r in rows))
