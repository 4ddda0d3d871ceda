"""Réunions: send the minutes (text and attached files) to the invitees, or to those present
and excused, through the same minutes service as the API."""

from __future__ import annotations

import re
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from litestar import get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Template

from maillage.crm.registry import SERVICES
from maillage.errors import ServiceError
from maillage.french import plural
from maillage.mailing import invitations
from maillage.mailing.invitations import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENT_LABEL
from maillage.mailing.invitations import MAX_ATTACHMENTS as MAX_FILES
from maillage.mailing.messages import Attachment
from maillage.web.pages.common import (
    Field,
    FormState,
    flash,
    parse_int,
    read_form,
    redirect,
    render,
    take_service_error,
)
from maillage.web.security import AppRequest, requires, settings_of

SERVICE = SERVICES["meetings"]
WRITE = [requires("coordinateur")]
AUDIENCES = (
    ("invites", "Toutes les personnes invitées"),
    ("presents_excuses", "Les personnes présentes et excusées"),
)
FIELDS = [
    Field("audience", "Destinataires", "select", required=True, choices=AUDIENCES),
    Field(
        "minutes",
        "Compte rendu",
        "textarea",
        empty_is_none=False,
        hint="Le texte est enregistré sur la réunion et envoyé dans le corps du message.",
    ),
]
_CONTENT_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+$")


def _page(
    request: AppRequest, meeting: dict[str, Any], form: FormState, status_code: int = 200
) -> Template:
    return render(
        request,
        "reunions/envoyer_compte_rendu.html",
        status_code=status_code,
        r=meeting,
        form=form,
        fields=FIELDS,
        max_files=MAX_FILES,
    )


@get("/reunions/{record_id:int}/envoyer-compte-rendu", guards=WRITE, include_in_schema=False)
async def minutes_form(request: AppRequest, record_id: FromPath[int]) -> Template:
    meeting = await SERVICE.get(record_id)
    values = {"audience": "invites", "minutes": meeting["minutes"], "version": meeting["version"]}
    return _page(request, meeting, FormState(values=values))


def _filename(raw: str) -> str:
    """Only the file's own name: some browsers send the whole path of the sender's disk."""
    name = PureWindowsPath(PurePosixPath(raw).name).name.strip()
    return name[:200] or "piece-jointe"


async def _attachments(uploads: list[Any], form: FormState) -> list[Attachment]:
    files = [u for u in uploads if isinstance(u, UploadFile) and u.filename]
    if len(files) > MAX_FILES:
        form.add("pieces", f"{len(files)} fichiers : {MAX_FILES} au plus.")
        return []
    result = []
    for upload in files:
        content = await upload.read()
        name = _filename(upload.filename)
        if not content:
            form.add("pieces", f"« {name} » est vide.")
        elif len(content) > MAX_ATTACHMENT_BYTES:
            form.add(
                "pieces", f"« {name} » est trop lourd ({MAX_ATTACHMENT_LABEL} au plus par fichier)."
            )
        else:
            kind = upload.content_type if _CONTENT_TYPE.match(upload.content_type or "") else ""
            result.append(Attachment(name, content, kind or "application/octet-stream"))
    return result


async def _save_text(
    request: AppRequest, meeting: dict[str, Any], minutes: str, version: Any
) -> None:
    """The text typed here is the meeting's minutes: saved first, then sent."""
    if minutes == meeting["minutes"]:
        return
    update = SERVICE.spec.update(version=parse_int(version) or 0, minutes=minutes)
    await SERVICE.update(request.user, meeting["id"], update)


@post(
    "/reunions/{record_id:int}/envoyer-compte-rendu",
    guards=WRITE,
    include_in_schema=False,
    request_max_body_size=MAX_FILES * MAX_ATTACHMENT_BYTES + 1024 * 1024,
)
async def minutes_send(request: AppRequest, record_id: FromPath[int]) -> Any:
    meeting = await SERVICE.get(record_id)
    data = await request.form()
    form = read_form(FIELDS, data)
    form.values["version"] = data.get("version")
    attachments = await _attachments(data.getall("pieces", []), form)
    if not form.has_errors:
        try:
            await _save_text(request, meeting, form.values["minutes"], data.get("version"))
            report = await invitations.queue_minutes(
                request.user,
                settings_of(request),
                record_id,
                form.values["audience"],
                attachments,
            )
        except ServiceError as error:
            take_service_error(error, form)
        else:
            _report(request, report)
            return redirect(f"/reunions/{record_id}#compte-rendu")
    return _page(request, meeting, form, 400)


def _report(request: AppRequest, report: dict[str, Any]) -> None:
    queued = report["queued"]
    if queued:
        flash(
            request, "Compte rendu mis en file d'envoi pour " + plural(queued, "destinataire") + "."
        )
    else:
        flash(
            request,
            "Compte rendu enregistré, mais personne ne correspond aux destinataires choisis "
            "(présences saisies ?) : rien n'a été envoyé.",
            "erreur",
        )
    if report["problems"]:
        names = ", ".join(f"{p['name']} ({p['reason']})" for p in report["problems"])
        flash(request, f"Non envoyé, adresse inutilisable : {names}.", "erreur")


HANDLERS = [minutes_form, minutes_send]
