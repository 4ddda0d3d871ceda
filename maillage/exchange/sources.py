"""What each export contains: its columns, and its rows read from the database page by page.

Rows are read by keyset pages (``id > last id``) of ``PAGE_SIZE``, so that 100,000 contacts never
sit in memory at once and the number of queries grows with pages, not rows. The contact exports
(the large ones) read each page with a single joined query on a plain connection
(``plain_reader``: tuples, no per-value conversion) while the previous page is formatted; the
others enrich a page with one query per related table. Small reference tables (communes, axes,
groups, organisation names) are read once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from piccolo.querystring import QueryString

from maillage.crm.registry import BY_GROUP, PARTNER_TERRITORY
from maillage.crm.resources import visible_clause
from maillage.crm.text import normalise
from maillage.db import is_sqlite, plain_reader, read_transaction
from maillage.exchange import labels
from maillage.exchange.cells import phone_for_people
from maillage.folding import fold
from maillage.tables import (
    Affiliation,
    Axis,
    Commune,
    Contact,
    ContactAxis,
    GroupAxis,
    Invitation,
    Meeting,
    Membership,
    Organisation,
    OrganisationAxis,
    WorkingGroup,
)

PAGE_SIZE = 2000
T = TypeVar("T")


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text, date, datetime, int, bool
    width: int = 18


@dataclass
class ExportFilters:
    """The filters of the API lists, plus a period and the « meant for mailing » flag."""

    q: str | None = None
    axis: int | None = None
    kind: str | None = None
    category: str | None = None
    group: int | None = None
    commune: int | None = None
    territory: int | None = None
    organisation: int | None = None
    role: str | None = None
    status: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    include_archived: bool = False
    mailing: bool = False
    # The territories of a scoped user (#20), set by `start_export`; None: every territory.
    territories: list[int] | None = None

    def described(self) -> dict[str, Any]:
        """The filters that were set, for the audit log."""
        return {
            name: value.isoformat() if isinstance(value, dt.date) else value
            for name, value in self.__dict__.items()
            if value not in (None, False)
        }


@dataclass
class Lookups:
    """Reference tables read once per export."""

    communes: dict[int, dict[str, Any]] = field(default_factory=dict)
    axes: dict[int, str] = field(default_factory=dict)
    groups: dict[int, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    async def load(cls) -> Lookups:
        async with read_transaction():
            communes = await Commune.select(Commune.id, Commune.name, Commune.insee_code).run()
            axes = await Axis.select(Axis.id, Axis.name).order_by(Axis.position).run()
            groups = await WorkingGroup.select(
                WorkingGroup.id, WorkingGroup.name, WorkingGroup.kind
            ).run()
        return cls(
            communes={row["id"]: row for row in communes},
            axes={row["id"]: row["name"] for row in axes},
            groups={row["id"]: row for row in groups},
        )

    def commune_name(self, commune_id: int | None) -> str:
        return self.communes[commune_id]["name"] if commune_id in self.communes else ""

    def commune_code(self, commune_id: int | None) -> str:
        return self.communes[commune_id]["insee_code"] if commune_id in self.communes else ""

    def axis_names(self, axis_ids: list[int]) -> str:
        return ", ".join(self.axes[a] for a in sorted(axis_ids) if a in self.axes)


def closing(pages: AsyncIterator[T]) -> contextlib.aclosing[AsyncGenerator[T, None]]:
    """``contextlib.aclosing`` for the generators of this package, typed as iterators."""
    return contextlib.aclosing(cast(AsyncGenerator[T, None], pages))


def _and(clauses: list[Any]) -> Any:
    where = None
    for clause in clauses:
        where = clause if where is None else where & clause
    return where


def _search_clauses(table: Any, q: str | None) -> list[Any]:
    if not q:
        return []
    words = normalise(q).replace("%", " ").replace("_", " ").split()
    return [table.search.like(f"%{word}%") for word in words]


async def keyset_pages(
    table: Any, columns: list[Any], where: Any, page_size: int = PAGE_SIZE
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every row matching ``where``, page by page in id order."""
    last_id = 0
    while True:
        query = table.select(*columns).where(table.id > last_id)
        if where is not None:
            query = query.where(where)
        rows = await query.order_by(table.id).limit(page_size).run()
        if not rows:
            return
        yield rows
        if len(rows) < page_size:
            return
        last_id = rows[-1]["id"]


