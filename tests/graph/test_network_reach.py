"""The network of some territories reads only what they reach, and reads the same as before
(#20): the step-by-step reader (`maillage.graph.network._read_territories`) against the
reader it replaced (nested sub-queries, kept here as the reference), on a small world of four
territories with every case of the rule, for one territory, several, and all of them.

Runs on SQLite, and on PostgreSQL when MAILLAGE_TEST_DATABASE_URL is set."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from piccolo.table import Table

from maillage.crm import reach
from maillage.crm.seed import ensure_axes
from maillage.db import read_transaction
from maillage.graph import network
from maillage.graph.data import NetworkData
from maillage.graph.network import COLUMNS, _network_data, load_network_data
from maillage.tables import (
    Affiliation,
    Axis,
    Commune,
    Contact,
    ContactAxis,
    GroupAxis,
    GroupCommune,
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

TODAY = dt.date(2026, 11, 29)


class _OldReach:
    """The reader before (#20, nested sub-queries), word for word: the reference."""

    def __init__(self, territories: list[int], groups: list[int]) -> None:
        self.ids = ids = territories
        self.groups = groups or [0]
        self.meetings = reach.meetings_of(groups)
        self.interactions = Interaction.select(Interaction.id).where(reach.interactions_clause(ids))
        communes = reach.communes_of(ids)
        elsewhere = Commune.select(Commune.id).where(
            Commune.territory.is_not_null() & Commune.territory.not_in(ids or [0])
        )
        tied = (
            Contact.id.is_in(Membership.select(Membership.contact).where(self._in_groups()))
            | Contact.id.is_in(
                Invitation.select(Invitation.contact).where(Invitation.meeting.is_in(self.meetings))
            )
            | Contact.id.is_in(
                InteractionContact.select(InteractionContact.contact).where(
                    InteractionContact.interaction.is_in(self.interactions)
                )
            )
        )
        self.contacts = Contact.commune.is_in(communes) | tied
        kept_contacts = Contact.select(Contact.id).where(self.contacts)
        represented = Organisation.id.is_in(
            Membership.select(Membership.organisation).where(self._in_groups())
        ) | Organisation.id.is_in(
            InteractionOrganisation.select(InteractionOrganisation.organisation).where(
                InteractionOrganisation.interaction.is_in(self.interactions)
            )
        )
        employer = (Organisation.commune.is_null() | Organisation.commune.not_in(elsewhere)) & (
            Organisation.id.is_in(
                Affiliation.select(Affiliation.organisation).where(
                    Affiliation.contact.is_in(kept_contacts)
                )
            )
        )
        self.organisations = Organisation.commune.is_in(communes) | represented | employer
        self.kept_organisations = Organisation.select(Organisation.id).where(self.organisations)
        self.kept_contacts = kept_contacts
        self.communes = Commune.territory.is_in(ids or [0])

    def _in_groups(self) -> Any:
        return Membership.working_group.is_in(self.groups)

    def where(self, table: type[Table]) -> Any:
        return {
            Commune: self.communes,
            Organisation: self.organisations,
            OrganisationAxis: OrganisationAxis.organisation.is_in(self.kept_organisations),
            Contact: self.contacts,
            ContactAxis: ContactAxis.contact.is_in(self.kept_contacts),
            Affiliation: Affiliation.contact.is_in(self.kept_contacts)
            & Affiliation.organisation.is_in(self.kept_organisations),
            WorkingGroup: WorkingGroup.id.is_in(self.groups),
            GroupAxis: GroupAxis.working_group.is_in(self.groups),
            GroupCommune: GroupCommune.working_group.is_in(self.groups),
            Membership: self._in_groups(),
            Meeting: Meeting.working_group.is_in(self.groups),
            Invitation: Invitation.meeting.is_in(self.meetings),
            Partnership: Partnership.organisation.is_in(self.kept_organisations)
            & Partnership.partner.is_in(self.kept_organisations),
            PartnershipAxis: None,
            Interaction: reach.interactions_clause(self.ids),
            InteractionOrganisation: InteractionOrganisation.interaction.is_in(self.interactions),
            InteractionContact: InteractionContact.interaction.is_in(self.interactions),
        }.get(table)


async def _old_loader(territories: list[int]) -> NetworkData:
    async with read_transaction():
        kept = _OldReach(territories, sorted(await reach.group_ids(territories)))
        read = [
            await network._select(table, "id", *columns, where=kept.where(table))
            for table, columns in COLUMNS.items()
        ]
    return _network_data(TODAY, *(sorted(rows, key=lambda r: r["id"]) for rows in read))


def _rows(data: NetworkData) -> dict[str, list[str]]:
    return {
        name: sorted(repr(item) for item in getattr(data, name))
        for name in (
            "axes", "communes", "organisations", "contacts", "affiliations", "groups",
            "memberships", "meetings", "invitations", "partnerships", "interactions",
        )
    }  # fmt: skip


async def _insert(table: type[Table], rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    done = await table.insert(*(table(**row) for row in rows)).returning(table.id).run()
    return [row["id"] for row in done]


async def _world(seed: int, offset: int = 0, shared_exchanges: bool = True) -> dict[str, Any]:
    """Four territories of four communes, a commune of none; town halls and associations in the
    communes, institutions without one, an organisation on the commune of no territory; people
    everywhere and nowhere; each territory's bodies and shared bodies covering communes of two;
    members, guests and people met from other territories; exchanges of a territory or shared;
    partnerships across. ``offset`` numbers a second world's territories and communes after the
    first's; without ``shared_exchanges``, its exchanges all belong to its territories."""
    pick = random.Random(seed)
    await ensure_axes()
    axes = [row["id"] for row in await Axis.select(Axis.id)]
    territories = await _insert(
        Territory,
        [{"name": f"Territoire {n}", "siren": f"20000{n:04d}"} for n in range(offset, offset + 4)],
    )
    communes = await _insert(
        Commune,
        [
            {
                "name": f"Commune {n}",
                "insee_code": f"99{n + 4 * offset:03d}",
                "territory": territories[n // 4],
            }
            for n in range(16)
        ]
        + [
            {
                "name": "Commune sans territoire",
                "insee_code": f"99{900 + offset}",
                "territory": None,
            }
        ],
    )
    places = [*communes, None, None]
    organisations = await _insert(
        Organisation,
        [
            {
                "name": f"Organisation {n}",
                "kind": pick.choice(["association", "collectivite", "institution"]),
                "commune": pick.choice(places),
                "archived": pick.random() < 0.1,
            }
            for n in range(60)
        ],
    )
    contacts = await _insert(
        Contact,
        [
            {"first_name": "Prénom", "last_name": f"Nom {n}", "commune": pick.choice(places)}
            for n in range(120)
        ],
    )
    await _insert(
        Affiliation,
        [
            {"contact": c, "organisation": o, "is_primary": n == 0}
            for c in contacts
            for n, o in enumerate(pick.sample(organisations, pick.randint(0, 2)))
        ],
    )
    own = [{"name": f"COPIL {t}", "kind": "copil", "territory": t} for t in territories]
    shared = [{"name": f"Réseau {n}", "kind": "reseau", "territory": None} for n in range(3)]
    groups = await _insert(WorkingGroup, own + shared)
    await _insert(
        GroupCommune,
        [
            {"working_group": g, "commune": commune}
            for g in groups[len(own) :]
            for commune in pick.sample(communes, 2)
        ],
    )
    for g in groups:
        members = pick.sample(contacts, 6)
        await _insert(
            Membership,
            [
                {
                    "contact": c,
                    "working_group": g,
                    "organisation": pick.choice([None, *organisations]),
                    "start_date": dt.date(2025, 1, 1),
                }
                for c in members
            ],
        )
        meetings = await _insert(
            Meeting,
            [
                {
                    "working_group": g,
                    "title": "Séance",
                    "starts_at": dt.datetime(2026, 3, n + 1, 9, tzinfo=dt.UTC),
                    "ends_at": dt.datetime(2026, 3, n + 1, 11, tzinfo=dt.UTC),
                    "ical_uid": f"{g}-{n}-{offset}@test",
                    "status": "tenue",
                }
                for n in range(2)
            ],
        )
        await _insert(
            Invitation,
            [
                {"meeting": m, "contact": c, "token_nonce": "x", "attendance": "present"}
                for m in meetings
                for c in pick.sample(contacts, 5)
            ],
        )
    interactions = await _insert(
        Interaction,
        [
            {
                "occurred_on": dt.date(2026, 5, 1),
                "territory": pick.choice([*territories, *([None] if shared_exchanges else [])]),
            }
            for _ in range(12)
        ],
    )
    for i in interactions:
        await _insert(InteractionContact, [{"interaction": i, "contact": pick.choice(contacts)}])
        await _insert(
            InteractionOrganisation,
            [{"interaction": i, "organisation": pick.choice(organisations)}],
        )
    partnerships = await _insert(
        Partnership,
        [
            {"organisation": pick.choice(organisations), "partner": pick.choice(organisations)}
            for _ in range(40)
        ],
    )
    await _insert(
        PartnershipAxis, [{"partnership": p, "axis": pick.choice(axes)} for p in partnerships]
    )
    for table, owners, key in (
        (OrganisationAxis, organisations, "organisation"),
        (ContactAxis, contacts, "contact"),
        (GroupAxis, groups, "working_group"),
    ):
        await _insert(table, [{key: owner, "axis": pick.choice(axes)} for owner in owners])
    return {"territories": territories, "organisations": organisations, "communes": communes}


@pytest.mark.parametrize("seed", [1, 2])
async def test_the_network_of_territories_reads_as_the_old_reader_did(database, seed):
    world = await _world(seed)
    t = world["territories"]
    for chosen in ([t[0]], [t[3]], [t[0], t[1]], [t[1], t[2], t[3]], t):
        new = _rows(await load_network_data(TODAY, chosen))
        old = _rows(await _old_loader(chosen))
        assert new == old, chosen
        assert new["organisations"] and new["contacts"] and new["invitations"]
    # Every territory together is not the whole instance: the organisations and people
    # tied to nothing stay out of it, and are in the unscoped network.
    everything = _rows(await load_network_data(TODAY))
    assert len(everything["organisations"]) == 60
    assert len(_rows(await load_network_data(TODAY, t))["organisations"]) < 60


async def test_another_territorys_organisation_does_not_come_through_a_persons_other_job(
    database,
):
    """Hand-built: the president of A's association, who also works for B's town hall and for
    a shared institution, brings the institution into A's network, not B's town hall."""
    a, b = await _insert(
        Territory, [{"name": "A", "siren": "200000008"}, {"name": "B", "siren": "200000016"}]
    )
    ca, cb = await _insert(
        Commune,
        [
            {"name": "Ardoise", "insee_code": "99001", "territory": a},
            {"name": "Rives", "insee_code": "99002", "territory": b},
        ],
    )
    association, town_hall, caf = await _insert(
        Organisation,
        [
            {"name": "Ardoise Jeunesse", "kind": "association", "commune": ca},
            {"name": "Mairie de Rives", "kind": "collectivite", "commune": cb},
            {"name": "Caf", "kind": "institution", "commune": None},
        ],
    )
    (president,) = await _insert(
        Contact, [{"first_name": "Camille", "last_name": "Ardoise", "commune": ca}]
    )
    await _insert(
        Affiliation,
        [{"contact": president, "organisation": o} for o in (association, town_hall, caf)],
    )
    data = await load_network_data(TODAY, [a])
    assert {o.name for o in data.organisations} == {"Ardoise Jeunesse", "Caf"}
    assert {(x.contact, x.organisation) for x in data.affiliations} == {
        (president, association),
        (president, caf),
    }
    rives = await load_network_data(TODAY, [b])
    assert {o.name for o in rives.organisations} == {"Mairie de Rives"}
    assert rives.contacts == [] and rives.affiliations == []


@pytest.mark.parametrize("seed", [1, 2])
async def test_a_territorys_network_is_the_same_with_other_territories_around(database, seed):
    """Four more territories of the same shape (their own bodies, people, organisations and
    exchanges, none shared) change nothing to the network of the first four's territories:
    what a territory reaches is read from its own rows, not filtered out of the country's."""
    world = await _world(seed)
    t = world["territories"]
    before = {
        tuple(chosen): _rows(await load_network_data(TODAY, chosen))
        for chosen in ([t[0]], [t[3]], [t[0], t[1]])
    }
    await _world(seed + 10, offset=4, shared_exchanges=False)
    for chosen, rows in before.items():
        assert _rows(await load_network_data(TODAY, list(chosen))) == rows, chosen
