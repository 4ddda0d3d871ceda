"""Every route × every kind of caller, with the exact status each one must get.

``ROUTES`` has one row per (method, route) of the application: a route added without a row
fails ``test_every_route_has_a_row``. A row names who may use the route and the status an
allowed caller gets for the request the row sends (nonexistent ids and empty bodies on writes,
so that the matrix never changes the data it runs on).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass

import httpx
import pytest

from maillage.actor import CLI
from maillage.calendar import feeds
from maillage.crm import auth
from maillage.crm.demo import load_demo
from maillage.mailing import tokens
from maillage.tables import (
    Action,
    Affiliation,
    Commune,
    CommuneIndicator,
    Contact,
    Decision,
    Interaction,
    Invitation,
    Meeting,
    Membership,
    Organisation,
    OutboxMessage,
    Partnership,
    Territory,
    User,
    WorkingGroup,
)
from maillage.vocabulary import CANCELLED
from tests.mailing.helpers import queue_plain
from tests.web.helpers import Browser, open_browser, sign_in

# Who may call a route: a role (and every higher one), or « public » (no account needed).
PUBLIC, READER, COORDINATOR, ADMIN = "public", "lecteur", "coordinateur", "admin"
RANK = {READER: 1, COORDINATOR: 2, ADMIN: 3}
MISSING = 999_999

# method, route as Litestar spells it, who, status for an allowed caller, request path.
ROUTES: list[tuple[str, str, str, int, str]] = [
    ("GET", "/healthz", PUBLIC, 200, "/healthz"),
    ("GET", "/", READER, 200, "/"),  # the dashboard
    ("GET", "/api/v1/audit", ADMIN, 200, "/api/v1/audit"),
    ("GET", "/schema", PUBLIC, 200, "/schema"),
    ("GET", "/schema/openapi.json", PUBLIC, 200, "/schema/openapi.json"),
    ("GET", "/schema/{path:str}", PUBLIC, 404, "/schema/redoc"),  # Swagger only, at /schema
    ("GET", "/schema/oauth2-redirect.html", PUBLIC, 200, "/schema/oauth2-redirect.html"),
    ("GET", "/static/{file_path:path}", PUBLIC, 200, "/static/favicon.svg"),
    ("HEAD", "/static/{file_path:path}", PUBLIC, 200, "/static/favicon.svg"),
    ("GET", "/static/swagger/{file_path:path}", PUBLIC, 200, "/static/swagger/swagger-ui.css"),
    ("HEAD", "/static/swagger/{file_path:path}", PUBLIC, 200, "/static/swagger/swagger-ui.css"),
    (
        "GET",
        "/static/vis-network/{file_path:path}",
        PUBLIC,
        200,
        "/static/vis-network/vis-network.min.js",
    ),
    (
        "HEAD",
        "/static/vis-network/{file_path:path}",
        PUBLIC,
        200,
        "/static/vis-network/vis-network.min.js",
    ),
    # Signed links: the token in the address is the permission, whoever follows it.
    ("GET", "/r/{token:str}", PUBLIC, 200, "/r/{answer}"),
    ("POST", "/r/{token:str}", PUBLIC, 200, "/r/{answer}"),
    ("GET", "/u/{token:str}", PUBLIC, 200, "/u/{unsubscribe}"),
    ("POST", "/u/{token:str}", PUBLIC, 200, "/u/{unsubscribe}"),
    ("GET", "/calendar/feeds/{filename:str}", PUBLIC, 200, "/calendar/feeds/{feed}.ics"),
    # Calendar files and the calendar API.
    ("GET", "/calendar/meetings/{filename:str}", READER, 200, "/calendar/meetings/{meeting}.ics"),
    ("GET", "/calendar/groups/{filename:str}", READER, 200, "/calendar/groups/{group}.ics"),
    ("GET", "/calendar/territory.ics", READER, 200, "/calendar/territory.ics"),
    ("GET", "/calendar/me.ics", READER, 404, "/calendar/me.ics"),  # no contact card linked
    ("GET", "/api/v1/calendar/meetings", READER, 200, "/api/v1/calendar/meetings"),
    ("POST", "/api/v1/calendar/meetings", COORDINATOR, 400, "/api/v1/calendar/meetings"),
    (
        "GET",
        "/api/v1/calendar/meetings/{meeting_id:int}",
        READER,
        200,
        "/api/v1/calendar/meetings/{meeting}",
    ),
    (
        "POST",
        "/api/v1/calendar/meetings/{meeting_id:int}/move",
        COORDINATOR,
        400,
        "/api/v1/calendar/meetings/{missing}/move",
    ),
    (
        "POST",
        "/api/v1/calendar/meetings/{meeting_id:int}/cancel",
        COORDINATOR,
        400,  # the body (notice to the invitees) is read before the meeting
        "/api/v1/calendar/meetings/{missing}/cancel",
    ),
    (
        "POST",
        "/api/v1/calendar/groups/{group_id:int}/materialise",
        COORDINATOR,
        400,
        "/api/v1/calendar/groups/{missing}/materialise",
    ),
    ("GET", "/api/v1/calendar/feeds", READER, 200, "/api/v1/calendar/feeds"),
    ("GET", "/api/v1/calendar/feed-tokens", COORDINATOR, 200, "/api/v1/calendar/feed-tokens"),
    ("POST", "/api/v1/calendar/feed-tokens", COORDINATOR, 400, "/api/v1/calendar/feed-tokens"),
    ("POST", "/api/v1/calendar/my-feed-token", READER, 404, "/api/v1/calendar/my-feed-token"),
    (
        "DELETE",
        "/api/v1/calendar/feed-tokens/{token_id:int}",
        COORDINATOR,
        404,
        "/api/v1/calendar/feed-tokens/{missing}",
    ),
    ("POST", "/api/v1/calendar/import", COORDINATOR, 400, "/api/v1/calendar/import"),
    # Overviews and elections.
    *[
        (
            "GET",
            f"/api/v1/{name}/{{record_id:int}}/overview",
            READER,
            200,
            f"/api/v1/{name}/{{{key}}}/overview",
        )
        for name, key in [
            ("organisations", "organisation"),
            ("contacts", "contact"),
            ("groups", "group"),
            ("communes", "commune"),
        ]
    ],
    (
        "GET",
        "/api/v1/communes/{record_id:int}/elections",
        READER,
        200,
        "/api/v1/communes/{commune}/elections?date=2026-03-15",
    ),
    (
        "POST",
        "/api/v1/communes/{record_id:int}/elections",
        COORDINATOR,
        400,
        "/api/v1/communes/{commune}/elections",
    ),
    # Reports (API and pages).
    ("GET", "/api/v1/reports/annual", READER, 200, "/api/v1/reports/annual?year=2025"),
    ("GET", "/api/v1/reports/diagnostic", READER, 200, "/api/v1/reports/diagnostic"),
    ("GET", "/api/v1/reports/coverage-gaps", READER, 200, "/api/v1/reports/coverage-gaps"),
    ("GET", "/api/v1/reports/action-plan", READER, 200, "/api/v1/reports/action-plan?year=2025"),
    (
        "POST",
        "/api/v1/actions/{record_id:int}/indicator-values",
        COORDINATOR,
        400,
        "/api/v1/actions/{missing}/indicator-values",
    ),
    (
        "POST",
        "/api/v1/actions/{record_id:int}/evaluations",
        COORDINATOR,
        400,
        "/api/v1/actions/{missing}/evaluations",
    ),
    (
        "GET",
        "/api/v1/meetings/{record_id:int}/pack",
        READER,
        200,
        "/api/v1/meetings/{meeting}/pack?format=docx",
    ),
    ("GET", "/bilan", READER, 200, "/bilan?year=2025"),
    ("GET", "/bilan/telecharger", READER, 200, "/bilan/telecharger?year=2025&format=xlsx"),
    ("GET", "/plan-d-action", READER, 200, "/plan-d-action"),
    ("GET", "/plan-d-action/{record_id:int}", READER, 200, "/plan-d-action/{action}"),
    (
        "POST",
        "/plan-d-action/{record_id:int}/indicateurs",
        COORDINATOR,
        303,  # a page form: back to the page, with the error in its address
        "/plan-d-action/{missing}/indicateurs",
    ),
    (
        "POST",
        "/plan-d-action/{record_id:int}/evaluation",
        COORDINATOR,
        303,  # a page form: back to the page, with the error in its address
        "/plan-d-action/{missing}/evaluation",
    ),
    ("GET", "/plan-d-action/nouvelle", COORDINATOR, 200, "/plan-d-action/nouvelle"),
    ("POST", "/plan-d-action/nouvelle", COORDINATOR, 400, "/plan-d-action/nouvelle"),
    (
        "GET",
        "/plan-d-action/{record_id:int}/modifier",
        COORDINATOR,
        200,
        "/plan-d-action/{action}/modifier",
    ),
    (
        "POST",
        "/plan-d-action/{record_id:int}/modifier",
        COORDINATOR,
        404,
        "/plan-d-action/{missing}/modifier",
    ),
    # Network.
    ("GET", "/api/v1/network/report", READER, 200, "/api/v1/network/report"),
    ("GET", "/api/v1/network/metrics", READER, 200, "/api/v1/network/metrics"),
    ("GET", "/api/v1/network/under-connected", READER, 200, "/api/v1/network/under-connected"),
    ("GET", "/api/v1/network/suggestions", READER, 200, "/api/v1/network/suggestions"),
    ("GET", "/api/v1/network/graph", READER, 200, "/api/v1/network/graph"),
    ("GET", "/api/v1/network/export/{fmt:str}", READER, 200, "/api/v1/network/export/gexf"),
    ("GET", "/api/v1/network/graph.html", READER, 200, "/api/v1/network/graph.html"),
    ("POST", "/api/v1/network/memberships", COORDINATOR, 400, "/api/v1/network/memberships"),
    # Exchange: exports, imports, duplicates, RGPD.
    ("GET", "/api/v1/exports/{filename:str}", COORDINATOR, 200, "/api/v1/exports/contacts.csv"),
    ("POST", "/api/v1/imports", COORDINATOR, 400, "/api/v1/imports?kind=contacts"),
    ("POST", "/api/v1/territories/load", ADMIN, 400, "/api/v1/territories/load"),  # (#18)
    (
        "GET",
        "/api/v1/communes/{record_id:int}/childcare",
        READER,
        200,
        "/api/v1/communes/{commune}/childcare",
    ),  # (#18)
    (
        "PUT",
        "/api/v1/communes/{record_id:int}/childcare",
        COORDINATOR,
        400,
        "/api/v1/communes/{commune}/childcare",
    ),  # (#18)
    ("GET", "/api/v1/duplicates", COORDINATOR, 200, "/api/v1/duplicates"),
    ("POST", "/api/v1/duplicates/merge", COORDINATOR, 400, "/api/v1/duplicates/merge"),
    (
        "GET",
        "/api/v1/rgpd/contacts/{contact_id:int}",
        COORDINATOR,
        200,
        "/api/v1/rgpd/contacts/{contact}",
    ),
    (
        "POST",
        "/api/v1/rgpd/contacts/{contact_id:int}/anonymise",
        ADMIN,
        404,
        "/api/v1/rgpd/contacts/{missing}/anonymise",
    ),
    ("GET", "/api/v1/rgpd/notice", READER, 200, "/api/v1/rgpd/notice"),
    ("GET", "/api/v1/rgpd/retention", COORDINATOR, 200, "/api/v1/rgpd/retention"),
    ("GET", "/api/v1/rgpd/register", READER, 200, "/api/v1/rgpd/register"),
    # Mailing.
    (
        "POST",
        "/api/v1/meetings/{meeting_id:int}/invitations",
        COORDINATOR,
        400,
        "/api/v1/meetings/{missing}/invitations",
    ),
    (
        "POST",
        "/api/v1/meetings/{meeting_id:int}/invitations/send",
        COORDINATOR,
        404,
        "/api/v1/meetings/{missing}/invitations/send",
    ),
    (
        "GET",
        "/api/v1/meetings/{meeting_id:int}/invitations/preview",
        COORDINATOR,
        404,
        "/api/v1/meetings/{missing}/invitations/preview",
    ),
    (
        "POST",
        "/api/v1/meetings/{meeting_id:int}/invitations/relaunch",
        COORDINATOR,
        404,
        "/api/v1/meetings/{missing}/invitations/relaunch",
    ),
    (
        "POST",
        "/api/v1/meetings/{meeting_id:int}/minutes/send",
        COORDINATOR,
        400,
        "/api/v1/meetings/{missing}/minutes/send",
    ),
    ("POST", "/api/v1/replies", COORDINATOR, 400, "/api/v1/replies"),
    # Messages to review and counter-proposals of a meeting (#19).
    (
        "GET",
        "/api/v1/meetings/{meeting_id:int}/inbound-items",
        READER,
        200,
        "/api/v1/meetings/{meeting}/inbound-items",
    ),
    (
        "POST",
        "/api/v1/meetings/{meeting_id:int}/inbound-items/{item_id:int}/attach",
        COORDINATOR,
        400,  # no body
        "/api/v1/meetings/{missing}/inbound-items/1/attach",
    ),
    (
        "POST",
        "/api/v1/meetings/{meeting_id:int}/inbound-items/{item_id:int}/ignore",
        COORDINATOR,
        404,
        "/api/v1/meetings/{missing}/inbound-items/1/ignore",
    ),
    ("POST", "/api/v1/mailings/preview", COORDINATOR, 400, "/api/v1/mailings/preview"),
    ("POST", "/api/v1/mailings", COORDINATOR, 400, "/api/v1/mailings"),
    ("GET", "/api/v1/outbox", READER, 200, "/api/v1/outbox"),
    ("GET", "/api/v1/outbox/{message_id:int}", READER, 200, "/api/v1/outbox/{outbox}"),
    (
        "POST",
        "/api/v1/outbox/{message_id:int}/retry",
        COORDINATOR,
        404,
        "/api/v1/outbox/{missing}/retry",
    ),
    (
        "POST",
        "/api/v1/outbox/{message_id:int}/cancel",
        COORDINATOR,
        404,
        "/api/v1/outbox/{missing}/cancel",
    ),
    (
        "POST",
        "/api/v1/contacts/{contact_id:int}/unsubscribe-links/revoke",
        COORDINATOR,
        404,
        "/api/v1/contacts/{missing}/unsubscribe-links/revoke",
    ),
]

ROUTES.append(
    ("POST", "/api/v1/users/{record_id:int}/unlock", ADMIN, 404, "/api/v1/users/{missing}/unlock")
)
# Inhabitants' registrations to public meetings (#22).
ROUTES += [
    (
        "GET",
        "/api/v1/meetings/{meeting_id:int}/registrations",
        READER,
        200,
        "/api/v1/meetings/{public_meeting}/registrations",
    ),
    (
        "POST",
        "/api/v1/registrations/{registration_id:int}/cancel",
        COORDINATOR,
        404,
        "/api/v1/registrations/{missing}/cancel",
    ),
    (
        "POST",
        "/api/v1/registrations/{registration_id:int}/promote",
        COORDINATOR,
        404,
        "/api/v1/registrations/{missing}/promote",
    ),
    (
        "GET",
        "/api/v1/meetings/{meeting_id:int}/consultation",
        READER,
        200,
        "/api/v1/meetings/{public_meeting}/consultation",
    ),
    (
        "POST",
        "/api/v1/meetings/{meeting_id:int}/consultation/questions",
        COORDINATOR,
        400,  # empty body
        "/api/v1/meetings/{missing}/consultation/questions",
    ),
    (
        "DELETE",
        "/api/v1/consultation-questions/{question_id:int}",
        COORDINATOR,
        404,
        "/api/v1/consultation-questions/{missing}",
    ),
    # Consultations per theme and editing questions (#22).
    ("GET", "/api/v1/consultations", READER, 200, "/api/v1/consultations"),
    ("POST", "/api/v1/consultations", COORDINATOR, 400, "/api/v1/consultations"),  # empty body
    (
        "GET",
        "/api/v1/consultations/{consultation_id:int}",
        READER,
        404,
        "/api/v1/consultations/{missing}",
    ),
    (
        "POST",
        "/api/v1/consultations/{consultation_id:int}/open",
        COORDINATOR,
        400,  # empty body
        "/api/v1/consultations/{missing}/open",
    ),
    (
        "POST",
        "/api/v1/consultations/{consultation_id:int}/questions",
        COORDINATOR,
        400,  # empty body
        "/api/v1/consultations/{missing}/questions",
    ),
    (
        "PATCH",
        "/api/v1/consultation-questions/{question_id:int}",
        COORDINATOR,
        400,  # empty body
        "/api/v1/consultation-questions/{missing}",
    ),
    (
        "POST",
        "/api/v1/consultation-questions/{question_id:int}/move",
        COORDINATOR,
        400,  # empty body
        "/api/v1/consultation-questions/{missing}/move",
    ),
]

# The registry resources: list, read, create, update, then archive/restore or delete.
RESOURCES = {
    # name: (key in the ids, reader role, writer role, lifecycle)
    "territories": ("territory", READER, ADMIN, None),
    "communes": ("commune", READER, COORDINATOR, None),
    "axes": ("axis", READER, COORDINATOR, None),
    "organisations": ("organisation", READER, COORDINATOR, "archive"),
    "contacts": ("contact", READER, COORDINATOR, "archive"),
    "affiliations": ("affiliation", READER, COORDINATOR, "delete"),
    "groups": ("group", READER, COORDINATOR, "archive"),
    "memberships": ("membership", READER, COORDINATOR, "delete"),
    "meetings": ("meeting", READER, COORDINATOR, "delete"),
    "invitations": ("invitation", READER, COORDINATOR, "delete"),
    "partnerships": ("partnership", READER, COORDINATOR, "delete"),
    "interactions": ("interaction", READER, COORDINATOR, "delete"),
    "actions": ("action", READER, COORDINATOR, "delete"),
    "decisions": ("decision", READER, COORDINATOR, "delete"),
    "indicators": ("indicator", READER, COORDINATOR, "delete"),  # (#18)
    "users": ("user", ADMIN, ADMIN, None),
}
for name, (key, read, write, lifecycle) in RESOURCES.items():
    base = f"/api/v1/{name}"
    ROUTES += [
        ("GET", base, read, 200, base),
        ("POST", base, write, 400, base),
        ("GET", base + "/{record_id:int}", read, 200, f"{base}/{{{key}}}"),
        ("PATCH", base + "/{record_id:int}", write, 400, f"{base}/{{missing}}"),
    ]
    if lifecycle == "archive":
        for verb in ("archive", "restore"):
            ROUTES.append(
                (
                    "POST",
                    f"{base}/{{record_id:int}}/{verb}",
                    write,
                    404,
                    f"{base}/{{missing}}/{verb}",
                )
            )
    if lifecycle == "delete":
        ROUTES.append(("DELETE", base + "/{record_id:int}", write, 404, f"{base}/{{missing}}"))


# Pages (web issue): a session cookie or a bearer token. Without either, a page sends the
# visitor to the sign-in page (303); the API and calendar files answer 401.
PAGES: list[tuple[str, str, str, int, str]] = [
    ("GET", "/connexion", PUBLIC, 200, "/connexion"),
    ("GET", "/accessibilite", PUBLIC, 200, "/accessibilite"),  # RGAA statement (#21)
    ("POST", "/connexion", PUBLIC, 400, "/connexion"),  # empty form: asked again
    # A public meeting's registration page (#22): an empty form is refused (no signed stamp).
    ("GET", "/participer/{meeting_id:str}", PUBLIC, 200, "/participer/{public_meeting}"),
    ("POST", "/participer/{meeting_id:str}", PUBLIC, 400, "/participer/{public_meeting}"),
    # Its consultation: no question in the world's meeting, so closed (the same 404 as unknown).
    (
        "GET",
        "/participer/{meeting_id:str}/consultation",
        PUBLIC,
        404,
        "/participer/{public_meeting}/consultation",
    ),
    (
        "POST",
        "/participer/{meeting_id:str}/consultation",
        PUBLIC,
        404,
        "/participer/{public_meeting}/consultation",
    ),
    ("POST", "/deconnexion", READER, 303, "/deconnexion"),
    ("GET", "/compte", READER, 200, "/compte"),
    ("POST", "/compte/mot-de-passe", READER, 400, "/compte/mot-de-passe"),
    ("GET", "/journal", ADMIN, 200, "/journal"),
    ("GET", "/utilisateurs", ADMIN, 200, "/utilisateurs"),
    ("POST", "/utilisateurs", ADMIN, 400, "/utilisateurs"),
    *[
        (
            "POST",
            f"/utilisateurs/{{record_id:int}}/{verb}",
            ADMIN,
            404,
            f"/utilisateurs/{{missing}}/{verb}",
        )
        for verb in ("role", "desactiver", "reactiver", "mot-de-passe", "debloquer")
    ],
    # Territories from the public registers (#18); an empty form or body loads nothing.
    ("GET", "/territoires", READER, 200, "/territoires"),
    ("GET", "/territoires/{record_id:int}/carte", READER, 404, "/territoires/{missing}/carte"),
    ("GET", "/territoires/nouveau", ADMIN, 200, "/territoires/nouveau"),
    ("POST", "/territoires/nouveau", ADMIN, 303, "/territoires/nouveau"),
    (
        "GET",
        "/territoires/{record_id:int}/modifier",
        ADMIN,
        200,
        "/territoires/{territory}/modifier",
    ),
    (
        "POST",
        "/territoires/{record_id:int}/modifier",
        ADMIN,
        404,
        "/territoires/{missing}/modifier",
    ),
    ("GET", "/diagnostic", READER, 200, "/diagnostic"),  # (#18)
    # Commune indicators by hand (#18): an empty form is a 400 naming the fields.
    ("GET", "/diagnostic/indicateurs", READER, 200, "/diagnostic/indicateurs"),
    ("POST", "/diagnostic/indicateurs", COORDINATOR, 400, "/diagnostic/indicateurs"),
    *[
        (
            method,
            f"/diagnostic/indicateurs/{{record_id:int}}/{verb}",
            COORDINATOR,
            404,
            f"/diagnostic/indicateurs/{{missing}}/{verb}",
        )
        for method, verb in (("GET", "modifier"), ("POST", "modifier"), ("POST", "supprimer"))
    ],
    (
        "POST",
        "/diagnostic/communes/{record_id:int}/petite-enfance",
        COORDINATOR,
        303,
        "/diagnostic/communes/{commune}/petite-enfance",
    ),
    # (#20) The territories of an account.
    (
        "POST",
        "/utilisateurs/{record_id:int}/territoires",
        ADMIN,
        404,
        "/utilisateurs/{missing}/territoires",
    ),
    (
        "POST",
        "/utilisateurs/{record_id:int}/territoires/{territory_id:int}/retirer",
        ADMIN,
        404,
        "/utilisateurs/{missing}/territoires/{missing}/retirer",
    ),
]
for base, key, new in [
    ("/partenaires", "organisation", "nouveau"),
    ("/contacts", "contact", "nouveau"),
    ("/instances", "group", "nouvelle"),
]:
    PAGES += [
        ("GET", base, READER, 200, base),
        ("GET", base + "/{record_id:int}", READER, 200, f"{base}/{{{key}}}"),
        ("GET", f"{base}/{new}", COORDINATOR, 200, f"{base}/{new}"),
        ("POST", f"{base}/{new}", COORDINATOR, 400, f"{base}/{new}"),
        ("GET", base + "/{record_id:int}/modifier", COORDINATOR, 200, f"{base}/{{{key}}}/modifier"),
        (
            "POST",
            base + "/{record_id:int}/modifier",
            COORDINATOR,
            404,
            f"{base}/{{missing}}/modifier",
        ),
        (
            "POST",
            base + "/{record_id:int}/archiver",
            COORDINATOR,
            404,
            f"{base}/{{missing}}/archiver",
        ),
        (
            "POST",
            base + "/{record_id:int}/restaurer",
            COORDINATOR,
            404,
            f"{base}/{{missing}}/restaurer",
        ),
    ]
PAGES += [
    ("POST", "/contacts/{record_id:int}/effacer", ADMIN, 404, "/contacts/{missing}/effacer"),
    (
        "POST",
        "/contacts/{record_id:int}/rattachements",
        COORDINATOR,
        404,
        "/contacts/{missing}/rattachements",
    ),
    (
        "POST",
        "/contacts/{record_id:int}/rattachements/{affiliation_id:int}/clore",
        COORDINATOR,
        404,
        "/contacts/{missing}/rattachements/{missing}/clore",
    ),
    (
        "POST",
        "/instances/{record_id:int}/membres",
        COORDINATOR,
        404,
        "/instances/{missing}/membres",
    ),
    *[
        (
            "POST",
            f"/instances/{{record_id:int}}/membres/{{membership_id:int}}/{verb}",
            COORDINATOR,
            404,
            f"/instances/{{missing}}/membres/{{missing}}/{verb}",
        )
        for verb in ("role", "retirer")
    ],
    ("GET", "/reunions", READER, 200, "/reunions"),
    ("GET", "/reunions/calendrier", READER, 200, "/reunions/calendrier"),
    ("GET", "/reunions/nouvelle", COORDINATOR, 200, "/reunions/nouvelle"),
    ("POST", "/reunions/nouvelle", COORDINATOR, 400, "/reunions/nouvelle"),
    ("GET", "/reunions/{record_id:int}", READER, 200, "/reunions/{meeting}"),
    ("GET", "/reunions/{record_id:int}/deplacer", COORDINATOR, 200, "/reunions/{meeting}/deplacer"),
    ("GET", "/reunions/{record_id:int}/modifier", COORDINATOR, 200, "/reunions/{meeting}/modifier"),
    ("GET", "/reunions/{record_id:int}/presences", READER, 200, "/reunions/{meeting}/presences"),
    ("GET", "/reunions/{record_id:int}/emargement", READER, 200, "/reunions/{meeting}/emargement"),
    ("GET", "/reunions/{record_id:int}/dossier", READER, 200, "/reunions/{meeting}/dossier"),
    *[
        (
            "POST",
            f"/reunions/{{record_id:int}}/{verb}",
            COORDINATOR,
            404,
            f"/reunions/{{missing}}/{verb}",
        )
        for verb in ("deplacer", "modifier", "annuler", "retablir", "compte-rendu")
    ],
    # Back to the attendance page, which then says the meeting does not exist.
    (
        "POST",
        "/reunions/{record_id:int}/presences",
        COORDINATOR,
        303,
        "/reunions/{missing}/presences",
    ),
    # Messages to review (#19): back to the meeting page, which says it does not exist.
    *[
        (
            "POST",
            f"/reunions/{{record_id:int}}/messages/{{item_id:int}}/{verb}",
            COORDINATOR,
            303,
            f"/reunions/{{missing}}/messages/1/{verb}",
        )
        for verb in ("rattacher", "ignorer")
    ],
]
# Pages for the merged capabilities (network, exchange, outbox, invitations, calendar links).
PAGES += [
    ("GET", "/reseau", READER, 200, "/reseau"),
    ("GET", "/reseau/dessin", READER, 200, "/reseau/dessin"),
    ("POST", "/reseau/inscrire", COORDINATOR, 303, "/reseau/inscrire"),
    ("GET", "/exports", COORDINATOR, 200, "/exports"),
    ("GET", "/exports/telecharger", COORDINATOR, 200, "/exports/telecharger?entite=contacts"),
    ("GET", "/imports", COORDINATOR, 200, "/imports"),
    ("POST", "/imports", COORDINATOR, 303, "/imports"),
    ("POST", "/imports/confirmer", COORDINATOR, 303, "/imports/confirmer"),
    ("POST", "/imports/abandonner", COORDINATOR, 303, "/imports/abandonner"),
    # No file waiting: back to the import page.
    ("GET", "/imports/avertissements", COORDINATOR, 303, "/imports/avertissements"),
    ("GET", "/doublons", COORDINATOR, 200, "/doublons"),
    ("POST", "/doublons/fusionner", COORDINATOR, 303, "/doublons/fusionner"),
    ("GET", "/doublons/comparer", COORDINATOR, 303, "/doublons/comparer"),  # no pair: back
    ("POST", "/doublons/ignorer", COORDINATOR, 303, "/doublons/ignorer"),
    # (#21) People added where the coordinator meets them.
    (
        "GET",
        "/partenaires/{record_id:int}/contacts/nouveau",
        COORDINATOR,
        404,
        "/partenaires/{missing}/contacts/nouveau",
    ),
    (
        "POST",
        "/partenaires/{record_id:int}/contacts/nouveau",
        COORDINATOR,
        404,
        "/partenaires/{missing}/contacts/nouveau",
    ),
    (
        "GET",
        "/instances/{record_id:int}/membres/plusieurs",
        COORDINATOR,
        404,
        "/instances/{missing}/membres/plusieurs",
    ),
    (
        "POST",
        "/instances/{record_id:int}/membres/plusieurs",
        COORDINATOR,
        303,
        "/instances/{missing}/membres/plusieurs",
    ),
    (
        "POST",
        "/instances/{record_id:int}/membres/{membership_id:int}/suppleant",
        COORDINATOR,
        303,
        "/instances/{missing}/membres/{missing}/suppleant",
    ),
    ("GET", "/envois", READER, 200, "/envois"),
    ("POST", "/envois/{message_id:int}/renvoyer", COORDINATOR, 303, "/envois/{missing}/renvoyer"),
    ("POST", "/envois/{message_id:int}/annuler", COORDINATOR, 303, "/envois/{missing}/annuler"),
    ("GET", "/envois/{message_id:int}", READER, 200, "/envois/{outbox}"),
    ("GET", "/envois/nouveau", COORDINATOR, 200, "/envois/nouveau"),
    ("POST", "/envois/nouveau", COORDINATOR, 400, "/envois/nouveau"),  # no subject nor body
    ("POST", "/envois/nouveau/envoyer", COORDINATOR, 400, "/envois/nouveau/envoyer"),
    ("POST", "/reunions/{record_id:int}/inviter", COORDINATOR, 303, "/reunions/{missing}/inviter"),
    ("POST", "/reunions/{record_id:int}/envoyer", COORDINATOR, 303, "/reunions/{missing}/envoyer"),
    ("GET", "/reunions/{record_id:int}/apercu", COORDINATOR, 200, "/reunions/{meeting}/apercu"),
    (
        "POST",
        "/reunions/{record_id:int}/decisions",
        COORDINATOR,
        303,
        "/reunions/{missing}/decisions",
    ),
    ("POST", "/decisions/{record_id:int}/statut", COORDINATOR, 303, "/decisions/{missing}/statut"),
    ("GET", "/reunions/{record_id:int}/annuler", COORDINATOR, 200, "/reunions/{meeting}/annuler"),
    (
        "POST",
        "/reunions/{record_id:int}/relancer",
        COORDINATOR,
        303,
        "/reunions/{missing}/relancer",
    ),
    (
        "GET",
        "/reunions/{record_id:int}/envoyer-compte-rendu",
        COORDINATOR,
        200,
        "/reunions/{meeting}/envoyer-compte-rendu",
    ),
    (
        "POST",
        "/reunions/{record_id:int}/envoyer-compte-rendu",
        COORDINATOR,
        404,
        "/reunions/{missing}/envoyer-compte-rendu",
    ),
    (
        "POST",
        "/instances/{record_id:int}/lien-agenda",
        COORDINATOR,
        404,
        "/instances/{missing}/lien-agenda",
    ),
    (
        "POST",
        "/instances/{record_id:int}/lien-agenda/{token_id:int}/revoquer",
        COORDINATOR,
        303,
        "/instances/{missing}/lien-agenda/{missing}/revoquer",
    ),
    ("POST", "/compte/agenda", READER, 303, "/compte/agenda"),
    (
        "POST",
        "/compte/agenda/{token_id:int}/revoquer",
        READER,
        303,  # back to the account page, which explains the refusal
        "/compte/agenda/{missing}/revoquer",
    ),
]
PAGES += [
    (
        "POST",
        f"/reunions/{{record_id:int}}/inscriptions/{{registration_id:int}}/{verb}",
        COORDINATOR,
        303,  # back to the meeting page, which says the registration does not exist
        f"/reunions/{{public_meeting}}/inscriptions/{{missing}}/{verb}",
    )
    for verb in ("annuler", "promouvoir")
]
PAGES += [
    (
        "POST",
        "/reunions/{record_id:int}/consultation/questions",
        COORDINATOR,
        303,  # back to the meeting page, which says what is missing
        "/reunions/{missing}/consultation/questions",
    ),
    (
        "POST",
        "/reunions/{record_id:int}/consultation/questions/{question_id:int}/supprimer",
        COORDINATOR,
        303,
        "/reunions/{public_meeting}/consultation/questions/{missing}/supprimer",
    ),
    (
        "GET",
        "/reunions/{record_id:int}/consultation.csv",
        READER,
        200,
        "/reunions/{public_meeting}/consultation.csv",
    ),
    *[
        (
            "POST",
            f"/reunions/{{record_id:int}}/consultation/questions/{{question_id:int}}/{verb}",
            COORDINATOR,
            303,  # back to the meeting page, which says the question is unknown
            f"/reunions/{{public_meeting}}/consultation/questions/{{missing}}/{verb}",
        )
        for verb in ("modifier", "deplacer")
    ],
    # Consultations per theme (#22): the public page answers only an open one.
    ("GET", "/consulter/{consultation_id:str}", PUBLIC, 404, "/consulter/{missing}"),
    ("POST", "/consulter/{consultation_id:str}", PUBLIC, 404, "/consulter/{missing}"),
    ("GET", "/consultations", READER, 200, "/consultations"),
    ("POST", "/consultations", COORDINATOR, 303, "/consultations"),  # empty: back, with why
    ("GET", "/consultations/{record_id:int}", READER, 404, "/consultations/{missing}"),
    (
        "GET",
        "/consultations/{record_id:int}/reponses.csv",
        READER,
        404,
        "/consultations/{missing}/reponses.csv",
    ),
    (
        "POST",
        "/consultations/{record_id:int}/ouverture",
        COORDINATOR,
        303,
        "/consultations/{missing}/ouverture",
    ),
    (
        "POST",
        "/consultations/{record_id:int}/questions",
        COORDINATOR,
        303,
        "/consultations/{missing}/questions",
    ),
    *[
        (
            "POST",
            f"/consultations/{{record_id:int}}/questions/{{question_id:int}}/{verb}",
            COORDINATOR,
            303,
            f"/consultations/{{missing}}/questions/{{missing}}/{verb}",
        )
        for verb in ("modifier", "deplacer", "supprimer")
    ],
]
ROUTES += PAGES
PUBLIC_PAGES = {"/connexion", "/accessibilite"}
PAGE_PATHS = {route for _method, route, *_ in PAGES if route not in PUBLIC_PAGES} | {"/"}
PAGE_PATHS |= {"/bilan", "/bilan/telecharger", "/plan-d-action", "/plan-d-action/{record_id:int}"}
PAGE_PATHS |= {
    "/plan-d-action/{record_id:int}/indicateurs",
    "/plan-d-action/{record_id:int}/evaluation",
}
PAGE_PATHS |= {"/plan-d-action/nouvelle", "/plan-d-action/{record_id:int}/modifier"}

CALLERS = [
    "anonyme",
    "lecteur",
    "coordinateur",
    "admin",
    "jeton-révoqué",
    "jeton-de-flux",
    "jeton-de-réponse",
]


def expected(caller: str, who: str, allowed: int, route: str) -> int:
    if who == PUBLIC:
        return allowed
    role = caller.removesuffix("-session")
    if role in RANK:
        return allowed if RANK[role] >= RANK[who] else 403
    if caller == "anonyme" and route in PAGE_PATHS:
        return 303  # to the sign-in page
    return 401  # no account, a revoked one, or a link's secret offered as an API token


TEST_ROUTES = "/essai/"


def test_every_route_has_a_row(app):
    declared = {(method, route) for method, route, *_ in ROUTES}
    assert len(declared) == len(ROUTES), "deux lignes pour la même route"
    actual = {
        (method, route.path)
        for route in app.routes
        for method in getattr(route, "methods", ())
        # Routes some tests add to the shared app for themselves live under /essai/ (e.g. the
        # unfiltered queries of tests/test_row_security.py): not the product's.
        if method != "OPTIONS" and not route.path.startswith(TEST_ROUTES)
    }
    assert actual - declared == set(), "routes sans ligne dans la matrice"
    assert declared - actual == set(), "lignes pour des routes qui n'existent plus"


async def _world(settings) -> dict[str, object]:
    await load_demo(seed=1, today=dt.date.today())
    first = {}
    tables = {
        "territory": Territory,
        "commune": Commune,
        "organisation": Organisation,
        "contact": Contact,
        "affiliation": Affiliation,
        "group": WorkingGroup,
        "membership": Membership,
        "meeting": Meeting,
        "partnership": Partnership,
        "interaction": Interaction,
        "action": Action,
        "decision": Decision,
        "user": User,
    }
    for key, table in tables.items():
        row = await table.select(table.id).order_by(table.id).first()
        assert row is not None, key
        first[key] = row["id"]
    # A cancelled meeting's cancel page sends back to the meeting: the demo, drawn around
    # today, may cancel its first one (it did on 6 December 2026).
    first["meeting"] = (
        await Meeting.select(Meeting.id)
        .where(Meeting.status != CANCELLED)
        .order_by(Meeting.id)
        .first()
    )["id"]
    first["axis"] = 1
    invitation = await (
        Invitation.select(Invitation.id, Invitation.token_nonce)
        .where(Invitation.meeting.starts_at > dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
        .first()
    )
    first["invitation"] = invitation["id"]
    first["answer"] = tokens.answer_token(
        settings.secret_key, invitation["id"], invitation["token_nonce"]
    )
    first["unsubscribe"] = tokens.unsubscribe_token(settings.secret_key, first["contact"], "")
    first["feed"], _ = await feeds.create_token(CLI, "group", first["group"])
    await queue_plain(1)
    first["outbox"] = (await OutboxMessage.select(OutboxMessage.id).first())["id"]
    public = await (
        Meeting.select(Meeting.id)
        .where(
            (Meeting.starts_at > dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
            & (Meeting.status == "planifiee")
        )
        .order_by(Meeting.id)
        .first()
    )
    await Meeting.update({Meeting.is_public: True, Meeting.registration_open: True}).where(
        Meeting.id == public["id"]
    )
    first["public_meeting"] = public["id"]
    indicator = CommuneIndicator(
        commune=first["commune"], code="places_eaje", value=12, measured_on=dt.date(2024, 6, 30)
    )
    first["indicator"] = (await CommuneIndicator.insert(indicator).returning(CommuneIndicator.id))[
        0
    ]["id"]
    first["missing"] = MISSING
    return first


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Signing in three sessions at Argon2's real cost is not what this test checks."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@dataclass
class Callers:
    anonymous: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    browsers: dict[str, Browser]
    ids: dict[str, object]

    async def send(self, caller: str, method: str, path: str, csrf: bool = True):
        if caller in self.browsers:
            browser = self.browsers[caller]
            if method == "POST":
                return await browser.post(path, {}, csrf=csrf)
            return await browser.client.request(method, path)
        return await self.anonymous.request(method, path, headers=self.headers[caller])


@pytest.fixture
async def callers(app, settings, anonymous, admin, coordinator, reader):
    ids = await _world(settings)
    revoked_token = await auth.create_token(CLI, reader.email, "à révoquer")
    await auth.revoke_tokens(CLI, reader.email, revoked_token)
    headers = {
        "anonyme": {},
        "lecteur": {"Authorization": f"Bearer {reader.token}"},
        "coordinateur": {"Authorization": f"Bearer {coordinator.token}"},
        "admin": {"Authorization": f"Bearer {admin.token}"},
        "jeton-révoqué": {"Authorization": f"Bearer {revoked_token}"},
        "jeton-de-flux": {"Authorization": f"Bearer {ids['feed']}"},
        "jeton-de-réponse": {"Authorization": f"Bearer {ids['answer']}"},
    }
    async with contextlib.AsyncExitStack() as stack:
        browsers = {}
        for persona in (reader, coordinator, admin):
            client = await stack.enter_async_context(await open_browser(app))
            browser = Browser(client)
            assert (await sign_in(browser, persona.email)).status_code == 303
            browsers[f"{persona.role}-session"] = browser
        yield Callers(anonymous, headers, browsers, ids)


# The own-account pages belong to a signed-in person: an API token (which has no password of
# its own to change) is refused there.
SESSION_ONLY = {
    "/compte",
    "/compte/mot-de-passe",
    "/compte/agenda",
    "/compte/agenda/{token_id:int}/revoquer",
}


def expected_for(caller: str, method: str, who: str, allowed: int, route: str) -> int:
    session = caller.endswith("-session")
    if session and who != PUBLIC and route.startswith("/api/"):
        return 401  # the API reads no session cookie, only bearer tokens
    if route == "/connexion":
        if method == "GET" and session:
            return 303  # already signed in: to the dashboard
        if method == "POST" and caller == "anonyme":
            return 403  # the sign-in form has a CSRF token too; this client sent none
    public_form = route.startswith(("/participer/", "/consulter/"))
    if public_form and method == "POST" and caller == "anonyme":
        return 403  # the registration form has a CSRF token; this client sent none
    if route in SESSION_ONLY and caller in RANK:
        return 403
    return expected(caller, who, allowed, route)


# Signing out last, so that the sessions live through the whole matrix.
ORDERED = sorted(ROUTES, key=lambda row: row[1] == "/deconnexion")


async def test_every_route_answers_each_caller_with_the_exact_status(callers):
    wrong = []
    checked = 0
    for method, route, who, allowed, template in ORDERED:
        path = template.format(**callers.ids)
        for caller in [*CALLERS, *callers.browsers]:
            response = await callers.send(caller, method, path)
            checked += 1
            want = expected_for(caller, method, who, allowed, route)
            if response.status_code != want:
                wrong.append(f"{method} {path} [{caller}] : {response.status_code} ≠ {want}")
    assert not wrong, "\n".join(wrong)
    assert checked == len(ROUTES) * (len(CALLERS) + 3)


async def test_a_signed_in_form_without_its_csrf_token_is_refused(callers):
    """A forged cross-site form rides on the session cookie but cannot read the CSRF token."""
    for method, route, who, _allowed, template in PAGES:
        if method != "POST" or who == PUBLIC or route == "/deconnexion":
            continue
        response = await callers.send(
            "admin-session", "POST", template.format(**callers.ids), csrf=False
        )
        assert response.status_code == 403, (route, response.status_code)


async def test_a_link_secret_opens_only_its_own_door(callers):
    client, ids = callers.anonymous, callers.ids
    swapped = [
        f"/r/{ids['unsubscribe']}",  # unsubscribe token offered as an answer token
        f"/u/{ids['answer']}",  # answer token offered as an unsubscribe token
        f"/r/{ids['feed']}",  # feed token offered as an answer token
        f"/calendar/feeds/{ids['answer']}.ics",  # answer token offered as a feed token
        f"/calendar/feeds/{ids['unsubscribe']}.ics",
        "/r/" + tokens.answer_token("une-autre-clé", ids["invitation"], "x"),
    ]
    for path in swapped:
        for method in ("GET", "POST"):
            if path.startswith("/calendar") and method == "POST":
                continue
            response = await client.request(method, path)
            assert response.status_code == 404, (method, path, response.status_code)


# ----- the territory dimension (#20) ------------------------------------------------------------
# Users scoped to the demo's territory, against a record of their territory (« own »), of another
# territory (« other ») and a shared one, for every resource local to a territory. Writes send
# a version no record has, so that none changes anything: an allowed one gets 409; deletes
# are only sent where they must be refused. « unscoped » is a coordinator without territories:
# nothing changes for them.
OWN, OTHER, SHARED = "own", "other", "shared"
SCOPED_CALLERS = (
    "coordinateur-du-territoire",
    "lecteur-du-territoire",
    "coordinateur-sans-territoire",
)
SCOPED_API: dict[str, dict[str, dict[str, dict[str, int]]]] = {}
for _name in (
    "groups",
    "memberships",
    "meetings",
    "invitations",
    "decisions",
    "actions",
    "interactions",
):
    SCOPED_API[_name] = {
        "GET": {
            "coordinateur-du-territoire": {OWN: 200, OTHER: 404, SHARED: 200},
            "lecteur-du-territoire": {OWN: 200, OTHER: 404, SHARED: 200},
            "coordinateur-sans-territoire": {OWN: 200, OTHER: 200, SHARED: 200},
        },
        "PATCH": {
            "coordinateur-du-territoire": {OWN: 409, OTHER: 404, SHARED: 403},
            "lecteur-du-territoire": {OWN: 403, OTHER: 403, SHARED: 403},
            "coordinateur-sans-territoire": {OWN: 409, OTHER: 409, SHARED: 409},
        },
        "DELETE": {
            "coordinateur-du-territoire": {OTHER: 404, SHARED: 403},
            "lecteur-du-territoire": {OWN: 403, OTHER: 403, SHARED: 403},
        },
    }
# What hangs off a meeting (#20, reports, inhabitants and invitations): the same rule.
_READ_BY_MEETING = {
    "coordinateur-du-territoire": {OWN: 200, OTHER: 404, SHARED: 200},
    "lecteur-du-territoire": {OWN: 200, OTHER: 404, SHARED: 200},
    "coordinateur-sans-territoire": {OWN: 200, OTHER: 200, SHARED: 200},
}
for _action in ("pack", "registrations", "consultation"):
    SCOPED_API["meetings"][f"GET {_action}"] = {k: dict(v) for k, v in _READ_BY_MEETING.items()}
SCOPED_API["meetings"]["GET invitations/preview"] = {
    "coordinateur-du-territoire": {OTHER: 404},
    "lecteur-du-territoire": {OTHER: 403},
}
# Archiving a body instead of deleting it.
SCOPED_API["groups"]["DELETE"] = {}
SCOPED_API["groups"]["POST archive"] = {
    "coordinateur-du-territoire": {OTHER: 404, SHARED: 403},
    "lecteur-du-territoire": {OWN: 403, OTHER: 403, SHARED: 403},
}
# Partners (#20): a town hall, its people and their affiliations are local; the Caf shared.
# Archiving stands for deleting organisations and contacts.
for _name in ("organisations", "contacts", "affiliations"):
    SCOPED_API[_name] = {
        method: {caller: dict(statuses) for caller, statuses in callers.items()}
        for method, callers in SCOPED_API["groups"].items()
    }
SCOPED_API["affiliations"]["DELETE"] = dict(SCOPED_API["actions"]["DELETE"])
del SCOPED_API["affiliations"]["POST archive"]
# Partnerships (#20): seen when both organisations are; another territory's partner with the
# Caf answers 404, the Caf's partnership with another institution is shared.
SCOPED_API["partnerships"] = {
    method: {caller: dict(statuses) for caller, statuses in callers.items()}
    for method, callers in SCOPED_API["actions"].items()
}
RECORD_KEYS = {
    "groups": "group",
    "memberships": "membership",
    "meetings": "meeting",
    "invitations": "invitation",
    "decisions": "decision",
    "actions": "action",
    "interactions": "interaction",
}
# Pages, seen by a session of the scoped coordinator and of the unscoped one.
SCOPED_PAGES: dict[str, tuple[str, dict[str, dict[str, int]]]] = {
    "/instances/{id}": ("groups", {}),
    "/instances/{id}/modifier": ("groups", {}),
    "/reunions/{id}": ("meetings", {}),
    "/reunions/{id}/modifier": ("meetings", {}),
    "/reunions/{id}/presences": ("meetings", {}),
    "/plan-d-action/{id}": ("actions", {}),
    "/plan-d-action/{id}/modifier": ("actions", {}),
    "/partenaires/{id}": ("organisations", {}),
    "/partenaires/{id}/modifier": ("organisations", {}),
    "/contacts/{id}": ("contacts", {}),
    "/contacts/{id}/modifier": ("contacts", {}),
    "/reunions/{id}/dossier": ("meetings", {}),
    "/reunions/{id}/consultation.csv": ("meetings", {}),
}
for _path, (_resource, _expected) in SCOPED_PAGES.items():
    _expected["coordinateur-du-territoire"] = {OWN: 200, OTHER: 404, SHARED: 200}
    _expected["coordinateur-sans-territoire"] = {OWN: 200, OTHER: 200, SHARED: 200}


def test_every_resource_local_to_a_territory_has_rows():
    from maillage.crm.registry import SERVICES

    scoped = {name for name, service in SERVICES.items() if service.spec.territorial}
    assert scoped == set(SCOPED_API), "ressource locale sans ligne territoriale dans la matrice"


MEETING_TIMES = {"starts_at": "2027-01-12T14:00:00+01:00", "ends_at": "2027-01-12T16:00:00+01:00"}


async def _other_and_shared(client: httpx.AsyncClient, ids: dict) -> dict[str, dict[str, int]]:
    """One record of each local resource in another territory and one shared."""

    async def make(resource: str, payload: dict) -> int:
        response = await client.post(f"/api/v1/{resource}", json=payload)
        assert response.status_code == 201, (resource, response.text)
        return response.json()["id"]

    other_territory = await make("territories", {"name": "CA des Deux Rives"})
    places: dict[str, dict[str, int]] = {OWN: {}, OTHER: {}, SHARED: {}}
    for place, territory in ((OTHER, other_territory), (SHARED, None)):
        made = places[place]
        made["groups"] = await make(
            "groups", {"name": f"COPIL {place}", "kind": "copil", "territory": territory}
        )
        made["memberships"] = await make(
            "memberships", {"contact": ids["contact"], "working_group": made["groups"]}
        )
        made["meetings"] = await make(
            "meetings", {"working_group": made["groups"], "title": place, **MEETING_TIMES}
        )
        made["invitations"] = await make(
            "invitations", {"meeting": made["meetings"], "contact": ids["contact"]}
        )
        made["decisions"] = await make(
            "decisions", {"summary": "Ouvrir un LAEP", "meeting": made["meetings"]}
        )
        made["actions"] = await make("actions", {"title": "Guichet", "territory": territory})
        made["interactions"] = await make(
            "interactions",
            {"occurred_on": "2026-11-30", "summary": "Appel", "territory": territory},
        )
    for place, territory in ((OTHER, other_territory), (SHARED, None)):
        made = places[place]
        kind = "institution" if territory is None else "association"
        made["organisations"] = await make(
            "organisations", {"name": f"Partenaire {place}", "kind": kind, "territory": territory}
        )
        made["contacts"] = await make(
            "contacts", {"first_name": "Personne", "last_name": place, "territory": territory}
        )
        made["affiliations"] = await make(
            "affiliations",
            {"contact": made["contacts"], "organisation": made["organisations"]},
        )
    places[OWN] = {resource: ids[key] for resource, key in RECORD_KEYS.items()}
    places[OWN].update(await _own_partners(ids["territory"]))
    for place in (OWN, OTHER, SHARED):
        partner = places[SHARED]["organisations"]
        if place == SHARED:
            partner = await make("organisations", {"name": "MSA", "kind": "institution"})
        places[place]["partnerships"] = await make(
            "partnerships",
            {"organisation": places[place]["organisations"], "partner": partner},
        )
    places[OWN]["territories"] = ids["territory"]
    places[OTHER]["territories"] = other_territory
    return places


async def _own_partners(territory: int) -> dict[str, int]:
    """A partner of the demo's territory, one of its people and their affiliation."""
    own = await (
        Affiliation.select(Affiliation.id, Affiliation.contact, Affiliation.organisation)
        .where(
            (Affiliation.contact.territory == territory)
            & (Affiliation.organisation.territory == territory)
        )
        .order_by(Affiliation.id)
        .first()
    )
    assert own is not None
    return {
        "organisations": own["organisation"],
        "contacts": own["contact"],
        "affiliations": own["id"],
    }


