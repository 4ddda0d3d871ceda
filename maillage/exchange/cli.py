"""Commands of data exchange: ``export``, ``import``, ``duplicates`` and ``rgpd``."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click

from maillage import french
from maillage.actor import CLI, IMPORT
from maillage.clikit import FrenchCommand, FrenchGroup, confirm, fail, run_async
from maillage.exchange import duplicates as dup
from maillage.exchange import erasure
from maillage.exchange import rgpd as rights
from maillage.exchange.exports import ENTITIES, FORMATS, kept_exports_dir, start_export
from maillage.exchange.imports import ImportRefused, ImportReport, run_import, warnings_csv
from maillage.exchange.mapping import KINDS
from maillage.exchange.reading import MAX_IMPORT_BYTES
from maillage.exchange.sources import ExportFilters
from maillage.french import plural
from maillage.settings import Settings

SHOWN_PROBLEMS = 50


@click.command("export", cls=FrenchCommand)
@click.argument("entity", type=click.Choice(ENTITIES))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default="csv",
    show_default=True,
    help="Format du fichier.",
)
@click.option(
    "--preset",
    type=click.Choice(["caf"]),
    default=None,
    help="« caf » : colonnes fixes de l'Export Caf (contacts).",
)
@click.option("--q", default=None, help="Recherche sans accents ni majuscules.")
@click.option("--axis", type=int, default=None, help="Axe de la CTG (n°).")
@click.option("--kind", default=None, help="Type d'organisation ou d'instance.")
@click.option("--category", default=None, help="Catégorie d'organisation.")
@click.option("--group", type=int, default=None, help="Instance (n°).")
@click.option("--commune", type=int, default=None, help="Commune (n°).")
@click.option("--territory", type=int, default=None, help="Territoire (n°).")
@click.option("--organisation", type=int, default=None, help="Organisation (n°).")
@click.option("--role", default=None, help="Rôle dans l'instance (participations).")
@click.option("--status", default=None, help="Statut de réunion.")
@click.option(
    "--from",
    "start",
    type=click.DateTime(["%Y-%m-%d", "%d/%m/%Y"]),
    default=None,
    help="Période : à partir du.",
)
@click.option(
    "--to",
    "end",
    type=click.DateTime(["%Y-%m-%d", "%d/%m/%Y"]),
    default=None,
    help="Période : jusqu'au.",
)
@click.option("--include-archived", is_flag=True, help="Inclure les fiches archivées.")
@click.option(
    "--mailing", is_flag=True, help="Pour un envoi : sans les personnes opposées aux envois."
)
@click.option(
    "--output",
    "-o",
    default=None,
    metavar="FICHIER",
    help="Fichier à écrire (« - » : sortie standard ; par défaut : <dossier de données>/exports/).",
)
@run_async
async def export_command(settings: Settings, entity: str, fmt: str, preset: str | None, output: str | None, start: dt.datetime | None, end: dt.datetime | None, **filters: object) -> None:  # fmt: skip
    """Exporter organisations, contacts, participations, réunions ou l'annuaire complet."""
    chosen = ExportFilters(
        **{k: v for k, v in filters.items() if v not in (None, False)},  # type: ignore[arg-type]  # Click checked each option against ExportFilters' field
        start=start.date() if start else None,
        end=end.date() if end else None,
    )
    export = start_export(CLI, entity, fmt, chosen, preset, settings.base_url)
    if output == "-":
        async for chunk in export.chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return
    path = Path(output) if output else kept_exports_dir(settings.data_dir) / export.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        async for chunk in export.chunks:
            file.write(chunk)
    click.echo(
        plural(export.rows, "ligne exportée", "lignes exportées") + f" dans {path}.", err=True
    )


