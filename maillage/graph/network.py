"""The network service: reads the registry into ``maillage.graph`` rows, caches the analyses.

Reading takes one query per table whatever the size of the territory (17 in all, in one read
transaction). Analyses are cached per *data version*: one query gives, for every table the
network reads, its row count, highest id and latest ``updated_at``; any write changes it. The
analysis itself runs in a worker thread, so the event loop keeps serving other requests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
from collections import OrderedDict, defaultdict
from typing import Any

from piccolo.table import Table

from maillage.actor import Actor
from maillage.crm import caches
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import MembershipIn, MembershipRole
from maillage.db import read_transaction
from maillage.errors import InvalidData
from maillage.graph.data import (
    AffiliationRow,
    AxisRow,
    CommuneRow,
    ContactRow,
    GroupRow,
    InteractionRow,
    InvitationRow,
    MeetingRow,
    MembershipRow,
    NetworkData,
    NetworkFilter,
    OrganisationRow,
    PartnershipRow,
)
from maillage.graph.report import Level, Report, analyse
from maillage.offloop import in_process, off_loop
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
    WorkingGroup,
)
from maillage.vocabulary import MEMBER

SOURCE_TABLES: list[type[Table]] = [
    Axis,
    Commune,
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
]
CACHE_SIZE = 16


def _linked(rows: list[dict], owner: str, target: str) -> dict[int, tuple[int, ...]]:
    found: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        found[row[owner]].append(row[target])
    return {key: tuple(sorted(values)) for key, values in found.items()}


async def _select(table: type[Table], *columns: str) -> list[dict[str, Any]]:
    return await table.select(*(table._meta.get_column_by_name(c) for c in columns)).run()


async def load_network_data(today: dt.date) -> NetworkData:
    """Every row the analysis needs, one query per table; the rows become the analysis's
    records on a heavy-work thread (a département's 30,000 rows took a second of the loop)."""
    async with read_transaction():
        axes = await _select(Axis, "id", "code", "name", "position")
        communes = await _select(Commune, "id", "name", "population")
        orgs = await _select(Organisation, "id", "name", "kind", "category", "commune", "archived")
        org_axes = await _select(OrganisationAxis, "organisation", "axis")
        contacts = await _select(
            Contact, "id", "civility", "first_name", "last_name", "commune", "archived"
        )
        contact_axes = await _select(ContactAxis, "contact", "axis")
        affiliations = await _select(
            Affiliation,
            "contact", "organisation", "function", "elected_mandate", "start_date", "end_date",
            "is_primary",
        )  # fmt: skip
        groups = await _select(WorkingGroup, "id", "name", "kind", "archived", "active")
        group_axes = await _select(GroupAxis, "working_group", "axis")
        group_communes = await _select(GroupCommune, "working_group", "commune")
        memberships = await _select(
            Membership, "contact", "working_group", "role", "organisation", "start_date", "end_date"
        )
        meetings = await _select(Meeting, "id", "working_group", "starts_at", "status")
        invitations = await _select(Invitation, "meeting", "contact", "response", "attendance")
        partnerships = await _select(
            Partnership, "id", "organisation", "partner", "kind", "start_date", "end_date"
        )
        partnership_axes = await _select(PartnershipAxis, "partnership", "axis")
        interactions = await _select(Interaction, "id", "occurred_on", "kind", "follow_up_on")
        interaction_orgs = await _select(InteractionOrganisation, "interaction", "organisation")
        interaction_contacts = await _select(InteractionContact, "interaction", "contact")
    return await off_loop(
        _network_data,
        today,
        axes,
        communes,
        orgs,
        org_axes,
        contacts,
        contact_axes,
        affiliations,
        groups,
        group_axes,
        group_communes,
        memberships,
        meetings,
        invitations,
        partnerships,
        partnership_axes,
        interactions,
        interaction_orgs,
        interaction_contacts,
    )


def _network_data(
    today: dt.date,
    axes: list[dict[str, Any]],
    communes: list[dict[str, Any]],
    orgs: list[dict[str, Any]],
    org_axes: Any,
    contacts: list[dict[str, Any]],
    contact_axes: Any,
    affiliations: list[dict[str, Any]],
    groups: list[dict[str, Any]],
    group_axes: Any,
    group_communes: Any,
    memberships: list[dict[str, Any]],
    meetings: list[dict[str, Any]],
    invitations: list[dict[str, Any]],
    partnerships: list[dict[str, Any]],
    partnership_axes: Any,
    interactions: list[dict[str, Any]],
    interaction_orgs: Any,
    interaction_contacts: Any,
) -> NetworkData:
    org_axes = _linked(org_axes, "organisation", "axis")
    contact_axes = _linked(contact_axes, "contact", "axis")
    group_axes = _linked(group_axes, "working_group", "axis")
    group_communes = _linked(group_communes, "working_group", "commune")
    partnership_axes = _linked(partnership_axes, "partnership", "axis")
    interaction_orgs = _linked(interaction_orgs, "interaction", "organisation")
    interaction_contacts = _linked(interaction_contacts, "interaction", "contact")
    return NetworkData(
        today=today,
        axes=[
            AxisRow(a["id"], a["code"], a["name"])
            for a in sorted(axes, key=lambda a: (a["position"], a["id"]))
        ],
        communes=[CommuneRow(c["id"], c["name"], c["population"]) for c in communes],
        organisations=[
            OrganisationRow(
                o["id"],
                o["name"],
                o["kind"],
                o["category"],
                o["commune"],
                org_axes.get(o["id"], ()),
                bool(o["archived"]),
            )
            for o in orgs
        ],
        contacts=[
            ContactRow(
                c["id"],
                c["first_name"],
                c["last_name"],
                c["civility"],
                c["commune"],
                contact_axes.get(c["id"], ()),
                bool(c["archived"]),
            )
            for c in contacts
        ],
        affiliations=[
            AffiliationRow(
                a["contact"],
                a["organisation"],
                a["function"],
                bool(a["elected_mandate"]),
                bool(a["is_primary"]),
                a["start_date"],
                a["end_date"],
            )
            for a in affiliations
        ],
        groups=[
            GroupRow(
                g["id"],
                g["name"],
                g["kind"],
                group_axes.get(g["id"], ()),
                group_communes.get(g["id"], ()),
                bool(g["archived"]),
                bool(g["active"]),
            )
            for g in groups
        ],
        memberships=[
            MembershipRow(
                m["contact"],
                m["working_group"],
                m["role"],
                m["organisation"],
                m["start_date"],
                m["end_date"],
            )
            for m in memberships
        ],
        meetings=[
            MeetingRow(m["id"], m["working_group"], m["starts_at"], m["status"]) for m in meetings
        ],
        invitations=[
            InvitationRow(i["meeting"], i["contact"], i["response"], i["attendance"])
            for i in invitations
        ],
        partnerships=[
            PartnershipRow(
                p["organisation"],
                p["partner"],
                p["kind"],
                partnership_axes.get(p["id"], ()),
                p["start_date"],
                p["end_date"],
            )
            for p in partnerships
        ],
        interactions=[
            InteractionRow(
                i["id"],
                i["occurred_on"],
                i["kind"],
                interaction_orgs.get(i["id"], ()),
                interaction_contacts.get(i["id"], ()),
                i["follow_up_on"],
            )
            for i in interactions
        ],
    )


async def data_version() -> tuple:
    """Count, highest id and latest change of every table read: one query."""
    parts = []
    for table in SOURCE_TABLES:
        name = table._meta.tablename
        changed = (
            "MAX(updated_at)"
            if "updated_at" in {c._meta.name for c in table._meta.columns}
            else "NULL"
        )
        parts.append(
            f"SELECT '{name}' AS name, COUNT(*) AS n, MAX(id) AS top, CAST({changed} AS TEXT) AS changed FROM \"{name}\""
        )
    rows = await Organisation.raw(" UNION ALL ".join(parts)).run()
    return tuple(sorted((r["name"], r["n"], r["top"], r["changed"]) for r in rows))


class NetworkService:
    """Analyses and renderings, cached per (data version, filter, level, date)."""

    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._cache_size = cache_size
        self._lock = asyncio.Lock()
        self.computations = 0  # how many analyses actually ran (tests check the cache)

    def forget(self) -> None:
        self._cache.clear()

    async def _cached(self, key: tuple, compute) -> Any:
        async with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            value = await compute()
            self._cache[key] = value
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return value

    async def report(
        self, selection: NetworkFilter, level: Level = "organisations", today: dt.date | None = None
    ) -> Report:
        day = today or dt.date.today()
        version = await data_version()

        async def compute() -> Report:
            self.computations += 1
            return await in_process(analysis_job, selection, level, day)

        return await self._cached(("report", version, selection, level, day), compute)

    async def rendered(
        self,
        fmt: str,
        selection: NetworkFilter,
        level: Level = "organisations",
        today: dt.date | None = None,
    ) -> str | bytes:
        """The report as ``text``, ``json``, ``csv``, ``gexf``, ``graphml`` or ``html``."""
        report = await self.report(selection, level, today)
        key = ("render", fmt, id(report))
        return await self._cached(key, lambda: in_process(render, fmt, report))


async def analysis_job(selection: NetworkFilter, level: Level, today: dt.date) -> Report:
    """Read the rows and analyse them, in a heavy-work process (``offloop.in_process``):
    reading a département's 150,000 rows took three seconds, mostly of Python."""
    return await off_loop(analyse, await load_network_data(today), selection, level)


RENDERERS = {
    "text": ("text", "render"),
    "json": ("export", "to_json"),
    "csv": ("export", "to_csv"),
    "gexf": ("export", "to_gexf"),
    "graphml": ("export", "to_graphml"),
    "html": ("drawing", "render_standalone"),
    "node-link": ("export", "to_node_link"),
}


def render(fmt: str, report: Report) -> str | bytes:
    """The report in one format. The drawing module (pyvis, its layout) is imported only when
    drawing: it costs a quarter of a second of the command line's start-up on the demo."""
    module, function = RENDERERS[fmt]
    return getattr(importlib.import_module(f"maillage.graph.{module}"), function)(report)


network_service = NetworkService()
# Analyses name people (« personnes pivots »): an erasure drops them all.
caches.on_erasure(network_service.forget)


async def add_to_body(
    actor: Actor,
    working_group: int,
    organisation: int | None = None,
    contact: int | None = None,
    role: MembershipRole = MEMBER,
) -> dict[str, Any]:
    """The one-call action of a suggestion: register a partner in a body.

    For an organisation without a named person, its primary contact (else its first active
    one) is registered as standing for it.
    """
    if contact is None:
        if organisation is None:
            raise InvalidData.one(
                "organisation", "Indiquez l'organisation ou la personne à inscrire."
            )
        contact = await _representative(organisation)
    data = MembershipIn(
        contact=contact, working_group=working_group, organisation=organisation, role=role
    )
    return await SERVICES["memberships"].create(actor, data)


async def _representative(organisation: int) -> int:
    await SERVICES["organisations"].get(organisation)  # 404 when unknown
    today = dt.date.today()
    rows = (
        await Affiliation.select(
            Affiliation.contact,
            Affiliation.is_primary,
            Affiliation.start_date,
            Affiliation.end_date,
        )
        .where(Affiliation.organisation == organisation)
        .where(Affiliation.contact.archived == False)  # noqa: E712 - SQL expression
        .run()
    )
    active = [
        r
        for r in rows
        if (r["start_date"] is None or r["start_date"] <= today)
        and (r["end_date"] is None or r["end_date"] >= today)
    ]
    if not active:
        raise InvalidData.one(
            "organisation",
            "Aucune personne active n'est rattachée à cette organisation : "
            "ajoutez d'abord un contact, ou nommez la personne à inscrire (champ « contact »).",
        )
    return min(active, key=lambda r: (not r["is_primary"], r["contact"]))["contact"]


async def resolve_axes(values: tuple[str, ...] | list[str]) -> list[int]:
    """Axes named by code (« jeunesse ») or by identifier, as the command line accepts them."""
    if not values:
        return []
    rows = await Axis.select(Axis.id, Axis.code).run()
    by_code = {r["code"]: r["id"] for r in rows}
    ids = {r["id"] for r in rows}
    found = []
    for value in values:
        if value.isdigit() and int(value) in ids:
            found.append(int(value))
        elif value in by_code:
            found.append(by_code[value])
        else:
            known = ", ".join(sorted(by_code))
            raise InvalidData.one("axis", f"Axe inconnu « {value} » (axes : {known}).")
    return found