def in_page(column: Any, ids: list[int]) -> Any:
    """Rows of a page's records: an id range when the page is dense (a long ``IN`` list costs
    more to build than the rows it saves), the ids themselves otherwise. Sorted ``ids``."""
    if ids[-1] - ids[0] < 2 * len(ids):
        return (column >= ids[0]) & (column <= ids[-1])
    return column.is_in(ids)


async def _pairs(link: Any, owner: Any, target: Any, ids: list[int]) -> dict[int, list[int]]:
    wanted = set(ids)
    by_owner: dict[int, list[int]] = {}
    for row in await link.select(owner, target).where(in_page(owner, ids)).run():
        if row[owner._meta.name] in wanted:
            by_owner.setdefault(row[owner._meta.name], []).append(row[target._meta.name])
    return by_owner


# ----- organisations ------------------------------------------------------------------------

ORGANISATION_COLUMNS = [
    Column("N°", "int", 8),
    Column("Nom", width=40),
    Column("Type", width=16),
    Column("Catégorie", width=20),
    Column("SIRET", width=17),
    Column("SIREN", width=12),
    Column("RNA", width=12),
    Column("UAI", width=10),
    Column("Adresse", width=36),
    Column("Commune", width=22),
    Column("Code INSEE", width=11),
    Column("Courriel", width=30),
    Column("Téléphone", width=16),
    Column("Site web", width=30),
    Column("Axes", width=36),
    Column("Organisation parente", width=30),
    Column("Archivée", "bool", 9),
    Column("Modifiée le", "date", 12),
]


def organisation_where(f: ExportFilters) -> Any:
    o = Organisation
    clauses = _search_clauses(o, f.q)
    if not f.include_archived:
        clauses.append(o.archived == False)  # noqa: E712 - SQL expression
    if f.kind:
        clauses.append(o.kind == f.kind)
    if f.category:
        clauses.append(o.category == f.category)
    if f.commune:
        clauses.append(o.commune == f.commune)
    if f.territories is not None:
        clauses.append(visible_clause(o, PARTNER_TERRITORY, f.territories))
    if f.territory:
        # Its own, and the shared ones located there (an institution's local branch).
        in_commune = o.commune.is_in(
            Commune.select(Commune.id).where(Commune.territory == f.territory)
        )
        clauses.append((o.territory == f.territory) | (o.territory.is_null() & in_commune))
    if f.axis:
        clauses.append(
            o.id.is_in(
                OrganisationAxis.select(OrganisationAxis.organisation).where(
                    OrganisationAxis.axis == f.axis
                )
            )
        )
    if f.organisation:
        clauses.append(o.id == f.organisation)
    return _and(clauses)


async def organisation_rows(f: ExportFilters, lk: Lookups) -> AsyncIterator[list[list[Any]]]:
    o = Organisation
    columns = [o.id, o.name, o.kind, o.category, o.siret, o.siren, o.rna, o.uai, o.address,
               o.commune, o.email, o.phone, o.website, o.parent, o.archived, o.updated_at]  # fmt: skip
    names = await _organisation_names()
    async for page in keyset_pages(o, columns, organisation_where(f)):
        axes = await _pairs(OrganisationAxis, OrganisationAxis.organisation, OrganisationAxis.axis, [r["id"] for r in page])  # fmt: skip
        yield [
            [
                r["id"],
                r["name"],
                labels.ORGANISATION_KINDS.get(r["kind"], r["kind"]),
                r["category"],
                r["siret"],
                r["siren"],
                r["rna"],
                r["uai"],
                r["address"],
                lk.commune_name(r["commune"]),
                lk.commune_code(r["commune"]),
                r["email"],
                _phone(r["phone"]),
                r["website"],
                lk.axis_names(axes.get(r["id"], [])),
                names.get(r["parent"], ""),
                r["archived"],
                _day(r["updated_at"]),
            ]
            for r in page
        ]


async def _organisation_names() -> dict[int, str]:
    rows = await Organisation.select(Organisation.id, Organisation.name).run()
    return {row["id"]: row["name"] for row in rows}


