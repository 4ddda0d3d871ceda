"""Secret calendar links of a body: create one to share (shown once), revoke it."""

from __future__ import annotations

from typing import Any

from litestar import post
from litestar.params import FromPath
from litestar.response import Template

from maillage.calendar import feeds
from maillage.calendar import service as calendar_service
from maillage.crm.registry import SERVICES
from maillage.errors import ServiceError
from maillage.web.pages.common import error_text, flash, redirect, render
from maillage.web.security import AppRequest, requires, settings_of

WRITE = [requires("coordinateur")]


@post("/instances/{record_id:int}/lien-agenda", guards=WRITE, include_in_schema=False)
async def group_feed_create(request: AppRequest, record_id: FromPath[int]) -> Template:
    group = await SERVICES["groups"].get(record_id)
    token, token_id = await feeds.create_token(request.user, "group", record_id)
    links = calendar_service.links(settings_of(request), feeds.token_path(token))
    return render(request, "instances/lien_agenda.html", g=group, links=links, token_id=token_id)


@post(
    "/instances/{record_id:int}/lien-agenda/{token_id:int}/revoquer",
    guards=WRITE,
    include_in_schema=False,
)
async def group_feed_revoke(
    request: AppRequest, record_id: FromPath[int], token_id: FromPath[int]
) -> Any:
    owned = {t["id"] for t in await feeds.list_tokens("group", record_id)}
    if token_id not in owned:
        flash(request, "Ce lien n'appartient pas à cette instance.", "erreur")
        return redirect(f"/instances/{record_id}#titre-calendrier")
    try:
        await feeds.revoke_token(request.user, token_id)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        flash(request, f"Lien d'abonnement n° {token_id} révoqué : il ne fonctionne plus.")
    return redirect(f"/instances/{record_id}#titre-calendrier")


HANDLERS = [group_feed_create, group_feed_revoke]
