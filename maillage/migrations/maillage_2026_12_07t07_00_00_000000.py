"""Mandates' register keys without a plain hash of the holder's name (#18, RGPD).

``affiliation.source_ref`` held « cm:73187:ADJ:<sha256 of NOM|Prénom> »: reversible by anyone
hashing the public register. Each key becomes « cm:73187:<keyed digest> »
(``maillage.opendata.rekey``), keyed by the instance's secret (``MAILLAGE_SECRET_KEY``), so a
refresh still finds every mandate. Only an instance that loaded a territory has such keys; the
registers are read (a few seconds) only then.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "mandates' register keys: keyed digest, no plain hash of the name"

# Rows a statement: three parameters each, under SQLite's oldest limit of 999.
BATCH = 300

SELECT = (
    "SELECT a.id AS id, a.source_ref AS source_ref, a.end_date AS end_date, "
    "c.first_name AS first_name, c.last_name AS last_name "
    "FROM affiliation a JOIN contact c ON c.id = a.contact WHERE a.source_ref IS NOT NULL"
)


async def rekey_mandates(secret: str | None = None) -> int:
    from piccolo.querystring import QueryString

    from maillage.db import current_engine

    engine = current_engine()
    rows = await engine.run_ddl(SELECT)
    if not rows:
        return 0
    from maillage.opendata import registers, rekey
    from maillage.settings import load_settings

    key = registers.mandate_key(secret if secret is not None else load_settings().secret_key)
    changes = rekey.new_keys(rows, key)
    # Two steps, so that a new key never meets an old one still in place; each a statement
    # per BATCH rows, not per row (a national base has hundreds of thousands of mandates).
    ids = list(changes)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        await engine.run_querystring(
            QueryString(
                "UPDATE affiliation SET source_ref = {} || CAST(id AS VARCHAR(20)) WHERE id IN ("
                + ", ".join("{}" for _ in chunk)
                + ")",
                "~",
                *chunk,
            )
        )
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        cases = " ".join("WHEN {} THEN {}" for _ in chunk)
        values = [value for record_id in chunk for value in (record_id, changes[record_id])]
        await engine.run_querystring(
            QueryString(
                f"UPDATE affiliation SET source_ref = CASE id {cases} END WHERE id IN ("
                + ", ".join("{}" for _ in chunk)
                + ")",
                *values,
                *chunk,
            )
        )
    return len(changes)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def rekey():
        await rekey_mandates()

    manager.add_raw(rekey)
    return manager
