"""Authentication and roles for the HTTP service.

API clients send ``Authorization: Bearer <token>``; pages use the session cookie (client-side,
encrypted and signed with a key derived from ``MAILLAGE_SECRET_KEY``, so every worker process
reads it). The API never reads the session cookie: it is exempt from CSRF checks, which is only
safe because a browser cannot add a bearer header on its own. Both paths end up as an ``Actor``
in ``request.user``; guards check its role.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, TypeAlias

from litestar import Litestar, Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware._utils import should_bypass_middleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import Guard, Receive, Scope, Send

from maillage import row_security
from maillage.actor import Actor
from maillage.crm import scope as territory_scope
from maillage.crm.auth import Grants, authenticate_token_with_grants, session_user
from maillage.settings import Settings
from maillage.vocabulary import USER_ROLES, UserRole

# Paths that answer without authentication: health check, API docs, static files, the sign-in
# page. The later issues add answer links and feed tokens, which carry their own secret.
PUBLIC_PATHS = {
    "/healthz",
    "/schema",
    "/static",
    "/r/",
    "/calendar/feeds/",
    "/participer/",
    "/consulter/",
}
PUBLIC_EXACT = {"/favicon.ico", "/connexion", "/accessibilite"}
API_PREFIXES = ("/api/", "/schema", "/healthz")
# Where a person whose password was reset may still go before choosing a new one.
PASSWORD_CHANGE_PATHS = {"/compte", "/compte/mot-de-passe", "/deconnexion"}


def derive_key(secret: str, purpose: str, length: int = 32) -> bytes:
    """One key per purpose from the instance secret: a leaked CSRF key opens no session."""
    return hashlib.sha256(f"maillage:{purpose}:{secret}".encode()).digest()[:length]


# Files read by programs as well as browsers (calendar .ics): a session may open them, but
# without one they answer 401 instead of sending the program to the sign-in page.
MACHINE_PREFIXES = ("/calendar/",)


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def is_machine_path(path: str) -> bool:
    return path.startswith(API_PREFIXES + MACHINE_PREFIXES)


# A session ends after two hours without a request, and ten hours after sign-in whatever happens:
# the idle mark moves with each request, the sign-in moment never does. « Se souvenir de moi » is
# deliberately not offered: a shared office computer must not keep a coordinator signed in.
SESSION_IDLE = dt.timedelta(hours=2)
SESSION_LIFETIME = dt.timedelta(hours=10)
# The idle mark is rewritten at most once a minute, not on every request.
SEEN_PRECISION = 60


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_session(user_id: int | None, stamp: str) -> dict[str, Any]:
    """The content of a fresh session cookie for a person who just proved their password."""
    moment = int(_now().timestamp())
    return {"uid": user_id, "stamp": stamp, "since": moment, "seen": moment}


def session_alive(session: dict[str, Any]) -> bool:
    """True while the session is within its idle and absolute limits; moves the idle mark."""
    since, seen = session.get("since"), session.get("seen")
    if not isinstance(since, int) or not isinstance(seen, int):
        return False
    now = int(_now().timestamp())
    if now - since > SESSION_LIFETIME.total_seconds() or now - seen > SESSION_IDLE.total_seconds():
        return False
    if now - seen >= SEEN_PRECISION:
        session["seen"] = now
    return True


@dataclass(frozen=True)
class WebSession:
    """What a page needs to know about the signed-in person besides their role."""

    user_id: int
    email: str
    name: str
    must_change_password: bool
    contact: int | None


# The request every handler receives (#17): ``user`` is the signed-in Actor, ``auth`` the bearer
# token (API) or the WebSession (pages). On the public paths the middleware is bypassed and
# neither is set: their handlers do not read them. Litestar reads this annotation at start-up,
# so it is imported at run time, never under TYPE_CHECKING.
AppRequest: TypeAlias = Request[Actor, str | WebSession, State]
# A connection before authentication, as the middleware and the guards see it.
AnyConnection: TypeAlias = ASGIConnection[Any, Any, Any, Any]


def app_settings(app: Litestar) -> Settings:
    """The instance's settings, put on the application's state by ``create_app`` (#17)."""
    settings: Settings = app.state.settings
    return settings


def settings_of(connection: AnyConnection) -> Settings:
    """The instance's settings, as a request (or any connection) reaches them (#17)."""
    return app_settings(connection.app)


class SignInRequired(NotAuthorizedException):
    """No valid session on a page: the person is sent to the sign-in page."""


class PasswordChangeRequired(PermissionDeniedException):
    """The password was reset by an administrator: choose a new one before anything else."""


def _scoped(actor: Actor, grants: Grants) -> Actor:
    """The actor with the role of their territories, their scope entered for the request (#20):
    every read and write of the generic services that follows is limited to it. The scope
    carries the départements of those territories, read with them (`Scope.departements`)."""
    role, scope = territory_scope.scope_of(actor.role, grants.roles, grants.departements)
    territory_scope.enter(scope)
    return Actor(name=actor.name, role=role, user_id=actor.user_id)


class TokenAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Each request starts unscoped and leaves no scope behind (tests drive the app in
        # their own task); `authenticate_request` enters the user's in this same context.
        # For PostgreSQL's policies, a request sees no local row until it is authenticated,
        # except on the public paths, whose own secret (answer link, feed token, public
        # meeting) is the permission: they work as the service itself does.
        public = should_bypass_middleware(
            exclude_http_methods=self.exclude_http_methods,
            exclude_opt_key=self.exclude_opt_key,
            exclude_path_pattern=self.exclude,
            scope=scope,
            scopes=self.scopes,
        )
        rows = row_security.EVERY_TERRITORY if public else row_security.NO_TERRITORY
        with territory_scope.entered(None), row_security.entered(rows):
            await super().__call__(scope, receive, send)

    async def authenticate_request(self, connection: AnyConnection) -> AuthenticationResult:
        # The account, its tokens and its territories are not local records: they are read
        # as the service's own work (a connection needing no setting, so no round trip more);
        # the user's scope is entered once they are known.
        with row_security.entered(row_security.EVERY_TERRITORY):
            result, grants = await self._identify(connection)
        return AuthenticationResult(user=_scoped(result.user, grants), auth=result.auth)

    async def _identify(self, connection: AnyConnection) -> tuple[AuthenticationResult, Grants]:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            found = await authenticate_token_with_grants(token.strip())
            if found is None:
                raise NotAuthorizedException("Jeton d'accès inconnu, révoqué ou compte désactivé.")
            actor, grants = found
            return AuthenticationResult(user=actor, auth=token), grants
        if is_api_path(connection.url.path):
            raise NotAuthorizedException(
                "Authentification requise : envoyez l'en-tête « Authorization: Bearer <jeton> » "
                "(créez un jeton avec « maillage token create COURRIEL »)."
            )
        return await self._from_session(connection)

    async def _from_session(self, connection: AnyConnection) -> tuple[AuthenticationResult, Grants]:
        session = connection.scope.get("session")
        if not isinstance(session, dict):  # Empty without a session cookie; ours are dicts
            session = {}
        user = None
        if (
            isinstance(session.get("uid"), int)
            and isinstance(session.get("stamp"), str)
            and session_alive(session)
        ):
            user = await session_user(session["uid"], session["stamp"])
        if user is None:
            raise SignInRequired(
                "Authentification requise : connectez-vous, ou envoyez l'en-tête "
                "« Authorization: Bearer <jeton> »."
            )
        web = WebSession(
            user_id=user["id"],
            email=user["email"],
            name=user["name"] or user["email"],
            must_change_password=user["must_change_password"],
            contact=user["contact"],
        )
        if web.must_change_password and connection.url.path not in PASSWORD_CHANGE_PATHS:
            raise PasswordChangeRequired("Choisissez un nouveau mot de passe pour continuer.")
        actor = Actor(name=user["email"], role=user["role"], user_id=user["id"])
        return AuthenticationResult(user=actor, auth=web), user["grants"]


class BearerAwareCSRFMiddleware(CSRFMiddleware):
    """Litestar's CSRF check, skipped for requests that carry a bearer token.

    A forged cross-site request rides on the cookies a browser sends by itself; it cannot add an
    ``Authorization`` header (that needs a CORS preflight this service never grants), and an
    invalid token was already refused by the authentication middleware."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            for name, value in scope.get("headers", []):
                if name == b"authorization" and value[:7].lower() == b"bearer ":
                    await self.app(scope, receive, send)
                    return
        await super().__call__(scope, receive, send)


def is_public(path: str) -> bool:
    return path in PUBLIC_EXACT or any(path.startswith(prefix) for prefix in PUBLIC_PATHS)


ROLE_LABELS = {"lecteur": "lecture", "coordinateur": "coordination", "admin": "administration"}


def requires(role: UserRole) -> Guard:
    """Guard: the signed-in person must hold ``role`` or a higher one (a stored role code: the
    type checker refuses a misspelt one). A coroutine: Litestar runs a plain function guard in
    a worker thread, a thread hop on every request it guards."""

    async def guard(connection: AnyConnection, _handler: BaseRouteHandler) -> None:
        actor = connection.user
        if not isinstance(actor, Actor):
            raise NotAuthorizedException("Authentification requise.")
        if not actor.can(role):
            raise PermissionDeniedException(
                f"Action réservée au rôle « {USER_ROLES[role]} » ou supérieur "
                f"(votre rôle : « {USER_ROLES.get(actor.role, actor.role)} »)."
            )

    guard.__name__ = f"requires_{role}"
    return guard
