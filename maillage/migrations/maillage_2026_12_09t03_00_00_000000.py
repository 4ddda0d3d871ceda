"""The contacts whose address bounced, found without reading the others (#20).

The dashboard lists the latest bounced addresses the user sees: read through the territory
index, that is every contact the user sees (the shared ones of every département included) to
keep the few with a bounce. A partial index holds only the bounced ones (both engines).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-09T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "partial index of the contacts whose address bounced"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS contact_bounced ON contact (email_bounced_at) "
    "WHERE email_bounced_at IS NOT NULL",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def bounced():
        from maillage.db import current_engine

        engine = current_engine()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(bounced)
    return manager
