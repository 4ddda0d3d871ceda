"""An index on the end of meetings (#20).

The dashboard's « réunions récemment tenues » are the meetings over in the last weeks
(``ends_at`` between 60 days ago and now). For an administrator they are read in one statement
from the latest (`crm.dashboard._held_to_follow_up`): without an index on ``ends_at``, it
walked the meetings by start, from now back to the first one ever held (41,520 meetings read on
ten départements when none was left to follow up); with it, it reads the weeks asked for.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-10T02:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index on meeting.ends_at"

STATEMENTS = ["CREATE INDEX IF NOT EXISTS meeting_ends_at ON meeting (ends_at)"]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def create_indexes():
        from maillage.db import current_engine

        engine = current_engine()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
