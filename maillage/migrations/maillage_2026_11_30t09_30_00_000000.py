"""Indexes on the foreign keys that lacked one.

Without them, deleting an invitation or a membership scans its whole table to check the rows
pointing at it (``replaces``, ``substitute``): emptying a département-sized database took an hour.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T09:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes on secondary foreign keys and on the default list orders"

STATEMENTS = [
    "CREATE INDEX membership_substitute ON membership (substitute)",
    "CREATE INDEX invitation_replaces ON invitation (replaces)",
    "CREATE INDEX app_user_contact ON app_user (contact)",
    "CREATE INDEX interaction_author ON interaction (author)",
    "CREATE INDEX action_working_group ON action (working_group)",
    # Default list orders (name then id): pages walk the index instead of sorting the table.
    "CREATE INDEX contact_list_order ON contact (archived, last_name, id)",
    "CREATE INDEX organisation_list_order ON organisation (archived, name, id)",
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
