"""PostgreSQL: the counters of ``data_change`` are moved on at commit (#20).

The statement triggers of migration ``2026-12-09T01:30:00`` updated the counter rows of the
territories a statement touched as it ran: a writer held those rows until it committed. Two
transactions touching A then the shared rows, and the shared rows then A, waited for each
other (a deadlock: PostgreSQL cancelled one, error 40P01, and writes are not tried again), and
every writer of a territory (of shared rows: every writer) waited for the whole transaction of
the one before, a long import blocking its territory's writes.

The statement triggers now only note the territories a transaction touches, in a setting of
the transaction (``maillage.data_changed``, put back with a savepoint rolled back); its first
touch also adds a row to ``data_change_pending``, whose deferred constraint trigger runs at
commit: it moves each counter touched on by one, in the order of the territories (two commits
take the rows in the same order: no deadlock), and deletes the row. A counter row is held from
there to the end of the commit only. Still once per transaction, nothing for a write undone
with its savepoint (the row and the note go with it).

``data_change_pending`` holds a row only while its transaction is running: unlogged (no
journal to write; emptied after a crash, when no transaction of before runs any more). Not a
Piccolo table: PostgreSQL only. SQLite is unchanged: its writers are serialised anyway.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-09T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "data_change: counters moved on at commit, in order (PostgreSQL)"

PENDING_TABLE = (
    "CREATE UNLOGGED TABLE IF NOT EXISTS data_change_pending "
    "(xact bigint PRIMARY KEY DEFAULT txid_current())"
)

# Called by the statement triggers (same signature as before, so they are unchanged): notes
# the territories not noted yet; the transaction's first note adds its pending row.
NOTE_FUNCTION = (
    "CREATE OR REPLACE FUNCTION maillage_data_changed(territories integer[]) RETURNS void "
    "LANGUAGE plpgsql AS $$ DECLARE one integer; added text := ''; "
    "noted text := coalesce(current_setting('maillage.data_changed', true), ''); BEGIN "
    "FOR one IN SELECT DISTINCT t FROM unnest(territories) t WHERE t IS NOT NULL LOOP "
    "IF position(',' || one || ',' IN noted) = 0 THEN added := added || one || ','; END IF; "
    "END LOOP; "
    "IF added = '' THEN RETURN; END IF; "
    "IF noted = '' THEN INSERT INTO data_change_pending DEFAULT VALUES; noted := ','; END IF; "
    "PERFORM set_config('maillage.data_changed', noted || added, true); END $$"
)

# At commit: one more to each counter noted, in the order of the territories; a counter's
# first write creates its row.
COMMIT_FUNCTION = (
    "CREATE OR REPLACE FUNCTION maillage_data_change_commit() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ DECLARE one integer; BEGIN "
    "FOR one IN SELECT DISTINCT t::integer FROM unnest(string_to_array("
    "current_setting('maillage.data_changed', true), ',')) t WHERE t <> '' ORDER BY 1 LOOP "
    "UPDATE data_change SET counter = counter + 1 WHERE territory = one; "
    "IF NOT FOUND THEN INSERT INTO data_change (territory, counter) VALUES (one, 1) "
    "ON CONFLICT (territory) DO UPDATE SET counter = data_change.counter + 1; END IF; "
    "END LOOP; "
    "DELETE FROM data_change_pending WHERE xact = NEW.xact; "
    "PERFORM set_config('maillage.data_changed', '', true); RETURN NULL; END $$"
)

COMMIT_TRIGGER = (
    "CREATE CONSTRAINT TRIGGER maillage_data_change_commit AFTER INSERT ON data_change_pending "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION maillage_data_change_commit()"
)


def postgres_statements() -> list[str]:
    return [
        PENDING_TABLE,
        COMMIT_FUNCTION,
        "DROP TRIGGER IF EXISTS maillage_data_change_commit ON data_change_pending",
        COMMIT_TRIGGER,
        NOTE_FUNCTION,
    ]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def at_commit():
        from piccolo.engine.sqlite import SQLiteEngine

        from maillage.db import current_engine

        engine = current_engine()
        if isinstance(engine, SQLiteEngine):
            return
        for statement in postgres_statements():
            await engine.run_ddl(statement)

    manager.add_raw(at_commit)
    return manager