@click.command("import", cls=FrenchCommand)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    default="contacts",
    show_default=True,
    help="Type de données (contacts : avec leurs organisations).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Simuler : lister ce qui serait créé, mis à jour ou rejeté, sans rien écrire.",
)
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Correspondance colonnes → champs (JSON ou CSV « colonne;champ »).",
)
@click.option(
    "--only-valid",
    "--lignes-valides",
    "only_valid",
    is_flag=True,
    help="Importer les lignes valides même si d'autres sont rejetées.",
)
@click.option(
    "--warnings-csv",
    "--avertissements",
    "warnings_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FICHIER",
    help="Écrire tous les avertissements (ligne, colonne, texte) dans ce fichier CSV.",
)
@run_async
async def import_command(settings: Settings, file: Path, kind: str, dry_run: bool, mapping: Path | None, only_valid: bool, warnings_file: Path | None) -> None:  # fmt: skip
    """Importer un fichier CSV ou XLSX (20 Mo au plus) ; tout ou rien par défaut."""
    if file.stat().st_size > MAX_IMPORT_BYTES:
        fail(
            f"« {file.name} » dépasse la limite de {MAX_IMPORT_BYTES // 1024 // 1024} Mo : découpez-le."
        )
    data = file.read_bytes()
    mapping_data = mapping.read_bytes() if mapping else None
    try:
        report = await run_import(
            IMPORT, data, file.name, kind, mapping_data, not dry_run, only_valid
        )
    except ImportRefused as refused:
        _print_report(refused.report, warnings_file)
        rejected = plural(len(refused.report.rejected), "ligne rejetée", "lignes rejetées")
        fail(
            f"import non effectué ({rejected}, détail ci-dessus) : corrigez le fichier, ou "
            "importez seulement les lignes valides (option --lignes-valides). Rien n'a été écrit."
        )
        return
    _print_report(report, warnings_file)


def _print_report(report: ImportReport, warnings_file: Path | None = None) -> None:
    click.echo(
        f"Fichier : {report.filename} ({report.file_description}), en-tête ligne {report.header_line}."
    )
    click.echo("Colonnes lues : " + ", ".join(f"{k} → {v}" for k, v in report.columns.items()))
    if report.ignored_columns:
        click.echo("Colonnes ignorées : " + ", ".join(report.ignored_columns))
    for note in report.notes:
        click.echo(note)
    problems = [p for line in report.lines for p in line.problems]
    warnings = [w for line in report.lines for w in line.warnings]
    for problem in problems[:SHOWN_PROBLEMS]:
        click.secho(f"  rejet — {problem}", fg="red")
    if len(problems) > SHOWN_PROBLEMS:
        click.echo(
            "  … et "
            + plural(len(problems) - SHOWN_PROBLEMS, "autre problème", "autres problèmes")
            + "."
        )
    for warning in warnings[:SHOWN_PROBLEMS]:
        click.secho(f"  attention — {warning}", fg="yellow")
    if len(warnings) > SHOWN_PROBLEMS:
        more = plural(
            len(warnings) - SHOWN_PROBLEMS, "autre avertissement", "autres avertissements"
        )
        hint = (
            ""
            if warnings_file
            else " : tous dans un fichier CSV avec l'option --avertissements FICHIER"
        )
        click.echo(f"  … et {more}{hint}.")
    if warnings_file is not None:
        warnings_file.write_bytes(warnings_csv(report))
        click.echo(
            plural(len(warnings), "avertissement écrit", "avertissements écrits")
            + f" dans {warnings_file}."
        )
    click.secho(report.summary(), bold=True)


@click.command("duplicates", cls=FrenchCommand)
@click.option(
    "--type",
    "entity",
    type=click.Choice(["contacts", "organisations"]),
    default="contacts",
    show_default=True,
    help="Contacts ou organisations.",
)
@click.option(
    "--threshold",
    "--seuil",
    type=click.IntRange(0, 100),
    default=dup.THRESHOLD,
    show_default=True,
    help="Score minimal.",
)
@click.option(
    "--merge",
    nargs=2,
    type=int,
    default=None,
    metavar="GARDER FUSIONNER",
    help="Fusionner la fiche FUSIONNER dans la fiche GARDER.",
)
@run_async
async def duplicates_command(settings: Settings, entity: str, threshold: int, merge: tuple[int, int] | None) -> None:  # fmt: skip
    """Lister les doublons probables, ou fusionner deux fiches."""
    if merge:
        kept = await dup.merge(CLI, entity, merge[0], merge[1])
        name = kept.get("name") or f"{kept.get('first_name')} {kept.get('last_name')}"
        click.echo(f"Fiche n° {merge[1]} fusionnée dans « {name} » (n° {merge[0]}).")
        return
    pairs = await dup.find_duplicates(entity, threshold)
    for pair in pairs:
        click.echo(
            f"{pair.score:3d}  n° {pair.first['id']} « {_label(pair.first)} » / n° {pair.second['id']} « {_label(pair.second)} » : {' ; '.join(pair.reasons)}"
        )
    click.echo(
        plural(len(pairs), "paire", "paires") + f" de doublons probables (score ≥ {threshold})."
    )


