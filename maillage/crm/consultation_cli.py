"""``maillage consultation``: the consultations of public meetings and of themes (#22).

A consultation is named by its kind and number: ``reunion:12`` (the questions of public
meeting 12) or ``theme:3`` (consultation per theme n° 3)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from maillage.actor import CLI
from maillage.clikit import FrenchCommand, FrenchGroup, fail, run_async
from maillage.crm import consultations
from maillage.crm.consultations import Owner
from maillage.french import number, plural
from maillage.settings import Settings
from maillage.tables import ROW_ID_MAX


@click.group(cls=FrenchGroup)
def consultation() -> None:
    """Consultations des habitants : par réunion publique ou par thème."""


def _owner(text: str) -> Owner:
    kind, _, raw = text.partition(":")
    names = {"reunion": "meeting", "réunion": "meeting", "theme": "consultation"}
    if kind not in names or not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 2**31:
        fail(
            f"« {text} » : nommez la consultation par « reunion:N » (questions d'une réunion "
            "publique) ou « theme:N » (consultation par thème)."
        )
    return (names[kind], int(raw))


@consultation.command("list", cls=FrenchCommand)
@run_async
async def consultation_list(settings: Settings) -> None:
    """Lister les consultations par thème : numéro, axe, titre, état, questions, répondants."""
    rows = await consultations.themes()
    if not rows:
        click.echo("Aucune consultation par thème.")
    for row in rows:
        state = "ouverte" if row["is_open"] else "fermée"
        click.echo(
            f"theme:{row['id']}\t{row['axis_name']}\t{row['title']}\t{state}\t"
            f"{plural(row['questions'], 'question')}\t"
            f"{plural(row['respondents'], 'répondant')}"
        )


@consultation.command("create", cls=FrenchCommand)
@click.option(
    "--axe", "axis", type=click.IntRange(1, ROW_ID_MAX), required=True, help="N° de l'axe."
)
@click.option("--titre", "title", required=True, help="Titre de la consultation.")
@run_async
async def consultation_create(settings: Settings, axis: int, title: str) -> None:
    """Créer une consultation sur un thème (un axe de la CTG), fermée jusqu'à son ouverture."""
    row = await consultations.create_theme(CLI, axis, title)
    click.echo(f"Consultation créée : theme:{row['id']} ({row['axis_name']}).")


@consultation.command("question", cls=FrenchCommand)
@click.argument("cible")
@click.option(
    "--type",
    "kind",
    type=click.Choice(list(consultations.KINDS)),
    default="choix",
    show_default=True,
    help="choix (une réponse dans une liste), echelle (de 1 à 5) ou texte (libre).",
)
@click.option("--libelle", "label", required=True, help="La question.")
@click.option("--choix", "choices", multiple=True, help="Une réponse possible (répétable).")
@run_async
async def consultation_question(
    settings: Settings, cible: str, kind: str, label: str, choices: tuple[str, ...]
) -> None:
    """Ajouter une question à la consultation CIBLE (reunion:N ou theme:N)."""
    row = await consultations.add_question_to(CLI, _owner(cible), kind, label, list(choices))
    click.echo(f"Question n° {row['id']} ajoutée.")


@consultation.command("move", cls=FrenchCommand)
@click.argument("question", type=click.IntRange(1, ROW_ID_MAX))
@click.option(
    "--haut/--bas", "up", default=True, help="Monter (par défaut) ou descendre d'un cran."
)
@run_async
async def consultation_move(settings: Settings, question: int, up: bool) -> None:
    """Déplacer la question n° QUESTION d'un cran dans sa consultation."""
    await consultations.move_question(CLI, question, -1 if up else 1)
    click.echo("Question déplacée.")


@consultation.command("open", cls=FrenchCommand)
@click.argument("theme", type=click.IntRange(1, ROW_ID_MAX))
@click.option("--fermer", "close", is_flag=True, help="Fermer au lieu d'ouvrir.")
@run_async
async def consultation_open(settings: Settings, theme: int, close: bool) -> None:
    """Ouvrir la consultation par thème n° THEME (sa page publique répond), ou la fermer."""
    await consultations.set_theme_open(CLI, theme, not close)
    click.echo("Consultation fermée." if close else f"Consultation ouverte : /consulter/{theme}.")


@consultation.command("results", cls=FrenchCommand)
@click.argument("cible")
@run_async
async def consultation_results(settings: Settings, cible: str) -> None:
    """Montrer la synthèse des réponses de CIBLE (reunion:N ou theme:N)."""
    result = await consultations.results_of(_owner(cible))
    click.echo(plural(result["respondents"], "répondant") + ".")
    for question in result["questions"]:
        click.echo(f"\n{question['label']} ({plural(question['answers'], 'réponse')})")
        for option, count in question.get("counts", []):
            click.echo(f"  {option} : {count}")
        if question.get("mean") is not None:
            click.echo(f"  moyenne : {number(round(question['mean'], 1))}")
        for text in question.get("texts", []):
            click.echo(f"  « {text} »")


@consultation.command("export", cls=FrenchCommand)
@click.argument("cible")
@click.option(
    "--sortie",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Fichier CSV à écrire (sinon : la sortie standard).",
)
@run_async
async def consultation_export(settings: Settings, cible: str, output: Path | None) -> None:
    """Exporter les réponses anonymes de CIBLE (reunion:N ou theme:N) en CSV (point-virgule,
    une ligne par personne, une colonne par question)."""
    text = await consultations.export_csv_of(_owner(cible))
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text("\ufeff" + text, encoding="utf-8")
    click.echo(f"Écrit : {output}")


COMMANDS = [consultation]
