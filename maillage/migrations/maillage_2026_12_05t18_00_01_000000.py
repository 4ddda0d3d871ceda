"""One record per register key (#18): unique ``source_ref`` of organisations and affiliations.

NULL (what people typed) is never equal to NULL on either engine, so plain unique indexes
compare register keys only.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-05T18:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique source_ref of organisations and affiliations"

STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS organisation_source_ref ON organisation (source_ref)",
    "CREATE UNIQUE INDEX IF NOT EXISTS affiliation_source_ref ON affiliation (source_ref)",
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
