"""An index of the invitations by person, attendance and meeting (#16).

A partner's page (`crm.views._MEETINGS_AND_TOTALS`) counts the meetings its people attended:
the invitations of each of its people whose attendance is « present ». Through the index on
the person alone each invitation's row was read for its attendance: for the Caf of the
``departement`` demo (181 people) 7 ms of SQLite's 22 ms page; 4 ms from this index alone
(bench/README.md, #16), on both engines.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-10T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index of invitations by contact, attendance and meeting"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS invitation_contact_attendance "
    "ON invitation (contact, attendance, meeting)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def contact_attendance():
        from maillage.db import current_engine

        engine = current_engine()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(contact_attendance)
    return manager
