"""The generic service behind every CRUD resource: one set of rules for API, pages and CLI.

A ``ResourceSpec`` says what a resource is (table, schemas, search, filters, links, lifecycle,
extra rules); ``ResourceService`` applies the shared rules to it: control characters refused,
references checked, unique identifiers checked with a 409 naming the existing record, optimistic
concurrency on ``version``, the search column maintained, every write audited in the same
transaction, and lists read with a bounded number of queries whatever their length.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import asyncpg
import msgspec
from msgspec import UNSET, Struct
from piccolo.columns import JSON, ForeignKey, Text, Varchar
from piccolo.columns.combination import WhereRaw
from piccolo.table import Table

from maillage import row_security
from maillage.actor import Actor
from maillage.crm import audit
from maillage.crm import scope as territory_scope
from maillage.crm.text import find_control_character, normalise, search_text
from maillage.db import (
    Prepared,
    Slot,
    capped_count,
    count_rows,
    current_engine,
    french_order,
    gathered_order,
    is_sqlite,
    know_search_functions,
    read_statement,
    read_transaction,
    retried_on_conflict,
    search_function,
    search_function_gone,
    write_transaction,
)
from maillage.errors import (
    Conflict,
    ConflictingRecord,
    FieldError,
    Forbidden,
    InvalidData,
    NotFound,
)
from maillage.tables import ROW_ID_MAX
from maillage.vocabulary import COORDINATOR, READER, UserRole

MAX_PAGE_SIZE = 500
# Bounds of list filters by type, one source for the API's query parameters (documented, and
# refused by Litestar) and for `_check_query` (pages and CLI): ids fit the engines' integers.
FILTER_BOUNDS: dict[type, dict[str, int]] = {
    int: {"ge": 1, "le": ROW_ID_MAX},
    str: {"max_length": 200},
}

# Aliases: inside ResourceService, « list » names the method, not the built-in type.
Rows = list[dict[str, Any]]
FieldErrors = list[FieldError]
Conditions = list[Any]
# Inside `ResourceService`, « list » names its method: the lists its methods take and return
# are named here.
AnyList = list[Any]
WordList = list[str]
# Three letters or digits in a row: what a trigram index takes from a word (`_indexed_words`).
_TRIGRAM = re.compile(r"[^\W_]{3}")

Validator = Callable[[dict[str, Any], dict[str, Any] | None], Awaitable[list[FieldError]]]
Preparer = Callable[[dict[str, Any], dict[str, Any] | None], Awaitable[None]]
# Run inside the write's transaction with the record before and after (None: created, deleted).
AfterWrite = Callable[[dict[str, Any] | None, dict[str, Any] | None], Awaitable[None]]


@dataclass(frozen=True)
class Link:
    """A many-to-many field stored in a link table, e.g. the axes of an organisation."""

    field: str
    table: type[Table]
    owner_column: str
    target_column: str


LINK_PREFIX = "__link_"
# The name, in a list statement, of the ids its search function found (`_found_once`).
FOUND = "maillage_found"
# List statements kept per resource, by shape (`ResourceService._statement`); past it they are
# all forgotten (shapes differ by sort, filters and the user's territories: few in practice).
STATEMENTS_KEPT = 256
# Each argument of a kept statement: the rank of the request's value, or (None, a constant).
StatementPlan = list[tuple[int | None, Any]]


TOTAL = "__total"


def _link_array(link: Link, owner_id: str) -> str:
    """A correlated subquery giving the sorted targets of the owner: a JSON text on SQLite,
    an array on PostgreSQL."""
    target, owner = f'"{link.target_column}"', f'"{link.owner_column}"'
    rows = f'SELECT {target} FROM "{link.table._meta.tablename}" WHERE {owner} = {owner_id}'
    if is_sqlite():
        return f"(SELECT json_group_array({target}) FROM ({rows} ORDER BY 1))"
    return f"ARRAY({rows} ORDER BY 1)"


@dataclass(frozen=True)
class Filter:
    """A list filter offered as a query parameter.

    ``column`` filters the resource's own column; ``link`` filters through a link table
    (« organisations of axis 3 »).
    """

    name: str
    type: type
    description: str
    column: str | None = None
    link: Link | None = None
    # A text filter that matches part of the value, case ignored (« directrice » finds
    # « Directrice adjointe »), rather than the exact value.
    contains: bool = False


def filter_problem(item: Filter, value: Any) -> str | None:
    """What is wrong, in French, with a value of the filter `item` (out of `FILTER_BOUNDS`)."""
    bounds = FILTER_BOUNDS.get(item.type, {})
    number = isinstance(value, int) and not isinstance(value, bool) and item.type is int
    if number and not bounds["ge"] <= value <= bounds["le"]:
        return f"Identifiant hors limites ({bounds['ge']} à {bounds['le']})."
    if isinstance(value, str) and len(value) > bounds.get("max_length", len(value)):
        return f"Texte trop long (au plus {bounds['max_length']} caractères)."
    return None


@dataclass(frozen=True)
class Territorial:
    """How a record belongs to a territory (#20): its own ``field`` holds the territory, or,
    with ``via``, points to a record of that table whose territory it shares (``then``)."""

    field: str
    via: type[Table] | None = None
    then: Territorial | None = None
    # A second record the row must also be seen through (an affiliation: its contact and its
    # organisation); the territory is the first path's.
    also: Territorial | None = None
    # The record belongs to the ``also`` path's territory when the first path's is shared (a
    # partnership between the Caf and a local association is the association's territory's).
    either: bool = False
    # The column holding a shared row's département (`maillage.departements`): a scoped user
    # sees the shared rows of their territories' départements and of none; None: every one.
    departement: str | None = None


# The rule of each table local to a territory, for the references a write names (#20).
TERRITORIAL_TABLES: dict[type[Table], Territorial] = {}


@dataclass(frozen=True)
class Copies:
    """The columns of a row holding the copies of its parent's ``territory`` and, for a parent
    of a table with départements (`Territorial.departement`), of its ``departement``."""

    territory: str
    departement: str | None = None
    # The row's key of visibility (`row_security.Via.key`): tested instead of the copy.
    key: str | None = None


def copied_columns(table: type[Table], rule: Territorial) -> Copies | None:
    """On PostgreSQL, the columns of ``table`` where the database's triggers keep the copies of
    what ``rule`` reads through its parent: the `row_security.Via` of `row_security.PROTECTED`
    through the same parent, the row's first parent or its ``also`` (an affiliation's contact
    and organisation, a partnership's two organisations). None: no copy (SQLite; a rule on the
    row's own column; a parent whose département is not copied)."""
    if rule.via is None or is_sqlite():
        return None
    path = row_security.PROTECTED.get(table._meta.tablename)
    while isinstance(path, row_security.Via):
        if path.column == rule.field and path.parent == rule.via._meta.tablename:
            break
        path = path.also
    if not isinstance(path, row_security.Via):
        return None
    if rule.then is None or rule.then.departement is None:
        return Copies(path.copy, key=path.key)
    if path.departement is None:
        return None
    return Copies(path.copy, path.departement, key=path.key)


def own_key(table: type[Table], rule: Territorial) -> str | None:
    """On PostgreSQL, the key of visibility of a table whose ``rule`` is its own territory
    (`row_security.Own.key`: organisations and contacts), tested instead of the territory and
    the département; None: none (SQLite, another rule)."""
    if rule.via is not None or is_sqlite():
        return None
    own = row_security.PROTECTED.get(table._meta.tablename)
    if not isinstance(own, row_security.Own) or own.key is None:
        return None
    if own.column != rule.field or own.departement != rule.departement:
        return None
    return own.key


def copied_clause(
    table: type[Table],
    copies: Copies,
    territories: list[int],
    departements: Sequence[str] | None = None,
) -> Any:
    """The rows of ``table`` whose parent a user of ``territories`` sees, tested on the row's
    `copies` of the parent's territory and département: the parent's own rule (`shared_parts`)
    on the copies, as the row's policy tests them. Each arm is a range of an index on
    ``(territory copy, département copy)`` (migration 2026-12-10T09:30:00)."""
    name = table._meta.tablename
    if copies.key is not None:
        return _keyed_clause(f'"{name}"."{copies.key}"', copies, territories, departements)
    copy = f'"{name}"."{copies.territory}"'
    values = ", ".join("{}" for _ in territories) or "NULL"
    if copies.departement is None:
        return WhereRaw(f"({copy} IS NULL OR {copy} IN ({values}))", *territories)
    departement = f'"{name}"."{copies.departement}"'
    shared = f"{copy} IS NULL AND {departement}"
    parts = [f"{copy} IN ({values})", f"({shared} IS NULL)"]
    args: list[Any] = list(territories)
    if departements is None:  # looked up in the statement, as `shared_parts` does
        theirs = f'SELECT t."departement" FROM "territory" t WHERE t."id" IN ({values})'
        parts.append(f"({shared} = ANY (ARRAY({theirs})))")
        args += territories
    elif departements:
        parts.append(f"({shared} IN ({', '.join('{}' for _ in departements)}))")
        args += departements
    return WhereRaw("(" + " OR ".join(parts) + ")", *args)


def _keyed_clause(
    key: str, copies: Copies, territories: list[int], departements: Sequence[str] | None
) -> Any:
    """The scope on the policy's own key (`row_security.Via.key`, `row_security.Own.key`; for
    `copied_clause` and `visible_clause`): both are conditions of its index, one range per
    key, no count in halves (`ResourceService.scope_halves`): 0 for the shared rows, the
    territories, and for a parent with départements the keys of theirs
    (`row_security.seen_key`; looked up when not given, as `shared_parts` does).

    A tie's keys are given as one array, as the policy's are (``= ANY (array)``), not as a list
    of values: PostgreSQL then weighs the list's test and the policy's on each key alike, and
    intersects the indexes of the tie's two keys (``BitmapAnd``). With a list of twelve values
    (a Caf adviser's) it took one index and tested the other key on each row: ×2.3 the
    statement without the policies (bench/README.md « The ties' policy as an index
    condition »)."""
    keys: list[int] = [0, *territories]
    if copies.departement is None:
        marks = ", ".join("{}" for _ in keys)
        return WhereRaw(f"{key} IN ({marks})", *keys)
    if departements is not None:
        keys += [row_security.seen_key(None, code) for code in departements]
        return WhereRaw(f"{key} = ANY ({{}}::integer[])", keys)
    theirs = (
        'SELECT maillage_seen_key(NULL, t."departement") FROM "territory" t '
        'WHERE t."id" = ANY ({}::integer[]) AND t."departement" IS NOT NULL'
    )
    return WhereRaw(f"{key} = ANY ({{}}::integer[] || ARRAY({theirs}))", keys, territories)


def shared_parts(
    table: type[Table],
    rule: Territorial,
    territories: list[int],
    departements: Sequence[str] | None = None,
) -> list[Any]:
    """The shared rows of ``table`` (its own territory none) a user of ``territories`` sees,
    as disjoint conditions: all of them, or, for a rule with a ``departement``, those of no
    département and those of one of their territories' (each a range of the index on
    ``(archived, territory, departement)``, #20).

    ``departements``: those of the territories, read once for the request
    (`Scope.departements`) and given as constants, whose selectivity PostgreSQL estimates
    (``= ANY (ARRAY(SELECT … FROM territory …))`` was an init plan it could not); None: looked
    up in the statement, for territories named without a scope (an export's)."""
    column = table._meta.get_column_by_name(rule.field)
    if rule.departement is None:
        return [column.is_null()]
    departement = f'"{table._meta.tablename}"."{rule.departement}"'
    none = column.is_null() & WhereRaw(f"{departement} IS NULL")
    if departements is not None:
        if not departements:  # territories of no département: the shared rows of none only
            return [none]
        values = ", ".join("{}" for _ in departements)
        return [none, column.is_null() & WhereRaw(f"{departement} IN ({values})", *departements)]
    values = ", ".join("{}" for _ in territories) or "NULL"
    theirs = f'SELECT t."departement" FROM "territory" t WHERE t."id" IN ({values})'
    # PostgreSQL bounds an index scan by ``= ANY (ARRAY(…))`` (an init plan), not by ``IN (…)``.
    test = (
        f"{departement} IN ({theirs})" if is_sqlite() else f"{departement} = ANY (ARRAY({theirs}))"
    )
    return [none, column.is_null() & WhereRaw(test, *territories)]


def visible_clause(
    table: type[Table],
    rule: Territorial,
    territories: list[int],
    departements: Sequence[str] | None = None,
) -> Any:
    """The rows of ``table`` a user of ``territories`` sees: shared ones and theirs (the
    shared partners of ``departements``, `shared_parts`).

    A row that carries its parent's territory (`copied_columns`) is tested on that copy, as
    its policy does, rather than through the parents' ids: one test on the row, whose
    selectivity PostgreSQL estimates from the column's statistics, so that a list walks the
    primary key in order instead of gathering and sorting every visible row (#20). So are the
    rows with two parents, each on its copies (`copied_clause`): through the parents' ids,
    ``organisation IN (SELECT id FROM organisation WHERE …) AND partner IN (…)``, PostgreSQL
    read every partnership of the country for a coordinator's list (bench/README.md)."""
    column = table._meta.get_column_by_name(rule.field)
    clause: Any
    if rule.via is None and (key := own_key(table, rule)) is not None:
        own = Copies(rule.field, rule.departement, key=key)  # the row's own, not copies
        clause = _keyed_clause(f'"{table._meta.tablename}"."{key}"', own, territories, departements)
    elif rule.via is None:
        clause = column.is_in(territories)
        for part in shared_parts(table, rule, territories, departements):
            clause = clause | part
    elif (copies := copied_columns(table, rule)) is not None:
        clause = copied_clause(table, copies, territories, departements)
    else:
        assert rule.then is not None
        parents = rule.via.select(rule.via._meta.primary_key).where(
            visible_clause(rule.via, rule.then, territories, departements)
        )
        clause = column.is_in(parents)
    if rule.also is not None:
        clause = clause & visible_clause(table, rule.also, territories, departements)
    return clause


def scope_visible(table: type[Table], rule: Territorial, scope: territory_scope.Scope) -> Any:
    """`visible_clause` for the user of ``scope``, with the départements it carries."""
    return visible_clause(table, rule, scope.territories, scope.departements)


async def record_territory(rule: Territorial, values: dict[str, Any]) -> int | None:
    """The territory of a record (its values): the first path's, or, for a rule with
    ``either``, the ``also`` path's when the first is shared; None: shared."""
    territory = await territory_of(rule, values.get(rule.field))
    if territory is None and rule.either and rule.also is not None:
        territory = await territory_of(rule.also, values.get(rule.also.field))
    return territory


async def territory_of(rule: Territorial, value: Any) -> int | None:
    """The territory of a record whose ``rule.field`` is ``value``; None: shared."""
    if value is None or rule.via is None:
        return cast(int | None, value)  # the rule's own field holds the territory's id
    assert rule.then is not None
    column = rule.via._meta.get_column_by_name(rule.then.field)
    row = await rule.via.select(column).where(rule.via._meta.primary_key == value).first().run()
    return None if row is None else await territory_of(rule.then, row[rule.then.field])


SHARED_WRITE = (
    "seuls les comptes sans territoire attitré (l'équipe qui héberge maillage) écrivent les "
    "fiches partagées entre les territoires"
)


HIDDEN_UNIQUE = (
    "Valeur déjà enregistrée sur une fiche d'un autre territoire, que vous ne voyez pas : "
    "demandez à l'équipe qui héberge maillage de la partager ou de la rattacher à votre "
    "territoire."
)


@dataclass(frozen=True)
class Unique:
    column: str
    message: str


@dataclass
class ResourceSpec:
    name: str
    entity: str
    label: str
    table: type[Table]
    input: type[Struct]
    update: type[Struct]
    read: type[Struct]
    page: type[Struct]
    lifecycle: Literal["archive", "delete", "none"]
    search_fields: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    sortable: tuple[str, ...] = ("id",)
    default_sort: str = "id"
    unique: tuple[Unique, ...] = ()
    links: tuple[Link, ...] = ()
    multiline: frozenset[str] = frozenset()
    validators: list[Validator] = field(default_factory=list)
    preparers: list[Preparer] = field(default_factory=list)
    after_write: list[AfterWrite] = field(default_factory=list)
    describe: Callable[[dict[str, Any]], str] = lambda row: f"n° {row['id']}"
    write_role: UserRole = COORDINATOR
    read_role: UserRole = READER
    hidden_columns: tuple[str, ...] = ()
    # Local to a territory (#20); None: shared by every territory.
    territorial: Territorial | None = None

    @property
    def read_fields(self) -> list[str]:
        return [f.name for f in msgspec.structs.fields(self.read)]

    @property
    def link_fields(self) -> set[str]:
        return {link.field for link in self.links}


# French names of the records a foreign key may point to, for « Commune n° 4 introuvable ».
REFERENCE_LABELS: dict[str, str] = {}


@dataclass(frozen=True)
class ListQuery:
    limit: int = 50
    offset: int = 0
    sort: str | None = None
    q: str | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    include_archived: bool = False
    # Count the total up to this many rows only (`capped_count`): past it, the total says
    # ``count_cap + 1``, « plus de 10 000 » on a page (#20: the exact count of 3.6 million
    # invitations took 3.3 s). None: the exact total, as the API gives it.
    count_cap: int | None = None


# The pages' lists count this many rows at most (`ListQuery.count_cap`).
PAGE_COUNT_CAP = 10_000


def is_unique_violation(error: BaseException) -> bool:
    if isinstance(error, asyncpg.UniqueViolationError):
        return True
    return isinstance(error, sqlite3.IntegrityError) and "UNIQUE" in str(error)


def is_reference_violation(error: BaseException) -> bool:
    if isinstance(error, asyncpg.ForeignKeyViolationError):
        return True
    return isinstance(error, sqlite3.IntegrityError) and "FOREIGN KEY" in str(error)


def is_hidden_reference(error: BaseException) -> bool:
    """A tie's trigger found no parent to copy its territory from (« organisation 12
    invisible pour cette écriture », PostgreSQL): out of the writer's sight, or deleted by a
    transaction that committed while the trigger waited for it (#20)."""
    return isinstance(error, asyncpg.InsufficientPrivilegeError)


def is_reference_gone(error: BaseException) -> bool:
    """A write failed on a record it points at, its foreign key or its trigger's read: one
    found before the write and deleted meanwhile, the duplicate a merge removed (#20), to be
    read again to name it. False inside a caller's transaction (aborted on PostgreSQL:
    nothing can be read again in it): the caller names it once its transaction is over."""
    cause = error.__cause__ if isinstance(error, InvalidData) else error
    if cause is None or not (is_reference_violation(cause) or is_hidden_reference(cause)):
        return False
    return current_engine().current_transaction.get() is None


def plain_values(data: Struct) -> dict[str, Any]:
    """Top-level fields of an input struct; nested structs (indicators…) as JSON-ready data."""
    return {
        name: msgspec.to_builtins(value) if isinstance(value, Struct | list | dict) else value
        for name, value in msgspec.structs.asdict(data).items()
    }


def versioned(table: type[Table], moment: dt.datetime | None = None) -> dict[Any, Any]:
    """The write rule's columns for an UPDATE made outside `ResourceService.update` (#17): the
    version moves on, so that a form read before this write refuses to overwrite it, and
    ``updated_at`` says when. Merge them into the UPDATE's values and record the audit event
    (`audit.record`) in the same write transaction.
    """
    version = table._meta.get_column_by_name("version")
    updated_at = table._meta.get_column_by_name("updated_at")
    return {version: version + 1, updated_at: moment or dt.datetime.now(dt.UTC)}  # type: ignore[operator]  # Piccolo types the Integer column as Column


FilterList = list[Filter]


def _links_of_one(link: Link) -> Prepared[Any]:
    """The (owner, target) pairs of one record in ``link``'s table, built once."""
    owner = link.table._meta.get_column_by_name(link.owner_column)
    target = link.table._meta.get_column_by_name(link.target_column)
    return Prepared(lambda record_id: link.table.select(owner, target).where(owner == record_id))


class ResourceService:
    def __init__(self, spec: ResourceSpec) -> None:
        self.spec = spec
        self.table = spec.table
        self._columns = {c._meta.name: c for c in self.table._meta.columns}
        self._read_columns = [
            self._columns[name] for name in spec.read_fields if name in self._columns
        ]
        self._json_fields = [c._meta.name for c in self._read_columns if isinstance(c, JSON)]
        self._statements: dict[tuple[Any, ...], tuple[str, StatementPlan]] = {}
        # The read of one record and of its links (after each create and update, the detail
        # view), built and compiled once (`Prepared`): building the selects cost more CPU than
        # running them, a third of an API create's (#16, bench/load.py).
        primary_key = self.table._meta.primary_key
        self._one: Prepared[Any] = Prepared(
            lambda record_id: (
                self.table.select(*self._read_columns)
                .where(primary_key == record_id)
                .output(load_json=True)
                .first()
            )
        )
        self._links_of_one = {link.field: _links_of_one(link) for link in spec.links}
        if spec.territorial is not None:
            TERRITORIAL_TABLES[spec.table] = spec.territorial

    # ----- reading -------------------------------------------------------------------------

    async def page(self, query: ListQuery) -> dict[str, Any]:
        """A page of records, their links and the total in one statement (see `_statement`).

        A search through a function that is no longer usable (dropped or changed by a newer
        version's ``maillage migrate`` on another host) is made once more with what the
        functions are now, instead of failing until this process restarts (#20)."""
        self._check_query(query)
        try:
            return await self._page(query)
        except Exception as error:
            if self._found_by(query) is None or not search_function_gone(error):
                raise
        return await self._page(query)

    async def _page(self, query: ListQuery) -> dict[str, Any]:
        if query.q and self.spec.search_fields:
            await know_search_functions()
        values = self._values(query)
        sql, plan = self._statement(query, values)
        args = [values[slot] if slot is not None else constant for slot, constant in plan]
        # One statement, atomic by itself: no transaction around it (#16, `read_statement`).
        records = await read_statement(sql, [*args, query.limit, query.offset])
        rows = [self._row(record) for record in records]
        total = rows[0].pop(TOTAL) if rows else None
        for row in rows[1:]:
            del row[TOTAL]
        if total is None:  # an empty page says nothing of the total: past the end
            total = 0
            if query.offset:
                async with read_transaction():
                    total = await self._count(query, values)
        if query.count_cap is not None:  # two halves each counted up to the cap
            total = min(total, query.count_cap + 1)
        return {"items": rows, "total": total, "limit": query.limit, "offset": query.offset}

    def _statement(self, query: ListQuery, values: AnyList) -> tuple[str, StatementPlan]:
        """The list's SQL for the shape of ``query`` and where each of its arguments comes from.

        Building the Piccolo select and count and compiling them cost more CPU than running the
        statement (#16: about half of an API list's CPU). The text depends only on the query's
        shape (sort, archived or not, number of search words, filters given, narrowed or not,
        the user's territories, the engine); the request's own values go in as arguments. So it is built
        once per shape, with a `Slot` standing for each value, and kept: a slot found in the
        compiled arguments is the request's value at that rank, any other argument a constant
        of the shape. LIMIT and OFFSET are arguments too. A shape whose values Piccolo would
        convert (a slot missing from the arguments) is built with the values each time."""
        key = self._shape(query)
        known = self._statements.get(key)
        if known is not None:
            return known
        slots = [Slot(rank) for rank in range(len(values))]
        sql, args = self._build(query, slots)
        # Each value stands once in the page and once in each count (two when the shared rows
        # and the user's are counted apart), the search function's patterns once, in the
        # statement's head (`_found_once`): a slot missing anywhere was converted by Piccolo.
        seen = Counter(arg.rank for arg in args if isinstance(arg, Slot))
        once = self._found_rank(query)
        found_once = once is None or seen.pop(once, 0) == 1
        expected = set(range(len(values))) - {once}
        if values and (not found_once or set(seen) != expected or len(set(seen.values())) > 1):
            built, built_args = self._build(query, values)
            return built, [(None, arg) for arg in built_args]
        plan: StatementPlan = [
            (arg.rank, None) if isinstance(arg, Slot) else (None, arg) for arg in args
        ]
        if len(self._statements) >= STATEMENTS_KEPT:
            self._statements.clear()
        self._statements[key] = (sql, plan)
        return sql, plan

    def _shape(self, query: ListQuery) -> tuple[Any, ...]:
        """What the text of the list's statement depends on (`_statement`)."""
        scope = territory_scope.current()
        territories = None
        if scope is not None and self.spec.territorial is not None:
            territories = (tuple(scope.territories), scope.departements)
        given = tuple(item.name for item in self._filters_given(query))
        archived = self.spec.lifecycle == "archive" and query.include_archived
        words = len(self._words(query))
        found = self._found_by(query) is not None
        narrowed = self._narrowed(query)
        cap = query.count_cap
        shape = (territories, query.sort, archived, words, found, given, narrowed, cap)
        return (is_sqlite(), *shape)

    def _build(self, query: ListQuery, values: AnyList) -> tuple[str, AnyList]:
        """Piccolo's select, with a sorted array per link and the count as scalar subqueries in
        its column list (one statement instead of one per link plus the count), then
        ``LIMIT ? OFFSET ?``; ``?`` placeholders."""
        found, found_args = self._found_once(query, values)
        where = self._where(query, values, found_once=bool(found))
        select = self.table.select(*self._read_columns)
        if where is not None:
            select = select.where(where)
        counts = [
            capped_count(self.table, part, query.count_cap)
            for part in self._counted(query, where, values, found_once=bool(found))
        ]
        page = self._ordered(select, query.sort, self._narrowed(query))
        page_sql, page_args = page.querystrings[0].compile_string(engine_type="sqlite")
        count_sqls, count_args = [], []
        for count in counts:
            count_sql, args = count.querystrings[0].compile_string(engine_type="sqlite")
            count_sqls.append(f"({count_sql})")
            count_args += args
        owner_id = f'"{self.table._meta.tablename}"."id"'
        extra = [
            _link_array(link, owner_id) + f' AS "{LINK_PREFIX}{link.field}"'
            for link in self.spec.links
        ]
        extra.append(f'({" + ".join(count_sqls)}) AS "{TOTAL}"')
        head = f' FROM "{self.table._meta.tablename}"'
        cut = page_sql.index(head)
        sql = page_sql[:cut] + ", " + ", ".join(extra) + page_sql[cut:] + " LIMIT ? OFFSET ?"
        return found + sql, [*found_args, *count_args, *page_args]

    def _found_rank(self, query: ListQuery) -> int | None:
        """The rank in `_values` of the search function's patterns, None without a function."""
        if self._found_by(query) is None:
            return None
        return len(self._words(query))

    def _found_once(self, query: ListQuery, values: AnyList) -> tuple[str, AnyList]:
        """The statement's head that calls the search function once for the page and the
        count (``WITH``: read twice, computed once), and its argument; none without one.

        Called in each, the function ran twice: once for the page, once for the count (a
        Caf adviser's contacts search: 3.6 → 2.4 ms of server CPU with one call,
        bench/README.md « One call of the search function », #20)."""
        rank = self._found_rank(query)
        if rank is None:
            return "", []
        function = self._found_by(query)
        return f"WITH {FOUND} AS (SELECT {function}(?::text[]) AS ids) ", [values[rank]]

    async def _count(self, query: ListQuery, values: AnyList) -> int:
        """The list's total alone (past the last page), counted as in the page (`_counted`)."""
        total = 0
        for part in self._counted(query, self._where(query, values), values):
            total += await count_rows(self.table, part, query.count_cap)
        return total

    def _counted(
        self, query: ListQuery, where: Any, values: AnyList, found_once: bool = False
    ) -> Conditions:
        """The conditions whose counts add up to the list's total: ``where`` alone, or the
        shared rows and the user's apart (`scope_halves`)."""
        # Through a search function (`_found_by`) the rows are read by their ids: a count in
        # two halves would only read them twice.
        halves = None if self._found_by(query) is not None else self.scope_halves()
        if halves is None:
            return [where]
        rest = self._where(query, values, scoped=False, found_once=found_once)
        return [half if rest is None else half & rest for half in halves]

    def scope_halves(self) -> Conditions | None:
        """For a scoped user on PostgreSQL whose rows carry their territory
        (`_gathered_in_scope`), `scope_clause` as two disjoint conditions, the shared rows and
        the user's territories' rows, to count apart and add up; None: count it whole.

        Counted at once, ``territory IS NULL OR territory IN (…)`` cannot bound an index
        scan: PostgreSQL read the whole ``territory`` index and filtered it, a count that grew
        with the country (the 48,300 meetings of ten départements read to count a Caf
        adviser's 1,610); each half is a range of that index (#20)."""
        rule = self.spec.territorial
        scope = territory_scope.current()
        if rule is None or scope is None or not scope.territories or rule.also is not None:
            return None
        if not self._gathered_in_scope():
            return None
        if rule.via is None and own_key(self.table, rule) is not None:
            return None  # one condition of the key's index already (`visible_clause`)
        if rule.via is None:
            column = self.table._meta.get_column_by_name(rule.field)
            shared = shared_parts(self.table, rule, scope.territories, scope.departements)
            return [*shared, column.is_in(scope.territories)]
        copies = copied_columns(self.table, rule)  # one parent: ``also`` is None here
        if copies is not None:
            if copies.key is not None:
                return None  # one condition of the key's index already (`copied_clause`)
            copy = f'"{self.table._meta.tablename}"."{copies.territory}"'
            values = ", ".join("{}" for _ in scope.territories)
            return [
                WhereRaw(f"{copy} IS NULL"),
                WhereRaw(f"{copy} IN ({values})", *scope.territories),
            ]
        return None

    def _row(self, record: Any) -> dict[str, Any]:
        row = dict(record)
        for name in self._json_fields:
            if isinstance(row.get(name), str):
                row[name] = msgspec.json.decode(row[name])
        for link in self.spec.links:
            values = row.pop(LINK_PREFIX + link.field)
            row[link.field] = (
                msgspec.json.decode(values) if isinstance(values, str) else list(values)
            )
        return row

    async def get(self, record_id: int) -> dict[str, Any]:
        async with read_transaction():
            row = await self._fetch(record_id)
            await self._attach_links([row])
        return row

    async def _fetch(self, record_id: int) -> dict[str, Any]:
        where = self.table._meta.primary_key == record_id
        visible = self.scope_clause()
        row: dict[str, Any] | None
        if visible is None:
            row = await self._one(record_id)
        else:
            row = (
                await self.table.select(*self._read_columns)
                .where(where & visible)
                .output(load_json=True)
                .first()
                .run()
            )
        if row is None:
            raise NotFound(self.spec.label, record_id)
        return row

    async def _attach_links(self, rows: Rows) -> None:
        """One query per link table for the whole page, never one per row."""
        if not rows or not self.spec.links:
            return
        ids = [row["id"] for row in rows]
        for link in self.spec.links:
            owner = link.table._meta.get_column_by_name(link.owner_column)
            target = link.table._meta.get_column_by_name(link.target_column)
            if len(ids) == 1:
                pairs = await self._links_of_one[link.field](ids[0])
            else:
                pairs = await link.table.select(owner, target).where(owner.is_in(ids)).run()
            by_owner: dict[int, Any] = {}
            for pair in pairs:
                by_owner.setdefault(pair[link.owner_column], []).append(pair[link.target_column])
            for row in rows:
                row[link.field] = sorted(by_owner.get(row["id"], []))

    def _check_query(self, query: ListQuery) -> None:
        """Out-of-range numbers would overflow the engines' integers: refuse them in French."""
        errors = []
        if not 0 <= query.offset <= ROW_ID_MAX:
            errors.append(FieldError("offset", f"Valeur hors limites (0 à {ROW_ID_MAX})."))
        for item in self.spec.filters:
            problem = filter_problem(item, query.filters.get(item.name))
            if problem:
                errors.append(FieldError(item.name, problem))
        if errors:
            raise InvalidData(errors)

    def scope_clause(self) -> Any:
        """What the user of the request may see of this resource, as a condition; None: all.

        Every read of the generic service goes through it (lists, search, details, and the
        reads before each write), so API, pages and CLI share one rule (#20)."""
        scope = territory_scope.current()
        if scope is None or self.spec.territorial is None:
            return None
        return scope_visible(self.table, self.spec.territorial, scope)

    def _gathered_in_scope(self) -> bool:
        """Whether a page is sorted from the rows in the user's scope rather than read along
        the index of its order (PostgreSQL, a scoped user, a resource local to territories).

        The planner prices a walk along the primary key as if a territory's rows were spread
        evenly over the table; they are not (a territory's records are created together, a
        département after another), and for the last territories loaded the walk read the
        whole table: 0.25 s for a coordinator's invitations and 0.85 s for a Caf adviser's on
        ten départements, against 10–40 ms to gather and sort their rows (bench/README.md,
        #20). Sorting by ``id + 0``, which no index provides, makes the cost grow with what the
        user sees, wherever their territories are; for the other orders, see `sort_term`."""
        return (
            self.spec.territorial is not None
            and territory_scope.current() is not None
            and not is_sqlite()
        )

    @staticmethod
    def _words(query: ListQuery) -> WordList:
        if not query.q:
            return []
        return normalise(query.q).replace("%", " ").replace("_", " ").split()

    def _narrowed(self, query: ListQuery) -> bool:
        """A search or a filter narrows the page: a scoped user's rows are then gathered before
        they are sorted (`sort_term`)."""
        return bool(query.q and self.spec.search_fields) or bool(self._filters_given(query))

    def _found_by(self, query: ListQuery) -> str | None:
        """The function that gives the ids of the rows this search may find
        (`row_security.search_function`: under the policies, through the table's trigram
        index, which the policy keeps ``LIKE`` from), or None: the search as it was.

        None as well when no word holds three letters or digits in a row: a trigram index takes
        nothing from a shorter one and would read itself whole."""
        if not self.spec.search_fields or not self._indexed_words(query):
            return None
        return search_function(self.table._meta.tablename)

    def _indexed_words(self, query: ListQuery) -> WordList:
        """The search's words for its function, the one its index takes first: the longest
        that has three letters or digits in a row; none without one."""
        words = self._words(query)
        usable = [rank for rank, word in enumerate(words) if _TRIGRAM.search(word)]
        if not usable:
            return []
        first = max(usable, key=lambda rank: len(words[rank]))
        return [words[first], *words[:first], *words[first + 1 :]]

    def _filters_given(self, query: ListQuery) -> FilterList:
        return [item for item in self.spec.filters if query.filters.get(item.name) is not None]

    def _values(self, query: ListQuery) -> AnyList:
        """The request's values, in the order `_where` places them (`_statement`)."""
        values: AnyList = []
        if self.spec.search_fields:
            values += [f"%{word}%" for word in self._words(query)]
            if self._found_by(query) is not None:
                values.append([f"%{word}%" for word in self._indexed_words(query)])
        for item in self._filters_given(query):
            value = query.filters[item.name]
            if item.link is not None and item.contains:
                words = str(value).replace("%", " ").replace("_", " ").split()
                value = f"%{' '.join(words)}%"
            values.append(value)
        return values

    def _where(
        self, query: ListQuery, values: AnyList, scoped: bool = True, found_once: bool = False
    ) -> Any:
        """The list's condition; ``values`` from `_values` (or slots standing for them);
        ``scoped=False``: without the user's scope (`_counted`); ``found_once``: the ids of the
        search function read from the statement's head (`_found_once`)."""
        clauses: AnyList = []
        visible = self.scope_clause() if scoped else None
        if visible is not None:
            clauses.append(visible)
        if self.spec.lifecycle == "archive" and not query.include_archived:
            clauses.append(self._columns["archived"] == False)  # noqa: E712 - SQL expression
        given = iter(values)
        if self.spec.search_fields:
            for _word in self._words(query):
                clauses.append(self._columns["search"].like(next(given)))
            function = self._found_by(query)
            if function is not None:
                # The ids the function finds through the index, and the clauses above as
                # they were: the same rows, read through the primary key (#20).
                key = f'"{self.table._meta.tablename}"."id"'
                patterns = next(given)
                if found_once:
                    clauses.append(WhereRaw(f"{key} = ANY ((SELECT ids FROM {FOUND})::integer[])"))
                else:
                    clauses.append(
                        WhereRaw(
                            f"{key} = ANY ((SELECT {function}({{}}::text[]))::integer[])", patterns
                        )
                    )
        for item in self._filters_given(query):
            clauses.append(self._filter_clause(item, next(given)))
        if not clauses:
            return None
        where = clauses[0]
        for clause in clauses[1:]:
            where = where & clause
        return where

    def _filter_clause(self, item: Filter, value: Any) -> Any:
        if item.link is not None:
            owner = item.link.table._meta.get_column_by_name(item.link.owner_column)
            target = item.link.table._meta.get_column_by_name(item.link.target_column)
            if item.contains:
                # SQLite's LIKE already ignores case (ASCII); PostgreSQL needs ILIKE.
                match = target.like(value) if is_sqlite() else target.ilike(value)
            else:
                match = target == value
            return self.table._meta.primary_key.is_in(item.link.table.select(owner).where(match))
        assert item.column is not None
        return self._columns[item.column] == value

    def _ordered(self, select: Any, sort: str | None, narrowed: bool = True) -> Any:
        key = sort or self.spec.default_sort
        descending = key.startswith("-")
        name = key.lstrip("-")
        if name not in self.spec.sortable:
            allowed = ", ".join(self.spec.sortable)
            raise InvalidData.one("sort", f"Tri impossible sur « {name} » : choisissez {allowed}.")
        term = self.sort_term(self._columns[name], narrowed)
        select = select.order_by(term, ascending=not descending)
        if name != "id":
            select = select.order_by(self.table._meta.primary_key)
        return select

    def sort_term(self, column: Any, narrowed: bool = True) -> Any:
        """The ORDER BY term of ``column`` for the request's user: names and titles in French
        order (« École » among the E), codes and dates as stored; for a scoped user on
        PostgreSQL (`_gathered_in_scope`), the same order through an expression no index
        provides, so that their rows are gathered and sorted (`db.gathered_order`), in id
        order always, in another order when the page is ``narrowed`` by a search or a filter.

        A territory's rows are created together, so the primary key's order crosses the
        country before it reaches the last territory's; names and dates are not tied to a
        territory, and a plain list walking the name or date index finds the user's rows
        spread along it, 50 rows for about 50 / (their share of the table) read (1,000 of the
        ten départements' contacts for a coordinator, who also sees every département's shared
        institutions): PostgreSQL prices that walk right and chooses it or the gathering
        itself. A search or a filter multiplies two selectivities the planner estimates apart:
        a coordinator's contacts searched for « martin » walked the names' index over ten
        départements, 88,881 rows read for 50 (bench/README.md, #20); gathered, the rows read
        are the user's, whom the page's total counts anyway.

        Partners (organisations, contacts) are gathered for a plain list too: the shared ones a
        user sees are those of their départements (`maillage.departements`), so the user's rows
        are a small part of a national table, and the walk along the names read 13,401
        organisations for 50 on ten départements (bench/README.md « Shared partners by
        département »)."""
        rule = self.spec.territorial
        partners = rule is not None and rule.departement is not None
        if self._gathered_in_scope() and (narrowed or column._meta.primary_key or partners):
            return gathered_order(column)
        return french_order(column) if isinstance(column, Varchar | Text) else column

    # ----- writing -------------------------------------------------------------------------

    async def create(self, actor: Actor, data: Struct) -> dict[str, Any]:
        values = plain_values(data)
        links = {name: values.pop(name) for name in self.spec.link_fields}
        await self._check(values, links, None)
        await self._check_territory(values, None)

        async def write() -> int:
            async with write_transaction():
                await self._check_unique(values, None)
                record_id = await self._insert(values)
                await self._write_links(record_id, links)
                for after in self.spec.after_write:
                    await after(None, {**values, "id": record_id})
                await audit.record(
                    actor, "create", self.spec.entity, record_id, {**values, **links}
                )
            return record_id

        record_id = await self._written(write, values, links)
        return await self.get(record_id)

    async def _insert(self, values: dict[str, Any]) -> int:
        row = self.table(**self.row_values(values))
        try:
            result = await self.table.insert(row).returning(self.table._meta.primary_key).run()
        except Exception as error:
            raise self._translate(error) from error
        new_id: int = result[0]["id"]
        return new_id

    async def update(self, actor: Actor, record_id: int, data: Struct) -> dict[str, Any]:
        changes = {k: v for k, v in plain_values(data).items() if v is not UNSET}
        version = changes.pop("version")
        link_changes = {n: changes.pop(n) for n in list(changes) if n in self.spec.link_fields}
        existing = await self.get(record_id)
        await self._check_writable(existing)
        self._check_version(existing, version)
        merged = {**existing, **changes}
        await self._check(merged, {**existing, **link_changes}, existing)
        await self._check_territory(merged, existing)
        # Preparers may normalise or derive values: write every column that now differs, and
        # every column a preparer set that the read leaves out (an invitation's link nonce).
        to_write = {
            k: v
            for k, v in merged.items()
            if k in self._columns
            and k not in ("id", "version")
            and (k not in existing or v != existing[k])
        }

        async def write() -> None:
            async with write_transaction():
                await self._check_unique(merged, record_id)
                await self._write_update(record_id, version, to_write, merged)
                for name, targets in link_changes.items():
                    await self._write_links(record_id, {name: targets}, replace=True)
                for after in self.spec.after_write:
                    await after(existing, merged)
                await audit.record(
                    actor,
                    "update",
                    self.spec.entity,
                    record_id,
                    audit.diff(existing, {**to_write, **link_changes}),
                )

        await self._written(write, merged, {**existing, **link_changes})
        return await self.get(record_id)

    async def _written(
        self, write: Callable[[], Awaitable[Any]], values: dict[str, Any], links: dict[str, Any]
    ) -> Any:
        """``write`` run (again after a conflict, `retried_on_conflict`); failed on a record it
        points at that is gone meanwhile: the answer names it (`references_gone`)."""
        try:
            return await retried_on_conflict(write)
        except Exception as error:
            missing = await self.references_gone(error, values, links)
            if missing is None:
                raise
            raise missing from error

    async def references_gone(
        self, error: Exception, values: dict[str, Any], links: dict[str, Any]
    ) -> InvalidData | None:
        """The records a write points at, read again once it failed on one of them: found
        before the write, one was deleted meanwhile (the duplicate a merge removed, #20), and
        the write waited for that delete, then failed on its foreign key or its trigger. The
        answer names it, « Organisation n° 12 introuvable. », as a moment later. None when
        the error is another or every record is still there, and inside a caller's
        transaction (`is_reference_gone`)."""
        if not is_reference_gone(error):
            return None
        errors = await self._reference_errors(values, links)
        return InvalidData(errors) if errors else None

    def _check_version(self, existing: dict[str, Any], version: int) -> None:
        if existing["version"] != version:
            raise Conflict(
                f"{self.spec.label} {self.spec.describe(existing)} : une autre modification a été "
                "enregistrée entre-temps "
                f"(version {existing['version']}, vous aviez la version {version}) : "
                "rechargez la fiche et refaites votre modification.",
                ConflictingRecord(
                    self.spec.entity,
                    existing["id"],
                    self.spec.describe(existing),
                    {"version": existing["version"]},
                ),
            )

    async def _write_update(
        self, record_id: int, version: int, changes: dict[str, Any], merged: dict[str, Any]
    ) -> None:
        if not await self.write_versioned(record_id, version, changes, merged):
            # Someone else wrote between our read and our write: never overwrite silently.
            self._check_version(await self._fetch(record_id), version)

    # ----- the write rule, public for the services that write in bulk (imports) -------------

    def columns_of(self, values: dict[str, Any]) -> dict[Any, Any]:
        """``{column: value}`` for the values that are columns of the table (links left out)."""
        return {self._columns[k]: v for k, v in values.items() if k in self._columns}

    def row_values(self, values: dict[str, Any]) -> dict[str, Any]:
        """The values of a new row, its search text included: what `create` inserts."""
        fields = {k: v for k, v in values.items() if k in self._columns}
        if self.spec.search_fields:
            fields["search"] = self.search_value(values)
        return fields

    async def write_versioned(
        self, record_id: int, version: int, changes: dict[str, Any], merged: dict[str, Any]
    ) -> bool:
        """The write rule of an update: only over ``version`` (a form read before another
        write never overwrites it), version + 1, ``updated_at`` now, the search text from
        ``merged`` (the record after the change). False when the row was not at ``version``.
        The audit event is the caller's, in the same write transaction."""
        values = {**self.columns_of(changes), **versioned(self.table)}
        values[self._columns["version"]] = version + 1
        if self.spec.search_fields:
            values[self._columns["search"]] = self.search_value(merged)
        pk = self.table._meta.primary_key
        try:
            updated = (
                await self.table.update(values)
                .where((pk == record_id) & (self._columns["version"] == version))
                .returning(pk)
                .run()
            )
        except Exception as error:
            raise self._translate(error) from error
        return bool(updated)

    async def set_archived(self, actor: Actor, record_id: int, archived: bool) -> dict[str, Any]:
        existing = await self.get(record_id)
        await self._check_writable(existing)
        if existing.get("archived") == archived:
            return existing
        async with write_transaction():
            await (
                self.table.update({self._columns["archived"]: archived, **versioned(self.table)})
                .where(self.table._meta.primary_key == record_id)
                .run()
            )
            action = "archive" if archived else "restore"
            await audit.record(
                actor, action, self.spec.entity, record_id, {"archived": [not archived, archived]}
            )
        return await self.get(record_id)

    async def delete(self, actor: Actor, record_id: int) -> None:
        existing = await self.get(record_id)
        await self._check_writable(existing)

        async def write() -> None:
            async with write_transaction():
                for link in self.spec.links:
                    owner = link.table._meta.get_column_by_name(link.owner_column)
                    await link.table.delete().where(owner == record_id).run()
                try:
                    await self.table.delete().where(self.table._meta.primary_key == record_id).run()
                except Exception as error:
                    raise self._translate(error, deleting=existing) from error
                for after in self.spec.after_write:
                    await after(existing, None)
                await audit.record(actor, "delete", self.spec.entity, record_id, existing)

        await retried_on_conflict(write)

    async def _write_links(
        self, record_id: int, links: dict[str, Any], replace: bool = False
    ) -> None:
        for link in self.spec.links:
            if link.field not in links:
                continue
            owner = link.table._meta.get_column_by_name(link.owner_column)
            if replace:
                await link.table.delete().where(owner == record_id).run()
            rows = [
                link.table(**{link.owner_column: record_id, link.target_column: target})
                for target in dict.fromkeys(links[link.field])
            ]
            if rows:
                await link.table.insert(*rows).run()

    def search_value(self, values: dict[str, Any]) -> str:
        # Cut to the column: a long description would overflow it on PostgreSQL (found by the
        # hostile corpus); a search finds names and the start of long texts.
        text = search_text(*(values.get(name) for name in self.spec.search_fields))
        return text[: self._columns["search"].length]  # type: ignore[attr-defined]  # the search column is a Varchar

    # ----- rules ---------------------------------------------------------------------------

    async def _check_writable(self, existing: dict[str, Any]) -> None:
        """A scoped user writes the local records of the territories where they hold the
        resource's write role, and no shared record (#20): 403 (they can read it). Records
        they cannot see were already answered 404 by the read before the write."""
        scope = territory_scope.current()
        rule = self.spec.territorial
        if scope is None or rule is None:
            return
        before = await record_territory(rule, existing)
        if before is None:
            raise Forbidden(f"Fiche partagée ({self.spec.label.lower()}) : {SHARED_WRITE}.")
        if not scope.can_write(before, self.spec.write_role):
            raise Forbidden(
                f"Votre rôle sur ce territoire (« {scope.roles[before]} ») ne permet pas "
                f"de modifier : {self.spec.label.lower()} {self.spec.describe(existing)}."
            )

    async def _check_territory(
        self, values: dict[str, Any], existing: dict[str, Any] | None
    ) -> None:
        """The territory a record is created in, or moved to, must be one of the user's, with
        the write role there (a field error naming the field otherwise)."""
        scope = territory_scope.current()
        rule = self.spec.territorial
        if scope is None or rule is None:
            return
        fields = [rule.field] + ([rule.also.field] if rule.either and rule.also else [])
        if existing is not None and all(values.get(f) == existing.get(f) for f in fields):
            return
        if rule.either:
            await self._check_new_territory(scope, rule, values.get(rule.field), values)
        else:
            await self._check_new_territory(scope, rule, values.get(rule.field))

    async def _check_new_territory(
        self,
        scope: territory_scope.Scope,
        rule: Territorial,
        value: Any,
        values: dict[str, Any] | None = None,
    ) -> None:
        """The territory a record is created in, or moved to, must be one of the user's."""
        if rule.via is not None and value is not None:
            assert rule.then is not None
            pk = rule.via._meta.primary_key
            visible = scope_visible(rule.via, rule.then, scope)
            if not await rule.via.exists().where((pk == value) & visible).run():
                label = REFERENCE_LABELS.get(rule.via._meta.tablename, rule.via._meta.tablename)
                raise InvalidData.one(rule.field, f"{label} n° {value} introuvable.")
        if values is None:
            territory = await territory_of(rule, value)
        else:
            territory = await record_territory(rule, values)
        if scope.can_write(territory, self.spec.write_role):
            return
        names = ", ".join(await territory_scope.territory_names(scope.territories))
        if territory is None and rule.via is None:
            message = f"Choisissez un de vos territoires ({names}) : sans territoire, la fiche "
            message += f"serait partagée, et {SHARED_WRITE}."
        elif territory is None:
            message = f"Rattachement partagé entre les territoires : {SHARED_WRITE}."
        elif territory in scope.roles:
            message = (
                f"Votre rôle sur ce territoire (« {scope.roles[territory]} ») ne permet pas "
                "d'y écrire."
            )
        else:
            message = f"Territoire hors de votre périmètre : choisissez parmi {names}."
        raise InvalidData.one(rule.field, message)

    async def _check(
        self,
        values: dict[str, Any],
        links: dict[str, Any],
        existing: dict[str, Any] | None,
    ) -> None:
        errors = self.control_character_errors(values)
        errors += await self._reference_errors(values, links)
        for prepare in self.spec.preparers:
            await prepare(values, existing)
        for validate in self.spec.validators:
            errors += await validate(values, existing)
        if errors:
            raise InvalidData(errors)

    def control_character_errors(self, values: dict[str, Any]) -> FieldErrors:
        """Fields holding a control character (refused on both engines), as field errors."""
        errors = []
        for name, value in values.items():
            if not isinstance(value, str):
                continue
            position = find_control_character(value, name in self.spec.multiline)
            if position is not None:
                errors.append(
                    FieldError(
                        name,
                        f"Caractère de contrôle interdit (position {position + 1}) : "
                        "retirez-le ou retapez le texte.",
                    )
                )
        return errors

    async def _reference_errors(self, values: dict[str, Any], links: dict[str, Any]) -> FieldErrors:
        """Every referenced id must exist: one query per referenced table."""
        wanted: dict[type[Table], dict[int, Any]] = {}
        for column in self.table._meta.foreign_key_columns:
            value = values.get(column._meta.name)
            if value is not None and value is not UNSET:
                target = column._foreign_key_meta.resolved_references
                wanted.setdefault(target, {}).setdefault(value, []).append(column._meta.name)
        for link in self.spec.links:
            target_column = link.table._meta.get_column_by_name(link.target_column)
            assert isinstance(target_column, ForeignKey)
            target = target_column._foreign_key_meta.resolved_references
            for target_id in links.get(link.field) or []:
                wanted.setdefault(target, {}).setdefault(target_id, []).append(link.field)
        errors = []
        scope = territory_scope.current()
        for target, ids in wanted.items():
            pk = target._meta.primary_key
            where = pk.is_in(list(ids))
            rule = TERRITORIAL_TABLES.get(target)
            if scope is not None and rule is not None:
                # Out of scope does not exist (#20): the same answer as an unknown id.
                where = where & scope_visible(target, rule, scope)
            found = {r["id"] for r in await target.select(pk).where(where).run()}
            label = REFERENCE_LABELS.get(target._meta.tablename, target._meta.tablename)
            for missing in sorted(set(ids) - found):
                for field_name in ids[missing]:
                    errors.append(FieldError(field_name, f"{label} n° {missing} introuvable."))
        return errors

    async def hidden_unique_errors(
        self, values: dict[str, Any], record_id: int | None
    ) -> FieldErrors:
        """A unique value (a SIRET) held by a record the scoped user does not see (#20): the
        database refuses a second one, so the write cannot go on as if the record did not
        exist; the answer names the field and neither the record nor its territory."""
        scope = territory_scope.current()
        rule = self.spec.territorial
        if scope is None or rule is None:
            return []
        errors = []
        for unique in self.spec.unique:
            value = values.get(unique.column)
            if value is None or value is UNSET:
                continue
            pk = self.table._meta.primary_key
            where = self._columns[unique.column] == value
            if record_id is not None:
                where = where & (pk != record_id)
            if not await self._taken_anywhere(unique.column, value, record_id, where):
                continue
            visible = scope_visible(self.table, rule, scope)
            if await self.table.exists().where(where & visible).run():
                continue  # seen: `_check_unique` names it
            errors.append(FieldError(unique.column, HIDDEN_UNIQUE))
        return errors

    async def _taken_anywhere(
        self, column: str, value: Any, record_id: int | None, where: Any
    ) -> bool:
        """Whether another record holds ``value``, in any territory: on PostgreSQL the policy
        hides the others' records from a scoped request, and a function that sees them all
        answers instead (`row_security.TAKEN_ANYWHERE`)."""
        function = row_security.TAKEN_ANYWHERE.get((self.table._meta.tablename, column))
        if function is None or is_sqlite():
            return bool(await self.table.exists().where(where).run())
        rows = await self.table.raw(f"SELECT {function}({{}}, {{}}) AS taken", value, record_id)
        return bool(rows[0]["taken"])

    async def _check_unique(self, values: dict[str, Any], record_id: int | None) -> None:
        hidden = await self.hidden_unique_errors(values, record_id)
        if hidden:
            raise InvalidData(hidden)
        for rule in self.spec.unique:
            value = values.get(rule.column)
            if value is None:
                continue
            column = self._columns[rule.column]
            query = self.table.select(*self._read_columns).where(column == value)
            if record_id is not None:
                query = query.where(self.table._meta.primary_key != record_id)
            other = await query.first().run()
            if other is not None:
                raise Conflict(
                    f"{rule.message} : {self.spec.label.lower()} {self.spec.describe(other)}.",
                    ConflictingRecord(self.spec.entity, other["id"], self.spec.describe(other)),
                )

    def _translate(self, error: BaseException, deleting: dict[str, Any] | None = None) -> Exception:
        if is_unique_violation(error):
            return Conflict(
                f"{self.spec.label} : une valeur qui doit être unique existe déjà "
                "dans un autre enregistrement."
            )
        if is_reference_violation(error) and deleting is not None:
            return Conflict(
                f"{self.spec.label} {self.spec.describe(deleting)} sert encore à "
                "d'autres enregistrements : retirez ces liens d'abord, ou archivez.",
                ConflictingRecord(self.spec.entity, deleting["id"], self.spec.describe(deleting)),
            )
        if is_reference_violation(error):
            return InvalidData.one("id", "Un enregistrement lié est introuvable.")
        return error if isinstance(error, Exception) else RuntimeError(str(error))
