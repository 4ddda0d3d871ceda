"""Drop the outbox's indexes that no query uses (issue #5).

Every status filter and the sender's claim go through ``outbox_message_due`` (status, then
next attempt); nothing looks messages up by creation time or next attempt alone. Each index cost
an insert when a message is queued and an update at each change of status.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz, Varchar

ID = "2026-12-04T19:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox_message: indexes covered by outbox_message_due or unused"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)
    for column_name, column_class in (
        ("created_at", Timestamptz),
        ("status", Varchar),
        ("next_attempt_at", Timestamptz),
    ):
        manager.alter_column(
            table_class_name="OutboxMessage",
            tablename="outbox_message",
            column_name=column_name,
            db_column_name=column_name,
            params={"index": False},
            old_params={"index": True},
            column_class=column_class,
            old_column_class=column_class,
            schema=None,
        )
    return manager
