"""``maillage territory``: a territory from the public registers (#18)."""

from __future__ import annotations

import click

from maillage.actor import CLI
from maillage.clikit import FrenchCommand, FrenchGroup, fail, run_async
from maillage.crm import scope as territory_scope
from maillage.crm.registry import SERVICES
from maillage.errors import ServiceError
from maillage.french import plural
from maillage.opendata import registers
from maillage.opendata.load import LoadReport, load_departement, load_territory
from maillage.settings import Settings


@click.group("territory", cls=FrenchGroup)
def territory_group() -> None:
    """Territoires : charger un EPCI depuis les répertoires publics, chercher son SIREN, fixer
    son département."""


@territory_group.command("load", cls=FrenchCommand)
@click.option(
    "--epci", "siren", default=None, metavar="SIREN", help="SIREN de l'EPCI (9 chiffres)."
)
@click.option(
    "--departement",
    default=None,
    metavar="CODE",
    help="Tous les EPCI d'un département (« 73 », « 2A », « 974 »), l'un après l'autre.",
)
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Tous les EPCI du pays, département après département (long : un banc d'essai).",
)
@click.option(
    "--dry-run", is_flag=True, help="Simulation : lister chaque changement sans rien écrire."
)
@run_async
async def load_command(settings: Settings, siren: str | None, departement: str | None, everything: bool, dry_run: bool) -> None:  # fmt: skip
    """Créer ou mettre à jour un territoire (communes, mairies, élus) depuis les répertoires
    publics ; tout ou rien pour chaque EPCI. Relancée, la commande met à jour sans rien
    dupliquer ni remplacer ce que l'équipe a saisi ; un mandat absent du répertoire est terminé,
    jamais supprimé. Avec --departement ou --all, chaque EPCI est chargé dans sa propre
    transaction et la commande affiche son bilan."""
    if sum((siren is not None, departement is not None, everything)) != 1:
        fail("indiquez une seule des options --epci SIREN, --departement CODE ou --all.")
        return
    if siren is not None:
        report = await load_territory(
            CLI, siren, dry_run=dry_run, data_dir=settings.data_dir, secret=settings.secret_key
        )
        _print(report)
        return
    codes = [departement] if departement is not None else registers.departement_codes()
    seen: set[str] = set()
    totals: dict[str, int] = {}
    for code in codes:
        loads = load_departement(CLI, code, settings.secret_key, dry_run=dry_run, skip=seen)
        async for report in loads:
            seen.add(report.siren)
            click.echo(f"{report.name} (SIREN {report.siren}) : {report.summary()}")
            for what, number in report.counts.items():
                totals[what] = totals.get(what, 0) + number
    click.echo(
        f"{plural(len(seen), 'EPCI traité', 'EPCI traités')} ; "
        + ", ".join(f"{key.replace('_', ' ')} : {number}" for key, number in sorted(totals.items()))
    )


def _print(report: LoadReport) -> None:
    click.echo(f"{report.name} (SIREN {report.siren}), répertoires publics : {report.month}")
    if report.cantons:
        click.echo("Cantons : " + ", ".join(report.cantons))
    if report.constituencies:
        click.echo("Circonscriptions : " + ", ".join(report.constituencies))
    for line in report.lines:
        click.echo(f"  {line}")
    for warning in report.warnings:
        click.secho(f"  Attention : {warning}", fg="yellow")
    click.echo(report.summary())
    if notice := report.notice():
        click.echo(notice)
    if report.committed and report.territory_id is not None:
        click.echo(f"Territoire n° {report.territory_id}.")


@territory_group.command("search", cls=FrenchCommand)
@click.argument("words", nargs=-1, required=True, metavar="MOTS...")
def search_command(words: tuple[str, ...]) -> None:
    """Chercher un EPCI par son nom (ou le début de son SIREN)."""
    try:
        found = registers.search_epcis(" ".join(words), limit=50)
    except ServiceError as error:
        fail(error.message)
        return
    if not found:
        fail("aucun EPCI ne correspond à cette recherche.")
    for epci in found:
        click.echo(f"{epci.siren}  {epci.name}")


@territory_group.command("departement", cls=FrenchCommand)
@click.argument("siren", metavar="SIREN")
@click.argument("code", metavar="CODE")
@run_async
async def departement_command(settings: Settings, siren: str, code: str) -> None:
    """Fixer le département d'un territoire (code INSEE : « 35 », « 2A », « 974 ») :
    utilisé tant que le territoire n'a pas de communes (un EPCI créé avant de charger ses
    communes), pour que ses utilisateurs voient les partenaires partagés de ce département ;
    ensuite, c'est celui de la majorité de ses communes, qui ne se saisit pas."""
    service = SERVICES["territories"]
    found = (await territory_scope.territories_by_siren([siren]))[siren.strip().replace(" ", "")]
    current = await service.get(found["id"])
    change = service.spec.update(version=current["version"], departement=code)
    record = await service.update(CLI, found["id"], change)
    click.echo(f"{record['name']} (SIREN {record['siren']}) : département {record['departement']}.")


COMMANDS = [territory_group]
