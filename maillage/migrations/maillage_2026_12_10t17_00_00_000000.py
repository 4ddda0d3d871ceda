"""The partners' counts under the policies answered from their indexes (#20, PostgreSQL).

A scoped list counts its partners in halves (`resources.scope_halves`): those of the user's
territories, read along ``(territory, archived)``, and the shared ones of their départements,
read along ``(departement, archived) WHERE territory IS NULL``. The superuser answers both
from the index alone. Under the policies each row must also pass the policy, which reads
``territory`` and ``departement``: one of them was missing from each index, so every count
went to the table's rows (the Caf adviser's 4,608 contacts: 4.9 ms, against 1.0 ms from the
index, bench/README.md « The partners' counts from their indexes »). Each index now carries
the other column (``INCLUDE``), so that the policy is tested on the index's entry and the
count stays an index-only scan. Same names, same keys: what used them still does. SQLite
has no policy: its indexes are unchanged.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-10T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "partners' count indexes carry what the policies read (PostgreSQL)"

# (name, table, keys and what the index also carries, predicate)
COVERED = [
    ("contact_territory_archived", "contact", "(territory, archived) INCLUDE (departement)", ""),
    (
        "organisation_territory_archived",
        "organisation",
        "(territory, archived) INCLUDE (departement)",
        "",
    ),
    (
        "contact_shared_departement",
        "contact",
        "(departement, archived) INCLUDE (territory)",
        " WHERE territory IS NULL",
    ),
    (
        "organisation_shared_departement",
        "organisation",
        "(departement, archived) INCLUDE (territory)",
        " WHERE territory IS NULL",
    ),
]


def statements() -> list[str]:
    """Each index made again with what it carries, under its own name."""
    made: list[str] = []
    for name, table, columns, predicate in COVERED:
        made += [
            f"DROP INDEX IF EXISTS {name}",
            f"CREATE INDEX {name} ON {table} {columns}{predicate}",
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