def _day(moment: dt.datetime | None) -> dt.date | None:
    return moment.date() if moment else None


_phone = phone_for_people


# ----- contacts -----------------------------------------------------------------------------

CONTACT_COLUMNS = [
    Column("N°", "int", 8),
    Column("Civilité", width=9),
    Column("Nom", width=22),
    Column("Prénom", width=18),
    Column("Courriel", width=32),
    Column("Téléphone", width=16),
    Column("Commune", width=22),
    Column("Code INSEE", width=11),
    Column("Organisation", width=36),
    Column("Type d'organisation", width=18),
    Column("SIRET de l'organisation", width=17),
    Column("Fonction", width=30),
    Column("Mandat électif", "bool", 9),
    Column("Axes", width=36),
    Column("Instances", width=36),
    Column("Base légale", width=24),
    Column("Date du consentement", "date", 12),
    Column("Opposition aux envois", "bool", 10),
]


def _of_territory(territory: int) -> Any:
    """The people of a territory: its own, and the shared ones who sit on its bodies or work
    for its organisations (the Caf's conseillère on the COPIL), or live there."""
    c = Contact
    ties = Membership.select(Membership.contact).where(
        Membership.working_group.territory == territory
    )
    works = Affiliation.select(Affiliation.contact).where(
        Affiliation.organisation.territory == territory
    )
    lives = c.commune.is_in(Commune.select(Commune.id).where(Commune.territory == territory))
    shared_there = c.territory.is_null() & (c.id.is_in(ties) | c.id.is_in(works) | lives)
    return (c.territory == territory) | shared_there


def contact_where(f: ExportFilters) -> Any:
    c = Contact
    clauses = _search_clauses(c, f.q)
    if not f.include_archived:
        clauses.append(c.archived == False)  # noqa: E712 - SQL expression
    if f.mailing:
        clauses.append(c.mailing_opt_out == False)  # noqa: E712 - SQL expression
    if f.commune:
        clauses.append(c.commune == f.commune)
    if f.territories is not None:
        clauses.append(visible_clause(c, PARTNER_TERRITORY, f.territories))
    if f.territory:
        clauses.append(_of_territory(f.territory))
    if f.axis:
        clauses.append(
            c.id.is_in(ContactAxis.select(ContactAxis.contact).where(ContactAxis.axis == f.axis))
        )
    if f.group:
        clauses.append(
            c.id.is_in(
                Membership.select(Membership.contact).where(Membership.working_group == f.group)
            )
        )
    if f.organisation:
        clauses.append(
            c.id.is_in(
                Affiliation.select(Affiliation.contact).where(
                    Affiliation.organisation == f.organisation
                )
            )
        )
    if f.kind:
        clauses.append(
            c.id.is_in(
                Affiliation.select(Affiliation.contact).where(
                    Affiliation.organisation.kind == f.kind
                )
            )
        )
    return _and(clauses)


CONTACT_FIELDS = [Contact.id, Contact.civility, Contact.first_name, Contact.last_name,
                  Contact.email, Contact.phone, Contact.commune, Contact.legal_basis,
                  Contact.consent_date, Contact.mailing_opt_out]  # fmt: skip


@dataclass
class ContactPage:
    """One page of contacts with what the exports add to them."""

    rows: list[dict[str, Any]]
    affiliations: dict[int, list[dict[str, Any]]]
    axes: dict[int, list[int]]
    groups: dict[int, list[int]]


async def contact_pages(f: ExportFilters, today: dt.date) -> AsyncIterator[ContactPage]:
    async for page in keyset_pages(Contact, CONTACT_FIELDS, contact_where(f)):
        ids = [r["id"] for r in page]
        # Read in one transaction, yielded after it: a transaction held across a yield stays
        # open as long as the consumer (a slow or departed client) keeps the generator.
        async with read_transaction():
            result = ContactPage(
                page,
                await _current_affiliations(ids, today),
                await _pairs(ContactAxis, ContactAxis.contact, ContactAxis.axis, ids),
                await _current_groups(ids, today),
            )
        yield result


