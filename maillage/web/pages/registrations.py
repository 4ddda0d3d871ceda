"""The coordinator's side of inhabitants' registrations (#22): cancel one, give a place to
someone on the waiting list. The list itself is a section of the meeting page."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.params import FromPath

from maillage.crm import inhabitants
from maillage.errors import ServiceError
from maillage.mailing import participation
from maillage.web.pages.common import error_text, flash, redirect
from maillage.web.security import requires

WRITE = [requires("coordinateur")]


async def _change(request: Request, meeting_id: int, registration_id: int, promote: bool) -> Any:
    back = f"/reunions/{meeting_id}#inscriptions"
    try:
        if promote:
            settings = request.app.state.settings
            row = await participation.promote(request.user, settings, registration_id)
        else:
            row = await inhabitants.cancel(request.user, registration_id)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
        return redirect(back)
    if row["meeting"] != meeting_id:  # a number typed from another meeting's page
        back = f"/reunions/{row['meeting']}#inscriptions"
    done = "a maintenant une place" if promote else ": inscription annulée"
    flash(request, f"{row['name']} {done}.")
    return redirect(back)


@post(
    "/reunions/{record_id:int}/inscriptions/{registration_id:int}/annuler",
    guards=WRITE,
    include_in_schema=False,
)
async def registration_cancel(
    request: Request, record_id: FromPath[int], registration_id: FromPath[int]
) -> Any:
    return await _change(request, record_id, registration_id, promote=False)


@post(
    "/reunions/{record_id:int}/inscriptions/{registration_id:int}/promouvoir",
    guards=WRITE,
    include_in_schema=False,
)
async def registration_promote(
    request: Request, record_id: FromPath[int], registration_id: FromPath[int]
) -> Any:
    return await _change(request, record_id, registration_id, promote=True)


HANDLERS = [registration_cancel, registration_promote]
