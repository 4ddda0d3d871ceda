"""The invitations' policy as an index condition (#20, PostgreSQL).

The policy of ``invitation`` tested the row's copy of its meeting's territory, ``(territory
= ANY (…)) IS NOT FALSE``: true for a shared row, and for ``*`` (a NULL array). No index
can take that test, so PostgreSQL read every invitation a list's own clause found and tested
each: a Caf adviser's 28,589 invitations counted at ×2 the superuser's cost, the whole request
×1.22–1.37 (bench/README.md « The invitations' policy as an index condition »).

Each invitation now carries ``seen``, ``coalesce(territory, 0)``, a stored generated column
(computed by PostgreSQL after the triggers that copy the territory, on every insert and
update: nothing else writes it), with its index. The policy becomes ``seen = ANY (keys)``
(`maillage.row_security.KEYS`, rewritten by ``maillage migrate`` after this migration) and a
scoped list asks ``seen IN (0, …)``: both are conditions of that index, and no row is tested
after it. Adding the column rewrites the table once. Nothing on SQLite (no row-level
security there).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-10T18:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "invitations carry their visibility key, indexed (PostgreSQL)"


def statements() -> list[str]:
    return [
        "ALTER TABLE invitation ADD COLUMN IF NOT EXISTS seen integer "
        "GENERATED ALWAYS AS (coalesce(territory, 0)) STORED NOT NULL",
        "CREATE INDEX IF NOT EXISTS invitation_seen ON invitation (seen)",
    ]


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
