"""Every write of a content table counts (#20): triggers add one to ``data_change`` for the
territories of the rows written, on SQLite and on PostgreSQL alike, so that imports, raw SQL
and every service path change the data version the memoised answers are keyed by
(``maillage.crm.versions``).

The territories of a row (`SOURCES`): its own (``territory``, none: 0, the shared counter),
the territory of its commune (the people and organisations of a territory's communes are read
with it, wherever their own territory is), and those of its parents (a membership counts for
its body's, its person's and the organisation represented). The shared reference data
(territories, communes, axes, indicators, consultations per theme) counts for 0. An update
counts for the territories before and after: a row moved from A to B changes both. A delete
counts (a row deleted with its parent in cascade finds no parent any more: the parent's own
delete counted for it).

PostgreSQL: one statement trigger per event reads the rows written from its transition tables
(an import of 100,000 rows pays one look-up per parent, not one trigger per row), sees every
row for the look-ups (``maillage.territories`` set to ``*`` for its statements, as the
functions of migration ``2026-12-08T01:00:00``: a scoped writer's membership counts for the
shared person it names) and adds one to each counter in the order of the territories (two
writers of several territories take the rows in the same order). SQLite: row triggers.

Contention: a writer holds its territories' counter rows until it commits, so that two
writers of one territory take turns from their first write to their commit. Writes are short
and a territory has few writers; writers of other territories do not wait (SQLite has a single
writer anyway). Writes of shared data take the shared row: the host team's.

Also here: the copies of territory of migration ``2026-12-07T09:00:00`` are carried down when
a body or a meeting changes territory by functions that see every row, as those of migration
``2026-12-08T01:00:00``: under the writer's visibility, a copy the writer did not see (left
behind by a write that ran at the same time) stayed behind, and the row with it.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-09T01:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "data_change counted by triggers; territory copies carried down seeing every row"

SHARED = "shared"
OWN = "own"


def via(key: str, parent: str) -> tuple[str, str, str]:
    return ("via", key, parent)


# Whom each content table's rows are visible to: their own territory, or their parents' (the
# rule of the policies, ``maillage.row_security``, and of the services), 0 for shared
# reference data. A row counts for the territories of its sources; a row whose sources are all
# shared counts for 0 (an affiliation of a shared person to a town hall of A: for A only).
SOURCES: dict[str, list[object]] = {
    "territory": [SHARED],
    "commune": [SHARED],
    "commune_childcare": [SHARED],
    "commune_indicator": [SHARED],
    "axis": [SHARED],
    "consultation": [SHARED],
    "organisation": [OWN],
    "contact": [OWN],
    "working_group": [OWN],
    "interaction": [OWN],
    "action": [OWN],
    "organisation_axis": [via("organisation", "organisation")],
    "contact_axis": [via("contact", "contact")],
    "affiliation": [via("contact", "contact"), via("organisation", "organisation")],
    "group_axis": [via("working_group", "working_group")],
    "group_commune": [via("working_group", "working_group")],
    "membership": [via("working_group", "working_group")],
    "meeting": [via("working_group", "working_group")],
    "invitation": [via("meeting", "meeting")],
    "decision": [via("working_group", "working_group")],
    "partnership": [via("organisation", "organisation"), via("partner", "organisation")],
    "partnership_axis": [via("partnership", "partnership")],
    "interaction_organisation": [via("interaction", "interaction")],
    "interaction_contact": [via("interaction", "interaction")],
    "action_partner": [via("action", "action")],
    "inhabitant_registration": [via("meeting", "meeting")],
    "consultation_question": [via("meeting", "meeting"), via("consultation", "consultation")],
    "consultation_answer": [via("meeting", "meeting"), via("consultation", "consultation")],
}
# Also counted for the territory of their commune, when it has one: the people and the
# organisations living in a territory's communes are read with it (a network), wherever
# their own territory is (without row-level security, on SQLite, a scoped reader reads them).
PLACED = ("organisation", "contact")


def expressions(table: str, alias: str, depth: int = 0) -> list[str]:
    """The sources of the row ``alias`` of ``table``, one expression each: a territory, 0 for
    shared, NULL when the row has no such parent (a key left empty, a parent deleted)."""
    found: list[str] = []
    for source in SOURCES[table]:
        if source == SHARED:
            found.append("0")
        elif source == OWN:
            found.append(f"coalesce({alias}.territory, 0)")
        else:
            _, key, parent = source  # type: ignore[misc]
            p = f"p{depth}"
            found += [
                f"(SELECT {inner} FROM {parent} {p} WHERE {p}.id = {alias}.{key})"
                for inner in expressions(parent, p, depth + 1)
            ]
    return found


def counted(table: str, values: list[str]) -> list[str]:
    """Given the ``values`` of the sources of a row (names of columns holding them), what the
    row counts for, one expression each (NULL: nothing): a territory, or 0 when every source
    is shared; then its commune's territory."""
    chosen = []
    for index, value in enumerate(values):
        others = [f"coalesce({other}, 0) = 0" for i, other in enumerate(values) if i != index]
        shared = " AND ".join([f"{value} = 0", *others])
        chosen.append(f"CASE WHEN {value} > 0 OR ({shared}) THEN {value} END")
    return chosen


