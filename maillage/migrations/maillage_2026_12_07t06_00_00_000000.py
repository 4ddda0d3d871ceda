"""Petite enfance duties of communes and commune indicators (#18).

``commune_childcare`` records, per commune, whether the schéma pluriannuel de l'offre d'accueil
and the relais petite enfance exist (NULL: not recorded). ``commune_indicator`` holds figures
imported from files (places in EAJE, children under 3…), one per commune, code and date.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "commune_childcare, commune_indicator"

VERSIONED = (
    "version INTEGER NOT NULL DEFAULT 1, "
    "created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP, "
    "updated_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP"
)
CHILDCARE = (
    "commune INTEGER NOT NULL UNIQUE REFERENCES commune (id) ON DELETE CASCADE{update}, "
    "schema_exists BOOLEAN NULL DEFAULT NULL, relais_exists BOOLEAN NULL DEFAULT NULL, "
    "note TEXT NOT NULL DEFAULT '', " + VERSIONED
)
INDICATOR = (
    "commune INTEGER NOT NULL REFERENCES commune (id) ON DELETE CASCADE{update}, "
    "code VARCHAR(40) NOT NULL, value DOUBLE PRECISION NOT NULL, measured_on DATE NOT NULL, "
    "source VARCHAR(200) NOT NULL DEFAULT '', " + VERSIONED
)
SQLITE = [
    "CREATE TABLE commune_childcare (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    + CHILDCARE.format(update="")
    + ")",
    "CREATE TABLE commune_indicator (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    + INDICATOR.format(update="")
    + ")",
]
POSTGRES = [
    "CREATE TABLE commune_childcare (id SERIAL PRIMARY KEY, "
    + CHILDCARE.format(update=" ON UPDATE CASCADE")
    + ")",
    "CREATE TABLE commune_indicator (id SERIAL PRIMARY KEY, "
    + INDICATOR.format(update=" ON UPDATE CASCADE")
    + ")",
]
BOTH = [
    "CREATE UNIQUE INDEX commune_indicator_unique "
    "ON commune_indicator (commune, code, measured_on)",
    "CREATE INDEX commune_indicator_code ON commune_indicator (code)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def create():
        from piccolo.engine.sqlite import SQLiteEngine

        from maillage.db import current_engine

        engine = current_engine()
        first = SQLITE if isinstance(engine, SQLiteEngine) else POSTGRES
        for statement in first + BOTH:
            await engine.run_ddl(statement)

    manager.add_raw(create)
    return manager
