"""``maillage mail``: invite, send the outbox, ingest calendar replies, read the mailbox."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click

from maillage.actor import CLI, Actor
from maillage.clikit import FrenchCommand, FrenchGroup, fail, run_async
from maillage.french import datetime_fr, plural
from maillage.mailing import background, invitations, notices, outbox, reminders, replies
from maillage.mailing.answers import RESPONSE_LABELS
from maillage.mailing.mailbox import MailboxReader
from maillage.mailing.messages import Attachment
from maillage.mailing.reminders import queue_due_reminders
from maillage.mailing.sender import DrainReport, sender_for
from maillage.settings import Settings


@click.group(cls=FrenchGroup)
def mail() -> None:
    """Invitations et file d'envoi des messages."""


def _print_problems(problems: list[dict[str, Any]]) -> None:
    for item in problems:
        click.secho(
            f"  ! {item['name']} (contact n° {item['contact']}) : {item['reason']}", fg="yellow"
        )


def _print_drain(report: DrainReport, remaining: dict[str, int]) -> None:
    click.echo(
        f"Envoyés : {report.sent} ; échecs : {report.failed} ; à réessayer : {report.retried}."
    )
    for line in report.errors:
        click.secho(f"  ! {line}", fg="yellow")
    if report.unreachable:
        click.secho(f"Envoi suspendu : {report.unreachable}", fg="red")
    waiting = remaining.get("en_attente", 0) + remaining.get("envoi", 0)
    if waiting:
        left = plural(waiting, "message reste", "messages restent")
        click.echo(f"{left} dans la file d'envoi.")


@mail.command(cls=FrenchCommand)
@click.argument("meeting_id", type=click.IntRange(1))
@click.option(
    "--contact",
    "contacts",
    multiple=True,
    type=click.IntRange(1),
    help="Inviter ce contact (répétable) ; sans cette option : les membres de l'instance.",
)
@click.option("--suppleants", is_flag=True, help="Inviter aussi les suppléants de l'instance.")
@click.option("--send", "send_now", is_flag=True, help="Mettre en file et envoyer aussitôt.")
@click.option(
    "--dossier",
    "with_pack",
    is_flag=True,
    help="Avec --send : joindre le dossier de séance (DOCX) à chaque invitation.",
)
@run_async
async def invite(
    settings: Settings,
    meeting_id: int,
    contacts: tuple[int, ...],
    suppleants: bool,
    send_now: bool,
    with_pack: bool,
) -> None:
    """Inviter à la réunion RÉUNION (son n°) les membres de son instance, ou les contacts nommés.

    Pour une réunion annulée, --send envoie l'annulation à ceux qui avaient reçu l'invitation."""
    if with_pack and not send_now:
        fail("--dossier joint le dossier de séance à l'envoi : ajoutez --send.")
    meeting = await invitations.load_meeting(meeting_id)
    if meeting.status == "annulee":
        if not send_now:
            fail(
                f"la réunion n° {meeting_id} est annulée : on n'y invite plus personne. "
                f"Pour envoyer l'annulation : maillage mail invite {meeting_id} --send."
            )
    else:
        request = invitations.InviteRequest(tuple(contacts), not contacts, suppleants)
        report = await invitations.invite(CLI, meeting_id, request)
        click.echo(
            f"Invitations créées : {len(report['created'])} ; déjà invités : "
            f"{len(report['already_invited'])}."
        )
        _print_problems(report["problems"])
    if not send_now:
        click.echo(f"Pour les envoyer : maillage mail invite {meeting_id} --send (ou l'API).")
        return
    files = [await _pack_maker()(CLI, meeting_id)] if with_pack else []
    queued = await invitations.queue(CLI, settings, meeting_id, attachments=files)
    click.echo(_queued_line(queued) + (" Dossier de séance joint." if files else ""))
    _print_problems(queued["problems"])
    _print_drain(await sender_for(settings).drain(), await outbox.counts())


def _pack_maker() -> Callable[[Actor, int], Awaitable[Attachment]]:
    """What builds the pack: given by the ``maillage`` command (``maillage.cli``), since the
    reports and the mailing, two packages of one layer, do not import each other."""
    context = click.get_current_context()
    maker: Callable[[Actor, int], Awaitable[Attachment]] | None = (
        context.find_root().obj or {}
    ).get("pack_attachment")
    if maker is None:
        fail("le dossier de séance ne se joint que depuis la commande maillage.")
    return maker


@mail.command(cls=FrenchCommand)
@click.argument("meeting_id", type=click.IntRange(1))
@run_async
async def preview(settings: Settings, meeting_id: int) -> None:
    """Montrer ce que l'envoi des invitations de la réunion RÉUNION (son n°) mettrait en file, et
    chaque sorte de message telle que la lira son premier destinataire (rien n'est envoyé)."""
    report = await invitations.preview(settings, meeting_id)
    click.echo(_counted_line("À envoyer", report) if report["queued"] else "Rien à envoyer.")
    click.echo(f"Rien n'est envoyé : pour envoyer, maillage mail invite {meeting_id} --send.")
    for sample in report["samples"]:
        click.echo(f"\n--- {sample.kind} ---\nÀ : {sample.to}\nObjet : {sample.subject}\n")
        click.echo(sample.text)
    _print_problems(report["problems"])