@pytest.fixture
async def territory_callers(app, settings, admin, coordinator):
    from maillage.crm import scope as territory_scope
    from maillage.crm.registry import SERVICES
    from maillage.crm.schemas import UserIn
    from tests.web.helpers import PASSWORD

    ids = await _world(settings)
    places = await _other_and_shared(admin.client, ids)
    siren = (await Territory.select(Territory.siren).where(Territory.id == ids["territory"]))[0]
    headers = {"coordinateur-sans-territoire": {"Authorization": f"Bearer {coordinator.token}"}}
    for caller, role in (
        ("coordinateur-du-territoire", "coordinateur"),
        ("lecteur-du-territoire", "lecteur"),
    ):
        email = f"{role}.territoire@maillage.example"
        user = await SERVICES["users"].create(
            CLI, UserIn(email=email, role=role, password=PASSWORD)
        )
        await territory_scope.grant(CLI, user["id"], [siren["siren"]], role)
        headers[caller] = {"Authorization": f"Bearer {await auth.create_token(CLI, email)}"}
    async with contextlib.AsyncExitStack() as stack:
        browsers = {}
        for caller, email in (
            ("coordinateur-du-territoire", "coordinateur.territoire@maillage.example"),
            ("coordinateur-sans-territoire", coordinator.email),
        ):
            browser = Browser(await stack.enter_async_context(await open_browser(app)))
            assert (await sign_in(browser, email)).status_code == 303
            browsers[caller] = browser
        yield places, headers, browsers, admin.client


