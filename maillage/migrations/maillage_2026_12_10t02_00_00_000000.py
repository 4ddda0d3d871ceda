"""PostgreSQL: the ``pg_trgm`` extension, for trigram indexes on the search columns (#20).

A search matches each word with ``search LIKE '%mot%'``, which no B-tree answers: an
administrator's search read the whole table. ``pg_trgm`` is trusted since PostgreSQL 13, so the
database's owner (the application's role) may create it. When it cannot (the extension is not
installed on the server, or the role does not own the database), the statement's own block
catches the error and raises a warning: the migration succeeds, the searches work as before
(reading the tables), and ``maillage migrate`` says what to ask the server's administrator.

The indexes themselves (``<table>_search_trgm``, GIN ``gin_trgm_ops`` on ``search``) are built
right after the migrations by ``db.sync_search_indexes``, on every ``maillage migrate``: so
they also come when the extension is created later by hand. SQLite is unchanged.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-10T02:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "pg_trgm for the search columns' trigram indexes (PostgreSQL)"

# Kept here as written at this migration's date (`maillage.trigram.CREATE_EXTENSION`).
CREATE_EXTENSION = (
    "DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS pg_trgm; "
    "EXCEPTION WHEN OTHERS THEN RAISE WARNING 'extension pg_trgm : %', SQLERRM; END $$"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def trigrams():
        from piccolo.engine.sqlite import SQLiteEngine

        from maillage.db import current_engine

        engine = current_engine()
        if isinstance(engine, SQLiteEngine):
            return
        await engine.run_ddl(CREATE_EXTENSION)

    manager.add_raw(trigrams)
    return manager
