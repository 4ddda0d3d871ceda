"""``maillage report``: the bilan annuel and the territorial diagnostic, written to files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from maillage.clikit import FrenchCommand, FrenchGroup, fail, run_async
from maillage.settings import Settings
from maillage.vocabulary import ORGANISATION_KINDS


@click.group(cls=FrenchGroup)
def report() -> None:
    """Produire le bilan annuel pour la Caf et le diagnostic territorial."""


@report.command("annual", cls=FrenchCommand)
@click.option("--year", required=True, type=int, help="Année du bilan (ex. : 2026).")
@click.option(
    "--territory", type=int, default=None, help="Territoire (obligatoire s'il y en a plusieurs)."
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Dossier où écrire bilan-ANNÉE.docx, .xlsx et .html.",
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date de référence (par défaut : aujourd'hui).",
)
@run_async
async def annual(
    settings: Settings, year: int, territory: int | None, output: Path, today: dt.datetime | None
) -> None:
    """Écrire le bilan annuel (DOCX à compléter, XLSX des données, HTML imprimable)."""
    from maillage.reports.annual import build_annual_report
    from maillage.reports.files import write_annual

    day = today.date() if today else dt.date.today()
    built = await build_annual_report(year, territory, day)
    for path in write_annual(built, output):
        click.echo(f"Écrit : {path}")
    for warning in built.warnings:
        click.secho(f"À compléter : {warning.message}", fg="yellow")


@report.command("diagnostic", cls=FrenchCommand)
@click.option(
    "--territory", type=int, default=None, help="Territoire (obligatoire s'il y en a plusieurs)."
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(list(ORGANISATION_KINDS)),
    help="Ne compter que ce type d'organisation (option répétable).",
)
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Fichier à écrire : .xlsx ou .csv.",
)
@run_async
async def diagnostic(
    settings: Settings, territory: int | None, kinds: tuple[str, ...], output: Path
) -> None:
    """Écrire la matrice communes × axes des partenaires, zones blanches signalées."""
    from maillage.reports.coverage import coverage_csv
    from maillage.reports.coverage import diagnostic as build
    from maillage.reports.render_xlsx import render_diagnostic_xlsx

    suffix = output.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        fail(f"extension « {output.suffix or '(aucune)'} » non prise en charge : .xlsx ou .csv.")
    coverage = await build(territory, kinds)
    if suffix == ".csv":
        output.write_text(coverage_csv(coverage), encoding="utf-8")
    else:
        output.write_bytes(render_diagnostic_xlsx(coverage, kinds_label(kinds)))
    gaps = coverage.gaps()
    click.echo(f"Écrit : {output} ({len(coverage.communes)} communes, {len(gaps)} zones blanches).")


def kinds_label(kinds: tuple[str, ...]) -> str:
    if not kinds:
        return "tous les types d'organisation"
    return ", ".join(ORGANISATION_KINDS[k].lower() for k in kinds)


COMMANDS = [report]