async def _current_affiliations(ids: list[int], today: dt.date) -> dict[int, list[dict[str, Any]]]:
    """Affiliations still running, primary first."""
    a = Affiliation
    rows = await (
        a.select(
            a.contact,
            a.function,
            a.elected_mandate,
            a.is_primary,
            a.end_date,
            a.organisation.name,
            a.organisation.kind,
            a.organisation.siret,
            a.organisation.address,
        )
        .where(in_page(a.contact, ids))
        .order_by(a.is_primary, ascending=False)
        .order_by(a.id)
        .run()
    )
    wanted = set(ids)
    by_contact: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        if row["contact"] not in wanted:
            continue
        if row["end_date"] is None or row["end_date"] >= today:
            by_contact.setdefault(row["contact"], []).append(row)
    return by_contact


async def _current_groups(ids: list[int], today: dt.date) -> dict[int, list[int]]:
    m = Membership
    rows = await (
        m.select(m.contact, m.working_group, m.end_date).where(in_page(m.contact, ids)).run()
    )
    wanted = set(ids)
    by_contact: dict[int, list[int]] = {}
    for row in rows:
        if row["contact"] in wanted and (row["end_date"] is None or row["end_date"] >= today):
            groups = by_contact.setdefault(row["contact"], [])
            if row["working_group"] not in groups:
                groups.append(row["working_group"])
    return by_contact


def _group_names(lk: Lookups, group_ids: list[int]) -> str:
    return ", ".join(sorted((lk.groups[g]["name"] for g in group_ids if g in lk.groups), key=fold))


# The contact exports read each page with one query: commune and current organisations by
# joins, axes and current groups as id lists (« 1,4 ») turned into names through a cache, rows
# as plain tuples (``plain_reader``). Affiliations come in the order of ``_current_affiliations``
# (primary first, then by id), which the vCards still use.

_CONTACT_COLUMNS = """
SELECT "contact"."id", "contact"."civility", "contact"."last_name", "contact"."first_name",
       "contact"."email", "contact"."phone", COALESCE(cm."name", ''),
       COALESCE(cm."insee_code", ''), COALESCE(o."name", ''), o."kind", COALESCE(o."siret", ''),
       COALESCE(a."function", ''), COALESCE(a."elected_mandate", {false}),
       (SELECT {axis_ids} FROM "contact_axis" ca WHERE ca."contact" = "contact"."id"),
       (SELECT {group_ids} FROM "membership" m WHERE m."contact" = "contact"."id"
          AND (m."end_date" IS NULL OR m."end_date" >= {{}})),
       "contact"."legal_basis", "contact"."consent_date", "contact"."mailing_opt_out"
"""
_COMMUNE_JOIN = 'LEFT JOIN "commune" cm ON cm."id" = "contact"."commune"'
# The current primary affiliation through the partial unique index on primaries; only a
# contact without one looks for its first current affiliation (COALESCE is lazy on both
# engines).
_MAIN_AFFILIATION_JOIN = """
LEFT JOIN "affiliation" p ON p."contact" = "contact"."id" AND p."is_primary"
    AND (p."end_date" IS NULL OR p."end_date" >= {})
LEFT JOIN "affiliation" a ON a."id" = COALESCE(p."id", (
    SELECT min(a2."id") FROM "affiliation" a2
    WHERE a2."contact" = "contact"."id" AND (a2."end_date" IS NULL OR a2."end_date" >= {})))
"""
_ALL_AFFILIATIONS_JOIN = """
LEFT JOIN "affiliation" a ON a."contact" = "contact"."id"
    AND (a."end_date" IS NULL OR a."end_date" >= {})
"""
_ORGANISATION_JOIN = 'LEFT JOIN "organisation" o ON o."id" = a."organisation"'


def _id_list(expression: str) -> str:
    """SQL aggregating integer ids into « 1,4 » (in no particular order, maybe repeated)."""
    if is_sqlite():
        return f"group_concat({expression})"
    return f"string_agg(({expression})::text, ',')"


def _contact_columns(today: dt.date) -> QueryString:
    template = _CONTACT_COLUMNS.format(
        axis_ids=_id_list('ca."axis"'),
        group_ids=_id_list('m."working_group"'),
        false="0" if is_sqlite() else "false",
    )
    return QueryString(template, today)


def _contact_condition(f: ExportFilters, last_id: int) -> QueryString:
    where = contact_where(f)
    if where is None:
        return QueryString('"contact"."id" > {}', last_id)
    return QueryString('"contact"."id" > {} AND {}', last_id, where.querystring)