def placed(table: str, alias: str) -> list[str]:
    if table not in PLACED:
        return []
    return [f"(SELECT c.territory FROM commune c WHERE c.id = {alias}.commune)"]


def shared_only(table: str) -> bool:
    return SOURCES[table] == [SHARED]


# ----- PostgreSQL ---------------------------------------------------------------------------

SEE_EVERY = "PERFORM set_config('maillage.territories', '*', true);"
RESTORE = "PERFORM set_config('maillage.territories', coalesce(before, ''), true);"
DECLARE = "DECLARE before text := current_setting('maillage.territories', true);"

# One more to each territory's counter, in the order of the territories; a counter's first
# write creates its row. Once per transaction: its writes are seen together, at its commit,
# and a counter row updated again in the same transaction leaves one more version behind to
# walk through (2,000 single-row statements in one transaction took seconds). The territories
# done are kept in a setting of the transaction (put back with a savepoint rolled back).
BUMP_FUNCTION = (
    "CREATE OR REPLACE FUNCTION maillage_data_changed(territories integer[]) RETURNS void "
    "LANGUAGE plpgsql AS $$ DECLARE one integer; "
    "done text := coalesce(current_setting('maillage.data_changed', true), ''); BEGIN "
    "FOR one IN SELECT DISTINCT t FROM unnest(territories) t WHERE t IS NOT NULL ORDER BY t LOOP "
    "IF position(',' || one || ',' IN done) > 0 THEN CONTINUE; END IF; "
    "UPDATE data_change SET counter = counter + 1 WHERE territory = one; "
    "IF NOT FOUND THEN INSERT INTO data_change (territory, counter) VALUES (one, 1) "
    "ON CONFLICT (territory) DO UPDATE SET counter = data_change.counter + 1; END IF; "
    "done := done || ',' || one || ','; "
    "END LOOP; PERFORM set_config('maillage.data_changed', done, true); END $$"
)


def _rows_query(table: str, rows: str) -> str:
    """The territories the rows of the transition table ``rows`` count for."""
    found = expressions(table, "r")
    names = [f"x.s{i}" for i in range(len(found))]
    sources = ", ".join(f"{e} AS s{i}" for i, e in enumerate(found))
    values = ", ".join(f"({e})" for e in counted(table, names) + placed(table, "r"))
    # Each parent looked up once for all the rows naming it (an import of a meeting's 100
    # invitations: one look-up of the meeting and its body, not one per invitation).
    keys = [source[1] for source in SOURCES[table] if isinstance(source, tuple)]
    keys += ["territory"] * (OWN in SOURCES[table]) + ["commune"] * (table in PLACED)
    distinct = f"(SELECT DISTINCT {', '.join(keys)} FROM {rows})"
    if len(found) == 1 and table not in PLACED:  # most tables: a plan quicker to make
        return f"SELECT {found[0]} FROM {distinct} r"
    return (
        f"SELECT v.t FROM {distinct} r CROSS JOIN LATERAL (SELECT {sources}) x "
        f"CROSS JOIN LATERAL (VALUES {values}) v(t) WHERE v.t IS NOT NULL"
    )


