"""The second barrier of #20 on PostgreSQL: row-level security driven by a per-connection setting.

The service layer (`maillage.crm.scope`) limits what a scoped user reads and writes; on
PostgreSQL the database enforces the same rule again, so that a query path that forgets the
filter still returns nothing outside the user's territories. SQLite has no row-level security:
there, the service layer is the only barrier.

How it works:

- each local table in `PROTECTED` (the one list: add a table here and `maillage migrate`
  installs its policy) has row-level security enabled and forced (the application's role owns
  the tables, and an owner is exempt unless forced), with one policy, ``maillage_territoire``;
- the policy reads the setting ``maillage.territories``: ``*`` sees every row (a user without
  territories, an administrator, and the process's own work: background worker, sender,
  command line, migrations, public links that carry their own secret); ``{1,2}`` sees the
  shared rows (no territory) and those of territories 1 and 2, and of the shared
  organisations and contacts those of no département and of the départements of territories
  1 and 2 (`Own.departement`), and so of the affiliations and partnerships under them
  (`Via.departement`), all tested on their keys (`Own.key`, `Via.key`, `TIE_KEYS`); anything
  else, or no setting at all (``psql``, a tool that forgot it), sees no local row;
- the setting follows `current()`, which the web layer enters for each request: every
  connection maillage takes from its pool for a scoped request carries it (`maillage.db`),
  with, beside it, the départements of its territories read for the request
  (``maillage.departements``, `DEPARTEMENTS_SETTING`) and their keys
  (`DEPARTEMENT_KEYS_SETTING`): the policies take them as given, and look them up from the
  territories when they are not.

A superuser or a role with ``BYPASSRLS`` is never subject to policies: connect maillage with
an ordinary role that owns the database (README « Mise en production »).

What sees every row reads without the policies when it can (`SEES_ALL_SUFFIX`): a policy,
whatever its shape, costs an administrator's search its plan. PostgreSQL does not know at
planning time what the setting will say, and, worse, a table with a policy denies the planner
its statistics for any operator that is not leakproof (``ILIKE``, the French collation…): the
administrator's meetings search « copil » was planned for 42 rows instead of 1,500 and read the
whole table instead of walking the date index (×2.8–3.9, bench/README.md). So a read
transaction whose setting is ``*`` switches, for that transaction only (``SET LOCAL ROLE``), to
a role without login that has ``BYPASSRLS`` and that the application's role is a member of:
no policy is planned at all, exactly as with the policies off. The role is made once by the
server's administrator (only a superuser may give ``BYPASSRLS``; README « Mise en
production »); `maillage migrate` grants it the tables. Without it, nothing changes: the
policy lets everything through for ``*``, at the cost above. A scoped transaction never
takes the role: what it reads stays under the policies. ``BYPASSRLS`` is an attribute of the
role itself, never inherited by its members: the application's role stays subject to the
policies everywhere else.

The same role owns the functions of the scoped searches (`search_function`): a policy keeps
``LIKE`` from the trigram indexes, and each function gives a scoped search the ids its index
finds, kept to the setting's scope by the table's own policy expression.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

SETTING = "maillage.territories"
# The départements of the setting's territories, read once for the request with them
# (`maillage.crm.scope.Scope.departements`) and given beside them, so that the policies of the
# partners and their ties take them as they are instead of looking them up in ``territory``
# in each statement (`DEPARTEMENTS`); empty or absent (a scope made by hand, ``psql``, a
# tool): the policies look them up as before. Always written with `SETTING`, by the same
# statement (`set_config_sql`): never the départements of another scope.
DEPARTEMENTS_SETTING = "maillage.departements"
# The keys of those départements (`seen_key`), written with them for the policies of the ties
# (`TIE_KEYS`); empty when they are not given.
DEPARTEMENT_KEYS_SETTING = "maillage.departement_keys"
POLICY = "maillage_territoire"
EVERY_TERRITORY = "*"  # no filter: unscoped users and the process's own work
NO_TERRITORY = ""  # only shared rows: a request not (yet) authenticated


@dataclass(frozen=True)
class Own:
    """The table's own ``column`` holds the territory; no territory: a shared row. With
    ``departement``, the column holding a shared row's département (`maillage.departements`):
    a shared row is seen by the territories of its département only, or by all without one."""

    column: str = "territory"
    departement: str | None = None
    # The row's key of visibility, as a `Via`'s (`Via.key`): ``maillage_seen_key(column,
    # departement)`` stored and indexed (migration 2026-12-10T19:00:00), tested instead.
    key: str | None = None


COPY = "territory"  # the column of a `Via` table holding its parent's territory (PostgreSQL)


@dataclass(frozen=True)
class Via:
    """The row belongs to the territory of the ``parent`` row its ``column`` points to.

    On PostgreSQL the row carries a copy of that territory in its own ``copy`` column, kept
    right by triggers (migrations ``2026-12-07T09:00:00`` and ``2026-12-08T01:00:00``: copied
    from the parent on insert and on a change of parent, carried down when the parent changes
    territory; the trigger reads the parent ``FOR SHARE`` (a tie's: ``FOR NO KEY UPDATE``, as
    the rewrite that settles it) on an insert or a change of parent,
    so that a row written while its parent moves in another transaction waits for the move or
    is waited for, never keeps the old territory: migration ``2026-12-10T13:00:00``); the
    policy reads the copy, a test on the row itself, instead of looking the parent up (which
    made PostgreSQL scan the whole child table). ``also``: a second parent
    the row needs to see as well (an affiliation's organisation, a partnership's partner),
    with its own copy. ``departement``: the column holding a copy of the parent's
    département (a parent of a table with départements, `Own.departement`), copied and
    carried down by the same kind of triggers (migration ``2026-12-10T05:00:00``): a row under
    a shared parent is seen by the territories of the parent's département only, as the
    parent. A table added here with a ``Via`` rule needs the same columns and triggers, in a
    migration of its own."""

    column: str
    parent: str
    copy: str = COPY
    also: Via | None = None
    departement: str | None = None
    # A key column stored by PostgreSQL (a generated column) and indexed, that the policy tests
    # instead of the copies: one ``key = ANY (…)`` an index can take as its condition, where
    # the copies' tests (true for a shared row, NULL for ``*``) can only filter each row read
    # (`_visible`). Without ``departement``: ``coalesce(copy, 0)`` (`KEYS`); with it:
    # ``maillage_seen_key(copy, departement copy)`` (`seen_key`, `TIE_KEYS`). An ``also``
    # parent has its own.
    key: str | None = None


# The local tables, each with how a row finds its territory: the same rule as the registry's
# `territorial=` (a test checks they agree). One line per table.
PROTECTED: dict[str, Own | Via] = {
    "working_group": Own(),
    "membership": Via("working_group", "working_group"),
    "meeting": Via("working_group", "working_group"),
    "decision": Via("working_group", "working_group"),
    # Keyed: a Caf adviser's list reads tens of thousands (migration 2026-12-10T18:00:00).
    "invitation": Via("meeting", "meeting", key="seen"),
    "action": Own(),
    "interaction": Own(),
    # Keyed: a Caf adviser's contacts list counts thousands (migration 2026-12-10T19:00:00).
    "organisation": Own(departement="departement", key="seen"),
    "contact": Own(departement="departement", key="seen"),
    # Seen with its contact and its organisation (both), as in the services. Keyed: a Caf
    # adviser's list reads thousands (migration 2026-12-10T18:30:00).
    "affiliation": Via(
        "contact",
        "contact",
        departement="departement",
        key="seen",
        also=Via(
            "organisation",
            "organisation",
            "organisation_territory",
            departement="organisation_departement",
            key="organisation_seen",
        ),
    ),
    # Seen when both its organisations are, as in the services.
    "partnership": Via(
        "organisation",
        "organisation",
        departement="departement",
        key="seen",
        also=Via(
            "partner",
            "organisation",
            "partner_territory",
            departement="partner_departement",
            key="partner_seen",
        ),
    ),
}
# Local in the services and not in the database: none left (organisations, contacts,
# affiliations and partnerships joined the policies with migration 2026-12-08T01:00:00).
SERVICES_ONLY: frozenset[str] = frozenset()

# A value unique in the whole instance on a protected table: under the policy a scoped write
# no longer sees the other territory's row that holds it, so the services ask this function
# (it sees every row and answers yes or no, no row; migration 2026-12-08T01:00:00) for the
# same neutral field error as on SQLite. (table, column): function(value, id of the row
# written or NULL). A test checks every unique value of a protected resource has one.
TAKEN_ANYWHERE: dict[tuple[str, str], str] = {("organisation", "siret"): "maillage_siret_taken"}

_setting: contextvars.ContextVar[str] = contextvars.ContextVar(
    "maillage_row_scope", default=EVERY_TERRITORY
)


def current() -> str:
    """The value of ``maillage.territories`` for the work in progress."""
    return _setting.get()


# Between the territories and their départements in the value of `current` (`of`).
_DEPARTEMENTS_AFTER = ":"
# A département's code (``69``, ``2A``, ``971``; the bench's copies ``00``, ``01``…).
_CODE = re.compile(r"[0-9A-Za-z]{1,3}")


def of(territories: Iterable[int] | None, departements: Iterable[str] | None = None) -> str:
    """The setting for a user of ``territories`` (None: every territory) and, when known, the
    départements of those territories (`DEPARTEMENTS_SETTING`; a code out of the usual form:
    left out, the policies look them up)."""
    if territories is None:
        return EVERY_TERRITORY
    value = "{" + ",".join(str(int(territory)) for territory in territories) + "}"
    codes = None if departements is None else list(departements)
    if codes is not None and all(_CODE.fullmatch(code) for code in codes):
        value += _DEPARTEMENTS_AFTER + "{" + ",".join(codes) + "}"
    return value


def enter(value: str) -> None:
    _setting.set(value)


def enter_token(value: str) -> contextvars.Token[str]:
    """`enter`, giving back what `leave` needs to restore the previous value."""
    return _setting.set(value)


def leave(token: contextvars.Token[str]) -> None:
    _setting.reset(token)


@contextlib.contextmanager
def entered(value: str) -> Iterator[None]:
    token = _setting.set(value)
    try:
        yield
    finally:
        _setting.reset(token)


def _valid(value: str) -> bool:
    """``value`` is of `of`'s form: ``*``, or territories' ids, and codes of départements."""
    territories, _, departements = value.partition(_DEPARTEMENTS_AFTER)
    if territories != EVERY_TERRITORY and not set(territories) <= set("{},0123456789"):
        return False
    if not departements:
        return True
    codes = departements[1:-1]
    return (
        departements.startswith("{")
        and departements.endswith("}")
        and all(_CODE.fullmatch(code) for code in codes.split(",") if codes)
    )


def set_config_sql(value: str, local: bool) -> str:
    """The statement that gives a connection (or, ``local``, its transaction) the setting, the
    départements that come with it (`of`) and their keys (`DEPARTEMENT_KEYS_SETTING`; none:
    ``''``, so that none are left from another scope). ``value`` comes from `of` (digits,
    commas, braces, and letters for the départements) and is quoted as a literal, so that it
    rides in one simple-protocol message with ``BEGIN``."""
    if not _valid(value):
        raise ValueError(f"valeur de {SETTING} invalide : {value!r}")
    territories, _, departements = value.partition(_DEPARTEMENTS_AFTER)
    scope = "true" if local else "false"
    keys = ""
    if departements:
        codes = [code for code in departements[1:-1].split(",") if code]
        keys = "{" + ",".join(str(seen_key(None, code)) for code in codes) + "}"
    return (
        f"SELECT set_config('{SETTING}', '{territories}', {scope}), "
        f"set_config('{DEPARTEMENTS_SETTING}', '{departements}', {scope}), "
        f"set_config('{DEPARTEMENT_KEYS_SETTING}', '{keys}', {scope})"
    )


# A scoped read transaction plans each of its prepared statements once for any value of its
# arguments (a generic plan, kept by the connection's statement), instead of letting the plan
# cache weigh each execution: under a policy PostgreSQL prices the generic plan above the custom
# ones and kept planning again on every execution (the coordinator's organisations search: 20
# custom plans in 20 executions, 0.35-0.7 ms of planning a request, as much as its
# execution; 5 in 20 without the policies). The policy's territories are read at execution (its initplans),
# never planned in: one generic plan serves every scope safely. Reads only: a write's plans
# stay PostgreSQL's choice (bench/README.md, « plan_cache_mode », #20).
GENERIC_PLANS = "SET LOCAL plan_cache_mode = force_generic_plan"
# The same for a scoped read outside a transaction (`db.read_statement`): for the connection's
# session, put back by the pool's ``RESET ALL`` on release.
SESSION_GENERIC_PLANS = "SET plan_cache_mode = force_generic_plan"


def begin_sql(value: str, reading: bool) -> str:
    """``BEGIN``, the setting of a scoped transaction and, for a read, `GENERIC_PLANS`, in one
    simple-protocol message (no extra round trip)."""
    parts = ["BEGIN", set_config_sql(value, local=True)]
    if reading:
        parts.append(GENERIC_PLANS)
    return "; ".join(parts)


# ----- the role that reads everything without the policies -------------------------------------

# Appended to the application's role name: ``maillage`` reads everything as ``maillage_sees_all``.
SEES_ALL_SUFFIX = "_sees_all"

# The role for everything of the application's own role (``current_user`` outside any
# ``SET ROLE``), usable only when it has ``BYPASSRLS``, the application's role is a member of it
# (``SET ROLE`` allowed) and it holds every privilege a transaction may need on every table and
# sequence (`GRANTS`); ``usable`` false: none yet, `statements_for_sees_all` gives them.
# Each privilege tested alone: given a list, ``has_table_privilege`` answers whether ANY is held,
# and a role that had lost only SELECT on a table counted as holding them all.
_TABLE_PRIVILEGES = " AND ".join(
    f"has_table_privilege(r.oid, c.oid, '{privilege}')"
    for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE")
)
_SEQUENCE_PRIVILEGES = " AND ".join(
    f"has_sequence_privilege(r.oid, c.oid, '{privilege}')"
    for privilege in ("USAGE", "SELECT", "UPDATE")
)
SEES_ALL_QUERY = (
    "SELECT r.rolname AS name, r.rolbypassrls AND pg_has_role(current_user, r.oid, 'MEMBER') "
    "AS member, NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = "
    f"'public'::regnamespace AND ((c.relkind IN ('r', 'p') AND NOT ({_TABLE_PRIVILEGES})) "
    f"OR (c.relkind = 'S' AND NOT ({_SEQUENCE_PRIVILEGES})))) AS granted "
    f"FROM pg_roles r WHERE r.rolname = current_user || '{SEES_ALL_SUFFIX}'"
)


def statements_for_sees_all(state: list[dict[str, Any]]) -> list[str]:
    """The grants the role of `SEES_ALL_QUERY` still lacks (run by the tables' owner, the
    application's role); nothing when there is no usable role or it has them all."""
    if not state or not state[0]["member"] or state[0]["granted"]:
        return []
    role = state[0]["name"].replace('"', '""')
    return [
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"',
        f'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
    ]


def sees_all_role(state: list[dict[str, Any]]) -> str | None:
    """The role a read transaction of ``*`` takes, from the rows of `SEES_ALL_QUERY`."""
    if state and state[0]["member"] and state[0]["granted"]:
        return str(state[0]["name"])
    return None


def set_role_sql(role: str) -> str:
    """``BEGIN`` and the role for this transaction only, in one simple-protocol message."""
    return 'BEGIN; SET LOCAL ROLE "' + role.replace('"', '""') + '"'


# ----- policies -----------------------------------------------------------------------------

# The territories a row may belong to, computed once per statement (an initplan): NULL for
# ``*`` (every row), else the user's territories and 0, a territory that never exists, so that
# the array is never empty (no setting, or none: the shared rows only).
TERRITORIES = (
    "(SELECT CASE WHEN maillage_sees_every_territory() THEN NULL "
    "ELSE array_append(maillage_territories(), 0) END)::integer[]"
)
# The keys a keyed row (`Via.key`) may hold: 0 (shared) and the user's territories, or for
# ``*`` every territory's (a row's copy is one of them: its parent's foreign key). Written as
# an array, never NULL, so that ``key = ANY (KEYS)`` is a plain condition an index takes
# (an ``OR`` for ``*`` would have left it a filter). The branch not taken runs no query: a
# scoped statement never reads ``territory`` for it, a statement of ``*`` reads it once.
KEYS = (
    "(SELECT CASE WHEN maillage_sees_every_territory() "
    "THEN ARRAY(SELECT t.id FROM territory t UNION ALL SELECT 0) "
    "ELSE array_append(maillage_territories(), 0) END)::integer[]"
)
# The départements of the setting's territories and ``''``, a département that never exists,
# so that the array is never empty (as `TERRITORIES`); NULL for ``*``. Those the request gave
# (`DEPARTEMENTS_SETTING`) when it gave them: a statement then reads no ``territory`` row for
# its policies (one look-up per protected table it reads, twice for the affiliations and
# partnerships, bench/README.md « the policies' départements from the request », #20). Else
# looked up (as ``maillage_departements()``, migration 2026-12-10T01:30:00), written out rather
# than called: PostgreSQL plans the query of a SQL function it cannot inline again on every
# execution of the statement (bench/README.md, « the départements of the ties », #20); a
# CASE branch not taken runs no query.
_GIVEN = f"current_setting('{DEPARTEMENTS_SETTING}', true)"
DEPARTEMENTS = (
    "(SELECT CASE WHEN maillage_sees_every_territory() THEN NULL "
    f"WHEN {_GIVEN} LIKE '{{%}}' THEN array_append({_GIVEN}::text[], '') "
    "ELSE (SELECT array_append(coalesce(array_agg(DISTINCT t.departement::text) FILTER (WHERE "
    "t.departement IS NOT NULL), '{}'::text[]), '') FROM territory t "
    "WHERE t.id = ANY (maillage_territories())) END)::text[]"
)


# ----- the ties' keys -----------------------------------------------------------------------
#
# A tie (an affiliation, a partnership) is seen when each of its parents is: a local parent of
# one of the user's territories, a shared parent of no département or of one of theirs. Each
# parent's part is one key on the tie (`Via.key`, migration 2026-12-10T18:30:00), which the
# database computes from the tie's copies of the parent's territory and département with
# ``maillage_seen_key`` and this module with `seen_key`: the territory; 0 for a shared parent of
# no département; for one of a département, a negative number of its code. The codes a
# département can take (`maillage.departements.CODE`, and the bench's ``00``) each have their
# own number; any other code shares -1. So the numbers are few and known (`DEPARTEMENT_KEYS`),
# and ``*`` lists them all: its test stays one condition an index takes.
_TWO_DIGITS = re.compile(r"[0-9]{2}")
_OVERSEAS = re.compile(r"9[78][0-9]")
DEPARTEMENT_KEYS: tuple[int, ...] = (
    -1,
    -201,
    -202,
    *(-100 - number for number in range(100)),
    *(-1000 - number for number in range(970, 990)),
)


def seen_key(territory: int | None, departement: str | None) -> int:
    """The key of a parent of ``territory`` and ``departement``, as ``maillage_seen_key``."""
    if territory is not None:
        return territory
    if not departement:
        return 0
    if _TWO_DIGITS.fullmatch(departement):
        return -100 - int(departement)
    if departement in ("2A", "2B"):
        return -201 if departement == "2A" else -202
    if _OVERSEAS.fullmatch(departement):
        return -1000 - int(departement)
    return -1


# The keys a tie's parent may hold for the setting (`seen_key`): the user's territories, 0,
# and their territories' départements' (given with the request in `DEPARTEMENT_KEYS_SETTING`,
# else looked up by ``maillage_tie_keys()``); for ``*`` every territory's and every key of a
# département (``maillage_every_tie_key()``). Never NULL (as `KEYS`). The look-ups are
# functions (migration 2026-12-10T18:30:00): as sub-selects, each statement initialised
# their plans in the branches it does not take, ×1.14 the coordinator's affiliations against
# ×1.06 (bench/README.md « The ties' policy as an index condition »).
_GIVEN_KEYS = f"current_setting('{DEPARTEMENT_KEYS_SETTING}', true)"
TIE_KEYS = (
    "(SELECT CASE WHEN maillage_sees_every_territory() THEN maillage_every_tie_key() "
    f"WHEN {_GIVEN_KEYS} LIKE '{{%}}' THEN array_append(maillage_territories(), 0) || "
    f"{_GIVEN_KEYS}::integer[] ELSE maillage_tie_keys() END)::integer[]"
)


def _visible(rule: Own | Via, alias: str) -> str:
    """The condition on ``alias`` of being visible: its territory (its own, or the copy of each
    parent's) is none (shared) or one of the user's, or the user sees every territory.

    One test a row, by SQL's three values: ``territory = ANY(…)`` is NULL, so not FALSE, for a
    shared row (no territory; the array holds no NULL) and for ``*`` (a NULL array); TRUE for
    one of the user's territories; FALSE for any other. Half the cost per row read of the three
    arms ``every OR territory IS NULL OR territory = ANY(…)`` it replaces (bench/README.md,
    « the policy's test », #20)."""
    if isinstance(rule, Own) and rule.key is not None:
        keys = KEYS if rule.departement is None else TIE_KEYS
        return f'{alias}."{rule.key}" = ANY ({keys})'
    if isinstance(rule, Via) and rule.key is not None:
        keys = KEYS if rule.departement is None else TIE_KEYS
        test = f'{alias}."{rule.key}" = ANY ({keys})'
        if rule.also is not None:
            if rule.also.key is None:
                raise ValueError(f"clé de visibilité sur un seul des deux parents : {rule}")
            test = f"({test} AND {_visible(rule.also, alias)})"
        return test
    column = f'{alias}."{rule.column if isinstance(rule, Own) else rule.copy}"'
    test = f"({column} = ANY ({TERRITORIES})) IS NOT FALSE"
    if rule.departement is not None:
        # A shared row of a table with départements (or a row under a shared parent, with the
        # copy of the parent's département: `Via.departement`): of none or of one of the
        # user's (or the user sees every row: a NULL array), one test as for the territory.
        # The array is never empty: ``NULL = ANY ('{}')`` is FALSE, not NULL, and hid a shared
        # Caf without département from a coordinator whose territory had none (its three arms
        # ``IS NULL OR = ANY OR array IS NULL`` before: one initplan each, #20).
        departement = f'{alias}."{rule.departement}"'
        test = (
            f"({test} AND ({column} IS NOT NULL "
            f"OR ({departement} = ANY ({DEPARTEMENTS})) IS NOT FALSE))"
        )
    if isinstance(rule, Via) and rule.also is not None:
        test = f"({test} AND {_visible(rule.also, alias)})"
    return test


def policy_expression(table: str) -> str:
    rule = PROTECTED[table]
    return _visible(rule, f'"{table}"')


def _fingerprint_of(text: str) -> str:
    """The comment kept on a policy or a function: its text's digest."""
    return "maillage:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprint(table: str) -> str:
    """Kept as the policy's comment: `sync` rewrites a policy only when its rule changed."""
    return _fingerprint_of(policy_expression(table))


STATE_QUERY = (
    "SELECT c.relname AS name, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced, "
    "obj_description(p.oid, 'pg_policy') AS fingerprint "
    "FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid AND p.polname = "
    f"'{POLICY}' WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'"
)


def statements(state: list[dict[str, Any]]) -> list[str]:
    """What brings the database from ``state`` (rows of `STATE_QUERY`) to `PROTECTED`:
    nothing when it is there already (no lock taken on a running instance's tables)."""
    found = {row["name"]: row for row in state}
    changes: list[str] = []
    for table in PROTECTED:
        row = found.get(table)
        if row is None:
            raise ValueError(f"table protégée inconnue : {table}")
        if row["fingerprint"] != fingerprint(table):
            expression = policy_expression(table)
            changes += [
                f'DROP POLICY IF EXISTS {POLICY} ON "{table}"',
                f'CREATE POLICY {POLICY} ON "{table}" USING ({expression}) '
                f"WITH CHECK ({expression})",
                f"COMMENT ON POLICY {POLICY} ON \"{table}\" IS '{fingerprint(table)}'",
            ]
        if not row["enabled"] or not row["forced"]:
            changes += [
                f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
                f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
            ]
    for name, row in found.items():
        if name not in PROTECTED and row["fingerprint"] is not None:
            changes += [
                f'DROP POLICY {POLICY} ON "{name}"',
                f'ALTER TABLE "{name}" NO FORCE ROW LEVEL SECURITY',
                f'ALTER TABLE "{name}" DISABLE ROW LEVEL SECURITY',
            ]
    return changes


# ----- the scoped searches through their trigram index --------------------------------------
#
# Under a policy PostgreSQL may not test a search's ``search LIKE '%mot%'`` (``textlike``, not
# leakproof: its errors depend on the pattern) before the policy, so no index takes it: the
# trigram indexes (`maillage.trigram`) served only the reads without the policies, and a Caf
# adviser's contacts search read every contact of their scope (×6.5 the same statement without
# the policies, bench/README.md « the scoped searches », #20). So each protected table with a
# ``search`` column has a function, `search_function`, that returns the ids of the rows whose
# ``search`` matches every pattern it is given, through the trigram index of its first
# (`search_function_sql`): ``SECURITY DEFINER``, owned by the role that reads without the
# policies (`SEES_ALL_SUFFIX`), so that inside it no policy is planned and the index is there.
# It keeps ITSELF to the setting's territories and départements by the very expression of
# the table's policy (`policy_expression`, the same text): a scoped request that calls it learns
# no id it could not read, and a request of no scope (no setting) none at all. The services
# add ``id = ANY (its ids)`` to their own clauses, which stay as they are (``search LIKE …``
# and the scope): the rows found are exactly those of the statement without it, read through
# the primary key. Only the application's role may call it (``REVOKE … FROM PUBLIC``).
#
# `maillage migrate` (`search_function_statements`) makes each function, rewrites it when its
# text changes (the fingerprint in its comment: a policy changed) and gives it to the role
# without the policies when the database has a usable one (`sees_all_role`), after granting
# that role ``CREATE`` on the schema (PostgreSQL wants it of a function's owner; the
# application's role, owner of its database, owns the schema ``public`` on PostgreSQL 15, and
# may give it). Without that role the functions are there, owned by the application's role and
# so under the policies: the services do not use them (`usable_search_query`) and search as
# before. The same objects either way, so a backup restores on either.

SEARCH_PREFIX = "maillage_search_"
_SEARCH_SIGNATURE = "(text[])"

# The protected tables a scoped search reads under the policy, without a function: a territory
# holds a few dozen of their rows (15 bodies, 8 fiches action on the `departement` data), which
# the policy's plan reads along the territory's index faster than a function call returns the
# ids and the rows are read again by their key (the bodies' search « commission » of a Caf
# adviser: ×0.84 of the statement without the policies, ×1.31 through its function,
# bench/README.md « The scoped searches of the small tables », #20). Their functions are still
# made (`search_function_statements`), only not used (`usable_searches`): a host still running
# an earlier version during an upgrade calls them.
SEARCHED_UNDER_THE_POLICY: frozenset[str] = frozenset({"working_group", "action"})


def search_function(table: str) -> str:
    return f"{SEARCH_PREFIX}{table}"


def search_function_sql(table: str) -> str:
    """The ``CREATE OR REPLACE FUNCTION`` of ``table``'s search: the ids of the rows the
    setting lets the caller see (the policy's own expression) whose ``search`` matches every
    pattern given, the first through the trigram index (`maillage.trigram`; give the most
    selective first).

    For a scoped caller the scan is also bounded by the territory column the policy tests,
    ``territory = ANY (theirs) OR territory IS NULL``, which the policy implies (the same rows)
    and an index can take: PostgreSQL intersects the trigram index with the territory's
    (``BitmapAnd``) and reads the caller's matches only, not every match of the table (« mairie »:
    5 pages read for a coordinator instead of 122). For ``*`` (no bound) the other query.

    PL/pgSQL rather than SQL: PostgreSQL 15 plans the query of a SQL function that it cannot
    inline (``SECURITY DEFINER``) again on every statement that calls it; PL/pgSQL keeps the
    plan for the connection, generic under a scoped read's ``plan_cache_mode``
    (`GENERIC_PLANS`), which the indexes serve for any pattern. ``PARALLEL RESTRICTED``: its
    ``SET search_path`` (for a function that runs as another role, nothing of the caller's
    path) may not run in a parallel worker."""
    name = f'"{table}"'
    rule = PROTECTED[table]
    column = f'{name}."{rule.column if isinstance(rule, Own) else rule.copy}"'
    found = (
        f"SELECT coalesce(array_agg({name}.id), '{{}}'::integer[]) FROM {name} "
        f"WHERE {name}.search LIKE patterns[1] AND {name}.search LIKE ALL (patterns) "
        f"AND {policy_expression(table)}"
    )
    bounded = f"{found} AND ({column} = ANY (theirs) OR {column} IS NULL)"
    return (
        f'CREATE OR REPLACE FUNCTION "{search_function(table)}"(patterns text[]) '
        "RETURNS integer[] LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER "
        "SET search_path = pg_catalog, public, pg_temp AS $maillage$ DECLARE theirs integer[]; "
        "BEGIN IF maillage_sees_every_territory() THEN "
        f"RETURN ({found}); END IF; theirs := maillage_territories(); "
        f"RETURN ({bounded}); END $maillage$"
    )


def search_fingerprint(table: str) -> str:
    """Kept as the function's comment: `search_function_statements` rewrites it only when its
    text changed (a policy's rule, this module's query)."""
    return _fingerprint_of(search_function_sql(table))


# The search functions there are, with their comment and owner, and whether the role that reads
# without the policies (`SEES_ALL_QUERY`) may own a function of the schema ``public`` (``CREATE``
# on it) and the application's role give it that (owner of the schema).
SEARCH_STATE_QUERY = (
    "SELECT p.proname::text AS name, obj_description(p.oid, 'pg_proc') AS fingerprint, "
    "pg_get_userbyid(p.proowner)::text AS owner FROM pg_proc p "
    "WHERE p.pronamespace = 'public'::regnamespace "
    f"AND p.proname LIKE '{SEARCH_PREFIX.replace('_', chr(92) + '_')}%'"
)
SCHEMA_QUERY = (
    "SELECT has_schema_privilege(r.oid, 'public', 'CREATE') AS creates, "
    "has_schema_privilege(current_user, 'public', 'CREATE WITH GRANT OPTION') AS gives "
    f"FROM pg_roles r WHERE r.rolname = current_user || '{SEES_ALL_SUFFIX}'"
)


def _quoted(role: str) -> str:
    return '"' + role.replace('"', '""') + '"'


def search_function_statements(
    tables: Iterable[str],
    state: list[dict[str, Any]],
    owner: str | None,
    schema: list[dict[str, Any]],
) -> list[str]:
    """What brings the search functions from ``state`` (rows of `SEARCH_STATE_QUERY`) to one
    per protected table of ``tables`` (those with a ``search`` column), each owned by ``owner``
    (`sees_all_role`; None: left to the application's role, which makes them) when ``schema``
    (rows of `SCHEMA_QUERY`) lets it own them: nothing when all is there already."""
    wanted = [table for table in tables if table in PROTECTED]
    found = {row["name"]: row for row in state}
    gives_owner = owner is not None and bool(schema) and schema[0]["creates"]
    changes: list[str] = []
    if owner is not None and schema and not schema[0]["creates"] and schema[0]["gives"]:
        changes.append(f"GRANT CREATE ON SCHEMA public TO {_quoted(owner)}")
        gives_owner = True
    for table in wanted:
        function = f'"{search_function(table)}"{_SEARCH_SIGNATURE}'
        row = found.get(search_function(table))
        if row is None or row["fingerprint"] != search_fingerprint(table):
            changes += [
                search_function_sql(table),
                f"COMMENT ON FUNCTION {function} IS '{search_fingerprint(table)}'",
                f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC",
                f"GRANT EXECUTE ON FUNCTION {function} TO CURRENT_USER",
            ]
        if gives_owner and (row is None or row["owner"] != owner):
            assert owner is not None
            changes.append(f"ALTER FUNCTION {function} OWNER TO {_quoted(owner)}")
    for name in found:
        if name.removeprefix(SEARCH_PREFIX) not in wanted:
            changes.append(f'DROP FUNCTION IF EXISTS "{name}"{_SEARCH_SIGNATURE}')
    return changes


# The tables whose search function the services may use: current (its fingerprint), defined
# with the owner's rights and owned by a role that reads without the policies and may read the
# table and the territories (so that no policy hides the index from it), callable by the
# application's role, and the table's trigram index there (``index_suffix``,
# `maillage.trigram.SUFFIX`: without it the function would read the whole table, where the
# policy's plan reads the user's rows). A function of the application's role (no such role, a
# restore before `maillage migrate`) or behind its rule: left out, the services search as before.
def usable_search_query(index_suffix: str) -> str:
    name = f"substr(p.proname, {len(SEARCH_PREFIX) + 1})"
    return (
        f"SELECT {name}::text AS \"table\", obj_description(p.oid, 'pg_proc') AS fingerprint "
        "FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner "
        "JOIN pg_class c ON c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' "
        f"AND c.relname = {name} "
        "WHERE p.pronamespace = 'public'::regnamespace "
        f"AND p.proname LIKE '{SEARCH_PREFIX.replace('_', chr(92) + '_')}%' "
        "AND p.prosecdef AND r.rolbypassrls AND has_function_privilege(p.oid, 'EXECUTE') "
        "AND has_table_privilege(r.oid, c.oid, 'SELECT') "
        "AND has_table_privilege(r.oid, 'public.territory', 'SELECT') "
        "AND EXISTS (SELECT 1 FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid "
        f"WHERE i.indrelid = c.oid AND x.relname = c.relname || '{index_suffix}')"
    )


def usable_searches(rows: list[dict[str, Any]]) -> frozenset[str]:
    """The tables of the rows of `usable_search_query` whose function is current."""
    return frozenset(
        row["table"]
        for row in rows
        if row["table"] in PROTECTED
        and row["table"] not in SEARCHED_UNDER_THE_POLICY
        and row["fingerprint"] == search_fingerprint(row["table"])
    )
