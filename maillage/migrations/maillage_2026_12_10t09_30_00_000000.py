"""Affiliations and partnerships by the copies of their parents' territory and département
(PostgreSQL only, #20).

A scoped list of affiliations or partnerships tests, on PostgreSQL, the copies of both parents'
territory and département each row carries (migrations ``2026-12-08T01:00:00`` and
``2026-12-10T05:00:00``; `maillage.crm.resources.copied_clause`): for each parent, the rows of
the user's territories, the shared rows of no département and those of the user's
départements. Each of these is a range of an index on (territory copy, département copy), and
the two parents' ranges are intersected (``BitmapAnd``): a coordinator's list reads the rows
they see, not the whole table (every partnership of the country, 20,160, for a page of 3;
bench/README.md). These indexes replace those on the territory copy alone, which they serve
as well (their first column).

Nothing on SQLite (no copies there: the services read the parents' ids).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-10T09:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "affiliations and partnerships by their parents' territories and départements"

# (table, copy of a parent's territory, copy of its département)
COPIES = [
    ("affiliation", "territory", "departement"),
    ("affiliation", "organisation_territory", "organisation_departement"),
    ("partnership", "territory", "departement"),
    ("partnership", "partner_territory", "partner_departement"),
]


def postgres_statements() -> list[str]:
    statements = []
    for table, territory, departement in COPIES:
        statements += [
            f"CREATE INDEX IF NOT EXISTS {table}_{territory}_departement "
            f"ON {table} ({territory}, {departement})",
            f"DROP INDEX IF EXISTS {table}_{territory}",
        ]
    return statements


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def indexes():
        from piccolo.engine.sqlite import SQLiteEngine

        from maillage.db import current_engine

        engine = current_engine()
        if isinstance(engine, SQLiteEngine):
            return
        for statement in postgres_statements():
            await engine.run_ddl(statement)

    manager.add_raw(indexes)
    return manager