def _label(row: dict[str, Any]) -> str:
    name: str | None = row.get("name")
    return name or f"{row.get('first_name')} {row.get('last_name')}"


@click.group("rgpd", cls=FrenchGroup)
def rgpd_group() -> None:
    """Droits des personnes (RGPD) : accès, effacement, information, conservation, registre."""


@rgpd_group.command("export", cls=FrenchCommand)
@click.argument("contact_id", type=int)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "html"]),
    default="json",
    show_default=True,
    help="JSON, ou document lisible (HTML).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Fichier à écrire (sinon : sortie standard).",
)
@run_async
async def rgpd_export(settings: Settings, contact_id: int, fmt: str, output: Path | None) -> None:
    """Toutes les données d'une personne (droit d'accès)."""
    data = await rights.subject_access(contact_id)
    text = rights.subject_access_html(data) if fmt == "html" else rights.as_json(data)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Données écrites dans {output}.", err=True)
    else:
        click.echo(text)


@rgpd_group.command("anonymise", cls=FrenchCommand)
@click.argument("contact_id", type=int)
@click.option("--yes", is_flag=True, help="Ne pas demander de confirmation.")
def rgpd_anonymise(contact_id: int, yes: bool) -> None:
    """Anonymiser une personne (droit à l'effacement ; irréversible)."""
    if not yes:
        confirm(f"Anonymiser définitivement le contact n° {contact_id} ?")

    @run_async
    async def erase(settings: Settings) -> None:
        counts = await rights.anonymise(CLI, contact_id, settings.data_dir)
        click.echo(
            f"Contact n° {contact_id} anonymisé, nettoyés : "
            f"{plural(counts['journal'], 'entrée', 'entrées')} du journal, "
            f"{plural(counts['messages'], 'message')}, "
            f"{plural(counts['fichiers_eml'], 'fichier')} .eml, "
            f"{plural(counts['exports'], 'export conservé', 'exports conservés')} et "
            f"{plural(counts['echanges'], 'échange')}."
        )
        _say_backups(counts["sauvegardes"], settings.data_dir / "sauvegardes")

    erase()


def _say_backups(held: list[dict[str, str]], folder: Path) -> None:
    """A backup is never rewritten: say which still hold the person, and until when."""
    days = erasure.BACKUP_RETENTION_DAYS
    for backup in held:
        made = dt.datetime.fromisoformat(backup["faite_le"])
        click.echo(
            f"La sauvegarde {backup['fichier']} (faite le {french.short_date(made.date())}) la "
            f"contient encore, jusqu'à sa suppression le "
            f"{french.short_date(dt.date.fromisoformat(backup['expire_le']))} "
            f"(conservation : {days} jours)."
        )
    if not held:
        click.echo(f"Aucune sauvegarde antérieure dans {folder}.")
    click.echo(
        "Les copies écrites ailleurs (« maillage backup --output », copies hors de la machine) "
        "ne sont pas vues : purgez-les au même rythme."
    )


@rgpd_group.command("notice", cls=FrenchCommand)
@run_async
async def rgpd_notice(settings: Settings) -> None:
    """Note d'information de l'article 14, à envoyer aux personnes."""
    click.echo(await rights.information_notice(settings.mail_from))


@rgpd_group.command("retention", cls=FrenchCommand)
@click.option(
    "--months",
    "--delai-mois",
    type=click.IntRange(1, 240),
    default=rights.DEFAULT_RETENTION_MONTHS,
    show_default=True,
    help="Délai après la fin de la CTG.",
)
@run_async
async def rgpd_retention(settings: Settings, months: int) -> None:
    """Contacts sans activité depuis le délai de conservation."""
    result = await rights.retention_check(months)
    for contact in result["contacts"]:
        click.echo(
            f"n° {contact['id']}  {contact['nom']}  (dernière activité : {french.short_date(contact['derniere_activite'])})"
        )
    click.echo(result["message"])


@rgpd_group.command("register", cls=FrenchCommand)
@run_async
async def rgpd_register(settings: Settings) -> None:
    """Projet de fiche du registre des traitements (Markdown)."""
    click.echo(await rights.processing_register())


COMMANDS = [export_command, import_command, duplicates_command, rgpd_group]
