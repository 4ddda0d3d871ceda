"""Backup and restore: a consistent copy of the whole database, and its return.

SQLite: the online backup API copies a consistent snapshot while the service keeps serving
(WAL readers and writers are not blocked). PostgreSQL: ``pg_dump`` in its custom format, and
``pg_restore`` to bring it back. A restore then applies the migrations, so an older backup
comes back into the current schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from maillage import db, row_security
from maillage.folding import FrenchConnection
from maillage.settings import Settings

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message is meant for the person."""


def _postgres_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"« {name} » est introuvable : installez le client PostgreSQL.")
    return path


def _run_tool(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=_tool_environment())
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
        raise BackupError(f"{Path(command[0]).name} a échoué : {detail}")


def backup_sqlite(database: Path, output: Path) -> None:
    if not database.exists():
        raise BackupError(f"Base SQLite introuvable : {database}")
    partial = output.with_name(output.name + ".partiel")
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
        finally:
            target.close()
    except sqlite3.Error as error:  # sqlite3's words are English; its two causes here are these
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        problem = "disque plein" if "full" in str(error) else "dossier inaccessible en écriture"
        raise BackupError(f"Écriture de « {output} » impossible : {problem}.") from error
    finally:
        source.close()
    # A backup file is either whole or absent: rename only once it is complete.
    os.replace(partial, output)


def _tool_environment() -> dict[str, str]:
    """PostgreSQL's tools work as maillage's own work does: every row of the local tables
    (#20: without the setting, row-level security would hide them from an ordinary role)."""
    options = f"-c {row_security.SETTING}={row_security.EVERY_TERRITORY}"
    environment = dict(os.environ)
    environment["PGOPTIONS"] = f"{environment.get('PGOPTIONS', '')} {options}".strip()
    return environment


def backup_postgres(url: str, output: Path) -> None:
    partial = output.with_name(output.name + ".partiel")
    # --enable-row-security: the application's role is subject to its tables' policies (they
    # are forced), and pg_dump refuses such tables otherwise; the setting shows every row.
    _run_tool(
        [
            _postgres_tool("pg_dump"),
            "--format=custom",
            "--enable-row-security",
            f"--file={partial}",
            url,
        ]
    )
    os.replace(partial, output)


def backup(settings: Settings, output: Path) -> Path:
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    if settings.is_sqlite:
        backup_sqlite(settings.sqlite_path, output)
    else:
        backup_postgres(settings.database_url, output)
    return output


def backup_kind(path: Path) -> str:
    if not path.is_file():
        raise BackupError(f"Fichier de sauvegarde introuvable : {path}")
    with path.open("rb") as handle:
        head = handle.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path.name} n'est pas une sauvegarde de maillage (ni SQLite, ni pg_dump).")


def _check_sqlite_backup(path: Path) -> None:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, factory=FrenchConnection)
    try:
        if connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError(f"La sauvegarde {path.name} est endommagée.")
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    finally:
        connection.close()
    if "migration" not in tables or "organisation" not in tables:
        raise BackupError(f"{path.name} est une base SQLite, mais pas une base de maillage.")


# What SQLite itself creates; every other object must be one maillage's migrations create.
SQLITE_OWN = ("sqlite_sequence", "sqlite_stat1", "sqlite_stat4", "sqlite_autoindex_")
# The French word for each kind of object, and its feminine ending for the agreement.
OBJECT_WORDS = {
    "table": ("table", "e"),
    "index": ("index", ""),
    "trigger": ("déclencheur", ""),
    "view": ("vue", "e"),
}


