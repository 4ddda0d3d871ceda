"""``maillage calendar``: import an .ics file, materialise a recurring body, manage feed links."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from maillage.actor import CLI, IMPORT
from maillage.calendar import feeds, importer, service
from maillage.clikit import FrenchCommand, FrenchGroup, fail, run_async
from maillage.french import format_moment, plural
from maillage.settings import Settings


@click.group(cls=FrenchGroup)
def calendar() -> None:
    """Calendrier : import de fichiers .ics, réunions récurrentes, liens d'abonnement."""


@calendar.command("import", cls=FrenchCommand)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--group", "group_id", type=int, required=True, help="Instance qui reçoit les réunions."
)
@click.option("--dry-run", is_flag=True, help="Afficher ce qui changerait, sans rien écrire.")
@run_async
async def import_command(settings: Settings, file: Path, group_id: int, dry_run: bool) -> None:
    """Importer les réunions d'un fichier .ics (réimporter met à jour, sans doublon)."""
    report = await importer.import_ics(IMPORT, group_id, file.read_bytes(), dry_run)
    labels = {"creee": "création", "modifiee": "modification", "inchangee": "inchangée"}
    for line in report.lines:
        detail = f" ({', '.join(line.changed)})" if line.changed else ""
        click.echo(
            f"{labels[line.action]:>12} : {format_moment(line.starts_at)} — {line.title}{detail}"
        )
    for note in report.skipped:
        click.echo(f"     ignoré : {note}")
    click.echo(report.summary())
    changed = [line.meeting_id for line in report.lines if line.action == "modifiee"]
    if changed and not dry_run:
        # The mailing layer sits above this one: the command says what sends the updates.
        numbers = ", ".join(str(n) for n in changed)
        click.echo(
            f"Réunions modifiées ({numbers}) : « maillage mail invite N --send » envoie la mise "
            "à jour à ceux qui avaient reçu l'invitation (l'import par l'API l'envoie aussitôt)."
        )


@calendar.command("materialise", cls=FrenchCommand)
@click.option("--group", "group_id", type=int, required=True, help="Instance récurrente.")
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    required=True,
    help="Dernier jour de l'horizon.",
)
@click.option("--duration", type=int, default=120, show_default=True, help="Durée en minutes.")
@click.option("--dry-run", is_flag=True, help="Afficher les dates, sans rien créer.")
@run_async
async def materialise_command(
    settings: Settings, group_id: int, until: dt.datetime, duration: int, dry_run: bool
) -> None:
    """Créer les réunions d'une instance récurrente jusqu'à une date."""
    result = await service.materialise(
        CLI, group_id, until.date(), duration=dt.timedelta(minutes=duration), dry_run=dry_run
    )
    for occurrence in result.planned:
        click.echo(format_moment(occurrence.starts_at))
    count = len(result.planned)
    verb = "à créer" if dry_run else ("créées" if count > 1 else "créée")
    click.echo(f"{plural(count, 'réunion')} {verb}.")
    for warnings in result.warnings.values():
        for warning in warnings:
            click.secho(f"Attention : {warning.message}", fg="yellow")


@calendar.group("feed-token", cls=FrenchGroup)
def feed_token() -> None:
    """Liens d'abonnement secrets (sans connexion ; révocables)."""


@feed_token.command("create", cls=FrenchCommand)
@click.option(
    "--scope",
    type=click.Choice(sorted(feeds.SCOPES)),
    required=True,
    help="contact (mes réunions), group (une instance) ou territory (toutes).",
)
@click.option("--target", "target_id", type=int, default=None, help="Identifiant visé.")
@run_async
async def feed_token_create(settings: Settings, scope: str, target_id: int | None) -> None:
    """Créer un lien ; il n'est affiché qu'une fois."""
    token, token_id = await feeds.create_token(CLI, scope, target_id)
    links = service.links(settings, feeds.token_path(token))
    click.echo(f"Lien n° {token_id} :")
    click.echo(f"  {links['https']}")
    click.echo(f"  {links['webcal']}")


@feed_token.command("list", cls=FrenchCommand)
@run_async
async def feed_token_list(settings: Settings) -> None:
    """Lister les liens (sans leur secret)."""
    for row in await feeds.list_tokens(None, None):
        state = "révoqué" if row["revoked_at"] else "actif"
        target = row["target_id"] if row["target_id"] is not None else "tout"
        click.echo(f"n° {row['id']} : {row['scope']} {target} ({state})")


@feed_token.command("revoke", cls=FrenchCommand)
@click.argument("token_id", type=int)
@run_async
async def feed_token_revoke(settings: Settings, token_id: int) -> None:
    """Révoquer un lien : il répond 404 aussitôt."""
    rows = await feeds.list_tokens(None, None)
    if not any(row["id"] == token_id for row in rows):
        fail(f"lien n° {token_id} introuvable.")
    await feeds.revoke_token(CLI, token_id)
    click.echo(f"Lien n° {token_id} révoqué.")


COMMANDS = [calendar]
