"""The SEQUENCE last queued to each invitee, and the index of the sender's claim (issue #5).

Adding a nullable column is a plain ``ALTER TABLE … ADD COLUMN`` that both engines accept (unlike
Piccolo's column-altering operations on SQLite); declaring it through ``add_column`` keeps
Piccolo's migration snapshot in step with the tables.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "invitation.sent_sequence and the outbox claim index"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Invitation",
        tablename="invitation",
        column_name="sent_sequence",
        db_column_name="sent_sequence",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    async def claim_index():
        from maillage.db import current_engine

        await current_engine().run_ddl(
            "CREATE INDEX outbox_message_due ON outbox_message (status, next_attempt_at)"
        )

    manager.add_raw(claim_index)
    return manager
