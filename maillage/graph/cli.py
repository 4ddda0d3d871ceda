"""``maillage network``: the network analysis from the command line."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from maillage import french
from maillage.clikit import FrenchCommand, FrenchGroup, fail, run_async
from maillage.graph.data import NetworkFilter
from maillage.graph.network import check_territories, network_service, resolve_axes
from maillage.graph.report import Level
from maillage.settings import Settings
from maillage.vocabulary import ORGANISATION_KINDS

FORMATS = ["text", "json", "csv", "gexf", "graphml", "html"]
KINDS = list(ORGANISATION_KINDS)
DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.group(cls=FrenchGroup)
def network() -> None:
    """Analyser le réseau : peu reliés, suggestions, dessin.

    Liens tissés par les instances, la présence aux réunions, les partenariats et les personnes
    communes ; mesures, explications en français, exports (Gephi, Excel) et dessin interactif.
    """


@network.command(cls=FrenchCommand)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text : rapport en français (Markdown) ; json ; csv (Excel) ; gexf et graphml (Gephi) ; "
    "html : dessin interactif autonome, utilisable hors connexion.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Fichier à écrire (sinon : la sortie standard).",
)
@click.option("--start", type=DATE, help="Début de la période.")
@click.option(
    "--end", type=DATE, help="Fin de la période et date de référence (par défaut : aujourd'hui)."
)
@click.option(
    "--axis", multiple=True, help="Axe de la CTG, par code (jeunesse) ou identifiant ; répétable."
)
@click.option("--commune", multiple=True, type=int, help="Identifiant de commune ; répétable.")
@click.option(
    "--kind", multiple=True, type=click.Choice(KINDS), help="Type d'organisation ; répétable."
)
@click.option("--include-archived", is_flag=True, help="Inclure les fiches archivées.")
@click.option(
    "--territory",
    multiple=True,
    type=int,
    help="Territoire (identifiant) ; répétable : le réseau de plusieurs territoires ensemble "
    "(par exemple le portefeuille d'une conseillère de la Caf). Par défaut : toute la base.",
)
@click.option(
    "--level",
    type=click.Choice(["organisations", "contacts"]),
    default="organisations",
    show_default=True,
    help="Réseau des organisations ou des personnes.",
)
@run_async
async def report(
    settings: Settings,
    fmt: str,
    output: Path | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    axis: tuple[str, ...],
    commune: tuple[int, ...],
    kind: tuple[str, ...],
    include_archived: bool,
    territory: tuple[int, ...],
    level: Level,
) -> None:
    """Rapport d'analyse du réseau, avec les filtres donnés."""
    if start and end and start > end:
        fail("la date de début (--start) doit précéder la date de fin (--end).")
    selection = NetworkFilter(
        start=start.date() if start else None,
        end=end.date() if end else None,
        axes=frozenset(await resolve_axes(axis)),
        communes=frozenset(commune),
        kinds=frozenset(kind),
        include_archived=include_archived,
    )
    if territory:
        await check_territories(territory)
    content = await network_service.rendered(
        fmt,
        selection,
        level,
        territory=territory or None,
    )
    data = content.encode("utf-8") if isinstance(content, str) else content
    if output is None:
        sys.stdout.buffer.write(data if data.endswith(b"\n") else data + b"\n")
        sys.stdout.flush()
        return
    output.write_bytes(data)
    click.echo(f"Rapport écrit dans {output} ({french.plural(len(data), 'octet')}).", err=True)


COMMANDS = [network]
