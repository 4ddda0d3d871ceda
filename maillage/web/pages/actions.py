"""Fiches action from the pages: create and edit through the registry service the API uses.

The page of a fiche action and its indicator form live with the reports (/plan-d-action/{id});
indicator values are entered there, the other fields here."""

from __future__ import annotations

from typing import Any

from maillage.crm import lookups
from maillage.db import read_transaction
from maillage.vocabulary import ACTION_STATUSES
from maillage.web.pages.common import Field
from maillage.web.pages.crud import RecordPages, record_handlers

FIELDS = [
    Field("title", "Intitulé", required=True, maxlength=300),
    Field("axis", "Axe de la CTG", "select", choices="axes", integer_choices=True),
    Field("objective", "Objectif", "textarea", empty_is_none=False),
    Field("pilot", "Organisation pilote", "select", choices="organisations", integer_choices=True),
    Field("partners", "Organisations partenaires", "multiselect", choices="organisations"),
    Field(
        "working_group",
        "Instance qui suit l'action",
        "select",
        choices="groups",
        integer_choices=True,
    ),
    Field("status", "Statut", "select", required=True, choices=tuple(ACTION_STATUSES.items())),
    Field("start_date", "Début", "date"),
    Field("end_date", "Fin", "date"),
    Field("notes", "Notes", "textarea", empty_is_none=False),
]


async def _form_options(record: dict[str, Any] | None) -> dict[str, Any]:
    async with read_transaction():
        return {
            "axes": await lookups.axes(),
            "organisations": await lookups.organisations(),
            "groups": await lookups.groups(include_inactive=True),
        }


PAGES = RecordPages(
    resource="actions",
    path="/plan-d-action",
    new="nouvelle",
    fields=FIELDS,
    options=_form_options,
    title=lambda record: record["title"],
    new_title="Nouvelle fiche action",
    defaults={"partners": [], "status": "a_lancer"},
    created="Fiche action « {name} » créée.",
    saved="Fiche action « {name} » enregistrée.",
    archived="",
    restored="",
)

# Fiches action are deleted, not archived: only the creation and edit pages.
HANDLERS = record_handlers(PAGES)[:4]
