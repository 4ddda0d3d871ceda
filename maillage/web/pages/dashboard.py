"""The tableau de bord: what needs attention today."""

from __future__ import annotations

import datetime as dt

from litestar import get
from litestar.response import Template

from maillage.crm import decisions
from maillage.crm.dashboard import dashboard as dashboard_data
from maillage.settings import base_url_warning_for_request
from maillage.web.pages.common import render
from maillage.web.pages.labels import PARIS
from maillage.web.security import AppRequest, settings_of


@get("/", include_in_schema=False)
async def dashboard(request: AppRequest) -> Template:
    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(PARIS).date()
    data = await dashboard_data(now, today)
    return render(
        request,
        "tableau_de_bord.html",
        base_url_warning=_base_url_warning(request),
        late_decisions=await decisions.late(today),
        **data,
    )


def _base_url_warning(request: AppRequest) -> str | None:
    """Told to admins only: they are the ones who can change the setting."""
    base_url = settings_of(request).base_url
    return base_url_warning_for_request(base_url, str(request.base_url))


HANDLERS = [dashboard]
