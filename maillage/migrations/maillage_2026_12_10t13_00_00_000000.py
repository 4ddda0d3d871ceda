"""Two races of the copies and of the partners' départements (PostgreSQL only, #20).

The copy race. A child (meeting, membership, decision, invitation, affiliation, partnership)
takes a copy of its parent's territory (and of a partner's département) from its trigger
(migrations ``2026-12-07T09:00:00``, ``2026-12-10T05:00:00``), and the parent's move carries
the new value down to its children. Under READ COMMITTED a child written while its parent moved
in another transaction read the parent's last committed value, and the move did not see the
child being written: the child kept the old territory, seen by the wrong territory until the
parent's next move. The trigger now reads the parent ``FOR SHARE`` when the row is inserted or
changes parent, a lock the parent's ``UPDATE`` waits for and that waits for it: a move under
way is waited for and its value read; a move that comes second waits for the child's commit,
and its carrying down then sees the child. A tie (affiliation, partnership) reads its person
and organisations ``FOR NO KEY UPDATE``, the lock of the rewrite that settles them in the
same transaction: two ties of one person written at once then wait for each other in turn
instead of each holding the person shared and waiting for the other's rewrite. A copy carried down (or written by hand) reads
its parents as before, without a lock: the transaction that moves a parent holds that parent
already, and locking the other parent of a tie would make two moves wait for each other.

The deadlock. ``maillage_settle_departements`` (migration ``2026-12-10T06:30:00``) rewrote the
partners whose département changes in the order of its plan (the table's for a sequential
scan, which a row rewritten changes; the ids' for an index): two writes moving the same two
partners could each hold one and wait for the other until PostgreSQL ended one with « deadlock
detected ». It now locks the rows it will rewrite in the order of their ids before rewriting
them (organisations, then people, as before): the second write waits for the first.

Built from those migrations' frozen statements; nothing on SQLite (one writer at a time).
"""

import re

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from maillage.migrations import maillage_2026_12_07t09_00_00_000000 as bodies
from maillage.migrations import maillage_2026_12_10t05_00_00_000000 as partners
from maillage.migrations.maillage_2026_12_10t06_30_00_000000 import FUNCTION

ID = "2026-12-10T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "copies read their parents with a lock; départements settled in id order"

# The frozen look-up of a parent: ``SELECT p.… INTO NEW.… FROM parent p WHERE p.id = NEW.key;``
_LOOK_UP = re.compile(r"(SELECT p\.[^;]*? FROM \w+ p WHERE p\.id = NEW\.(\w+)); ")


def locking(function: str, parents: int, lock: str = "FOR SHARE") -> str:
    """``function`` (a copy trigger's) reading each of its ``parents`` with ``lock`` on an
    insert or a change of that parent."""
    locked, found = _LOOK_UP.subn(
        lambda m: (
            f"IF TG_OP = 'INSERT' OR NEW.{m[2]} IS DISTINCT FROM OLD.{m[2]} "
            f"THEN {m[1]} {lock}; ELSE {m[1]}; END IF; "
        ),
        function,
    )
    assert found == parents, (found, function)
    return locked


def copy_functions() -> list[str]:
    functions = [
        locking(bodies._copy_function(child, key, parent), 1)
        for child, key, parent in bodies.COPIES
    ]
    children: dict[str, list[tuple[str, str, str, str]]] = {}
    for child, key, parent, territory, departement in partners.COPIES:
        children.setdefault(child, []).append((key, parent, territory, departement))
    # A tie's parents (a person, an organisation) are often rewritten by the same transaction
    # right after (their territory and département settled from their ties): two ties of one
    # person written at once would each hold it FOR SHARE and wait for the other's rewrite.
    # Taken as the rewrite takes them, the second tie waits for the first's commit instead.
    functions += [
        locking(partners._copy_function(child, copies), len(copies), "FOR NO KEY UPDATE")
        for child, copies in children.items()
    ]
    return functions


# ``UPDATE t SET departement = V WHERE C;`` of the frozen function, whose rows are locked by
# ``PERFORM … WHERE C ORDER BY id FOR NO KEY UPDATE`` (the lock the ``UPDATE`` takes) first.
_SETTLE = re.compile(r"(UPDATE (\w+) SET departement = .*? WHERE (\(.*?\) AND COALESCE\(.*?));")


def settled_in_order(function: str) -> str:
    locked, found = _SETTLE.subn(
        lambda m: f"PERFORM 1 FROM {m[2]} WHERE {m[3]} ORDER BY id FOR NO KEY UPDATE; {m[1]};",
        function,
    )
    assert found == 2, (found, function)
    return locked


def postgres_statements() -> list[str]:
    return [*copy_functions(), settled_in_order(FUNCTION)]


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
