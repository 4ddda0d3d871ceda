"""A commune without territory gives its partners the département of its INSEE code (#20).

A commune's département was its territory's only (`maillage.departements`): a commune taken out
of its territory (its territory set to none) took its shared partners out of every département
at their next write, and every territory saw them. Without a territory, a commune now has the
département of its INSEE code when a territory of the instance has that département, else none:
a record's département stays one of the instance's territories', so that an instance of one
département sees the partners of another département's commune, created by an import, as
before.

PostgreSQL: ``maillage_settle_departements`` (migration ``2026-12-10T13:00:00``) rebuilt from its
frozen text with the commune's département so read. Both engines: the shared partners of the
communes without territory placed again (their branches without commune, the shared people),
only where their département changes.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from maillage.migrations import maillage_2026_12_10t01_30_00_000000 as filled
from maillage.migrations.maillage_2026_12_10t06_30_00_000000 import FUNCTION, written_when_changed
from maillage.migrations.maillage_2026_12_10t13_00_00_000000 import settled_in_order

ID = "2026-12-10T15:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "a commune without territory gives the département of its INSEE code"

# Frozen copy of `maillage.departements._OF_COMMUNE` as of this migration.
OF_COMMUNE = (
    "COALESCE((SELECT t.departement FROM commune c JOIN territory t ON t.id = c.territory "
    "WHERE c.id = {table}.commune), "
    f"(SELECT {filled.COMMUNE_DEPARTEMENT} FROM commune c WHERE c.id = {{table}}.commune "
    "AND c.territory IS NULL AND EXISTS (SELECT 1 FROM territory t "
    f"WHERE t.departement = {filled.COMMUNE_DEPARTEMENT})))"
)


def by_insee_code(text: str) -> str:
    """``text`` (frozen statements of the rule) with the commune's département of this
    migration."""
    found = 0
    for table in ("organisation", "contact"):
        old = filled._OF_COMMUNE.format(table=table)
        found += text.count(old)
        text = text.replace(old, OF_COMMUNE.format(table=table))
    assert found, text
    return text


ORGANISATIONS = by_insee_code(written_when_changed(filled.ORGANISATIONS))
CONTACTS = by_insee_code(written_when_changed(filled.CONTACTS))
LOOSE = "SELECT id FROM commune WHERE territory IS NULL"
FILL = [
    ORGANISATIONS.format(where=f"territory IS NULL AND commune IN ({LOOSE})"),
    # Their branches without commune, and those of the branches.
    *[ORGANISATIONS.format(where="territory IS NULL AND commune IS NULL AND parent IS NOT NULL")]
    * 3,
    CONTACTS.format(where="territory IS NULL"),
]


def postgres_function() -> str:
    return by_insee_code(settled_in_order(FUNCTION))


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def by_insee():
        from piccolo.engine.sqlite import SQLiteEngine

        from maillage.db import current_engine

        engine = current_engine()
        statements = list(FILL)
        if not isinstance(engine, SQLiteEngine):
            statements.insert(0, postgres_function())
        for statement in statements:
            await engine.run_ddl(statement)

    manager.add_raw(by_insee)
    return manager
