"""Calendar messages to review, counter-proposals, absences (#19).

- ``inbound_item``: what the mailbox reader could not attach by itself and shows on the meeting
  page: an answer from an address that is no invitee's, a delegation to an unknown person
  (« a_rattacher »), or a proposed new time (« contre_proposition », never applied by itself);
  ``status`` goes from « ouvert » to « rattache » or « ignore »;
- ``invitation.absent_until``: the return date an automatic reply gave.

Only a new table and a nullable column: both engines take them as they are.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "inbound_item, invitation.absent_until"

COLUMNS = (
    "meeting INTEGER NULL REFERENCES meeting (id) ON DELETE CASCADE{update}, "
    "kind VARCHAR(20) NOT NULL DEFAULT 'a_rattacher', "
    "status VARCHAR(20) NOT NULL DEFAULT 'ouvert', "
    "sender VARCHAR(254) NOT NULL DEFAULT '', "
    "sender_name VARCHAR(200) NOT NULL DEFAULT '', "
    "on_behalf_of VARCHAR(254) NOT NULL DEFAULT '', "
    "response VARCHAR(20) NOT NULL DEFAULT 'en_attente', "
    "comment TEXT NOT NULL DEFAULT '', "
    "reason TEXT NOT NULL DEFAULT '', "
    "message_key VARCHAR(255) NOT NULL DEFAULT '', "
    "message_date TIMESTAMPTZ NULL, "
    "proposed_start TIMESTAMPTZ NULL, "
    "proposed_end TIMESTAMPTZ NULL, "
    "invitation INTEGER NULL REFERENCES invitation (id) ON DELETE SET NULL{update}, "
    "created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP, "
    "resolved_at TIMESTAMPTZ NULL, "
    "resolved_by VARCHAR(254) NULL)"
)
SQLITE = [
    "CREATE TABLE inbound_item (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    + COLUMNS.format(update=""),
    "ALTER TABLE invitation ADD COLUMN absent_until DATE NULL",
]
POSTGRES = [
    "CREATE TABLE inbound_item (id SERIAL PRIMARY KEY, "
    + COLUMNS.format(update=" ON UPDATE CASCADE"),
    "ALTER TABLE invitation ADD COLUMN absent_until DATE NULL",
]
BOTH = [
    "CREATE INDEX inbound_item_meeting ON inbound_item (meeting, status)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def create():
        from piccolo.engine.sqlite import SQLiteEngine

        from maillage.db import current_engine

        engine = current_engine()
        first = SQLITE if isinstance(engine, SQLiteEngine) else POSTGRES
        for statement in first + BOTH:
            await engine.run_ddl(statement)

    manager.add_raw(create)
    return manager