async def test_each_territory_sees_its_own_and_the_shared_records_only(territory_callers):
    places, headers, browsers, client = territory_callers
    wrong, checked = [], 0
    for resource, methods in SCOPED_API.items():
        for method, callers in methods.items():
            verb, _, action = method.partition(" ")
            for caller, statuses in callers.items():
                for place, want in statuses.items():
                    path = f"/api/v1/{resource}/{places[place][resource]}"
                    path += f"/{action}" if action else ""
                    body = {"version": MISSING} if verb == "PATCH" else None
                    response = await client.request(verb, path, json=body, headers=headers[caller])
                    checked += 1
                    if response.status_code != want:
                        wrong.append(
                            f"{method} {path} [{caller}, {place}] : {response.status_code} ≠ {want}"
                        )
    for template, (resource, callers) in SCOPED_PAGES.items():
        for caller, statuses in callers.items():
            for place, want in statuses.items():
                path = template.format(id=places[place][resource])
                response = await browsers[caller].get(path)
                checked += 1
                if response.status_code != want:
                    wrong.append(
                        f"GET {path} [{caller}, {place}] : {response.status_code} ≠ {want}"
                    )
    assert not wrong, "\n".join(wrong)
    assert checked > 150


# The exchange routes over the same partners (#20): the right of access to a person; a merge
# keeping the record whose other half does not exist (nothing is merged: shared answers 403
# before looking for it); an export of a territory's people; an import whose one line names
# the partner with a new phone number (another territory's is not found: a local one is made).
COORD, READ, FREE = SCOPED_CALLERS
SCOPED_EXCHANGE: dict[str, dict[str, dict[str, int]]] = {
    "rgpd": {
        COORD: {OWN: 200, OTHER: 404, SHARED: 200},
        READ: {OWN: 403, OTHER: 403, SHARED: 403},
        FREE: {OWN: 200, OTHER: 200, SHARED: 200},
    },
    "merge": {
        COORD: {OWN: 404, OTHER: 404, SHARED: 403},
        READ: {OWN: 403, OTHER: 403, SHARED: 403},
        FREE: {OWN: 404, OTHER: 404, SHARED: 404},
    },
    "export": {
        COORD: {OWN: 200, OTHER: 400, SHARED: 200},
        READ: {OWN: 403, OTHER: 403, SHARED: 403},
        FREE: {OWN: 200, OTHER: 200, SHARED: 200},
    },
    # The unscoped import first: after the scoped one, two partners bear the other's name.
    "import": {
        FREE: {OWN: 200, OTHER: 200, SHARED: 200},
        READ: {OWN: 403, OTHER: 403, SHARED: 403},
        COORD: {OWN: 200, OTHER: 200, SHARED: 400},
    },
}


