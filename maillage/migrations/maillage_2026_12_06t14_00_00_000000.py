"""Territories of users and of records (#20).

``user_territory`` holds a user's role on each territory they work on; a user without any keeps
the role of their account on every territory, so an existing instance sees no change. Fiches
action and exchanges get a ``territory`` (bodies already had one; meetings, invitations,
decisions and memberships follow their body). On an instance with a single territory,
everything that has none goes to it, with no manual step; with several, a fiche action follows
its body, and what cannot be placed stays shared (visible to all, as before).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-06T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "user_territory, territory of fiches action and exchanges"

REFERENCE = "INTEGER NULL REFERENCES territory (id) ON DELETE RESTRICT"

SQLITE = [
    "CREATE TABLE user_territory (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    '"user" INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE, '
    "territory INTEGER NOT NULL REFERENCES territory (id) ON DELETE RESTRICT, "
    "role VARCHAR(20) NOT NULL DEFAULT 'lecteur', "
    "created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP)",
]
POSTGRES = [
    "CREATE TABLE user_territory (id SERIAL PRIMARY KEY, "
    '"user" INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE ON UPDATE CASCADE, '
    "territory INTEGER NOT NULL REFERENCES territory (id) ON DELETE RESTRICT ON UPDATE CASCADE, "
    "role VARCHAR(20) NOT NULL DEFAULT 'lecteur', "
    "created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP)",
]
BOTH = [
    'CREATE UNIQUE INDEX user_territory_unique ON user_territory ("user", territory)',
    "CREATE INDEX user_territory_territory ON user_territory (territory)",
    f"ALTER TABLE action ADD COLUMN territory {REFERENCE}",
    f"ALTER TABLE interaction ADD COLUMN territory {REFERENCE}",
    "CREATE INDEX action_territory ON action (territory)",
    "CREATE INDEX interaction_territory ON interaction (territory)",
    # A fiche action followed by a body belongs to the body's territory.
    "UPDATE action SET territory = (SELECT w.territory FROM working_group w "
    "WHERE w.id = action.working_group) WHERE territory IS NULL",
]
# With one territory, everything local goes to it (nothing to decide by hand).
ONLY_TERRITORY = "(SELECT MIN(id) FROM territory)"
SINGLE = [
    f"UPDATE {table} SET territory = {ONLY_TERRITORY} WHERE territory IS NULL"
    for table in ("working_group", "action", "interaction")
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def territories():
        from piccolo.engine.sqlite import SQLiteEngine

        from maillage.db import current_engine

        engine = current_engine()
        first = SQLITE if isinstance(engine, SQLiteEngine) else POSTGRES
        for statement in first + BOTH:
            await engine.run_ddl(statement)
        count = await engine.run_ddl("SELECT COUNT(*) AS n FROM territory")
        if count[0]["n"] == 1:
            for statement in SINGLE:
                await engine.run_ddl(statement)

    manager.add_raw(territories)
    return manager
