"""Small networks built by hand, with real rows (no mocks)."""

from __future__ import annotations

import datetime as dt

from maillage.graph.data import (
    AffiliationRow,
    AxisRow,
    CommuneRow,
    ContactRow,
    GroupRow,
    InvitationRow,
    MeetingRow,
    MembershipRow,
    NetworkData,
    OrganisationRow,
)

TODAY = dt.date(2026, 6, 1)
JEUNESSE, PETITE_ENFANCE = 1, 2


def at(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 14, 0, tzinfo=dt.UTC)


def network(**rows) -> NetworkData:
    base = {
        "today": TODAY,
        "axes": [
            AxisRow(JEUNESSE, "jeunesse", "Jeunesse"),
            AxisRow(PETITE_ENFANCE, "petite_enfance", "Petite enfance"),
        ],
        "communes": [CommuneRow(1, "Ville-Centre", 12000), CommuneRow(2, "Petit-Bourg", 800)],
    }
    return NetworkData(**{**base, **rows})


def staffed(orgs: list[OrganisationRow], **rows) -> NetworkData:
    """Each organisation n° i has one person n° i (« Mme Prénom{i} Nom{i} »), its primary contact."""
    contacts = [ContactRow(o.id, f"Prénom{o.id}", f"Nom{o.id}", "Mme") for o in orgs]
    affiliations = [AffiliationRow(o.id, o.id, primary=True) for o in orgs]
    return network(
        organisations=orgs,
        contacts=rows.pop("contacts", contacts),
        affiliations=rows.pop("affiliations", affiliations),
        **rows,
    )


def body(group_id: int, *org_ids: int) -> list[MembershipRow]:
    """The people of these organisations sit in the group, each standing for her organisation."""
    return [MembershipRow(o, group_id, organisation=o) for o in org_ids]


def meeting(meeting_id: int, group: int, day: dt.date, present=(), absent=()):
    invitations = [InvitationRow(meeting_id, c, "acceptee", "present") for c in present]
    invitations += [InvitationRow(meeting_id, c, "en_attente", "absent") for c in absent]
    return MeetingRow(meeting_id, group, at(day)), invitations


def group(group_id: int, name: str = "", kind: str = "groupe_travail", **fields) -> GroupRow:
    return GroupRow(group_id, name or f"Instance {group_id}", kind, **fields)


def org(org_id: int, name: str = "", kind: str = "association", **fields) -> OrganisationRow:
    return OrganisationRow(org_id, name or f"Organisation {org_id}", kind, **fields)
