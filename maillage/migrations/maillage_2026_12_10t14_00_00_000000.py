"""No index of the partners and people by ``archived`` alone on PostgreSQL (#20).

Two indexes lead with ``archived`` already, ``(archived, territory)`` and the list's order
``(archived, name, id)``. With the one-column index beside them, PostgreSQL planned the scoped
lists' generic statements (`row_security.GENERIC_PLANS`) along it: a Caf adviser's count of
their territories' 4,608 contacts read the 14,824 not archived of the whole département and
tested each (11 ms under the policies, against 0.6 ms through ``(territory, archived)``), and
the page did the same (bench/README.md « The partners' lists off the archived index », #20).
Dropped on PostgreSQL only: SQLite's planner, tuned for #16, keeps its indexes. The bodies'
``working_group_archived`` stays: no other index of theirs leads with ``archived``.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-10T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "no index of organisations and contacts by archived alone (PostgreSQL)"

STATEMENTS = [
    "DROP INDEX IF EXISTS contact_archived",
    "DROP INDEX IF EXISTS organisation_archived",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def off_the_archived_index():
        from piccolo.engine.sqlite import SQLiteEngine

        from maillage.db import current_engine

        engine = current_engine()
        if isinstance(engine, SQLiteEngine):
            return
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(off_the_archived_index)
    return manager
