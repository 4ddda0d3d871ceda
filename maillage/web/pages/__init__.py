"""The HTML pages: one module per part of the product, each with its ``HANDLERS``.

A new capability adds a module here (handlers + ``HANDLERS``), its templates, and its line in
``common.NAV``.
"""

from __future__ import annotations

from typing import Any

from maillage.web.pages import (
    accessibility,
    account,
    actions,
    agenda_view,
    calendars,
    consultations,
    contacts,
    dashboard,
    decisions,
    diagnostic,
    erasure,
    exchange,
    groups,
    indicators,
    invitations,
    journal,
    mailings,
    meetings,
    minutes,
    network,
    outbox,
    participation,
    partners,
    registrations,
    territories,
    users,
)

PAGE_MODULES = [
    accessibility,
    account,
    actions,
    calendars,
    dashboard,
    exchange,
    partners,
    contacts,
    erasure,
    groups,
    agenda_view,
    meetings,
    decisions,
    diagnostic,
    indicators,
    minutes,
    network,
    mailings,
    outbox,
    invitations,
    journal,
    territories,
    users,
    participation,
    registrations,
    consultations,
]


def page_handlers() -> list[Any]:
    return [handler for module in PAGE_MODULES for handler in module.HANDLERS]
