"""Invitations of a meeting: invite the body's members and extra people, send, follow answers.

The answers are shown on the meeting's page (``/reunions/{id}``); these handlers only act,
through the mailing services, and come back to it with what happened.
"""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.params import FromPath
from litestar.response import Template

from maillage.errors import ServiceError
from maillage.french import plural
from maillage.mailing import invitations, reminders
from maillage.web.mailing import pack_attachments
from maillage.web.pages.common import error_text, flash, redirect, render
from maillage.web.security import AppRequest, requires, settings_of

WRITE = [requires("coordinateur")]


def _ids(values: list[Any]) -> tuple[int, ...]:
    return tuple(int(v) for v in values if str(v).isdigit() and 0 < int(v) < 2**31)


def _flash_problems(request: AppRequest, problems: list[dict[str, Any]]) -> None:
    for item in problems[:10]:
        flash(request, f"{item['name']} : {item['reason']}", "attention")
    if len(problems) > 10:
        others = plural(len(problems) - 10, "autre problème", "autres problèmes")
        flash(request, f"… et {others}.", "attention")


@post("/reunions/{record_id:int}/inviter", guards=WRITE, include_in_schema=False)
async def invite(request: AppRequest, record_id: FromPath[int]) -> Any:
    data = await request.form()
    wanted = invitations.InviteRequest(
        contacts=_ids(data.getall("contacts", [])),
        group_members=data.get("membres") == "on",
        include_substitutes=data.get("suppleants") == "on",
    )
    try:
        report = await invitations.invite(request.user, record_id, wanted)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
        return redirect(f"/reunions/{record_id}#invitations")
    created, already = len(report["created"]), len(report["already_invited"])
    message = plural(created, "personne invitée", "personnes invitées") + "."
    if already:
        message += " " + plural(already, "personne l'était", "personnes l'étaient") + " déjà."
    flash(request, message + " Les invitations partent quand vous cliquez sur « Envoyer ».")
    _flash_problems(request, report["problems"])
    return redirect(f"/reunions/{record_id}#invitations")


@post("/reunions/{record_id:int}/envoyer", guards=WRITE, include_in_schema=False)
async def send(request: AppRequest, record_id: FromPath[int]) -> Any:
    data = await request.form()
    try:
        files = await pack_attachments(request.user, record_id, data.get("dossier") == "on")
        report = await invitations.queue(
            request.user, settings_of(request), record_id, attachments=files
        )
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
        return redirect(f"/reunions/{record_id}#invitations")
    if report["queued"]:
        parts = [
            plural(report[kind], kind, kind + "s")
            for kind in ("invitation", "modification", "annulation")
            if report[kind]
        ]
        joined = " avec le dossier de séance" if files else ""
        flash(
            request,
            "Mis en file d'envoi : " + ", ".join(parts) + joined + ". Suivi dans « Envois ».",
        )
    else:
        flash(request, "Rien à envoyer : chaque invité a déjà reçu la dernière version.")
    _flash_problems(request, report["problems"])
    return redirect(f"/reunions/{record_id}#invitations")


@get("/reunions/{record_id:int}/apercu", guards=WRITE, include_in_schema=False)
async def preview(request: AppRequest, record_id: FromPath[int]) -> Template:
    """What « Envoyer » will send, read before it goes: counts, one message of each kind."""
    meeting = await invitations.load_meeting(record_id)
    try:
        report = await invitations.preview(settings_of(request), record_id)
    except ServiceError as error:
        return render(request, "reunions/apercu.html", r=meeting, refused=error_text(error))
    return render(request, "reunions/apercu.html", r=meeting, preview=report, refused=None)


@post("/reunions/{record_id:int}/relancer", guards=WRITE, include_in_schema=False)
async def relaunch(request: AppRequest, record_id: FromPath[int]) -> Any:
    try:
        report = await reminders.relaunch_pending(request.user, settings_of(request), record_id)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
        return redirect(f"/reunions/{record_id}#invitations")
    flash(request, reminders.relaunch_summary(report))
    _flash_problems(request, report["problems"])
    return redirect(f"/reunions/{record_id}#invitations")


HANDLERS = [invite, send, preview, relaunch]