_calls: list[str] = []


async def _exchange(client, kind: str, record: dict, headers: dict) -> httpx.Response:
    if kind == "rgpd":
        return await client.get(f"/api/v1/rgpd/contacts/{record['contact']}", headers=headers)
    if kind == "merge":
        body = {"type": "organisations", "keep": record["id"], "remove": MISSING}
        return await client.post("/api/v1/duplicates/merge", json=body, headers=headers)
    if kind == "export":
        params = {"territory": record["territory"]} if record["territory"] else {}
        return await client.get("/api/v1/exports/contacts.csv", params=params, headers=headers)
    _calls.append(kind)  # a new number at each import, so that each one changes something
    text = f"Nom;Téléphone\r\n{record['name']};0299{len(_calls):06d}\r\n"
    files = {"file": ("partenaires.csv", text.encode(), "text/csv")}
    params = {"kind": "organisations", "commit": "true"}
    return await client.post("/api/v1/imports", params=params, files=files, headers=headers)


async def test_exchange_routes_answer_each_territory_exactly(territory_callers):
    places, headers, _browsers, client = territory_callers
    records = {}
    for place in (OWN, OTHER, SHARED):
        organisation = (
            await client.get(f"/api/v1/organisations/{places[place]['organisations']}")
        ).json()
        records[place] = {**organisation, "contact": places[place]["contacts"]}
    wrong = []
    for kind, callers in SCOPED_EXCHANGE.items():
        for caller, statuses in callers.items():
            for place, want in statuses.items():
                response = await _exchange(client, kind, records[place], headers[caller])
                if response.status_code != want:
                    wrong.append(f"{kind} [{caller}, {place}] : {response.status_code} ≠ {want}")
    assert not wrong, "\n".join(wrong)


