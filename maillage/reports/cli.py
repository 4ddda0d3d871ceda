"""``maillage report``: the bilan annuel and the territorial diagnostic, written to files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from maillage.clikit import FrenchCommand, FrenchGroup, fail, run_async
from maillage.french import parse_number
from maillage.settings import Settings
from maillage.vocabulary import EVALUATION_DECISIONS, FINANCERS, ORGANISATION_KINDS


@click.group(cls=FrenchGroup)
def report() -> None:
    """Produire le bilan annuel pour la Caf et le diagnostic territorial."""


@report.command("annual", cls=FrenchCommand)
@click.option("--year", required=True, type=int, help="Année du bilan (ex. : 2026).")
@click.option(
    "--territory",
    type=int,
    multiple=True,
    help="Territoire (obligatoire s'il y en a plusieurs) ; répétable : un bilan consolidé de "
    "ces territoires (le portefeuille d'une conseillère de la Caf).",
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
    settings: Settings,
    year: int,
    territory: tuple[int, ...],
    output: Path,
    today: dt.datetime | None,
) -> None:
    """Écrire le bilan annuel (DOCX à compléter, XLSX des données, HTML imprimable)."""
    from maillage.reports.annual import build_annual_report
    from maillage.reports.files import write_annual

    day = today.date() if today else dt.date.today()
    one = territory[0] if len(territory) == 1 else None
    several = list(territory) if len(territory) > 1 else None
    built = await build_annual_report(year, one, day, territory_ids=several)
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


@report.command("evaluate", cls=FrenchCommand)
@click.option("--action", "action_id", required=True, type=int, help="Numéro de la fiche action.")
@click.option("--year", required=True, type=int, help="Année évaluée (ex. : 2026).")
@click.option("--done", default="", help="Ce qui a été réalisé dans l'année.")
@click.option("--results", default="", help="Indicateurs atteints ou non, et pourquoi.")
@click.option("--partners", default="", help="Partenaires mobilisés.")
@click.option(
    "--decision",
    type=click.Choice(list(EVALUATION_DECISIONS)),
    default=None,
    help="Suite décidée : poursuivre, ajuster ou arrêter l'action.",
)
@click.option(
    "--budget",
    "budget",
    multiple=True,
    metavar="FINANCEUR:PRÉVU[:DÉPENSÉ]",
    help="Une ligne de budget en euros, ex. : caf:12000:9500 (option répétable). Financeurs : "
    + ", ".join(FINANCERS)
    + ".",
)
@run_async
async def evaluate(
    settings: Settings,
    action_id: int,
    year: int,
    done: str,
    results: str,
    partners: str,
    decision: str | None,
    budget: tuple[str, ...],
) -> None:
    """Enregistrer l'évaluation annuelle d'une fiche action (remplace celle de la même année)."""
    import msgspec

    from maillage.actor import CLI
    from maillage.crm.registry import SERVICES
    from maillage.reports.actions import EvaluationIn, evaluation_problem, record_evaluation

    lines = [budget_line(text, number) for number, text in enumerate(budget, start=1)]
    action = await SERVICES["actions"].get(action_id)
    try:
        data = msgspec.convert(
            {
                "version": action["version"],
                "year": year,
                "done": done,
                "results": results,
                "partners": partners,
                "decision": decision,
                "budget": lines,
            },
            EvaluationIn,
        )
    except msgspec.ValidationError as error:
        fail(f"évaluation refusée. {evaluation_problem(error)}")
    saved = await record_evaluation(CLI, action_id, data)
    click.echo(
        f"Évaluation {year} enregistrée pour « {saved['title']} » (version {saved['version']})."
    )


def budget_line(text: str, number: int) -> dict[str, object]:
    """« caf:12000:9500 » as a budget line; French amounts (« 12 000,50 ») are accepted."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or parts[0] not in FINANCERS:
        fail(
            f"--budget n° {number} « {text} » : attendu FINANCEUR:PRÉVU[:DÉPENSÉ], le financeur "
            f"parmi {', '.join(FINANCERS)}."
        )
    amounts = [amount(part, number) for part in parts[1:]]
    return {
        "financer": parts[0],
        "planned": amounts[0] if amounts[0] is not None else 0.0,
        "spent": amounts[1] if len(amounts) > 1 else None,
    }


def amount(text: str, number: int) -> float | None:
    try:
        value = parse_number(text)
    except ValueError:
        value = -1.0
    if value is not None and not 0 <= value <= 1_000_000_000:
        fail(f"--budget n° {number} : « {text} » n'est pas un montant positif en euros.")
    return value


@report.command("pack", cls=FrenchCommand)
@click.argument("meeting", type=click.IntRange(min=1), metavar="RÉUNION")
@click.option(
    "--format",
    "extension",
    type=click.Choice(["docx", "html"]),
    default="docx",
    show_default=True,
    help="docx : document modifiable ; html : page imprimable en A4 (PDF par le navigateur).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Fichier à écrire (par défaut : dossier-de-seance-DATE-RÉUNION.docx ou .html "
    "dans le dossier courant).",
)
@run_async
async def pack(settings: Settings, meeting: int, extension: str, output: Path | None) -> None:
    """Écrire le dossier de séance d'une réunion (numéro RÉUNION), inscrit au journal."""
    from maillage.actor import CLI
    from maillage.reports.service import pack_download

    content, name = await pack_download(CLI, meeting, extension, dt.date.today())
    path = output or Path(name)
    path.write_bytes(content)
    click.echo(f"Écrit : {path}")


def kinds_label(kinds: tuple[str, ...]) -> str:
    if not kinds:
        return "tous les types d'organisation"
    return ", ".join(ORGANISATION_KINDS[k].lower() for k in kinds)


COMMANDS = [report]
