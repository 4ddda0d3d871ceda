"""Test data of the reports: a small territory with two years of governance (2025 and 2026), built row by row so that
every figure of the bilan can be checked by hand (and recomputed by the tests from the tables).

2025: COPIL held (Caf, mairie, CCAS present), petite enfance held (mairie and crèche present,
centre social absent), one jeunesse meeting cancelled.
2026: two COPIL held, petite enfance held, jeunesse held but attendance never recorded, one
COPIL cancelled, two public meetings (one counted: 45 inhabitants, one not), one meeting of
November still « planifiée »; the réseau parentalité never meets. The club de foot joins in
2026 and is called twice.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from maillage.tables import (
    Action,
    ActionPartner,
    Affiliation,
    Axis,
    Commune,
    Contact,
    GroupAxis,
    Interaction,
    InteractionOrganisation,
    Invitation,
    Meeting,
    Membership,
    Organisation,
    OrganisationAxis,
    Territory,
    WorkingGroup,
)

PARIS = ZoneInfo("Europe/Paris")
TODAY = dt.date(2027, 1, 12)
_uids = itertools.count(1)


@dataclass
class World:
    territory: int
    communes: dict[str, int] = field(default_factory=dict)
    organisations: dict[str, int] = field(default_factory=dict)
    contacts: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    axes: dict[str, int] = field(default_factory=dict)
    actions: dict[str, int] = field(default_factory=dict)


async def insert(row) -> int:
    result = await type(row).insert(row).returning(type(row)._meta.primary_key).run()
    return result[0]["id"]


async def add_organisation(world, key, name, kind, commune, axes, created):
    organisation_id = await insert(
        Organisation(
            name=name,
            kind=kind,
            commune=world.communes.get(commune),
            search=name.lower(),
            created_at=dt.datetime(*created, 10, tzinfo=PARIS),
        )
    )
    for axis in axes:
        await insert(OrganisationAxis(organisation=organisation_id, axis=world.axes[axis]))
    world.organisations[key] = organisation_id
    contact = await insert(Contact(first_name="Agent", last_name=name, search=name.lower()))
    world.contacts[key] = contact
    await insert(Affiliation(contact=contact, organisation=organisation_id, is_primary=True))


async def add_group(world, key, name, kind, axes, members):
    group = await insert(WorkingGroup(name=name, kind=kind, territory=world.territory, search=name))
    for axis in axes:
        await insert(GroupAxis(working_group=group, axis=world.axes[axis]))
    for member in members:
        await insert(
            Membership(
                contact=world.contacts[member],
                working_group=group,
                organisation=world.organisations[member],
                start_date=dt.date(2024, 9, 1),
            )
        )
    world.groups[key] = group


async def add_meeting(world, group, day, status="tenue", attendance=None, public=None):
    starts = dt.datetime(*day, 14, tzinfo=PARIS)
    meeting = await insert(
        Meeting(
            working_group=world.groups[group],
            title=f"{group} du {day[2]}/{day[1]}",
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=2),
            status=status,
            is_public=public is not None,
            attendance_count=public if public != "?" else None,
            ical_uid=f"test-{next(_uids)}@maillage",
            search="reunion",
        )
    )
    for member, presence in (attendance or {}).items():
        await insert(
            Invitation(
                meeting=meeting,
                contact=world.contacts[member],
                attendance=presence,
                token_nonce=f"n{next(_uids)}",
            )
        )
    return meeting


async def build_world() -> World:
    axes = {row["code"]: row["id"] for row in await Axis.select(Axis.code, Axis.id).run()}
    territory = await insert(
        Territory(
            name="Communauté de communes du Val d'Ardoise",
            ctg_start=dt.date(2025, 1, 1),
            ctg_end=dt.date(2028, 12, 31),
            search="val d'ardoise",
        )
    )
    world = World(territory=territory, axes=axes)
    for key, insee, population in (
        ("Ardoise", "35901", 4200),
        ("Bréhal", "35902", 1800),
        ("Carnoët", "35903", 650),
    ):
        world.communes[key] = await insert(
            Commune(
                insee_code=insee,
                name=key,
                population=population,
                territory=territory,
                search=key.lower(),
            )
        )
    for spec in (
        ("caf", "Caf d'Ille-et-Vilaine", "institution", None, [], (2024, 3, 1)),
        (
            "mairie",
            "Mairie d'Ardoise",
            "collectivite",
            "Ardoise",
            ["petite_enfance", "enfance"],
            (2024, 3, 1),
        ),
        (
            "ccas",
            "CCAS de Bréhal",
            "collectivite",
            "Bréhal",
            ["acces_aux_droits", "logement"],
            (2024, 3, 1),
        ),
        (
            "centre",
            "Centre social des Landes",
            "association",
            "Ardoise",
            ["parentalite", "animation_vie_sociale", "jeunesse"],
            (2024, 3, 1),
        ),
        (
            "creche",
            "Crèche Les Lutins",
            "etablissement",
            "Ardoise",
            ["petite_enfance"],
            (2025, 2, 1),
        ),
        ("club", "Club de foot de Carnoët", "association", "Carnoët", ["jeunesse"], (2026, 4, 15)),
        ("bailleur", "Habitat de la Vallée", "entreprise", "Bréhal", ["logement"], (2026, 6, 1)),
    ):
        await add_organisation(world, *spec)
    await add_group(world, "copil", "COPIL CTG", "copil", [], ["caf", "mairie", "ccas", "centre"])
    await add_group(
        world,
        "pe",
        "Commission petite enfance",
        "commission_thematique",
        ["petite_enfance"],
        ["mairie", "creche", "centre"],
    )
    await add_group(
        world, "jeunesse", "Groupe jeunesse", "groupe_travail", ["jeunesse"], ["centre", "club"]
    )
    await add_group(
        world, "parentalite", "Réseau parentalité", "reseau", ["parentalite"], ["centre"]
    )

    p, a, e = "present", "absent", "excuse"
    # 2025
    await add_meeting(
        world, "copil", (2025, 3, 11), attendance={"caf": p, "mairie": p, "ccas": p, "centre": a}
    )
    await add_meeting(
        world, "pe", (2025, 5, 20), attendance={"mairie": p, "creche": p, "centre": a}
    )
    await add_meeting(world, "jeunesse", (2025, 10, 7), status="annulee")
    # 2026
    await add_meeting(
        world, "copil", (2026, 3, 10), attendance={"caf": p, "mairie": p, "ccas": p, "centre": p}
    )
    await add_meeting(
        world, "copil", (2026, 11, 17), attendance={"caf": p, "mairie": e, "ccas": p, "centre": p}
    )
    await add_meeting(world, "copil", (2026, 6, 2), status="annulee")
    await add_meeting(
        world, "pe", (2026, 4, 14), attendance={"mairie": p, "creche": p, "centre": p}
    )
    await add_meeting(world, "jeunesse", (2026, 5, 12), attendance={"centre": None, "club": None})
    await add_meeting(world, "jeunesse", (2026, 9, 26), public=45)
    await add_meeting(world, "pe", (2026, 10, 3), public="?")
    await add_meeting(world, "pe", (2026, 12, 8), status="planifiee", attendance={"mairie": None})

    world.actions["rpe"] = await insert(
        Action(
            title="Ouvrir un relais petite enfance itinérant",
            axis=axes["petite_enfance"],
            pilot=world.organisations["mairie"],
            working_group=world.groups["pe"],
            status="en_cours",
            start_date=dt.date(2025, 1, 1),
            indicators=[
                {
                    "name": "Familles accompagnées",
                    "unit": "familles",
                    "targets": {"2025": 40, "2026": 60},
                    "values": {"2025": 32, "2026": 66},
                },
                {
                    "name": "Communes desservies",
                    "unit": "communes",
                    "targets": {"2026": 3},
                    "values": {},
                },
            ],
            search="rpe",
        )
    )
    await insert(
        ActionPartner(action=world.actions["rpe"], organisation=world.organisations["caf"])
    )
    await insert(
        ActionPartner(action=world.actions["rpe"], organisation=world.organisations["creche"])
    )
    world.actions["numerique"] = await insert(
        Action(
            title="Permanences numériques en mairie",
            axis=axes["inclusion_numerique"],
            pilot=world.organisations["ccas"],
            status="a_lancer",
            indicators=[],
            search="numerique",
        )
    )
    for day, summary in (
        (dt.date(2026, 2, 3), "Présentation de la CTG"),
        (dt.date(2026, 9, 1), "Invitation au groupe jeunesse"),
    ):
        interaction = await insert(
            Interaction(occurred_on=day, kind="appel", summary=summary, search="")
        )
        await insert(
            InteractionOrganisation(
                interaction=interaction, organisation=world.organisations["club"]
            )
        )
    return world


# ----- independent recomputation from the tables (never through maillage.reports) -----------


async def held_meetings(year: int) -> list[dict]:
    start = dt.datetime(year, 1, 1, tzinfo=PARIS)
    end = dt.datetime(year + 1, 1, 1, tzinfo=PARIS)
    return (
        await Meeting.select(Meeting.id, Meeting.is_public, Meeting.attendance_count)
        .where(
            (Meeting.status == "tenue") & (Meeting.starts_at >= start) & (Meeting.starts_at < end)
        )
        .run()
    )


async def attendance(year: int) -> list[dict]:
    ids = [m["id"] for m in await held_meetings(year)] or [0]
    return (
        await Invitation.select(Invitation.contact, Invitation.attendance)
        .where(Invitation.meeting.is_in(ids))
        .run()
    )


async def mobilised(year: int) -> set[int]:
    present = {i["contact"] for i in await attendance(year) if i["attendance"] == "present"}
    rows = (
        await Affiliation.select(Affiliation.organisation)
        .where(Affiliation.contact.is_in(list(present) or [0]))
        .run()
    )
    return {r["organisation"] for r in rows}


def docx_text(path_or_bytes) -> str:
    import io

    from docx import Document

    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    document = Document(source)
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts).replace("\u202f", " ").replace("\xa0", " ")