# Routes of a territory (#20): reports and network of one territory, with its id in the query;
# another territory is 404 for a user limited to theirs; a user without territories reaches
# both (the other territory of this world has no commune: its diagnostic is a 400 saying so).
YEAR_NOW = dt.date.today().year
SCOPED_BY_TERRITORY: dict[str, dict[str, dict[str, int]]] = {
    f"/api/v1/reports/annual?year={YEAR_NOW}&territory={{id}}": {},
    "/api/v1/reports/diagnostic?territory={id}": {
        "coordinateur-sans-territoire": {OWN: 200, OTHER: 400},
    },
    "/api/v1/reports/coverage-gaps?territory={id}": {
        "coordinateur-sans-territoire": {OWN: 200, OTHER: 400},
    },
    f"/api/v1/reports/action-plan?year={YEAR_NOW}&territory={{id}}": {},
    "/api/v1/network/report?territory={id}": {},
    "/api/v1/network/metrics?territory={id}": {},
    "/api/v1/network/export/csv?territory={id}": {},
}
for _expected in SCOPED_BY_TERRITORY.values():
    _expected.setdefault("coordinateur-du-territoire", {OWN: 200, OTHER: 404})
    _expected.setdefault("lecteur-du-territoire", {OWN: 200, OTHER: 404})
    _expected.setdefault("coordinateur-sans-territoire", {OWN: 200, OTHER: 200})
