"""An index of the invitations by meeting, attendance and person (#16).

The tableau de bord's charts count, per meeting held in the last twelve months, the invitations
whose attendance is noted and the people present (`crm.dashboard`). Through the index on the
meeting alone each invitation's row was read for its attendance: 36,000 rows for the
administrator of the ``departement`` demo, about 20 ms of SQLite's CPU per dashboard. This
index answers both charts from the index alone (bench/README.md, #16), on both engines.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-10T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index of invitations by meeting, attendance and contact"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS invitation_meeting_attendance "
    "ON invitation (meeting, attendance, contact)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def meeting_attendance():
        from maillage.db import current_engine

        engine = current_engine()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(meeting_attendance)
    return manager
