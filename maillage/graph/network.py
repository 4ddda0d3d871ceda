"""The network service: reads the registry into ``maillage.graph`` rows, caches the analyses.

Reading takes one query per table and per thousand ids (`CHUNK`), in one read transaction. Analyses are cached per *data version*: one query gives, for every table the
network reads, its row count, highest id and latest ``updated_at``; any write changes it. The
analysis itself runs in a worker thread, so the event loop keeps serving other requests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar.serialization import encode_json
from piccolo.table import Table

from maillage.actor import Actor
from maillage.crm import caches, reach, versions
from maillage.crm import scope as territory_scope
from maillage.crm.registry import PARTNER_TERRITORY, SERVICES
from maillage.crm.resources import scope_visible
from maillage.crm.schemas import MembershipIn
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
    Territory,
    WorkingGroup,
)
from maillage.vocabulary import MEMBER, MembershipRole

T = TypeVar("T")

# The tables the network reads: each counted by the data version (a test checks).
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


def _linked(rows: list[dict[str, Any]], owner: str, target: str) -> dict[int, tuple[int, ...]]:
    found: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        found[row[owner]].append(row[target])
    return {key: tuple(sorted(values)) for key, values in found.items()}


async def _select(table: type[Table], *columns: str, where: Any = None) -> list[dict[str, Any]]:
    query = table.select(*(table._meta.get_column_by_name(c) for c in columns))
    return await (query if where is None else query.where(where)).run()


# Ids given to one query at most: under SQLite's and asyncpg's limits on parameters, and few
# enough that PostgreSQL looks them up through the column's index: with 4,878 contact ids it
# read the whole ``contact_axis`` table of ten départements instead (65 ms against 3 ms in
# chunks of 1,000; a Caf adviser's network of ten territories, #20).
CHUNK = 1_000


async def _select_in(
    table: type[Table], columns: tuple[str, ...], key: str, ids: Any, where: Any = None
) -> list[dict[str, Any]]:
    """The rows of ``table`` whose ``key`` is one of ``ids``, by chunks, each through the
    column's index; ``where`` narrows them further."""
    wanted = sorted({i for i in ids if i is not None})
    column = table._meta.get_column_by_name(key)
    rows: list[dict[str, Any]] = []
    for at in range(0, len(wanted), CHUNK):
        clause = column.is_in(wanted[at : at + CHUNK])
        rows += await _select(table, *columns, where=clause if where is None else clause & where)
    return rows


