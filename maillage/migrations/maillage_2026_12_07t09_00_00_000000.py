"""Row-level security without a walk up to the parent (#20): the tables whose rows belong to
the territory of a parent row get a copy of it, kept right by triggers (PostgreSQL only).

The policies of ``meeting``, ``membership``, ``decision`` (through their body) and
``invitation`` (through its meeting) tested ``<parent> IN (the visible parents)``: PostgreSQL
keeps such a test at the scan of the protected table and read the whole table for a list of a
few rows. Each of them now carries ``territory`` (not declared in ``maillage.tables``: only the
policies read it), copied from the parent by a ``BEFORE INSERT OR UPDATE`` trigger and carried
down by an ``AFTER UPDATE`` trigger on the parent when a body (or a meeting) changes territory;
the policies become the same cheap test on the row as the tables that carry their own
(``maillage.row_security``, brought up to date by ``maillage migrate`` after this migration).

A parent the writer cannot see (row-level security) gives no territory: the write is refused,
as the policy refused it before. Nothing on SQLite (no row-level security there).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "territory copied onto meetings, memberships, decisions, invitations (PostgreSQL)"

# (child table, its key to the parent, the parent table), parents before their children.
COPIES = [
    ("meeting", "working_group", "working_group"),
    ("membership", "working_group", "working_group"),
    ("decision", "working_group", "working_group"),
    ("invitation", "meeting", "meeting"),
]


def _copy_function(child: str, key: str, parent: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION maillage_{child}_territory() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN "
        f"IF NEW.{key} IS NULL THEN NEW.territory := NULL; RETURN NEW; END IF; "
        f"SELECT p.territory INTO NEW.territory FROM {parent} p WHERE p.id = NEW.{key}; "
        f"IF NOT FOUND THEN RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', "
        f"MESSAGE = '{parent} ' || NEW.{key} || ' invisible pour cette écriture ({child})'; "
        f"END IF; RETURN NEW; END $$"
    )


def _propagate_function(parent: str, children: list[tuple[str, str]]) -> str:
    updates = " ".join(
        f"UPDATE {child} SET territory = NEW.territory WHERE {key} = NEW.id "
        f"AND territory IS DISTINCT FROM NEW.territory;"
        for child, key in children
    )
    return (
        f"CREATE OR REPLACE FUNCTION maillage_{parent}_territory_moved() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN {updates} RETURN NULL; END $$"
    )


def postgres_statements() -> list[str]:
    statements: list[str] = []
    for child, key, parent in COPIES:
        statements += [
            f"ALTER TABLE {child} ADD COLUMN IF NOT EXISTS territory integer",
            f"UPDATE {child} c SET territory = p.territory FROM {parent} p "
            f"WHERE p.id = c.{key} AND c.territory IS DISTINCT FROM p.territory",
            f"CREATE INDEX IF NOT EXISTS {child}_territory ON {child} (territory)",
            _copy_function(child, key, parent),
            f"DROP TRIGGER IF EXISTS maillage_territory ON {child}",
            # Also on a write of territory itself: the copy is always the parent's.
            f"CREATE TRIGGER maillage_territory BEFORE INSERT OR UPDATE OF {key}, territory "
            f"ON {child} FOR EACH ROW EXECUTE FUNCTION maillage_{child}_territory()",
        ]
    parents: dict[str, list[tuple[str, str]]] = {}
    for child, key, parent in COPIES:
        parents.setdefault(parent, []).append((child, key))
    for parent, children in parents.items():
        statements += [
            _propagate_function(parent, children),
            f"DROP TRIGGER IF EXISTS maillage_territory_moved ON {parent}",
            f"CREATE TRIGGER maillage_territory_moved AFTER UPDATE OF territory"
            + (", working_group" if parent == "meeting" else "")
            + f" ON {parent} FOR EACH ROW WHEN (OLD.territory IS DISTINCT FROM NEW.territory) "
            f"EXECUTE FUNCTION maillage_{parent}_territory_moved()",
        ]
    return statements


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def copies():
        from piccolo.engine.sqlite import SQLiteEngine

        from maillage.db import current_engine

        engine = current_engine()
        if isinstance(engine, SQLiteEngine):
            return
        for statement in postgres_statements():
            await engine.run_ddl(statement)

    manager.add_raw(copies)
    return manager