def _main_affiliation_query(f: ExportFilters, today: dt.date, last_id: int) -> QueryString:
    """The next page of contacts, one row each, with their main current organisation."""
    return QueryString(
        '{} FROM "contact" ' + _COMMUNE_JOIN + _MAIN_AFFILIATION_JOIN + _ORGANISATION_JOIN
        + ' WHERE {} ORDER BY "contact"."id" LIMIT {}',
        _contact_columns(today), today, today, _contact_condition(f, last_id), PAGE_SIZE,
    )  # fmt: skip


def _all_affiliations_query(f: ExportFilters, today: dt.date, last_id: int) -> QueryString:
    """The next page of contacts, one row per current organisation (one if none)."""
    page = QueryString(
        'SELECT * FROM "contact" WHERE {} ORDER BY "contact"."id" LIMIT {}',
        _contact_condition(f, last_id),
        PAGE_SIZE,
    )
    return QueryString(
        '{} FROM ({}) AS "contact" ' + _COMMUNE_JOIN + _ALL_AFFILIATIONS_JOIN
        + _ORGANISATION_JOIN + ' ORDER BY "contact"."id", a."is_primary" DESC, a."id"',
        _contact_columns(today), page, today,
    )  # fmt: skip


class _Names:
    """« 3,1,3 » (ids from the database) → « Axe 1, Axe 3 », cached: few combinations recur."""

    def __init__(self, lk: Lookups) -> None:
        self.lk = lk
        self._axes: dict[str | None, str] = {None: ""}
        self._groups: dict[str | None, str] = {None: ""}

    def axes(self, ids: str | None) -> str:
        names = self._axes.get(ids)
        if names is None:
            names = self._axes[ids] = self.lk.axis_names(_ids(ids))
        return names

    def groups(self, ids: str | None) -> str:
        names = self._groups.get(ids)
        if names is None:
            names = self._groups[ids] = _group_names(self.lk, _ids(ids))
        return names


def _ids(text: str | None) -> list[int]:
    return list(dict.fromkeys(int(i) for i in (text or "").split(",") if i))


