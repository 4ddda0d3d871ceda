"""The HTML pages: one module per part of the product, each with its ``HANDLERS``.

A new capability adds a module here (handlers + ``HANDLERS``), its templates, and its line in
``common.NAV``.
"""

from __future__ import annotations

from typing import Any

from maillage.web.pages import (
    account,
    contacts,
    dashboard,
    groups,
    journal,
    meetings,
    partners,
    users,
)

PAGE_MODULES = [account, dashboard, partners, contacts, groups, meetings, journal, users]


def page_handlers() -> list[Any]:
    return [handler for module in PAGE_MODULES for handler in module.HANDLERS]
