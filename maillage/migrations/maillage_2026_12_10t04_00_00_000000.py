"""The partners and people of a territory counted from one index (#16).

The tableau de bord counts the partners and people a scoped user sees as two counts (the
shared rows, the user's territories'), each ``archived = false AND territory …``. Without
statistics SQLite read them through the ``archived`` index, every row not archived of the
whole instance, and looked up each row's territory (3.5–7 ms for the shared contacts of the
``departement`` demo, against 0.1 ms through this index: bench/README.md, #16). An index on
both columns answers each count from the index alone, on both engines.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-10T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes of organisations and contacts by territory and archived"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS contact_territory_archived ON contact (territory, archived)",
    "CREATE INDEX IF NOT EXISTS organisation_territory_archived "
    "ON organisation (territory, archived)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def territory_archived():
        from maillage.db import current_engine

        engine = current_engine()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(territory_archived)
    return manager
