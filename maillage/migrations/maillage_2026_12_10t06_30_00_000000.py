"""Partners' départements written only where they change (PostgreSQL, #20).

``maillage_settle_departements`` (migration 2026-12-10T01:30:00) rewrote every organisation and
person it was given, changed or not, and so locked them until the end of the write: two writes
settling the same partners in another order (two memberships deleted at once, found by
Schemathesis) waited for each other until PostgreSQL ended one with « deadlock detected », a
500. The function now writes a row only when its département changes, as
`maillage.departements` does on both engines.

Built from that migration's frozen statements (a migration must not change when the code it
once called changes); nothing on SQLite (no function there).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from maillage.migrations.maillage_2026_12_10t01_30_00_000000 import (
    CONTACTS,
    DECLARE,
    ORGANISATIONS,
    RESTORE,
    SEE_EVERY,
)

ID = "2026-12-10T06:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "partners' départements written only where they change (PostgreSQL)"


def written_when_changed(update: str) -> str:
    """``UPDATE t SET departement = V WHERE {where}`` written only for the rows where V
    differs from the département they hold."""
    head, _, rest = update.partition(" SET departement = ")
    value = rest.removesuffix(" WHERE {where}")
    assert value != rest, "the frozen statement ends with its {where}"
    return (
        f"{head} SET departement = {value} WHERE ({{where}}) "
        f"AND COALESCE(departement, '') <> COALESCE({value}, '')"
    )


FUNCTION = (
    "CREATE OR REPLACE FUNCTION maillage_settle_departements(placed_organisations integer[], "
    f"placed_people integer[]) RETURNS void LANGUAGE plpgsql AS $$ {DECLARE} BEGIN {SEE_EVERY} "
    + written_when_changed(ORGANISATIONS).format(where="id = ANY (placed_organisations)")
    + "; "
    + written_when_changed(CONTACTS).format(where="id = ANY (placed_people)")
    + f"; {RESTORE} END $$"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def function():
        from piccolo.engine.sqlite import SQLiteEngine

        from maillage.db import current_engine

        engine = current_engine()
        if not isinstance(engine, SQLiteEngine):
            await engine.run_ddl(FUNCTION)

    manager.add_raw(function)
    return manager
