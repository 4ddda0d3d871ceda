"""Ties lock their organisations first, a partnership's in the order of their ids (#20,
PostgreSQL only).

A partnership's trigger reads its organisation, then its partner, each ``FOR NO KEY UPDATE``
when the row is inserted or changes that parent (migration ``2026-12-10T13:00:00``). Written
at once, (A, B) held A and waited for B while (B, A) held B and waited for A: PostgreSQL ended
one with « deadlock detected », a 500 for its user. On an insert or a change of either
organisation, the trigger now first locks both in the order of their ids, then reads them as
before (the locks held already): the second partnership waits for the first's commit.

An affiliation locked its contact, then its organisation, the other way round from the
writes that move an organisation (a merge of duplicates, an edit of its commune): they lock
it, then rewrite its people placed elsewhere. A person tied to an organisation while it was
merged or moved held the person and waited for the organisation, the move held the
organisation and waited to place the person: « deadlock detected ». On an insert or a change
of organisation, the affiliation's trigger now first locks its organisation: organisations,
then people, the order of ``maillage_settle_departements`` (migration ``2026-12-10T13:00:00``).
Two affiliations alone never waited for each other round: each trigger took its locks a table
after the other, the same for all.

Built from the frozen statements of migrations ``2026-12-10T05:00:00`` and
``2026-12-10T13:00:00``; nothing on SQLite (one writer at a time).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from maillage.migrations import maillage_2026_12_10t05_00_00_000000 as partners
from maillage.migrations.maillage_2026_12_10t13_00_00_000000 import locking

ID = "2026-12-10T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ties lock their organisations first, a partnership's in the order of their ids"

_BEGIN = "AS $$ BEGIN "
ORDERED_LOCKS = (
    "IF TG_OP = 'INSERT' OR NEW.organisation IS DISTINCT FROM OLD.organisation "
    "OR NEW.partner IS DISTINCT FROM OLD.partner THEN "
    "PERFORM 1 FROM organisation WHERE id IN (NEW.organisation, NEW.partner) "
    "ORDER BY id FOR NO KEY UPDATE; END IF; "
)

AFFILIATION_LOCK = (
    "IF TG_OP = 'INSERT' OR NEW.organisation IS DISTINCT FROM OLD.organisation THEN "
    "PERFORM 1 FROM organisation WHERE id = NEW.organisation FOR NO KEY UPDATE; END IF; "
)


def _tie_function(child: str, first: str) -> str:
    """The copy function of ``child`` of migration ``2026-12-10T13:00:00``, ``first`` run
    before its look-ups."""
    copies = [
        (key, parent, territory, departement)
        for table, key, parent, territory, departement in partners.COPIES
        if table == child
    ]
    function = locking(partners._copy_function(child, copies), 2, "FOR NO KEY UPDATE")
    assert function.count(_BEGIN) == 1, function
    return function.replace(_BEGIN, _BEGIN + first)


def partnership_function() -> str:
    """The partnership's, its two organisations locked in the order of their ids first."""
    return _tie_function("partnership", ORDERED_LOCKS)


def affiliation_function() -> str:
    """The affiliation's, its organisation locked before its contact."""
    return _tie_function("affiliation", AFFILIATION_LOCK)


def postgres_statements() -> list[str]:
    return [partnership_function(), affiliation_function()]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)

    async def functions():
        from piccolo.engine.sqlite import SQLiteEngine

        from maillage.db import current_engine

        engine = current_engine()
        if isinstance(engine, SQLiteEngine):
            return
        for statement in postgres_statements():
            await engine.run_ddl(statement)

    manager.add_raw(functions)
    return manager
