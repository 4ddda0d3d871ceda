"""Keep the outbox's bytes uncompressed on PostgreSQL (issue #5).

A message is 7 to 10 kB of base64 and quoted-printable text, which compresses poorly:
PostgreSQL compressed each one (pglz) as it was queued and decompressed it at each claim, about
a fifth of the database's CPU while a thousand invitations were queued and sent, on the cores
the mail relay needs. ``STORAGE EXTERNAL`` keeps large values out of line, as they are. Rows
already stored stay as they are. SQLite stores values uncompressed already.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T22:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox_content.content stored uncompressed on PostgreSQL"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)
    from maillage.db import is_sqlite

    if not is_sqlite():

        async def store_uncompressed():
            from maillage.db import current_engine

            await current_engine().run_ddl(
                "ALTER TABLE outbox_content ALTER COLUMN content SET STORAGE EXTERNAL"
            )

        manager.add_raw(store_uncompressed)
    return manager
