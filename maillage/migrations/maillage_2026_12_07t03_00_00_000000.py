"""Row-level security of the local tables on PostgreSQL (#20): the functions the policies read.

The policies themselves follow ``maillage.row_security.PROTECTED`` and are brought up to date
by ``maillage migrate`` after the migrations (``db.sync_row_security``): a table added to that
list later gets its policy without a migration of its own. Nothing on SQLite, which has no
row-level security (the service layer is the only barrier there).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "row-level security: the setting of the territories (PostgreSQL)"

# No setting (psql, a tool), an empty one or anything but a list: no local row.
POSTGRES = [
    "CREATE OR REPLACE FUNCTION maillage_sees_every_territory() RETURNS boolean "
    "LANGUAGE sql STABLE PARALLEL SAFE AS "
    "$$ SELECT coalesce(current_setting('maillage.territories', true), '') = '*' $$",
    "CREATE OR REPLACE FUNCTION maillage_territories() RETURNS integer[] "
    "LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT CASE "
    "WHEN coalesce(current_setting('maillage.territories', true), '') LIKE '{%}' "
    "THEN current_setting('maillage.territories', true)::integer[] "
    "ELSE '{}'::integer[] END $$",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def functions():
        from piccolo.engine.sqlite import SQLiteEngine

        from maillage.db import current_engine

        engine = current_engine()
        if isinstance(engine, SQLiteEngine):
            return
        for statement in POSTGRES:
            await engine.run_ddl(statement)

    manager.add_raw(functions)
    return manager
