"""Exception handlers: every error answers in French, never with a stack trace: JSON for the
API and for bearer clients, an HTML page (or a redirection to the sign-in page) for browsers.

msgspec and Litestar report validation problems in English (« Expected `int`, got `str` »); the
person reads French, so those messages are translated field by field by `maillage.messages`.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any
from urllib.parse import urlencode

from litestar import MediaType, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from maillage.db import is_write_conflict
from maillage.errors import ServiceError
from maillage.messages import translate_message
from maillage.web.pages.common import error_page
from maillage.web.security import (
    AppRequest,
    PasswordChangeRequired,
    SignInRequired,
    is_machine_path,
)

logger = logging.getLogger("maillage")


def _json(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    return Response(content=body, status_code=status, media_type=MediaType.JSON, headers=headers)


def wants_html(request: AppRequest) -> bool:
    """Browsers on pages get HTML; the API and any bearer client keep their JSON."""
    if is_machine_path(request.url.path):
        return False
    return not request.headers.get("authorization", "").lower().startswith("bearer ")


def _page(request: AppRequest, status: int, message: str) -> Response[Any]:
    return error_page(request, status, message)


def handle_service_error(request: AppRequest, error: ServiceError) -> Response[Any]:
    if wants_html(request):
        page = _page(request, error.status_code, error.message)
        page.headers.update(error.headers)
        return page
    return _json(error.status_code, error.to_dict(), error.headers or None)


def handle_validation(request: AppRequest, error: ValidationException) -> Response[Any]:
    if wants_html(request):
        return _page(request, 400, "Adresse ou paramètre invalide : vérifiez le lien suivi.")
    extra = error.extra if isinstance(error.extra, list) else []
    errors = [
        translate_message(str(item.get("message", "")), item.get("key"))
        for item in extra
        if isinstance(item, dict)
    ]
    if not errors:
        errors = [translate_message(str(error.detail), None)]
    return _json(400, {"detail": "Les données envoyées ne sont pas valides.", "errors": errors})


_HTTP_MESSAGES = {
    401: "Authentification requise.",
    403: "Accès refusé.",
    404: "Cette adresse n'existe pas.",
    405: "Méthode HTTP non permise sur cette adresse.",
    413: "Corps de requête trop volumineux.",
    415: "Type de contenu non pris en charge : envoyez du JSON.",
    429: "Trop de requêtes : réessayez dans un moment.",
}


CSRF_MESSAGE = (
    "Ce formulaire a expiré ou ne vient pas de maillage (protection contre la falsification "
    "de requêtes) : revenez en arrière, rechargez la page et recommencez."
)


def _html_http(request: AppRequest, error: HTTPException) -> Response[Any]:
    if isinstance(error, SignInRequired):
        target = "/connexion"
        if request.method == "GET" and request.url.path != "/":
            target += "?" + urlencode({"suivant": request.url.path + _query(request)})
        return Redirect(target, status_code=303)
    if isinstance(error, PasswordChangeRequired):
        return Redirect("/compte", status_code=303)
    status = error.status_code
    detail = str(error.detail or "")
    if status == 403 and detail.startswith("CSRF"):
        return _page(request, 403, CSRF_MESSAGE)
    if status == 403 and detail:
        return _page(request, 403, "Accès refusé : " + _role_message(detail))
    message = _HTTP_MESSAGES.get(status, "Requête invalide." if status < 500 else "Erreur.")
    if status == 404:
        message = "Cette page n'existe pas (ou plus). Vérifiez l'adresse, ou revenez à l'accueil."
    return _page(request, status, message)


def _query(request: AppRequest) -> str:
    query = request.scope.get("query_string", b"").decode("latin-1")
    return "?" + query if query else ""


def _role_message(detail: str) -> str:
    if "rôle" in detail:
        return "cette action demande des droits que votre compte n'a pas. " + detail
    return detail


def handle_http(request: AppRequest, error: HTTPException) -> Response[Any]:
    if wants_html(request) and error.status_code in (401, 403, 404, 405, 413, 429, 500, 503):
        return _html_http(request, error)
    status = error.status_code
    if status == 400:
        # Litestar raises a bare 400 for a body it cannot decode (truncated JSON…).
        return handle_validation(request, ValidationException(detail=str(error.detail)))
    french_detail = isinstance(error, NotAuthorizedException | PermissionDeniedException)
    detail = error.detail if french_detail and error.detail else _HTTP_MESSAGES.get(status)
    if detail is None:
        detail = "Requête invalide." if status < 500 else "Erreur du serveur."
    headers = dict(error.headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return _json(status, {"detail": detail}, headers)


def _is_unreadable_form(error: Exception) -> bool:
    """Litestar's multipart parser lets two malformed forms escape as bare exceptions: a text
    field that is not UTF-8 (``UnicodeDecodeError``), and a form without the expected file part
    (``StopIteration`` turned into ``RuntimeError``). Both are the client's fault: 400, not 500."""
    if not isinstance(error, UnicodeDecodeError | RuntimeError):
        return False
    if isinstance(error, RuntimeError) and not isinstance(error.__cause__, StopIteration):
        return False
    frames = traceback.extract_tb(error.__traceback__)
    return any(
        "litestar/_multipart" in f.filename or "litestar/_kwargs" in f.filename for f in frames
    )


def _is_database_unreachable(error: Exception) -> bool:
    """The database went away (restart, network cut): connections refused, reset or closed
    under a query, or a connection attempt that timed out. Not a bug of ours: 503."""
    if isinstance(error, ConnectionError | TimeoutError):
        return True
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg comes with piccolo[postgres]
        return False
    return isinstance(error, asyncpg.PostgresConnectionError)


WRITE_CONFLICT = (
    "Une autre modification des mêmes fiches était en cours : rien n'a été enregistré. Réessayez."
)


def handle_unexpected(request: AppRequest, error: Exception) -> Response[Any]:
    if _is_database_unreachable(error):
        logger.warning(
            "Base de données injoignable sur %s %s : %s",
            request.method,
            request.url.path,
            type(error).__name__,
        )
        return _json(
            503,
            {"detail": "Base de données momentanément injoignable : réessayez dans un instant."},
            {"Retry-After": "5"},
        )
    if is_write_conflict(error):
        # What the service could not run again (`db.retried_on_conflict`): nothing was written.
        logger.warning(
            "Écriture croisée annulée sur %s %s : %s",
            request.method,
            request.url.path,
            type(error).__name__,
        )
        if wants_html(request):
            return _page(request, 503, WRITE_CONFLICT)
        return _json(503, {"detail": WRITE_CONFLICT}, {"Retry-After": "1"})
    if _is_unreadable_form(error):
        return _json(
            400,
            {
                "detail": "Les données envoyées ne sont pas valides.",
                "errors": [
                    {
                        "field": "corps",
                        "message": "Formulaire illisible : envoyez le fichier attendu, "
                        "et des champs texte en UTF-8.",
                    }
                ],
            },
        )
    logger.exception("Erreur inattendue sur %s %s", request.method, request.url.path)
    if wants_html(request):
        return _page(
            request, 500, "Erreur interne : elle a été journalisée. Réessayez dans un moment."
        )
    return _json(
        HTTP_500_INTERNAL_SERVER_ERROR,
        {"detail": "Erreur interne du serveur : elle a été journalisée, réessayez plus tard."},
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ServiceError: handle_service_error,
    ValidationException: handle_validation,
    HTTPException: handle_http,
    Exception: handle_unexpected,
}