def _function(table: str) -> str:
    if shared_only(table):
        body = "PERFORM maillage_data_changed(ARRAY[0]);"
    else:
        new, old = _rows_query(table, "new_rows"), _rows_query(table, "old_rows")
        body = (
            f"{SEE_EVERY} IF TG_OP = 'INSERT' THEN PERFORM maillage_data_changed(ARRAY({new})); "
            f"ELSIF TG_OP = 'DELETE' THEN PERFORM maillage_data_changed(ARRAY({old})); "
            f"ELSE PERFORM maillage_data_changed(ARRAY({new} UNION ALL {old})); END IF; {RESTORE}"
        )
    return (
        f"CREATE OR REPLACE FUNCTION maillage_changed_{table}() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ {DECLARE} BEGIN {body} RETURN NULL; END $$"
    )


TRANSITIONS = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
}


def _postgres_triggers(table: str) -> list[str]:
    statements = [_function(table)]
    if shared_only(table):
        return [
            *statements,
            f"DROP TRIGGER IF EXISTS maillage_changed ON {table}",
            f"CREATE TRIGGER maillage_changed AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION maillage_changed_{table}()",
        ]
    for event, transition in TRANSITIONS.items():
        statements += [
            f"DROP TRIGGER IF EXISTS maillage_changed_{event} ON {table}",
            f"CREATE TRIGGER maillage_changed_{event} AFTER {event.upper()} ON {table} "
            f"{transition} FOR EACH STATEMENT EXECUTE FUNCTION maillage_changed_{table}()",
        ]
    return statements


# The copies of migration 2026-12-07T09:00:00, carried down seeing every row.
MOVED = {
    "working_group": [
        ("meeting", "working_group"),
        ("membership", "working_group"),
        ("decision", "working_group"),
    ],
    "meeting": [("invitation", "meeting")],
}


def _moved_function(parent: str, children: list[tuple[str, str]]) -> str:
    updates = " ".join(
        f"UPDATE {child} SET territory = NEW.territory WHERE {key} = NEW.id "
        f"AND territory IS DISTINCT FROM NEW.territory;"
        for child, key in children
    )
    return (
        f"CREATE OR REPLACE FUNCTION maillage_{parent}_territory_moved() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ {DECLARE} BEGIN {SEE_EVERY} {updates} {RESTORE} "
        "RETURN NULL; END $$"
    )


def postgres_statements() -> list[str]:
    statements = [BUMP_FUNCTION]
    for table in SOURCES:
        statements += _postgres_triggers(table)
    statements += [_moved_function(parent, children) for parent, children in MOVED.items()]
    return statements


# ----- SQLite -------------------------------------------------------------------------------


def _sqlite_bump(aliases: list[str], table: str) -> str:
    selects = []
    for alias in aliases:
        found = expressions(table, alias)
        names = [f"s{i}" for i in range(len(found))]
        sources = ", ".join(f"{e} AS s{i}" for i, e in enumerate(found))
        selects += [
            f"SELECT {value} AS t FROM (SELECT {sources})" for value in counted(table, names)
        ]
        selects += [f"SELECT {value} AS t" for value in placed(table, alias)]
    return (
        "INSERT INTO data_change (territory, counter) SELECT DISTINCT t, 1 FROM ("
        + " UNION ".join(selects)
        + ") WHERE t IS NOT NULL ON CONFLICT (territory) DO UPDATE SET counter = counter + 1;"
    )


def sqlite_statements() -> list[str]:
    statements: list[str] = []
    for table in SOURCES:
        for event, aliases in (
            ("insert", ["NEW"]),
            ("update", ["NEW", "OLD"]),
            ("delete", ["OLD"]),
        ):
            name = f"maillage_changed_{table}_{event}"
            statements += [
                f"DROP TRIGGER IF EXISTS {name}",
                f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} FOR EACH ROW BEGIN "
                f"{_sqlite_bump(aliases, table)} END",
            ]
    return statements


# Every counter starts at 1: the shared one and those of the territories there are.
START = (
    "INSERT INTO data_change (territory, counter) SELECT 0, 1 WHERE true "
    "UNION SELECT id, 1 FROM territory WHERE true ON CONFLICT (territory) DO NOTHING"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def counters():
        from piccolo.engine.sqlite import SQLiteEngine

        from maillage.db import current_engine

        engine = current_engine()
        sqlite = isinstance(engine, SQLiteEngine)
        for statement in sqlite_statements() if sqlite else postgres_statements():
            await engine.run_ddl(statement)
        await engine.run_ddl(START)

    manager.add_raw(counters)
    return manager