def _schema(path: Path) -> tuple[dict[tuple[str, str], str], set[str]]:
    """Every schema object of a SQLite file (type and name to SQL) and its applied migrations."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, factory=FrenchConnection)
    try:
        rows = connection.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        migrations = {row[0] for row in connection.execute("SELECT name FROM migration")}
    finally:
        connection.close()
    objects = {
        (kind, name): " ".join((sql or "").split())
        for kind, name, sql in rows
        if not name.startswith(SQLITE_OWN)
    }
    return objects, migrations


def _reference_schema() -> tuple[dict[tuple[str, str], str], set[str]]:
    """The schema a fresh maillage database has, built by this version's own migrations."""
    with tempfile.TemporaryDirectory(prefix="maillage-reference-") as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLAGE_")}
        env["MAILLAGE_DATA_DIR"] = folder
        result = subprocess.run(
            [sys.executable, "-m", "maillage", "migrate"], env=env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise BackupError("Impossible de construire le schéma de référence pour comparer.")
        return _schema(Path(folder) / "maillage.db")


def check_sqlite_schema(path: Path) -> None:
    """Refuse a backup holding any schema object maillage does not create (a crafted trigger
    could make every new account an administrator), or one of ours whose definition changed."""
    found, migrations = _schema(path)
    expected, expected_migrations = _reference_schema()
    same_version = migrations == expected_migrations
    problems = []
    for (kind, name), sql in sorted(found.items()):
        word, ending = OBJECT_WORDS.get(kind, (kind, ""))
        if (kind, name) not in expected:
            problems.append(f"{word} « {name} » inconnu{ending} de maillage")
        elif same_version and expected[(kind, name)] != sql:
            problems.append(f"{word} « {name} » modifié{ending}")
    if problems:
        raise BackupError(
            f"Restauration refusée : {path.name} contient des objets que maillage ne crée pas "
            f"({' ; '.join(problems)}). Une sauvegarde modifiée peut installer une porte "
            "dérobée : restaurez une sauvegarde faite par « maillage backup »."
        )


def _ensure_sqlite_unused(database: Path) -> None:
    """Refuse to overwrite a database that a running service still holds open."""
    if not database.exists():
        return
    connection = sqlite3.connect(database, timeout=0.5)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        connection.rollback()
    except sqlite3.OperationalError as error:
        raise BackupError(
            "La base est en cours d'utilisation : arrêtez le service avant de restaurer."
        ) from error
    finally:
        connection.close()


def restore_sqlite(path: Path, database: Path) -> None:
    _check_sqlite_backup(path)
    check_sqlite_schema(path)
    _ensure_sqlite_unused(database)
    database.parent.mkdir(parents=True, exist_ok=True)
    staging = database.with_name(database.name + ".restauration")
    shutil.copyfile(path, staging)
    for suffix in ("-wal", "-shm"):
        Path(str(database) + suffix).unlink(missing_ok=True)
    os.replace(staging, database)


# pg_restore --list names each entry « TYPE schema [table] name owner »; these types hold rows,
# not schema objects: only their table must be one of maillage's.
PG_DATA_ENTRIES = ("TABLE DATA", "SEQUENCE SET")
PG_ENTRY_TYPES = (
    "SEQUENCE OWNED BY",
    "FK CONSTRAINT",
    "TABLE DATA",
    "SEQUENCE SET",
    "MATERIALIZED VIEW",
    "EVENT TRIGGER",
    "DEFAULT ACL",
)
PG_WORDS = {
    "TABLE": ("table", "e"),
    "INDEX": ("index", ""),
    "TRIGGER": ("déclencheur", ""),
    "VIEW": ("vue", "e"),
    "FUNCTION": ("fonction", "e"),
    "CONSTRAINT": ("contrainte", "e"),
    "FK CONSTRAINT": ("contrainte", "e"),
    "SEQUENCE": ("séquence", "e"),
    "DEFAULT": ("valeur par défaut", "e"),
}


def _pg_output(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, env=_tool_environment())
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
        raise BackupError(f"{Path(command[0]).name} a échoué : {detail}")
    return result.stdout


def _pg_entries(archive: Path) -> set[tuple[str, str]]:
    """The archive's table of contents as (type, name) pairs, owners and ids left out."""
    entries = set()
    for line in _pg_output([_postgres_tool("pg_restore"), "--list", str(archive)]).splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        rest = line.split(" ", 3)[-1]  # after « id; oid oid »
        kind = next((t for t in PG_ENTRY_TYPES if rest.startswith(t + " ")), rest.split(" ")[0])
        name = " ".join(rest[len(kind) :].split()[:-1])  # without the owner
        entries.add((kind, name))
    return entries


def _pg_definitions(archive: Path) -> set[str]:
    """Each schema statement of the archive, spaces folded, without what differs between two
    dumps of the same schema (comments, owners, settings, pg_dump's random restrict key)."""
    text = _pg_output(
        [_postgres_tool("pg_restore"), "--schema-only", "--no-owner", "-f", "-", str(archive)]
    )
    lines = [
        line
        for line in text.splitlines()
        if not line.startswith(("--", "\\restrict", "\\unrestrict", "SET ", "SELECT pg_catalog"))
    ]
    return {" ".join(part.split()) for part in "\n".join(lines).split(";\n") if part.strip()}


def _pg_migrations(archive: Path) -> set[str]:
    """The names in the archive's migration table (its COPY block, one row a line)."""
    text = _pg_output(
        [_postgres_tool("pg_restore"), "--data-only", "--table=migration", "-f", "-", str(archive)]
    )
    rows, inside = set(), False
    for line in text.splitlines():
        if line.startswith("COPY "):
            columns = line[line.index("(") + 1 : line.index(")")].split(", ")
            position, inside = columns.index("name"), True
        elif inside and line == "\\.":
            inside = False
        elif inside:
            rows.add(line.split("\t")[position])
    return rows


def check_postgres_schema(path: Path, url: str) -> None:
    """Refuse a pg_dump archive holding any schema object that a database migrated by this
    version does not have (a trigger, function, view, table, index…), or, at the same migration
    level, one whose definition differs (a column default changed to 'admin')."""
    with tempfile.TemporaryDirectory(prefix="maillage-reference-") as folder:
        reference = Path(folder) / "reference.dump"
        _run_tool(
            [
                _postgres_tool("pg_dump"),
                "--format=custom",
                "--schema-only",
                f"--file={reference}",
                url,
            ]
        )
        expected = _pg_entries(reference)
        expected_definitions = _pg_definitions(reference)
        expected_migrations = _pg_migrations_of_database(url)
    found = _pg_entries(path)
    tables = {name.split(" ")[-1] for kind, name in expected if kind == "TABLE"}
    problems = []
    for kind, name in sorted(found):
        if kind in PG_DATA_ENTRIES:
            known = name.split(" ")[-1].removesuffix("_id_seq") in tables
        else:
            known = (kind, name) in expected
        if not known:
            word, ending = PG_WORDS.get(kind, (kind.lower(), ""))
            problems.append(f"{word} « {name.split(' ')[-1]} » inconnu{ending} de maillage")
    if not problems and _pg_migrations(path) == expected_migrations:
        changed = _pg_definitions(path) - expected_definitions
        problems += [_changed(statement, expected_definitions) for statement in sorted(changed)]
    if problems:
        raise BackupError(
            f"Restauration refusée : {path.name} contient des objets que maillage ne crée pas "
            f"({' ; '.join(problems)}). Une sauvegarde modifiée peut installer une porte "
            "dérobée : restaurez une sauvegarde faite par « maillage backup »."
        )


def _changed(statement: str, expected: set[str]) -> str:
    """« définition modifiée » with the statement's head and the pieces no reference has."""
    head = statement.split("(")[0][:80].strip()
    pieces = [piece for piece in statement.split(", ") if not any(piece in e for e in expected)]
    return f"définition modifiée : « {head} » ({', '.join(pieces)[:200]})"


def _pg_migrations_of_database(url: str) -> set[str]:
    text = _pg_output(
        [_postgres_tool("psql"), "--no-psqlrc", "-At", "-c", "SELECT name FROM migration", url]
    )
    return {line for line in text.splitlines() if line}


def restore_postgres(path: Path, url: str) -> None:
    check_postgres_schema(path, url)
    _run_tool(
        [
            _postgres_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={url}",
            str(path),
        ]
    )


async def restore(settings: Settings, path: Path) -> list[str]:
    """Bring a backup back, then migrate it to the current schema; returns the migrations run."""
    kind = backup_kind(path)
    engine = "sqlite" if settings.is_sqlite else "postgresql"
    if kind != engine:
        raise BackupError(
            f"Cette sauvegarde vient d'une base {kind} ; la base configurée est {engine}."
        )
    if kind == "sqlite":
        # Kept connections would go on writing to the replaced file and its deleted WAL.
        await db.close_pool()
        await asyncio.to_thread(restore_sqlite, path, settings.sqlite_path)
    else:
        # The reference for the check is the configured database at this version's schema:
        # migrate it first (nothing to do when it is current; pg_restore replaces it anyway).
        await db.connect(settings.database_url)
        await db.migrate()
        await asyncio.to_thread(restore_postgres, path, settings.database_url)
    await db.connect(settings.database_url)
    return await db.migrate()