def _by_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in the order of their ids, whatever the plan that read them (the order of the
    analysis's input is the same on every path)."""
    return sorted(rows, key=lambda row: row["id"])


def _column_ids(rows: list[dict[str, Any]], column: str) -> set[int]:
    return {row[column] for row in rows if row[column] is not None}


async def _read_everything(columns: dict[type[Table], tuple[str, ...]]) -> dict[type[Table], Any]:
    """Every row of every table: the network of every territory."""
    return {table: _by_id(await _select(table, "id", *wanted)) for table, wanted in columns.items()}


async def _read_territories(
    territories: list[int], columns: dict[type[Table], tuple[str, ...]]
) -> dict[type[Table], Any]:
    """What ``territories`` reach (#20), read step by step: each query finds its rows through an
    index, from the territory columns or the ids the previous steps found, so that the cost grows
    with what the territories hold, not with the instance (nested sub-queries read the whole
    tables on PostgreSQL: ten territories cost as much as all thirty).

    The rule: their bodies (`maillage.crm.reach`), their meetings and guests, their exchanges
    and the shared ones; the people and organisations of their communes; whoever sits in their
    bodies, is invited or was met, wherever they live; the organisations represented in their
    bodies or met; and a shared organisation (no commune, or a commune of no territory) where
    its people have ties, never an organisation of another territory's commune through the
    other jobs of a person."""

    def cols(table: type[Table]) -> tuple[str, ...]:
        return ("id", *columns[table])

    read: dict[type[Table], Any] = {}
    read[Axis] = await _select(Axis, *cols(Axis))
    groups = sorted(await reach.group_ids(territories))
    read[Commune] = await _select(
        Commune, *cols(Commune), where=Commune.territory.is_in(territories or [0])
    )
    communes = {row["id"] for row in read[Commune]}
    read[WorkingGroup] = await _select_in(WorkingGroup, cols(WorkingGroup), "id", groups)
    by_group: tuple[type[Table], ...] = (GroupAxis, GroupCommune, Membership, Meeting)
    for table in by_group:
        read[table] = await _select_in(table, cols(table), "working_group", groups)
    read[Invitation] = await _select_in(
        Invitation, cols(Invitation), "meeting", _column_ids(read[Meeting], "id")
    )
    read[Interaction] = await _select(
        Interaction, *cols(Interaction), where=reach.interactions_clause(territories)
    )
    met = _column_ids(read[Interaction], "id")
    by_interaction: tuple[type[Table], ...] = (InteractionOrganisation, InteractionContact)
    for table in by_interaction:
        read[table] = await _select_in(table, cols(table), "interaction", met)

    # A scoped user's network holds the partners they see only: never a shared person or
    # organisation of another département (invited, met), as the lists (#20).
    current = territory_scope.current()
    seen_people = seen_organisations = None
    if current is not None:
        seen_people = scope_visible(Contact, PARTNER_TERRITORY, current)
        seen_organisations = scope_visible(Organisation, PARTNER_TERRITORY, current)

    # People: those of the communes, and those tied to the bodies, meetings and exchanges.
    local_people = await _select_in(Contact, cols(Contact), "commune", communes, seen_people)
    tied = (
        _column_ids(read[Membership], "contact")
        | _column_ids(read[Invitation], "contact")
        | _column_ids(read[InteractionContact], "contact")
    ) - _column_ids(local_people, "id")
    read[Contact] = local_people + await _select_in(Contact, cols(Contact), "id", tied, seen_people)
    people = _column_ids(read[Contact], "id")
    read[ContactAxis] = await _select_in(ContactAxis, cols(ContactAxis), "contact", people)
    jobs = await _select_in(Affiliation, cols(Affiliation), "contact", people)

    # Organisations: of the communes, represented or met, and the employers of the people
    # unless they stand in another territory's commune.
    local_organisations = await _select_in(
        Organisation, cols(Organisation), "commune", communes, seen_organisations
    )
    named = (
        _column_ids(read[Membership], "organisation")
        | _column_ids(read[InteractionOrganisation], "organisation")
    ) - _column_ids(local_organisations, "id")
    employers = _column_ids(jobs, "organisation") - named - _column_ids(local_organisations, "id")
    others = await _select_in(
        Organisation, cols(Organisation), "id", named | employers, seen_organisations
    )
    unplaced = {
        row["id"] for row in await _select(Commune, "id", where=Commune.territory.is_null())
    }
    read[Organisation] = local_organisations + [
        row
        for row in others
        if row["id"] in named or row["commune"] is None or row["commune"] in unplaced
    ]
    organisations = _column_ids(read[Organisation], "id")
    read[OrganisationAxis] = await _select_in(
        OrganisationAxis, cols(OrganisationAxis), "organisation", organisations
    )
    read[Affiliation] = [row for row in jobs if row["organisation"] in organisations]
    read[Partnership] = [
        row
        for row in await _select_in(Partnership, cols(Partnership), "organisation", organisations)
        if row["partner"] in organisations
    ]
    read[PartnershipAxis] = await _select_in(
        PartnershipAxis, cols(PartnershipAxis), "partnership", _column_ids(read[Partnership], "id")
    )
    return {table: _by_id(rows) for table, rows in read.items()}


COLUMNS: dict[type[Table], tuple[str, ...]] = {
    Axis: ("code", "name", "position"),
    Commune: ("name", "population"),
    Organisation: ("name", "kind", "category", "commune", "archived"),
    OrganisationAxis: ("organisation", "axis"),
    Contact: ("civility", "first_name", "last_name", "commune", "archived"),
    ContactAxis: ("contact", "axis"),
    Affiliation: (
        "contact",
        "organisation",
        "function",
        "elected_mandate",
        "start_date",
        "end_date",
        "is_primary",
    ),
    WorkingGroup: ("name", "kind", "archived", "active"),
    GroupAxis: ("working_group", "axis"),
    GroupCommune: ("working_group", "commune"),
    Membership: ("contact", "working_group", "role", "organisation", "start_date", "end_date"),
    Meeting: ("working_group", "starts_at", "status"),
    Invitation: ("meeting", "contact", "response", "attendance"),
    Partnership: ("organisation", "partner", "kind", "start_date", "end_date"),
    PartnershipAxis: ("partnership", "axis"),
    Interaction: ("occurred_on", "kind", "follow_up_on"),
    InteractionOrganisation: ("interaction", "organisation"),
    InteractionContact: ("interaction", "contact"),
}


async def load_network_data(
    today: dt.date, territories: list[int] | tuple[int, ...] | None = None
) -> NetworkData:
    """Every row the analysis needs, in one read transaction; the rows become the analysis's
    records on a heavy-work thread (a département's 30,000 rows took a second of the loop).

    With ``territories`` (#20), only what those territories reach (`_read_territories`);
    None: all, one query per table."""
    async with read_transaction():
        if territories is None:
            read = await _read_everything(COLUMNS)
        else:
            read = await _read_territories(sorted(set(territories)), COLUMNS)
    return await off_loop(_network_data, today, *(read[table] for table in COLUMNS))


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


async def data_version() -> tuple[Any, ...]:
    """The counters of what the user may read (``maillage.crm.versions``): the same measure as
    the reports' memo."""
    return await versions.data_version()


def network_territories(territory: int | tuple[int, ...] | None) -> tuple[int, ...] | None:
    """The territories a network covers: ``territory`` (one, or several together) when given,
    each checked against the user's; else the user's portfolio; None: every territory."""
    if territory is not None and territory != ():
        chosen = (territory,) if isinstance(territory, int) else tuple(sorted(set(territory)))
        for one in chosen:
            reach.check_territory(one)
        return chosen
    portfolio = reach.portfolio()
    return None if portfolio is None else tuple(portfolio)


async def check_territories(ids: tuple[int, ...]) -> None:
    """Territories named on the command line exist, or a French error names the unknown."""
    found = {
        row["id"]
        for row in await Territory.select(Territory.id).where(Territory.id.is_in(list(ids)))
    }
    unknown = [str(one) for one in ids if one not in found]
    if unknown:
        raise InvalidData.one(
            "territory", f"Aucun territoire n'a ce numéro : {', '.join(unknown)}."
        )


class NetworkService:
    """Analyses and renderings, cached per (data version, filter, level, date)."""

    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._cache_size = cache_size
        self._lock = asyncio.Lock()
        self.computations = 0  # how many analyses actually ran (tests check the cache)

    def forget(self) -> None:
        self._cache.clear()

    async def _cached(self, key: tuple[Any, ...], compute: Callable[[], Awaitable[T]]) -> T:
        async with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                kept: T = self._cache[key]
                return kept
            value = await compute()
            self._cache[key] = value
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return value

    async def report(
        self,
        selection: NetworkFilter,
        level: Level = "organisations",
        today: dt.date | None = None,
        territory: int | tuple[int, ...] | None = None,
    ) -> Report:
        """The network of ``territory`` (one of the user's: another is 404), else of the
        user's territories together (a Caf conseiller's portfolio), else of everything (#20)."""
        day = today or dt.date.today()
        territories = network_territories(territory)
        version = await data_version()

        async def compute() -> Report:
            self.computations += 1
            report: Report = await in_process(analysis_job, selection, level, day, territories)
            return report

        # The shared partners seen depend on the user, not only on the territories (#20).
        key = ("report", version, selection, level, day, territories, caches.scope_key())
        return await self._cached(key, compute)

    async def rendered(
        self,
        fmt: str,
        selection: NetworkFilter,
        level: Level = "organisations",
        today: dt.date | None = None,
        territory: int | tuple[int, ...] | None = None,
    ) -> str | bytes:
        """The report as ``text``, ``json``, ``csv``, ``gexf``, ``graphml`` or ``html``."""
        return await self.output(fmt, selection, level, today, territory)

    async def json(
        self,
        keys: tuple[str, ...] | None,
        selection: NetworkFilter,
        level: Level = "organisations",
        today: dt.date | None = None,
        territory: int | tuple[int, ...] | None = None,
    ) -> bytes:
        """The API's JSON of the report (``keys`` of ``Report.to_dict``, None: all), encoded."""
        content = await self.output(("api-json", keys), selection, level, today, territory)
        assert isinstance(content, bytes)
        return content

    async def output(
        self,
        fmt: str | tuple[str, tuple[str, ...] | None],
        selection: NetworkFilter,
        level: Level = "organisations",
        today: dt.date | None = None,
        territory: int | tuple[int, ...] | None = None,
    ) -> str | bytes:
        """One rendering of the report, made where the report is (#16): the heavy-work process
        keeps its last analyses and sends back the bytes alone. The ``Report`` itself pickled
        is 1.1 MB on a département, 60 ms of this process's interpreter lock to read back,
        then its JSON was built on the loop."""
        day = today or dt.date.today()
        territories = network_territories(territory)
        version = await data_version()

        async def compute() -> str | bytes:
            content: str | bytes
            content, analysed = await in_process(
                output_job, fmt, version, selection, level, day, territories
            )
            self.computations += analysed
            return content

        key = ("output", fmt, version, selection, level, day, territories, caches.scope_key())
        return await self._cached(key, compute)


async def analysis_job(
    selection: NetworkFilter,
    level: Level,
    today: dt.date,
    territories: tuple[int, ...] | None = None,
) -> Report:
    """Read the rows of ``territories`` (None: all) and analyse them, in a heavy-work process
    (``offloop.in_process``): reading a département's 150,000 rows took three seconds, mostly
    of Python. The territories are resolved in the request, against the user's (#20)."""
    data = await load_network_data(today, territories)
    return await off_loop(analyse, data, selection, level)


# In the heavy-work process: its last analyses, by the same key as the service's.
_analyses: OrderedDict[tuple[Any, ...], Report] = OrderedDict()
WORKER_ANALYSES = 4


async def output_job(
    fmt: str | tuple[str, tuple[str, ...] | None],
    version: tuple[Any, ...],
    selection: NetworkFilter,
    level: Level,
    today: dt.date,
    territories: tuple[int, ...] | None,
) -> tuple[str | bytes, int]:
    """The rendering ``fmt`` of an analysis (made here unless kept), and whether one ran."""
    key = (version, selection, level, today, territories, caches.scope_key())
    report = _analyses.get(key)
    analysed = 0
    if report is None:
        report = await analysis_job(selection, level, today, territories)
        analysed = 1
        _analyses[key] = report
        while len(_analyses) > WORKER_ANALYSES:
            _analyses.popitem(last=False)
    else:
        _analyses.move_to_end(key)
    if isinstance(fmt, tuple):
        return await off_loop(api_json, report, fmt[1]), analysed
    return await off_loop(render, fmt, report), analysed


def node_link_json(report: Report) -> bytes:
    """The API's node-link graph, encoded as Litestar would have."""
    from maillage.graph.export import to_node_link

    return encode_json(to_node_link(report))


def api_json(report: Report, keys: tuple[str, ...] | None) -> bytes:
    """What Litestar would have sent for ``to_dict()`` (or those of its keys)."""
    body = report.to_dict()
    if keys is not None:
        body = {key: body[key] for key in keys}
    return encode_json(body)


RENDERERS = {
    "text": ("text", "render"),
    "json": ("export", "to_json"),
    "csv": ("export", "to_csv"),
    "gexf": ("export", "to_gexf"),
    "graphml": ("export", "to_graphml"),
    "html": ("drawing", "render_standalone"),
    "drawing": ("drawing", "render_marked"),
    "node-link": ("export", "to_node_link"),
    "node-link-json": ("network", "node_link_json"),
}


def render(fmt: str, report: Report) -> str | bytes:
    """The report in one format. The drawing module (pyvis, its layout) is imported only when
    drawing: it costs a quarter of a second of the command line's start-up on the demo."""
    module, function = RENDERERS[fmt]
    renderer: Callable[[Report], str | bytes] = getattr(
        importlib.import_module(f"maillage.graph.{module}"), function
    )
    return renderer(report)


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
    contact: int = min(active, key=lambda r: (not r["is_primary"], r["contact"]))["contact"]
    return contact


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