@mail.command(cls=FrenchCommand)
@click.argument("meeting_id", type=click.IntRange(1))
@click.option("--send", "send_now", is_flag=True, help="Envoyer aussitôt les messages en file.")
@run_async
async def relaunch(settings: Settings, meeting_id: int, send_now: bool) -> None:
    """Relancer les invités de la réunion RÉUNION (son n°) qui n'ont pas répondu (pas ceux relancés
    il y a moins de 20 heures)."""
    report = await reminders.relaunch_pending(CLI, settings, meeting_id)
    click.echo(reminders.relaunch_summary(report))
    _print_problems(report["problems"])
    if send_now and report["queued"]:
        _print_drain(await sender_for(settings).drain(), await outbox.counts())


def _queued_line(report: dict[str, Any]) -> str:
    return _counted_line("Mis en file", report)


def _counted_line(heading: str, report: dict[str, Any]) -> str:
    parts = [
        plural(report[kind], kind)
        for kind in ("invitation", "modification", "annulation")
        if report[kind]
    ]
    return f"{heading} : " + (", ".join(parts) if parts else "rien (tout est à jour)") + "."


@mail.command(cls=FrenchCommand)
@click.option(
    "--watch", is_flag=True, help="Continuer à envoyer au fil de l'eau (Ctrl+C pour arrêter)."
)
@click.option(
    "--interval",
    default=background.POLL_SECONDS,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Avec --watch : secondes entre deux passages.",
)
@run_async
async def send(settings: Settings, watch: bool, interval: float) -> None:
    """Envoyer les messages en attente (y compris les rappels dus), puis s'arrêter."""
    if watch:
        await _watch(settings, interval)
        return
    reminders = await queue_due_reminders(settings)
    if reminders:
        click.echo(f"Rappels mis en file : {reminders}.")
    told = await notices.queue_due(settings, invitations.load_meeting)
    if told["rappel"] or told["annulation"]:
        cancelled = plural(told["annulation"], "avis d'annulation", "avis d'annulation")
        click.echo(
            f"Habitants inscrits : {plural(told['rappel'], 'rappel')}, {cancelled} mis en file."
        )
    sender = sender_for(settings)
    click.echo(f"Envoi vers : {sender.backend.description}.")
    _print_drain(await sender.drain(), await outbox.counts())


async def _watch(settings: Settings, interval: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    click.echo(f"Envoi en continu (passage toutes les {interval:g} s) ; Ctrl+C pour arrêter.")
    await background.run(settings, stop, poll=interval)
    click.echo("Arrêt de l'envoi.")


@mail.command(cls=FrenchCommand)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@run_async
async def ingest(settings: Settings, file: Path) -> None:
    """Enregistrer la réponse d'agenda (iTIP REPLY) contenue dans FICHIER (.ics ou message .eml)."""
    report = await replies.ingest(CLI, file.read_bytes())
    for item in report["replies"]:
        if item["status"] == "enregistree":
            answer = RESPONSE_LABELS.get(item["response"], item["response"])
            click.echo(f"Réponse enregistrée : {item['attendee']} → « {answer} ».")
        elif item["status"] == "contre_proposition":
            click.echo(
                f"Nouvel horaire proposé par {item['attendee']} : "
                f"{datetime_fr(item['proposed_start'], 'full')} (à voir sur la page de la réunion)."
            )
        elif item["status"] == "a_rattacher":
            click.secho(f"À examiner : {item['reason']}", fg="yellow")
        else:
            click.secho(f"Réponse ignorée : {item['reason']}", fg="yellow")
    if not report["recorded"]:
        fail("aucune réponse enregistrée.")


@mail.command(cls=FrenchCommand)
@click.option(
    "--watch", is_flag=True, help="Continuer à lire la boîte au fil de l'eau (Ctrl+C pour arrêter)."
)
@click.option(
    "--interval",
    default=background.MAILBOX_POLL_SECONDS,
    show_default=True,
    type=click.FloatRange(1),
    help="Avec --watch : secondes entre deux lectures quand le serveur ne propose pas IDLE "
    "(avec IDLE, chaque message est lu dès son arrivée).",
)
@run_async
async def fetch(settings: Settings, watch: bool, interval: float) -> None:
    """Lire la boîte de l'organisateur (MAILLAGE_IMAP_URL) : réponses d'agenda, retours en
    échec et réponses automatiques sont enregistrés puis rangés dans « maillage/traités » ou
    « maillage/à examiner » ; les autres messages restent dans la boîte."""
    if not settings.imap_url:
        fail("MAILLAGE_IMAP_URL n'est pas définie : aucune boîte de réception à lire.")
    if watch:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        click.echo(
            "Lecture continue de la boîte (IDLE si le serveur le propose, sinon toutes les "
            f"{interval:g} s) ; Ctrl+C pour arrêter."
        )
        await background.read_mailbox(settings, stop, poll=interval)
        click.echo("Arrêt de la lecture.")
        return
    reader = MailboxReader.for_settings(settings)
    click.echo(f"Lecture de : {reader.config.description}.")
    report = await reader.fetch()
    if report.unreachable:
        fail(f"boîte de réception illisible : {report.unreachable}")
    click.echo(f"Boîte de réception : {report.summary()}.")
    for line in report.errors:
        click.secho(f"  ! {line}", fg="yellow")


COMMANDS = [mail]
