"""The ties' policy as an index condition (#20, PostgreSQL).

An affiliation is seen with its contact and its organisation, a partnership with its two
organisations: the policy tested, for each parent, the row's copy of its territory and, for a
shared parent, of its département, four tests that no index can take (true for a shared row,
NULL for ``*``). PostgreSQL read every tie a list's own clause found and tested each one: a
coordinator's affiliations cost ×1.20 the statement without the policies, the whole request
×1.10–1.14, and a Caf adviser's up to ×1.27 (bench/README.md « The ties' policy as an index
condition »).

Each tie now carries, for each parent, a key of visibility, a stored generated column
(computed by PostgreSQL after the triggers that copy the parent's territory and département,
on every insert and update: nothing else writes it), with its index:
``maillage_seen_key(territory, departement)``, the territory of a local parent, 0 for a shared
parent of no département, and for one of a département a negative number of its code, one
number per code of the forms a département can take (two digits, ``2A``, ``2B``, ``97x`` and
``98x``), -1 for any other. The policy becomes ``seen = ANY (keys) AND other_seen = ANY
(keys)`` (`maillage.row_security.TIE_KEYS`, rewritten by ``maillage migrate`` after this
migration) and a scoped list asks the same of its keys: conditions of those indexes, no row
tested after them. The function's values are few and known, so ``*`` lists them all and its
test stays one condition. Adding the columns rewrites both tables once. Nothing on SQLite (no
row-level security there).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-10T18:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "affiliations and partnerships carry their visibility keys, indexed (PostgreSQL)"

# The key of a parent of ``territory`` and ``departement`` (`maillage.row_security.seen_key`
# in Python, the same values; `row_security.DEPARTEMENT_KEYS` lists the negative ones).
SEEN_KEY = (
    "CREATE OR REPLACE FUNCTION maillage_seen_key(territory integer, departement text) "
    "RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT CASE "
    "WHEN territory IS NOT NULL THEN territory "
    "WHEN departement IS NULL OR departement = '' THEN 0 "
    "WHEN departement ~ '^[0-9]{2}$' THEN -100 - departement::integer "
    "WHEN departement = '2A' THEN -201 WHEN departement = '2B' THEN -202 "
    "WHEN departement ~ '^9[78][0-9]$' THEN -1000 - departement::integer "
    "ELSE -1 END $$"
)

# The keys the policies of the ties compare with (`maillage.row_security.TIE_KEYS`) when the
# request did not give its départements' (``maillage.departement_keys``), and for ``*``:
# functions, so that a statement that takes the setting's keys initialises no plan for these
# look-ups (a sub-select in a branch not taken costs its nodes on every execution).
EVERY_KEY = (
    "CREATE OR REPLACE FUNCTION maillage_every_tie_key() RETURNS integer[] LANGUAGE plpgsql "
    "STABLE PARALLEL SAFE AS $$ BEGIN RETURN ARRAY(SELECT t.id FROM territory t) "
    "|| ARRAY[0, -1, -201, -202] || ARRAY(SELECT -100 - g FROM generate_series(0, 99) g) "
    "|| ARRAY(SELECT -1000 - g FROM generate_series(970, 989) g); END $$"
)
LOOKED_UP_KEYS = (
    "CREATE OR REPLACE FUNCTION maillage_tie_keys() RETURNS integer[] LANGUAGE plpgsql "
    "STABLE PARALLEL SAFE AS $$ BEGIN RETURN array_append(maillage_territories(), 0) "
    "|| ARRAY(SELECT DISTINCT maillage_seen_key(NULL, t.departement) FROM territory t "
    "WHERE t.id = ANY (maillage_territories()) AND t.departement IS NOT NULL); END $$"
)

# What PostgreSQL assumes of how many values a key holds. The policy and a scoped list test
# the same key, each with an array it cannot see before running (`row_security.TIE_KEYS`, the
# list's argument): it weighs each as some ten values among the key's distinct ones, and
# multiplies the two as if they were independent. On the country (1,300 keys) it expected a
# handful of rows from one key's index, took it alone and tested the other key on each row
# (a Caf adviser's affiliations ×1.38 of the same request without the policies). Counted as
# 50, the pair reads as a few per cent, about what one user sees, and it intersects the two
# indexes at every scale (bench/README.md « The ties' policy as an index condition »).
ASSUMED_KEYS = 50

# (table, key column, territory copy, département copy): one key for each parent.
KEYS = (
    ("affiliation", "seen", "territory", "departement"),
    ("affiliation", "organisation_seen", "organisation_territory", "organisation_departement"),
    ("partnership", "seen", "territory", "departement"),
    ("partnership", "partner_seen", "partner_territory", "partner_departement"),
)


def statements() -> list[str]:
    found = [SEEN_KEY, EVERY_KEY, LOOKED_UP_KEYS]
    for table in ("affiliation", "partnership"):
        keys = [key for key in KEYS if key[0] == table]
        found.append(
            f"ALTER TABLE {table} "
            + ", ".join(
                f"ADD COLUMN IF NOT EXISTS {column} integer GENERATED ALWAYS AS "
                f"(maillage_seen_key({territory}, {departement})) STORED NOT NULL"
                for _, column, territory, departement in keys
            )
        )
        found += [
            f"CREATE INDEX IF NOT EXISTS {table}_{column} ON {table} ({column})"
            for _, column, _, _ in keys
        ]
        found.append(
            f"ALTER TABLE {table} "
            + ", ".join(
                f"ALTER COLUMN {column} SET (n_distinct = {ASSUMED_KEYS})"
                for _, column, _, _ in keys
            )
        )
        found.append(f"ANALYZE {table}")
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
