"""Backup and restore round trips: every table identical after restore, on both engines."""

from __future__ import annotations

import os
import secrets
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import TEST_DATABASE_URL, requires_postgres


def maillage(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "maillage", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLAGE_")}
    env["MAILLAGE_DATA_DIR"] = str(tmp_path / "data")
    return env


def add_user(env: dict[str, str], email: str) -> None:
    result = maillage(
        env, "user", "add", email, "--password-stdin", stdin="un mot de passe solide\n"
    )
    assert result.returncode == 0, result.stderr


def sqlite_dump(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


@pytest.mark.slow
def test_a_sqlite_backup_restores_every_table(sqlite_env, tmp_path):
    assert maillage(sqlite_env, "init").returncode == 0
    add_user(sqlite_env, "avant@mairie.example")
    database = tmp_path / "data" / "maillage.db"
    backup_file = tmp_path / "sauvegarde.bak"
    result = maillage(sqlite_env, "backup", "--output", str(backup_file))
    assert result.returncode == 0, result.stderr
    before = sqlite_dump(database)
    add_user(sqlite_env, "apres@mairie.example")
    assert sqlite_dump(database) != before

    refused = maillage(sqlite_env, "restore", str(backup_file))
    assert refused.returncode == 1 and "--yes" in refused.stderr
    restored = maillage(sqlite_env, "restore", str(backup_file), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert sqlite_dump(database) == before


def test_a_backup_taken_during_a_write_is_consistent(sqlite_env, tmp_path):
    maillage(sqlite_env, "init")
    database = tmp_path / "data" / "maillage.db"
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute(
        "INSERT INTO axis (code, name, description, position, search, version, created_at, updated_at) VALUES ('x', 'En cours', '', 99, 'x', 1, '2026-01-01', '2026-01-01')"
    )
    backup_file = tmp_path / "pendant.bak"
    result = maillage(sqlite_env, "backup", "--output", str(backup_file))
    writer.execute("COMMIT")
    writer.close()
    assert result.returncode == 0, result.stderr
    names = [row[0] for row in sqlite3.connect(backup_file).execute("SELECT code FROM axis")]
    assert len(names) == 8 and "x" not in names


@pytest.mark.slow
def test_a_restore_into_a_newer_schema_migrates(sqlite_env, tmp_path):
    maillage(sqlite_env, "init")
    backup_file = tmp_path / "ancienne.bak"
    maillage(sqlite_env, "backup", "--output", str(backup_file))
    old = sqlite3.connect(backup_file)
    # Make the backup look as if it predated the index migration.
    old.execute("DELETE FROM migration WHERE name = '2026-11-29T10:31:12:000000'")
    for (index,) in old.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE 'CREATE UNIQUE INDEX%' OR name IN ('contact_names', 'organisation_name')"
    ).fetchall():
        old.execute(f'DROP INDEX "{index}"')
    old.commit()
    old.close()
    result = maillage(sqlite_env, "restore", str(backup_file), "--yes")
    assert result.returncode == 0, result.stderr
    assert "1 migration appliquée" in result.stdout


@pytest.mark.slow
def test_it_refuses_a_file_that_is_not_a_backup(sqlite_env, tmp_path):
    maillage(sqlite_env, "init")
    bogus = tmp_path / "photo.bak"
    bogus.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    result = maillage(sqlite_env, "restore", str(bogus), "--yes")
    assert result.returncode == 1
    assert "n'est pas une sauvegarde de maillage" in result.stderr


@pytest.mark.slow
def test_a_backup_it_cannot_write_is_refused_in_french(sqlite_env, tmp_path):
    """Where nothing can be written (``/proc`` refuses every new file, even to root), the
    person reads why, and no partial file or traceback is left."""
    maillage(sqlite_env, "init")
    result = maillage(sqlite_env, "backup", "--output", "/proc/maillage.bak")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Erreur : Écriture de « /proc/maillage.bak » impossible : dossier inaccessible en écriture."
    )
    result = maillage(sqlite_env, "backup", "--output", "/proc/absent/maillage.bak")
    assert result.returncode == 1
    assert result.stderr.strip() == "Erreur : « /proc/absent » : introuvable."


@pytest.mark.slow
def test_it_refuses_to_restore_under_a_running_service(sqlite_env, tmp_path):
    maillage(sqlite_env, "init")
    backup_file = tmp_path / "s.bak"
    maillage(sqlite_env, "backup", "--output", str(backup_file))
    holder = sqlite3.connect(tmp_path / "data" / "maillage.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = maillage(sqlite_env, "restore", str(backup_file), "--yes")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 1
    assert "arrêtez le service" in result.stderr


@requires_postgres
def test_a_postgresql_backup_restores_every_table(tmp_path):
    import asyncio

    import asyncpg

    name = f"maillage_backup_{secrets.token_hex(4)}"
    server = TEST_DATABASE_URL

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(server)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = server.rsplit("/", 1)[0] + f"/{name}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLAGE_")}
    env.update({"MAILLAGE_DATA_DIR": str(tmp_path / "data"), "MAILLAGE_DATABASE_URL": url})
    try:
        assert maillage(env, "init").returncode == 0
        add_user(env, "avant@mairie.example")
        backup_file = tmp_path / "pg.bak"
        result = maillage(env, "backup", "--output", str(backup_file))
        assert result.returncode == 0, result.stderr

        def dump() -> list[str]:
            text = subprocess.run(
                ["pg_dump", "--data-only", "--inserts", url],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            # pg_dump adds a random \restrict key to each dump: compare the data lines only.
            return [line for line in text.splitlines() if line.startswith("INSERT")]

        before = dump()
        assert any("avant@mairie.example" in line for line in before)
        add_user(env, "apres@mairie.example")
        restored = maillage(env, "restore", str(backup_file), "--yes")
        assert restored.returncode == 0, restored.stderr
        assert dump() == before
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.slow
def test_it_refuses_a_backup_with_extra_schema_objects(sqlite_env, tmp_path):
    """A crafted backup added a trigger that made new users admins; restore refuses it (#23)."""
    maillage(sqlite_env, "init")
    backup_file = tmp_path / "piegee.bak"
    maillage(sqlite_env, "backup", "--output", str(backup_file))
    crafted = sqlite3.connect(backup_file)
    crafted.execute(
        "CREATE TRIGGER promote AFTER INSERT ON app_user BEGIN "
        "UPDATE app_user SET role = 'admin' WHERE id = NEW.id; END"
    )
    crafted.execute("CREATE VIEW spy AS SELECT email FROM app_user")
    crafted.commit()
    crafted.close()
    database = tmp_path / "data" / "maillage.db"
    before = sqlite_dump(database)
    result = maillage(sqlite_env, "restore", str(backup_file), "--yes")
    assert result.returncode == 1
    assert "déclencheur « promote »" in result.stderr and "vue « spy »" in result.stderr
    assert sqlite_dump(database) == before


@pytest.mark.slow
def test_it_refuses_a_backup_whose_table_was_altered(sqlite_env, tmp_path):
    maillage(sqlite_env, "init")
    backup_file = tmp_path / "modifiee.bak"
    maillage(sqlite_env, "backup", "--output", str(backup_file))
    crafted = sqlite3.connect(backup_file)
    crafted.execute("CREATE TABLE extra (x)")
    crafted.execute("CREATE INDEX extra_x ON extra (x)")
    crafted.commit()
    crafted.close()
    result = maillage(sqlite_env, "restore", str(backup_file), "--yes")
    assert result.returncode == 1
    assert "table « extra »" in result.stderr and "index « extra_x »" in result.stderr


def test_it_creates_data_files_for_its_owner_only(sqlite_env, tmp_path):
    """Data directory, database, backups and outbox were created world-readable (#23)."""
    assert maillage(sqlite_env, "init").returncode == 0
    backup_file = tmp_path / "privee.bak"
    assert maillage(sqlite_env, "backup", "--output", str(backup_file)).returncode == 0
    data = tmp_path / "data"
    assert data.stat().st_mode & 0o077 == 0
    for path in [backup_file, *data.rglob("*")]:
        assert path.stat().st_mode & 0o077 == 0, (path, oct(path.stat().st_mode))


@requires_postgres
def test_a_postgresql_restore_refuses_extra_or_altered_schema_objects(tmp_path):
    """The SQLite rule on PostgreSQL too (#23): a pg_dump archive with a trigger, a function, a
    view, a table or an index maillage does not create, or a changed definition, is refused,
    named, and the database is left as it was."""
    import asyncio

    import asyncpg

    name = f"maillage_crafted_{secrets.token_hex(4)}"
    server = TEST_DATABASE_URL
    url = server.rsplit("/", 1)[0] + f"/{name}"

    async def run(target: str, *statements: str) -> None:
        connection = await asyncpg.connect(target)
        try:
            for sql in statements:
                await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run(server, f'CREATE DATABASE "{name}"'))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLAGE_")}
    env.update({"MAILLAGE_DATA_DIR": str(tmp_path / "data"), "MAILLAGE_DATABASE_URL": url})
    backdoor = [
        "CREATE FUNCTION promote() RETURNS trigger LANGUAGE plpgsql AS "
        "$$BEGIN UPDATE app_user SET role = 'admin' WHERE id = NEW.id; RETURN NEW; END$$",
        "CREATE TRIGGER promote AFTER INSERT ON app_user FOR EACH ROW EXECUTE FUNCTION promote()",
        "CREATE VIEW spy AS SELECT email FROM app_user",
        "CREATE TABLE extra (x int)",
        "CREATE INDEX extra_x ON extra (x)",
    ]
    removed = ["DROP TABLE extra", "DROP VIEW spy", "DROP TRIGGER promote ON app_user",
               "DROP FUNCTION promote()"]  # fmt: skip
    try:
        assert maillage(env, "init").returncode == 0
        clean, crafted, altered = (tmp_path / f"{n}.bak" for n in ("propre", "piegee", "modifiee"))
        assert maillage(env, "backup", "--output", str(clean)).returncode == 0
        asyncio.run(run(url, *backdoor))
        assert maillage(env, "backup", "--output", str(crafted)).returncode == 0
        asyncio.run(run(url, *removed))
        asyncio.run(run(url, "ALTER TABLE app_user ALTER COLUMN role SET DEFAULT 'admin'"))
        assert maillage(env, "backup", "--output", str(altered)).returncode == 0
        asyncio.run(run(url, "ALTER TABLE app_user ALTER COLUMN role SET DEFAULT 'lecteur'"))
        add_user(env, "apres@mairie.example")

        result = maillage(env, "restore", str(crafted), "--yes")
        assert result.returncode == 1, result.stdout
        for found in ["déclencheur « promote »", "fonction « promote() »", "vue « spy »",
                      "table « extra »", "index « extra_x »"]:  # fmt: skip
            assert found in result.stderr, (found, result.stderr)
        result = maillage(env, "restore", str(altered), "--yes")
        assert result.returncode == 1
        assert "définition modifiée" in result.stderr and "'admin'" in result.stderr
        listed = maillage(env, "user", "password", "apres@mairie.example", "--password-stdin",
                          stdin="un autre mot de passe\n")  # fmt: skip
        assert listed.returncode == 0, "the refused restores left the database as it was"

        assert maillage(env, "restore", str(clean), "--yes").returncode == 0
    finally:
        asyncio.run(run(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
