"""Journal: the audit log, for administrators."""

from __future__ import annotations

from litestar import get
from litestar.params import Parameter
from litestar.response import Template

from maillage.crm import audit
from maillage.crm.resources import PAGE_COUNT_CAP
from maillage.web.pages.common import paginate, render
from maillage.web.pages.journal_text import action_text, change_lines
from maillage.web.pages.labels import LABELS
from maillage.web.security import AppRequest, requires

JOURNAL_PAGE = 50


@get("/journal", guards=[requires("admin")], include_in_schema=False)
async def journal(
    request: AppRequest,
    objet: str | None = Parameter(default=None, max_length=40),
    auteur: str | None = Parameter(default=None, max_length=254),
    page: int = Parameter(default=1, ge=1, le=1_000_000),
) -> Template:
    objet = objet if objet in LABELS["entity"] else None
    result = await audit.list_events(
        JOURNAL_PAGE,
        (page - 1) * JOURNAL_PAGE,
        objet,
        None,
        auteur or None,
        count_cap=PAGE_COUNT_CAP,
    )
    events = result["items"]
    return render(
        request,
        "journal.html",
        events=events,
        pager=paginate(page, result["total"], JOURNAL_PAGE, PAGE_COUNT_CAP, len(events)),
        params={"objet": objet, "auteur": auteur},
        entities=LABELS["entity"],
        action_text=action_text,
        change_lines=change_lines,
    )


HANDLERS = [journal]
