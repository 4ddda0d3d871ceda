"""Shared partners by département (#20): ``departement`` filled (added by ``2026-12-10T01:00:00``).

A scoped user sees the shared organisations and contacts of the départements of their
territories and those of no département, no longer every shared record of the instance
(`maillage.departements` has the rule). The columns are derived: filled here from the
communes' INSEE codes and the records' territories, communes, parents and ties, then kept by
`maillage.crm.scope` wherever it places records. An instance of one département sees nothing
change: every shared record is of its département or of none.

PostgreSQL: ``maillage_departements()`` gives the policies the départements of the setting's
territories (the policies themselves are rewritten by ``maillage migrate`` after this migration,
from ``maillage.row_security``), and ``maillage_settle_departements`` places organisations and
people seeing every row (as ``maillage_tie_territories``: a scoped write does not see all the
ties of a person).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-10T01:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "shared partners by département: departement filled, functions (PostgreSQL)"

# Frozen copies of `maillage.departements` as of this migration.
COMMUNE_DEPARTEMENT = (
    "CASE WHEN substr(c.insee_code, 1, 2) = '97' THEN substr(c.insee_code, 1, 3) "
    "ELSE substr(c.insee_code, 1, 2) END"
)
TERRITORIES = (
    f"UPDATE territory SET departement = (SELECT {COMMUNE_DEPARTEMENT} FROM commune c "
    "WHERE c.territory = territory.id GROUP BY 1 ORDER BY COUNT(*) DESC, 1 LIMIT 1)"
)
# Only the territories that get a département, and only when there is one: a write of
# ``territory`` (shared) moves the shared counter of ``data_change`` on even when it changes
# no row, and an instance without communes must see no change counted.
CHANGED = (
    f"COALESCE(departement, '') <> COALESCE((SELECT {COMMUNE_DEPARTEMENT} "
    "FROM commune c WHERE c.territory = territory.id GROUP BY 1 ORDER BY COUNT(*) DESC, 1 "
    "LIMIT 1), '')"
)
TERRITORIES_NEEDED = f"SELECT 1 AS one FROM territory WHERE {CHANGED} LIMIT 1"
_OF_TERRITORY = "(SELECT t.departement FROM territory t WHERE t.id = {table}.territory)"
_OF_COMMUNE = (
    "(SELECT t.departement FROM commune c JOIN territory t ON t.id = c.territory "
    "WHERE c.id = {table}.commune)"
)
# Where a shared organisation without commune works: the bodies of a territory it sits in
# (a membership on its behalf), its partnerships with local organisations.
ORGANISATION_TIES = (
    "(SELECT m.organisation AS organisation, t.departement AS departement FROM membership m "
    "JOIN working_group w ON w.id = m.working_group JOIN territory t ON t.id = w.territory "
    "UNION ALL SELECT p.organisation AS organisation, o.departement AS departement "
    "FROM partnership p JOIN organisation o ON o.id = p.partner WHERE o.territory IS NOT NULL "
    "UNION ALL SELECT p.partner AS organisation, o.departement AS departement "
    "FROM partnership p JOIN organisation o ON o.id = p.organisation "
    "WHERE o.territory IS NOT NULL)"
)
ORGANISATIONS = (
    "UPDATE organisation SET departement = COALESCE("
    + _OF_TERRITORY.format(table="organisation")
    + ", "
    + _OF_COMMUNE.format(table="organisation")
    + ", (SELECT p.departement FROM organisation p WHERE p.id = organisation.parent), "
    "(SELECT CASE WHEN COUNT(*) = COUNT(x.departement) AND MIN(x.departement) = "
    f"MAX(x.departement) THEN MIN(x.departement) END FROM {ORGANISATION_TIES} x "
    "WHERE x.organisation = organisation.id)) WHERE {where}"
)
TIES = (
    "(SELECT a.contact AS contact, o.departement AS departement FROM affiliation a "
    "JOIN organisation o ON o.id = a.organisation "
    "UNION ALL SELECT m.contact AS contact, t.departement AS departement FROM membership m "
    "JOIN working_group w ON w.id = m.working_group LEFT JOIN territory t ON t.id = w.territory)"
)
CONTACTS = (
    "UPDATE contact SET departement = CASE WHEN territory IS NOT NULL THEN "
    + _OF_TERRITORY.format(table="contact")
    + f" WHEN EXISTS (SELECT 1 FROM {TIES} x WHERE x.contact = contact.id) THEN "
    "(SELECT CASE WHEN COUNT(*) = COUNT(x.departement) AND MIN(x.departement) = "
    f"MAX(x.departement) THEN MIN(x.departement) END FROM {TIES} x WHERE x.contact = contact.id) "
    "ELSE " + _OF_COMMUNE.format(table="contact") + " END WHERE {where}"
)

FILL = [
    # The local ones first: a shared one may take the département of its local partners.
    ORGANISATIONS.format(where="territory IS NOT NULL"),
    ORGANISATIONS.format(where="territory IS NULL AND parent IS NULL"),
    ORGANISATIONS.format(where="territory IS NULL AND parent IS NOT NULL"),
    CONTACTS.format(where="1 = 1"),
]
# The shared records of a département (a list's count, a scoped user's page): a range of a
# partial index led by the département, so that ``departement = ANY (…)`` bounds the scan.
INDEXES = [
    "CREATE INDEX IF NOT EXISTS organisation_shared_departement "
    "ON organisation (departement, archived) WHERE territory IS NULL",
    "CREATE INDEX IF NOT EXISTS contact_shared_departement "
    "ON contact (departement, archived) WHERE territory IS NULL",
]

SEE_EVERY = "PERFORM set_config('maillage.territories', '*', true);"
RESTORE = "PERFORM set_config('maillage.territories', coalesce(before, ''), true);"
DECLARE = "DECLARE before text := current_setting('maillage.territories', true);"

POSTGRES = [
    # The départements of the setting's territories (the policies of organisation and contact).
    "CREATE OR REPLACE FUNCTION maillage_departements() RETURNS text[] "
    "LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT coalesce(array_agg(DISTINCT "
    "departement::text) FILTER (WHERE departement IS NOT NULL), '{}'::text[]) FROM territory "
    "WHERE id = ANY (maillage_territories()) $$",
    "CREATE OR REPLACE FUNCTION maillage_settle_departements(placed_organisations integer[], "
    f"placed_people integer[]) RETURNS void LANGUAGE plpgsql AS $$ {DECLARE} BEGIN {SEE_EVERY} "
    + ORGANISATIONS.format(where="id = ANY (placed_organisations)")
    + "; "
    + CONTACTS.format(where="id = ANY (placed_people)")
    + f"; {RESTORE} END $$",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def fill():
        from piccolo.engine.sqlite import SQLiteEngine

        from maillage.db import current_engine

        engine = current_engine()
        statements = FILL + INDEXES
        if await engine.run_ddl(TERRITORIES_NEEDED):
            statements = [f"{TERRITORIES} WHERE {CHANGED}", *statements]
        if not isinstance(engine, SQLiteEngine):
            statements += POSTGRES
        for statement in statements:
            await engine.run_ddl(statement)

    manager.add_raw(fill)
    return manager
