"""The partners' policy as an index condition (#20, PostgreSQL).

An organisation's and a contact's policy tested the row's territory and, for a shared row,
its département, two tests no index can take (true for a shared row, NULL for ``*``): a Caf
adviser's contacts list tested each of its 5,305 contacts in its three counts and its page,
×1.10–1.12 the same request without the policies on ten départements and the country
(bench/README.md « The partners' policy as an index condition »).

Each organisation and contact now carries its key of visibility, as the ties do (migration
2026-12-10T18:30:00): ``seen``, ``maillage_seen_key(territory, departement)``, a stored
generated column, indexed with ``archived`` (what every list and count of partners asks
too), counted as 50 distinct values for the planner, as the ties' keys and for the same
reason (the policy's test and the list's on one key are not independent). The policy
becomes ``seen = ANY (keys)`` (`maillage.row_security.TIE_KEYS`, rewritten by ``maillage
migrate`` after this migration), as a scoped list's clause. Adding the column rewrites both
tables once. Nothing on SQLite (no row-level security there).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-10T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "organisations and contacts carry their visibility key, indexed (PostgreSQL)"

ASSUMED_KEYS = 50  # as the ties' (migration 2026-12-10T18:30:00)


def statements() -> list[str]:
    found: list[str] = []
    for table in ("organisation", "contact"):
        found += [
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS seen integer GENERATED ALWAYS AS "
            "(maillage_seen_key(territory, departement)) STORED NOT NULL",
            f"CREATE INDEX IF NOT EXISTS {table}_seen_archived ON {table} (seen, archived)",
            f"ALTER TABLE {table} ALTER COLUMN seen SET (n_distinct = {ASSUMED_KEYS})",
            f"ANALYZE {table}",
        ]
    return found


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def keyed():
        from piccolo.engine.sqlite import SQLiteEngine

        from maillage.db import current_engine

        engine = current_engine()
        if isinstance(engine, SQLiteEngine):
            return
        for statement in statements():
            await engine.run_ddl(statement)

    manager.add_raw(keyed)
    return manager