# The same pages, seen by the scoped coordinator's session.
SCOPED_TERRITORY_PAGES: dict[str, dict[str, int]] = {
    f"/bilan?year={YEAR_NOW}&territory={{id}}": {OWN: 200, OTHER: 404},
    "/reseau?territoire={id}": {OWN: 200, OTHER: 404},
    "/reseau/dessin?territoire={id}": {OWN: 200, OTHER: 404},
}


async def test_each_territory_reaches_its_own_reports_and_network_only(territory_callers):
    places, headers, browsers, client = territory_callers
    wrong, checked = [], 0
    for template, callers in SCOPED_BY_TERRITORY.items():
        for caller, statuses in callers.items():
            for place, want in statuses.items():
                path = template.format(id=places[place]["territories"])
                response = await client.get(path, headers=headers[caller])
                checked += 1
                if response.status_code != want:
                    wrong.append(
                        f"GET {path} [{caller}, {place}] : {response.status_code} ≠ {want}"
                    )
    for template, statuses in SCOPED_TERRITORY_PAGES.items():
        for place, want in statuses.items():
            path = template.format(id=places[place]["territories"])
            response = await browsers["coordinateur-du-territoire"].get(path)
            checked += 1
            if response.status_code != want:
                wrong.append(f"GET {path} [page, {place}] : {response.status_code} ≠ {want}")
    assert not wrong, "\n".join(wrong)
    assert checked >= 40
