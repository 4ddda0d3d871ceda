"""Authentication and roles for the HTTP service.

API clients send ``Authorization: Bearer <token>``; pages (web issue) use the signed session
cookie. Both end up as an ``Actor`` in ``request.user``; guards check its role.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from maillage.crm.actor import Actor
from maillage.crm.auth import authenticate_token

# Paths that answer without authentication: health check, API docs, public landing page,
# static files. The later issues add answer links and feed tokens, which carry their own secret.
PUBLIC_PATHS = {"/healthz", "/schema", "/static", "/r/", "/calendar/feeds/"}
PUBLIC_EXACT = {"/", "/favicon.ico"}


class TokenAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            actor = await authenticate_token(token.strip())
            if actor is None:
                raise NotAuthorizedException("Jeton d'accès inconnu, révoqué ou compte désactivé.")
            return AuthenticationResult(user=actor, auth=token)
        raise NotAuthorizedException(
            "Authentification requise : envoyez l'en-tête « Authorization: Bearer <jeton> » "
            "(créez un jeton avec « maillage token create EMAIL »)."
        )


def is_public(path: str) -> bool:
    return path in PUBLIC_EXACT or any(path.startswith(prefix) for prefix in PUBLIC_PATHS)


ROLE_LABELS = {"lecteur": "lecture", "coordinateur": "coordination", "admin": "administration"}


def requires(role: str):
    """Guard: the signed-in person must hold ``role`` or a higher one."""

    def guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
        actor = connection.user
        if not isinstance(actor, Actor):
            raise NotAuthorizedException("Authentification requise.")
        if not actor.can(role):
            raise PermissionDeniedException(
                f"Action réservée au rôle « {role} » ou supérieur (votre rôle : « {actor.role} »)."
            )

    guard.__name__ = f"requires_{role}"
    return guard
