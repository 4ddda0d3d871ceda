"""The default list orders' indexes in French order (#16).

Lists sort names with the French collation since 2026-12-05 (« École » among the E); the indexes
of 2026-11-30 were in byte order, so every page of a list sorted the whole table again, calling
the collation some 130,000 times on a département (70 ms a page). Built with the same collation,
the index gives the pages in order.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-05T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "list order indexes in the French collation"

STATEMENTS = [
    "DROP INDEX IF EXISTS contact_list_order",
    'CREATE INDEX contact_list_order ON contact (archived, last_name COLLATE "fr-FR-x-icu", id)',
    "DROP INDEX IF EXISTS organisation_list_order",
    'CREATE INDEX organisation_list_order ON organisation (archived, name COLLATE "fr-FR-x-icu", id)',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def create_indexes():
        from maillage.db import current_engine

        engine = current_engine()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
