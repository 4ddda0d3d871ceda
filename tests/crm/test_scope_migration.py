"""An instance of before #20 upgrades with no manual step: on its single territory, bodies,
fiches action and exchanges without one go to it, and its users keep seeing everything."""

from __future__ import annotations

import contextlib
import io

import pytest
from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager

from maillage import db
from maillage.crm import scope as territory_scope
from tests.conftest import (
    TEST_DATABASE_URL,
    _create_private_postgres_database,
    _drop_postgres_database,
)

BEFORE = "2026-12-05T16:50:00:000000"
SCOPE_MIGRATION = "2026-12-06T14:00:00:000000"


@contextlib.asynccontextmanager
async def _fresh_database(tmp_path):
    session_engine = db.current_engine()
    private = None
    try:
        if TEST_DATABASE_URL and TEST_DATABASE_URL.startswith("postgres"):
            url, private = await _create_private_postgres_database(TEST_DATABASE_URL)
            await db.connect(url)
        else:
            await db.connect(f"sqlite:///{tmp_path / 'avant.db'}")
        yield db.current_engine()
    finally:
        db.bind(session_engine)
        if private is not None:
            await _drop_postgres_database(TEST_DATABASE_URL, private)


async def _before(engine, territories: int) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        await ForwardsMigrationManager(app_name="maillage", migration_id=BEFORE).run()
    for number in range(1, territories + 1):
        await engine.run_ddl(f"INSERT INTO territory (name, search) VALUES ('CC {number}', '')")
    await engine.run_ddl(
        "INSERT INTO working_group (name, kind, description, default_location, active, "
        "archived, search) VALUES ('COPIL', 'copil', '', '', true, false, '')"
    )
    await engine.run_ddl(
        "INSERT INTO action (title, objective, status, indicators, notes, search, working_group) "
        "VALUES ('Fiche', '', 'a_lancer', '[]', '', '', 1)"
    )
    await engine.run_ddl(
        "INSERT INTO interaction (occurred_on, kind, summary, search) "
        "VALUES ('2026-11-30', 'appel', 'Appel', '')"
    )
    await engine.run_ddl(
        "INSERT INTO app_user (email, name, password_hash, role, active, must_change_password, "
        "search) VALUES ('coord@cc.example', '', '', 'coordinateur', true, false, '')"
    )


async def _territories(engine) -> dict[str, object]:
    found = {}
    for table in ("working_group", "action", "interaction"):
        rows = await engine.run_ddl(f"SELECT territory FROM {table}")
        found[table] = rows[0]["territory"]
    return found


@pytest.mark.parametrize("territories", [1, 2])
async def test_an_existing_instance_upgrades_with_no_manual_step(tmp_path, territories):
    async with _fresh_database(tmp_path) as engine:
        await _before(engine, territories)
        assert SCOPE_MIGRATION in await db.migrate()
        placed = await _territories(engine)
        if territories == 1:
            # Everything local goes to the one territory.
            assert placed == {"working_group": 1, "action": 1, "interaction": 1}
        else:
            # Nothing to guess from: shared (seen by all, as before), the fiche with its body.
            assert placed == {"working_group": None, "action": None, "interaction": None}
        # Users without territories keep their role on every territory.
        users = await engine.run_ddl("SELECT id FROM app_user")
        assert await territory_scope.user_scope(users[0]["id"], "coordinateur") == (
            "coordinateur",
            None,
        )
