"""Commands ``maillage backup`` and ``maillage restore``."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import click

from maillage.clikit import FrenchCommand, current_settings, fail
from maillage.french import plural
from maillage.messages import system_error
from maillage.ops.backup import BackupError, backup, restore


@click.command("backup", cls=FrenchCommand)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Fichier à écrire (par défaut : <dossier de données>/sauvegardes/maillage-DATE.bak).",
)
def backup_command(output: Path | None) -> None:
    """Sauvegarder toute la base (possible pendant que le service tourne)."""
    settings = current_settings()
    if output is None:
        stamp = dt.datetime.now().strftime("%Y-%m-%d-%H%M%S")
        output = settings.data_dir / "sauvegardes" / f"maillage-{stamp}.bak"
    try:
        written = backup(settings, output)
    except BackupError as error:
        fail(str(error))
        return
    except OSError as error:
        fail(_file_problem(error, output))
        return
    click.echo(f"Sauvegarde écrite : {written}")


@click.command("restore", cls=FrenchCommand)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Confirmer le remplacement de la base actuelle.")
def restore_command(file: Path, yes: bool) -> None:
    """Restaurer une sauvegarde, service arrêté (remplace toute la base actuelle)."""
    if not yes:
        fail(
            "la restauration remplace toute la base actuelle : relancez avec --yes pour confirmer."
        )
    settings = current_settings()
    try:
        applied = asyncio.run(restore(settings, file))
    except BackupError as error:
        fail(str(error))
        return
    except OSError as error:
        fail(_file_problem(error, file))
        return
    click.echo(
        f"Sauvegarde restaurée ({plural(len(applied), 'migration appliquée', 'migrations appliquées')} ensuite)."
    )


COMMANDS = [backup_command, restore_command]


def _file_problem(error: OSError, path: Path) -> str:
    return f"« {error.filename or path} » : {system_error(error)}."