def _date(value: Any) -> dt.date | None:
    """SQLite hands dates back as ISO text."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


async def _contact_query_pages(
    query: Callable[[int], QueryString],
) -> AsyncIterator[Sequence[Sequence[Any]]]:
    """Pages of ``query(last contact id)``, whose rows start with the contact id. The next page
    is read while the caller formats this one (SQLite reads in a thread, PostgreSQL on the
    server): reading and formatting overlap instead of taking turns."""
    async with plain_reader() as fetch:
        following = asyncio.ensure_future(fetch(query(0)))
        try:
            while rows := await following:
                following = asyncio.ensure_future(fetch(query(rows[-1][0])))
                yield rows
        finally:
            # Left early (a client that went away): let the read end before the connection.
            with contextlib.suppress(Exception):
                await following


async def contact_rows(f: ExportFilters, lk: Lookups) -> AsyncIterator[list[list[Any]]]:
    today = dt.date.today()
    names = _Names(lk)
    kinds, bases = labels.ORGANISATION_KINDS, labels.LEGAL_BASES
    query = _contact_query_pages(lambda last: _main_affiliation_query(f, today, last))
    async with closing(query) as pages:
        async for page in pages:
            yield [
                [
                    id_, civility, last, first, email, _phone(phone), commune, code, organisation,
                    kinds.get(kind, ""), siret, function, elected, names.axes(axes),
                    names.groups(groups), bases.get(basis, basis),
                    _date(consent) if consent else None, opted_out,
                ]
                for (id_, civility, last, first, email, phone, commune, code, organisation, kind,
                     siret, function, elected, axes, groups, basis, consent, opted_out) in page
            ]  # fmt: skip


# « Export Caf »: these headers are a contract with the Caf: never reorder them; a new column
# goes at the end. The identifiers the Caf matches on (the organisation's SIRET, the commune's
# INSEE code) came last (#21), and « Email » became « Courriel », the word of every other export.
CAF_COLUMNS = [
    Column("Organisation", width=36),
    Column("Type", width=16),
    Column("Axes", width=36),
    Column("Civilité", width=9),
    Column("Nom", width=22),
    Column("Prénom", width=18),
    Column("Fonction", width=30),
    Column("Courriel", width=32),
    Column("Téléphone", width=16),
    Column("Commune", width=22),
    Column("Instances", width=36),
    Column("Base légale", width=24),
    Column("SIRET de l'organisation", width=16),
    Column("Code INSEE de la commune", width=12),
]


async def caf_rows(f: ExportFilters, lk: Lookups) -> AsyncIterator[list[list[Any]]]:
    """One line per person and organisation they currently belong to (one if none)."""
    today = dt.date.today()
    names = _Names(lk)
    kinds, bases = labels.ORGANISATION_KINDS, labels.LEGAL_BASES
    query = _contact_query_pages(lambda last: _all_affiliations_query(f, today, last))
    async with closing(query) as pages:
        async for page in pages:
            yield [
                [
                    organisation, kinds.get(kind, ""), names.axes(axes), civility, last, first,
                    function, email, _phone(phone), commune, names.groups(groups),
                    bases.get(basis, basis), siret, code,
                ]
                for (_, civility, last, first, email, phone, commune, code, organisation, kind,
                     siret, function, _, axes, groups, basis, _, _) in page
            ]  # fmt: skip


# ----- memberships --------------------------------------------------------------------------

MEMBERSHIP_COLUMNS = [
    Column("Instance", width=32),
    Column("Type d'instance", width=22),
    Column("Civilité", width=9),
    Column("Nom", width=22),
    Column("Prénom", width=18),
    Column("Courriel", width=32),
    Column("Rôle", width=18),
    Column("Organisation représentée", width=36),
    Column("Début", "date", 12),
    Column("Fin", "date", 12),
]


def _group_clauses(column: Any, f: ExportFilters) -> list[Any]:
    """Filters that apply through the working group of a membership or meeting."""
    clauses = []
    if f.territories is not None:
        clauses.append(visible_clause(column._meta.table, BY_GROUP, f.territories))
    if f.group:
        clauses.append(column == f.group)
    if f.axis:
        clauses.append(
            column.is_in(GroupAxis.select(GroupAxis.working_group).where(GroupAxis.axis == f.axis))
        )
    if f.territory:
        clauses.append(
            column.is_in(
                WorkingGroup.select(WorkingGroup.id).where(WorkingGroup.territory == f.territory)
            )
        )
    if f.kind:
        clauses.append(
            column.is_in(WorkingGroup.select(WorkingGroup.id).where(WorkingGroup.kind == f.kind))
        )
    return clauses


def membership_where(f: ExportFilters) -> Any:
    m = Membership
    clauses = _group_clauses(m.working_group, f)
    if f.role:
        clauses.append(m.role == f.role)
    if f.organisation:
        clauses.append(m.organisation == f.organisation)
    if f.end:
        clauses.append(m.start_date <= f.end)
    if f.start:
        clauses.append(m.end_date.is_null() | (m.end_date >= f.start))
    if f.mailing:
        opted_out = Contact.select(Contact.id).where(Contact.mailing_opt_out == True)  # noqa: E712
        clauses.append(m.contact.not_in(opted_out))
    return _and(clauses)


async def membership_rows(f: ExportFilters, lk: Lookups) -> AsyncIterator[list[list[Any]]]:
    m = Membership
    columns = [m.id, m.working_group, m.contact, m.role, m.organisation, m.start_date, m.end_date]
    names = await _organisation_names()
    async for page in keyset_pages(m, columns, membership_where(f)):
        people = await _people([r["contact"] for r in page])
        out = []
        for r in page:
            group = lk.groups.get(r["working_group"], {})
            person = people.get(r["contact"], {})
            out.append([
                group.get("name", ""), labels.GROUP_KINDS.get(group.get("kind", ""), ""),
                person.get("civility", ""), person.get("last_name", ""),
                person.get("first_name", ""), person.get("email"),
                labels.ROLES.get(r["role"], r["role"]), names.get(r["organisation"], ""),
                r["start_date"], r["end_date"],
            ])  # fmt: skip
        yield out


async def _people(ids: list[int]) -> dict[int, dict[str, Any]]:
    c = Contact
    rows = (
        await c.select(c.id, c.civility, c.first_name, c.last_name, c.email)
        .where(c.id.is_in(list(set(ids)) or [0]))
        .run()
    )
    return {row["id"]: row for row in rows}


# ----- meetings with attendance -------------------------------------------------------------

MEETING_COLUMNS = [
    Column("Réunion", width=36),
    Column("Instance", width=30),
    Column("Début", "datetime", 17),
    Column("Fin", "datetime", 17),
    Column("Lieu", width=28),
    Column("Statut", width=12),
    Column("Participants (réunion publique)", "int", 12),
    Column("Civilité", width=9),
    Column("Nom", width=22),
    Column("Prénom", width=18),
    Column("Organisation", width=32),
    Column("Réponse", width=12),
    Column("Présence", width=12),
]


def meeting_where(f: ExportFilters) -> Any:
    mt = Meeting
    clauses = _group_clauses(mt.working_group, f)
    if f.status:
        clauses.append(mt.status == f.status)
    if f.start:
        clauses.append(mt.starts_at >= dt.datetime.combine(f.start, dt.time(), tzinfo=dt.UTC))
    if f.end:
        end = dt.datetime.combine(f.end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        clauses.append(mt.starts_at < end)
    clauses += _search_clauses(mt, f.q)
    return _and(clauses)


async def meeting_rows(f: ExportFilters, lk: Lookups) -> AsyncIterator[list[list[Any]]]:
    """One line per invitation; a meeting without any still gets one line."""
    mt = Meeting
    columns = [mt.id, mt.title, mt.working_group, mt.starts_at, mt.ends_at, mt.location,
               mt.status, mt.attendance_count]  # fmt: skip
    today = dt.date.today()
    async for page in keyset_pages(mt, columns, meeting_where(f), page_size=200):
        invitations = await _invitations([r["id"] for r in page])
        people = await _people([i["contact"] for rows in invitations.values() for i in rows])
        # Sorted, as ``in_page`` reads the first and last ids as a range; none when no
        # meeting of the page has invitees (an empty page of ids has no range).
        orgs = await _current_affiliations(sorted(people), today) if people else {}
        out = []
        for r in page:
            meeting = [
                r["title"], lk.groups.get(r["working_group"], {}).get("name", ""),
                r["starts_at"], r["ends_at"], r["location"],
                labels.MEETING_STATUSES.get(r["status"], r["status"]), r["attendance_count"],
            ]  # fmt: skip
            meeting_invitations = invitations.get(r["id"])
            if not meeting_invitations:
                out.append([*meeting, "", "", "", "", "", ""])
                continue
            for inv in meeting_invitations:
                person = people.get(inv["contact"], {})
                org = (orgs.get(inv["contact"]) or [{}])[0].get("organisation.name", "")
                out.append([
                    *meeting, person.get("civility", ""), person.get("last_name", ""),
                    person.get("first_name", ""), org,
                    labels.RESPONSES.get(inv["response"], inv["response"]),
                    labels.ATTENDANCE.get(inv["attendance"] or "", ""),
                ])  # fmt: skip
        yield out


async def _invitations(meeting_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    i = Invitation
    rows = await (
        i.select(i.meeting, i.contact, i.response, i.attendance)
        .where(i.meeting.is_in(meeting_ids))
        .order_by(i.id)
        .run()
    )
    by_meeting: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_meeting.setdefault(row["meeting"], []).append(row)
    return by_meeting


@dataclass(frozen=True)
class Source:
    title: str  # sheet name and file name stem
    columns: list[Column]
    rows: Callable[[ExportFilters, Lookups], AsyncIterator[list[list[Any]]]]
    mailing: bool = False  # meant for mailing: opted-out contacts are always left out


SOURCES: dict[str, Source] = {
    "organisations": Source("Organisations", ORGANISATION_COLUMNS, organisation_rows),
    "contacts": Source("Contacts", CONTACT_COLUMNS, contact_rows),
    "memberships": Source("Participations", MEMBERSHIP_COLUMNS, membership_rows),
    "meetings": Source("Réunions", MEETING_COLUMNS, meeting_rows),
}
CAF_PRESET = Source("Export Caf", CAF_COLUMNS, caf_rows, mailing=True)
ANNUAIRE = ("organisations", "contacts", "memberships", "meetings")
