"""Shared partners by département under the policies too (#20): the département of each parent
copied onto affiliations and partnerships (PostgreSQL only).

An affiliation between two shared records (a Caf and its adviser) or a partnership between two
shared organisations read only the copies of their parents' territories (migration
``2026-12-08T01:00:00``): none, so every scoped user saw it through a query that forgets the
services' filter, whatever the département of its parents. Each now carries the département of
each parent too, ``departement`` (the contact's; the organisation's) and
``organisation_departement`` or ``partner_departement``, and its policy tests them as the
parents' own policies test theirs (``maillage.row_security``, brought up to date by
``maillage migrate`` right after this migration): a row under a shared parent is seen by the
territories of that parent's département, or by all when it has none.

The copies are kept by the triggers of the territory copies, which now copy both columns
(on insert, on a change of parent, on a write of a copy itself), and carried down, when an
organisation or a contact changes département (``maillage.crm.scope.settle_departements``), by
a statement trigger that sees every row (as the functions of migration ``2026-12-08T01:00:00``)
and reads the rows changed from its transition tables: a load that places 200,000
organisations updates their ties in one join, not one look-up per organisation.

Nothing on SQLite (no row-level security there: the services alone hide those rows).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-10T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "départements of the parents copied onto affiliations, partnerships (PostgreSQL)"

# (child, its key to the parent, the parent, the copy of its territory, of its département).
COPIES = [
    ("affiliation", "contact", "contact", "territory", "departement"),
    (
        "affiliation",
        "organisation",
        "organisation",
        "organisation_territory",
        "organisation_departement",
    ),
    ("partnership", "organisation", "organisation", "territory", "departement"),
    ("partnership", "partner", "organisation", "partner_territory", "partner_departement"),
]
SEE_EVERY = "PERFORM set_config('maillage.territories', '*', true);"
RESTORE = "PERFORM set_config('maillage.territories', coalesce(before, ''), true);"
DECLARE = "DECLARE before text := current_setting('maillage.territories', true);"


def _copy_function(child: str, copies: list[tuple[str, str, str, str]]) -> str:
    body = " ".join(
        f"IF NEW.{key} IS NULL THEN NEW.{territory} := NULL; NEW.{departement} := NULL; ELSE "
        f"SELECT p.territory, p.departement INTO NEW.{territory}, NEW.{departement} "
        f"FROM {parent} p WHERE p.id = NEW.{key}; "
        f"IF NOT FOUND THEN RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', "
        f"MESSAGE = '{parent} ' || NEW.{key} || ' invisible pour cette écriture ({child})'; "
        f"END IF; END IF;"
        for key, parent, territory, departement in copies
    )
    return (
        f"CREATE OR REPLACE FUNCTION maillage_{child}_territory() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NEW; END $$"
    )


def _moved_function(parent: str, children: list[tuple[str, str, str]]) -> str:
    """The départements of the parents a statement changed, carried down to their children."""
    updates = " ".join(
        f"UPDATE {child} c SET {copy} = n.departement FROM new_rows n JOIN old_rows o "
        f"ON o.id = n.id WHERE n.departement IS DISTINCT FROM o.departement "
        f"AND c.{key} = n.id AND c.{copy} IS DISTINCT FROM n.departement;"
        for child, key, copy in children
    )
    return (
        f"CREATE OR REPLACE FUNCTION maillage_{parent}_departement_moved() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ {DECLARE} BEGIN {SEE_EVERY} {updates} {RESTORE} "
        "RETURN NULL; END $$"
    )


def postgres_statements() -> list[str]:
    statements: list[str] = []
    children: dict[str, list[tuple[str, str, str, str]]] = {}
    parents: dict[str, list[tuple[str, str, str]]] = {}
    for child, key, parent, territory, departement in COPIES:
        children.setdefault(child, []).append((key, parent, territory, departement))
        parents.setdefault(parent, []).append((child, key, departement))
        # Filled before the triggers change: the old ones do not fire on these columns.
        statements += [
            f"ALTER TABLE {child} ADD COLUMN IF NOT EXISTS {departement} varchar(3)",
            f"UPDATE {child} c SET {departement} = p.departement FROM {parent} p "
            f"WHERE p.id = c.{key} AND c.{departement} IS DISTINCT FROM p.departement",
        ]
    for child, copies in children.items():
        columns = ", ".join(
            [key for key, _, _, _ in copies]
            + [territory for _, _, territory, _ in copies]
            + [departement for _, _, _, departement in copies]
        )
        statements += [
            _copy_function(child, copies),
            f"DROP TRIGGER IF EXISTS maillage_territory ON {child}",
            # Also on a write of a copy itself: a copy is always its parent's.
            f"CREATE TRIGGER maillage_territory BEFORE INSERT OR UPDATE OF {columns} "
            f"ON {child} FOR EACH ROW EXECUTE FUNCTION maillage_{child}_territory()",
        ]
    for parent, kin in parents.items():
        # A statement trigger with transition tables takes no list of columns: it runs after
        # every update of the parents, and its join keeps the rows whose département changed.
        statements += [
            _moved_function(parent, kin),
            f"DROP TRIGGER IF EXISTS maillage_departement_moved ON {parent}",
            f"CREATE TRIGGER maillage_departement_moved AFTER UPDATE ON {parent} "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION maillage_{parent}_departement_moved()",
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
