"""Row-level security of the partners (#20): organisations, contacts, affiliations and
partnerships under the policies too (PostgreSQL only).

Organisations and contacts carry their own ``territory``. An affiliation is seen when its contact
and its organisation both are, a partnership when both its organisations are
(``maillage.crm.registry``): each gets a copy of the territory of each of its two parents,
``territory`` (the contact's; the organisation's) and ``organisation_territory`` or
``partner_territory``, kept right by triggers as in migration ``2026-12-07T09:00:00``, so
that their policies are a test on the row (``maillage.row_security``, brought up to date by
``maillage migrate`` after this migration).

A child hung under a parent the writer cannot see gets no territory: the write is refused. The
copies are carried down, when a contact or an organisation changes territory, by a function
that sees every row (it sets ``maillage.territories`` to ``*`` for its own statements and
puts it back): a copy left behind on a row the writer does not see would hide the row from
the territory it now belongs to.

A SIRET is unique in the whole instance: under the policy, a scoped write no longer sees the
other territory's organisation that holds it, so ``maillage_siret_taken`` answers whether any
organisation holds it (a yes or no, no row), for the same neutral field error as before.
``maillage_tie_territories`` gives the territories of people's ties, all of them, which
decide where a contact belongs (``maillage.crm.scope.tie_territories``): a scoped write
must not take a shared person into its territory because it does not see their other ties.

Nothing on SQLite (no row-level security there).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-08T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = (
    "partners under row-level security: territories copied onto affiliations, partnerships"
)

# (child, its key to the parent, the parent, the column of the copy), parents first.
COPIES = [
    ("affiliation", "contact", "contact", "territory"),
    ("affiliation", "organisation", "organisation", "organisation_territory"),
    ("partnership", "organisation", "organisation", "territory"),
    ("partnership", "partner", "organisation", "partner_territory"),
]
# Around what must see every row: the setting for the rest of the statement only (a
# function's own ``SET`` clause on a custom setting needs a superuser's grant).
SEE_EVERY = "PERFORM set_config('maillage.territories', '*', true);"
RESTORE = "PERFORM set_config('maillage.territories', coalesce(before, ''), true);"
DECLARE = "DECLARE before text := current_setting('maillage.territories', true);"


def _copy_function(child: str, copies: list[tuple[str, str, str]]) -> str:
    body = " ".join(
        f"IF NEW.{key} IS NULL THEN NEW.{copy} := NULL; ELSE "
        f"SELECT p.territory INTO NEW.{copy} FROM {parent} p WHERE p.id = NEW.{key}; "
        f"IF NOT FOUND THEN RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', "
        f"MESSAGE = '{parent} ' || NEW.{key} || ' invisible pour cette écriture ({child})'; "
        f"END IF; END IF;"
        for key, parent, copy in copies
    )
    return (
        f"CREATE OR REPLACE FUNCTION maillage_{child}_territory() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NEW; END $$"
    )


def _propagate_function(parent: str, children: list[tuple[str, str, str]]) -> str:
    updates = " ".join(
        f"UPDATE {child} SET {copy} = NEW.territory WHERE {key} = NEW.id "
        f"AND {copy} IS DISTINCT FROM NEW.territory;"
        for child, key, copy in children
    )
    return (
        f"CREATE OR REPLACE FUNCTION maillage_{parent}_territory_moved() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ {DECLARE} BEGIN {SEE_EVERY} {updates} {RESTORE} RETURN NULL; END $$"
    )


FUNCTIONS = [
    # Whether another organisation holds the SIRET, wherever it is (a boolean, no row).
    "CREATE OR REPLACE FUNCTION maillage_siret_taken(wanted text, other_than integer) "
    f"RETURNS boolean LANGUAGE plpgsql AS $$ {DECLARE} taken boolean; BEGIN {SEE_EVERY} "
    "SELECT EXISTS (SELECT 1 FROM organisation WHERE siret = wanted "
    f"AND id IS DISTINCT FROM other_than) INTO taken; {RESTORE} RETURN taken; END $$",
    # The territory of every tie of the people given (the rule of maillage.crm.scope).
    "CREATE OR REPLACE FUNCTION maillage_tie_territories(people integer[]) "
    "RETURNS TABLE (contact integer, territory integer) LANGUAGE plpgsql AS $$ "
    f"{DECLARE} BEGIN {SEE_EVERY} RETURN QUERY SELECT a.contact, o.territory FROM affiliation a "
    "JOIN organisation o ON o.id = a.organisation WHERE a.contact = ANY (people) "
    "UNION ALL SELECT m.contact, w.territory FROM membership m JOIN working_group w "
    f"ON w.id = m.working_group WHERE m.contact = ANY (people); {RESTORE} END $$",
]


# The count of a list (its « total ») from the index alone: the policy reads ``territory``,
# which the list-order indexes do not hold, and the count read the whole table instead (1,314
# pages for the contacts of a département against 16; bench/README.md).
INDEXES = [
    "CREATE INDEX IF NOT EXISTS organisation_archived_territory "
    "ON organisation (archived, territory)",
    "CREATE INDEX IF NOT EXISTS contact_archived_territory ON contact (archived, territory)",
]


def postgres_statements() -> list[str]:
    statements: list[str] = []
    children: dict[str, list[tuple[str, str, str]]] = {}
    for child, key, parent, copy in COPIES:
        children.setdefault(child, []).append((key, parent, copy))
        statements += [
            f"ALTER TABLE {child} ADD COLUMN IF NOT EXISTS {copy} integer",
            f"UPDATE {child} c SET {copy} = p.territory FROM {parent} p "
            f"WHERE p.id = c.{key} AND c.{copy} IS DISTINCT FROM p.territory",
            f"CREATE INDEX IF NOT EXISTS {child}_{copy} ON {child} ({copy})",
        ]
    for child, copies in children.items():
        columns = ", ".join([key for key, _, _ in copies] + [copy for _, _, copy in copies])
        statements += [
            _copy_function(child, copies),
            f"DROP TRIGGER IF EXISTS maillage_territory ON {child}",
            # Also on a write of a copy itself: a copy is always its parent's.
            f"CREATE TRIGGER maillage_territory BEFORE INSERT OR UPDATE OF {columns} "
            f"ON {child} FOR EACH ROW EXECUTE FUNCTION maillage_{child}_territory()",
        ]
    parents: dict[str, list[tuple[str, str, str]]] = {}
    for child, key, parent, copy in COPIES:
        parents.setdefault(parent, []).append((child, key, copy))
    for parent, kin in parents.items():
        statements += [
            _propagate_function(parent, kin),
            f"DROP TRIGGER IF EXISTS maillage_territory_moved ON {parent}",
            f"CREATE TRIGGER maillage_territory_moved AFTER UPDATE OF territory ON {parent} "
            "FOR EACH ROW WHEN (OLD.territory IS DISTINCT FROM NEW.territory) "
            f"EXECUTE FUNCTION maillage_{parent}_territory_moved()",
        ]
    return statements + INDEXES + FUNCTIONS


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
