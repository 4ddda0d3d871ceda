"""Move the outbox's bytes to ``outbox_content`` and drop ``outbox_message.raw_message``.

The copy runs first (Piccolo runs a migration's raw steps before its column operations), in the
migration's transaction: a failure leaves both tables as they were. SQLite drops a column from
3.35 on; an older library (Python linked to Debian 11's 3.34, say) keeps the column, emptied.
"""

import sqlite3

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T19:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox bytes moved to outbox_content"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def copy_contents():
        from maillage.db import current_engine

        await current_engine().run_ddl(
            "INSERT INTO outbox_content (message, content) "
            "SELECT id, raw_message FROM outbox_message ORDER BY id"
        )

    manager.add_raw(copy_contents)
    from maillage.db import is_sqlite

    if is_sqlite() and sqlite3.sqlite_version_info < (3, 35, 0):

        async def empty_old_column():
            from maillage.db import current_engine

            await current_engine().run_ddl("UPDATE outbox_message SET raw_message = ''")

        manager.add_raw(empty_old_column)
        return manager
    manager.drop_column(
        table_class_name="OutboxMessage",
        tablename="outbox_message",
        column_name="raw_message",
        db_column_name="raw_message",
        schema=None,
    )
    return manager
