"""The partners' third count index carries what the policies read (#20, PostgreSQL).

Migration 2026-12-10T17:00 gave the two indexes of a scoped count's halves the column the
policy reads besides their keys. On some statistics PostgreSQL counts the shared half along
``(archived, territory)`` instead (the test suite's database did, in CI), and that index did
not hold ``departement``: the count then read each row again for the policy. It now carries
it too (``INCLUDE``), under the same name and keys. SQLite has no policy: unchanged.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-10T17:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "partners' (archived, territory) indexes carry the département (PostgreSQL)"

COVERED = [
    ("contact_archived_territory", "contact"),
    ("organisation_archived_territory", "organisation"),
]


def statements() -> list[str]:
    """Each index made again with the département, under its own name."""
    made: list[str] = []
    for name, table in COVERED:
        made += [
            f"DROP INDEX IF EXISTS {name}",
            f"CREATE INDEX {name} ON {table} (archived, territory) INCLUDE (departement)",
        ]
    return made


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def covered():
        from piccolo.engine.sqlite import SQLiteEngine

        from maillage.db import current_engine

        engine = current_engine()
        if isinstance(engine, SQLiteEngine):
            return
        for statement in statements():
            await engine.run_ddl(statement)

    manager.add_raw(covered)
    return manager
