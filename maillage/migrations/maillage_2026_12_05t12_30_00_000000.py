"""Search columns fold ligatures and typographic apostrophes (#21).

« loeuillet » now finds « Lœuillet » and « D’Hivert » finds « D'Hivert »: what is typed is
folded by ``maillage.folding.fold``; the rows stored before hold « œ », « æ » and « ’ » in
their search column, spelled out here the same way. ``replace`` exists on both engines.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-05T12:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "search columns: ligatures spelled out, one kind of apostrophe"

SPELLED_OUT = [("œ", "oe"), ("æ", "ae"), ("’", "'"), ("‘", "'"), ("ʼ", "'"), ("`", "'")]


def _refold_sql(table: str) -> str:
    expression = "search"
    for letter, spelled in SPELLED_OUT:
        expression = f"replace({expression}, '{letter}', '{spelled.replace(chr(39), chr(39) * 2)}')"
    touched = " OR ".join(f"search LIKE '%{letter}%'" for letter, _ in SPELLED_OUT)
    return f'UPDATE "{table}" SET search = {expression} WHERE {touched}'


SEARCHED_TABLES = (
    "territory", "commune", "axis", "organisation", "contact", "working_group", "meeting",
    "app_user", "interaction", "action",
)  # fmt: skip


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def refold():
        from maillage.db import current_engine

        # The tables that had a search column at this migration (not later ones: a migration
        # sees the schema of its own day).
        for name in SEARCHED_TABLES:
            await current_engine().run_ddl(_refold_sql(name))

    manager.add_raw(refold)
    return manager
