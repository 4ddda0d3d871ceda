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


PARTNERS_MIGRATION = "2026-12-07T01:00:00:000000"


async def _partners_before(engine, territories: int) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        await ForwardsMigrationManager(app_name="maillage", migration_id=SCOPE_MIGRATION).run()
    for number in range(1, territories + 1):
        await engine.run_ddl(f"INSERT INTO territory (name, search) VALUES ('CC {number}', '')")
    await engine.run_ddl(
        "INSERT INTO commune (insee_code, name, territory, search) "
        f"VALUES ('35001', 'Ardoise', {territories}, '')"
    )
    for name, kind, commune in (
        ("Mairie", "collectivite", "1"),
        ("Caf", "institution", "NULL"),
        ("Ludothèque", "association", "NULL"),
    ):
        await engine.run_ddl(
            "INSERT INTO organisation (name, kind, category, address, notes, archived, search, "
            f"commune) VALUES ('{name}', '{kind}', '', '', '', false, '', {commune})"
        )
    for first in ("Maire", "Conseillère", "Habitante"):
        await engine.run_ddl(
            "INSERT INTO contact (civility, first_name, last_name, notes, legal_basis, "
            "mailing_opt_out, archived, search) "
            f"VALUES ('', '{first}', 'X', '', 'mission_interet_public', false, false, '')"
        )
    for contact, organisation in ((1, 1), (2, 2)):
        await engine.run_ddl(
            "INSERT INTO affiliation (contact, organisation, function, elected_mandate, "
            f"is_primary) VALUES ({contact}, {organisation}, '', false, false)"
        )


@pytest.mark.parametrize("territories", [1, 2])
async def test_partners_are_placed_with_no_manual_step(tmp_path, territories):
    async with _fresh_database(tmp_path) as engine:
        await _partners_before(engine, territories)
        assert PARTNERS_MIGRATION in await db.migrate()
        organisations = await engine.run_ddl("SELECT name, territory FROM organisation")
        contacts = await engine.run_ddl("SELECT first_name, territory FROM contact")
        placed = {row["name"]: row["territory"] for row in organisations}
        people = {row["first_name"]: row["territory"] for row in contacts}
        # The town hall with its commune's territory, the Caf and its people shared.
        local = territories
        if territories == 1:
            # A single territory: every local kind goes to it, and the people without ties.
            assert placed == {"Mairie": 1, "Caf": None, "Ludothèque": 1}
            assert people == {"Maire": 1, "Conseillère": None, "Habitante": 1}
        else:
            assert placed == {"Mairie": local, "Caf": None, "Ludothèque": None}
            assert people == {"Maire": local, "Conseillère": None, "Habitante": None}
