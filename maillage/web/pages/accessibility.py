"""The accessibility statement (« Déclaration d'accessibilité ») that the RGAA requires of a
public body's online service, public like the sign-in page.

The pages it lists are the ones the browser tests check with axe-core on every CI run
(``tests/e2e``): the statement and the check read the same list, so neither can drift.
"""

from __future__ import annotations

import datetime as dt

from litestar import get
from litestar.response import Template

from maillage.web.pages.common import render
from maillage.web.security import AppRequest, settings_of

# Established on this date, with axe-core's WCAG 2.1 A and AA rules and its good practices.
STATEMENT_DATE = dt.date(2026, 12, 5)
AXE_VERSION = "4.12"

# Every page checked at 390 × 844 and 1,366 × 768 pixels, signed in as a coordinator.
CHECKED_PAGES: list[tuple[str, str]] = [
    ("/", "Tableau de bord"),
    ("/partenaires", "Partenaires"),
    ("/contacts", "Contacts"),
    ("/instances", "Instances"),
    ("/reunions", "Réunions"),
    ("/reunions/calendrier", "Calendrier des réunions"),
    ("/reseau", "Réseau partenarial"),
    ("/envois", "Envois"),
    ("/bilan", "Bilan annuel"),
    ("/plan-d-action", "Plan d'action"),
    ("/diagnostic", "Diagnostic du territoire"),
    ("/diagnostic/indicateurs", "Indicateurs des communes"),
    ("/territoires", "Territoires"),
    ("/exports", "Exports"),
    ("/imports", "Imports"),
    ("/doublons", "Doublons"),
    ("/compte", "Mon compte"),
    ("/accessibilite", "Déclaration d'accessibilité"),
]
# Also checked, on records of the demo territory and along a coordinator's week of work.
CHECKED_ALSO = [
    "la fiche d'un partenaire, d'un contact, d'une instance et d'une réunion",
    "les formulaires de création et de modification, avec et sans erreur",
    "la page de connexion, la page de réponse à une invitation et la feuille d'émargement",
]


@get("/accessibilite", exclude_from_auth=True, include_in_schema=False)
async def statement(request: AppRequest) -> Template:
    return render(
        request,
        "accessibilite.html",
        statement_date=STATEMENT_DATE,
        axe_version=AXE_VERSION,
        checked_pages=CHECKED_PAGES,
        checked_also=CHECKED_ALSO,
        contact=settings_of(request).mail_from,
    )


HANDLERS = [statement]
