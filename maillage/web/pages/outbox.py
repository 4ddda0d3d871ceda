"""Envois: the outbox, one line per message with its status, and retry or cancel."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.params import FromPath, Parameter
from litestar.response import Template

from maillage.crm.resources import PAGE_COUNT_CAP
from maillage.errors import ServiceError
from maillage.mailing import mailbox, outbox
from maillage.web.pages.common import (
    PAGE_SIZE,
    capped_number,
    error_text,
    flash,
    paginate,
    redirect,
    render,
)
from maillage.web.security import AppRequest, requires, settings_of

WRITE = [requires("coordinateur")]


@get("/envois", include_in_schema=False)
async def outbox_page(
    request: AppRequest,
    statut: str | None = Parameter(default=None, max_length=20),
    page: int = Parameter(default=1, ge=1, le=1_000_000),
) -> Template:
    status = statut if statut in outbox.STATUS_LABELS else None
    result = await outbox.list_messages(
        PAGE_SIZE, (page - 1) * PAGE_SIZE, status, count_cap=PAGE_COUNT_CAP
    )
    items = result["items"]
    counts = await outbox.counts(count_cap=PAGE_COUNT_CAP)
    settings = settings_of(request)
    return render(
        request,
        "envois/liste.html",
        items=items,
        pager=paginate(page, result["total"], cap=PAGE_COUNT_CAP, shown=len(items)),
        params={"statut": status},
        counts={value: capped_number(n, PAGE_COUNT_CAP) for value, n in counts.items()},
        status_labels=outbox.STATUS_LABELS,
        kind_label=outbox.kind_label,
        file_backend=None if settings.smtp_url else str(settings.outbox_dir),
        set_aside=await mailbox.set_aside() if page == 1 and status is None else [],
    )


@get("/envois/{message_id:int}", include_in_schema=False)
async def outbox_message(request: AppRequest, message_id: FromPath[int]) -> Template:
    return render(
        request,
        "envois/message.html",
        msg=await outbox.message_detail(message_id),
        status_labels=outbox.STATUS_LABELS,
        kind_label=outbox.kind_label,
    )


async def _act(request: AppRequest, message_id: int, action: Any, done: str) -> Any:
    back = "/envois/" + str(message_id) if (await request.form()).get("retour") == "fiche" else ""
    try:
        await action(message_id)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        flash(request, done)
    return redirect(back or "/envois")


@post("/envois/{message_id:int}/renvoyer", guards=WRITE, include_in_schema=False)
async def outbox_retry(request: AppRequest, message_id: FromPath[int]) -> Any:
    return await _act(request, message_id, outbox.retry, f"Message n° {message_id} remis en file.")


@post("/envois/{message_id:int}/annuler", guards=WRITE, include_in_schema=False)
async def outbox_cancel(request: AppRequest, message_id: FromPath[int]) -> Any:
    return await _act(
        request, message_id, outbox.cancel, f"Envoi du message n° {message_id} annulé."
    )


HANDLERS = [outbox_page, outbox_message, outbox_retry, outbox_cancel]
