"""The Litestar application: configuration, middleware and routes in one factory."""

from __future__ import annotations

import contextlib
import importlib.resources
import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.enums import ScopeType
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import DurationUnit, RateLimitConfig, RateLimitMiddleware
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Receive, Scope, Send

from maillage import db, offloop, templating
from maillage.crm import scope as territory_scope
from maillage.graph.drawing import VIS_DIR
from maillage.mailing.background import sender_lifespan
from maillage.settings import Settings, load_settings
from maillage.web import access_log
from maillage.web.answers import public_router
from maillage.web.api import resource_routers
from maillage.web.calendar_routes import calendar_router
from maillage.web.diagnostic_routes import diagnostic_router
from maillage.web.errors import EXCEPTION_HANDLERS
from maillage.web.exchange_routes import exchange_router
from maillage.web.head import HeadAsGet
from maillage.web.headers import security_headers
from maillage.web.inhabitant_routes import inhabitant_router
from maillage.web.mailing import mailing_router
from maillage.web.network import network_router
from maillage.web.openapi import openapi_config
from maillage.web.pages import page_handlers
from maillage.web.pages.common import query_string
from maillage.web.pages.exchange import purge_stale_imports_at_startup
from maillage.web.pages.labels import FILTERS, GLOBALS
from maillage.web.report_routes import reports_router
from maillage.web.security import (
    AppRequest,
    BearerAwareCSRFMiddleware,
    TokenAuthenticationMiddleware,
    derive_key,
)
from maillage.web.strict import refuse_nul_in_query
from maillage.web.system import audit_log, healthz
from maillage.web.territory_routes import territory_router
from maillage.web.views import views_router

WEB_DIR = Path(__file__).parent
MAX_BODY_BYTES = 2 * 1024 * 1024
# Imported once by the heavy-work processes' fork server, not by each worker (see offloop).
HEAVY_MODULES = (
    "maillage.reports.service",
    "maillage.graph.network",
    "maillage.mailing.mailings",
    "maillage.exchange.exports",
)
# Served without authentication: they reveal nothing and carry their own secret when needed.
PUBLIC_PATTERNS = [
    r"^/healthz$",
    r"^/schema",
    r"^/static/",
    r"^/favicon\.ico$",
    r"^/connexion$",
    r"^/r/",  # answer links: the signed token is the permission
    r"^/u/",  # unsubscribe links (RFC 8058 one-click included)
    r"^/participer/",  # public meetings' registration pages: only public, open meetings answer
    r"^/consulter/",  # consultations per theme: only open ones answer (#22)
    r"^/calendar/feeds/",  # secret-token feeds: the token is the permission
]
# No session cookie where none is read: the API (bearer tokens only), static files, and the
# links whose own secret is the permission (answer, unsubscribe, feed token: #16, the session
# middleware decrypted and re-sent a cookie on each, for pages that never read it).
SESSIONLESS_PATTERNS = [
    r"^/api/",
    r"^/static/",
    r"^/schema",
    r"^/healthz$",
    r"^/r/",
    r"^/u/",
    r"^/calendar/feeds/",
]
# CSRF tokens protect what the session cookie authorises. The API reads no cookie (bearer only);
# answer and unsubscribe links carry their own secret in the address (one-click unsubscribe
# is posted by mail clients, which cannot send a token).
# /calendar/ serves only GET feeds (public, cacheable): no CSRF cookie there (#21).
CSRF_EXEMPT_PATTERNS = [r"^/api/", r"^/r/", r"^/u/", r"^/static/", r"^/healthz$", r"^/calendar/"]
SESSION_HOURS = 10
# A second, coarse guard before the database's throttle (crm/throttle.py): posts of a password
# per address and per worker process. An office behind one address signs in well below it.
SIGN_IN_RATE: tuple[DurationUnit, int] = ("minute", 60)
PASSWORD_POSTS = {"/connexion", "/compte/mot-de-passe"}
# Registrations of inhabitants (#22) per address and per worker process: a family or a public
# computer registers a few people; a script posting hundreds is held off.
PARTICIPATION_RATE: tuple[DurationUnit, int] = ("minute", 20)

# Swagger UI 5 (OpenAPI 3.1), from the files the swagger-ui-py package ships: no CDN. The older
# swagger-ui-bundle (Swagger UI 4) cannot read 3.1 and showed « Unable to render this definition ».
SWAGGER_DIR = Path(str(importlib.resources.files("swagger_ui") / "static"))


def _swagger_plugin() -> SwaggerRenderPlugin:
    """Swagger UI from the files the swagger-ui-py package ships: no request to a CDN."""
    return SwaggerRenderPlugin(
        js_url="/static/swagger/swagger-ui-bundle.js",
        css_url="/static/swagger/swagger-ui.css",
        standalone_preset_js_url="/static/swagger/swagger-ui-standalone-preset.js",
        favicon="<link rel='icon' href='/static/favicon.svg'>",
        path="/",
    )


def _template_engine() -> JinjaTemplateEngine:
    environment = templating.environment(WEB_DIR / "templates")
    environment.filters.update(FILTERS)
    environment.globals.update(GLOBALS, query_string=query_string)
    return JinjaTemplateEngine.from_environment(environment)


def _session_config(settings: Settings) -> CookieBackendConfig:
    """Encrypted client-side session: any worker process decrypts it with the shared secret."""
    return CookieBackendConfig(
        secret=derive_key(settings.secret_key, "session"),
        key="maillage_session",
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        secure=settings.base_url.startswith("https://"),
        samesite="lax",
        exclude=SESSIONLESS_PATTERNS,
    )


def _csrf_config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        secret=derive_key(settings.secret_key, "csrf").hex(),
        cookie_name="maillage_csrf",
        cookie_secure=settings.base_url.startswith("https://"),
        cookie_httponly=True,
        cookie_samesite="lax",
        exclude=CSRF_EXEMPT_PATTERNS,
    )


# The rate limiters' checks, the guard and the before-request hook are coroutines: Litestar runs
# a plain function given there in a worker thread (`sync_to_thread`), a thread hop per request
# for each of them, five on every API request (#16: a third of a list's CPU on SQLite).


async def _posts_a_password(request: AppRequest) -> bool:
    return request.method == "POST" and request.url.path in PASSWORD_POSTS


def _sign_in_rate_limit() -> RateLimitConfig:
    """Litestar's rate limiter, on the posts that carry a password only (429 past it)."""
    return RateLimitConfig(
        rate_limit=SIGN_IN_RATE,
        check_throttle_handler=_posts_a_password,
        store="sign_in_rate",
    )


async def _posts_a_registration(request: AppRequest) -> bool:
    return request.method == "POST" and request.url.path.startswith("/participer/")


async def _posts_a_theme_answer(request: AppRequest) -> bool:
    return request.method == "POST" and request.url.path.startswith("/consulter/")


def _participation_rate_limit() -> RateLimitConfig:
    """The same limiter on the public registration posts, counted apart from sign-ins."""
    return RateLimitConfig(
        rate_limit=PARTICIPATION_RATE,
        check_throttle_handler=_posts_a_registration,
        store="participation_rate",
    )


async def _warn_if_row_security_bypassed() -> None:
    """A superuser (or BYPASSRLS) connection escapes PostgreSQL's policies (#20): say so."""
    with contextlib.suppress(Exception):  # the database may be away: the pool retries later
        if await db.row_security_bypassed():
            logging.getLogger("maillage").warning(
                "Le rôle PostgreSQL de MAILLAGE_DATABASE_URL est superutilisateur (ou BYPASSRLS) : "
                "la sécurité au niveau des lignes ne s'applique pas à lui, seuls les services "
                "limitent les comptes à leurs territoires. Connectez maillage avec un rôle "
                "ordinaire, propriétaire de la base (README « Mise en production »)."
            )


def _theme_consultation_rate_limit() -> RateLimitConfig:
    """The same limit on the answers to consultations per theme (#22), counted apart."""
    return RateLimitConfig(
        rate_limit=PARTICIPATION_RATE,
        check_throttle_handler=_posts_a_theme_answer,
        store="consultation_rate",
    )


class PostRateLimits:
    """Litestar's rate limiters of the password, registration and theme-answer posts, behind
    one look at the method: every limited request is a POST, and the three middlewares each
    built a request object and checked its path on every request (#16: a GET or an API call
    now passes them with one comparison). The limiters, their stores and 429s are Litestar's."""

    def __init__(self, app: ASGIApp, configs: list[RateLimitConfig]) -> None:
        self.app = app
        limited = app
        for config in reversed(configs):
            limited = RateLimitMiddleware(app=limited, config=config)
        self.limited = limited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Read as a plain mapping: whether ``scope["type"]`` narrows the union to ``HTTPScope``
        # depends on the type checker's version (a cast is redundant to the newer ones).
        fields: Mapping[str, object] = scope
        if fields["type"] == ScopeType.HTTP and fields.get("method") == "POST":
            await self.limited(scope, receive, send)
            return
        await self.app(scope, receive, send)


# The links whose own secret is the permission, and nothing else: every one of the middlewares
# below passes them through untouched (the session's, the token's and the CSRF's exclusions
# hold these prefixes; no rate-limited post starts with one), so `PublicLinks` sends them
# straight to their route. Public paths not listed keep the whole stack: /participer/ and
# /consulter/ (their posts are rate-limited), /connexion, /static/, /healthz.
PUBLIC_LINK_PREFIXES = ("/r/", "/u/", "/calendar/feeds/")


class PublicLinks:
    """One look at the path in front of the rate limits, session, token and CSRF middlewares.

    An answer, unsubscribe or feed link (`PUBLIC_LINK_PREFIXES`) goes straight to its route,
    as the service's own work (no user's scope, every row: what the token middleware gave an
    excluded path); any other request crosses the whole stack, built here in the given order.
    #16: each of the four middlewares built its own objects or matched its own patterns on
    these requests only to pass them on, and the token middleware entered three context
    managers. The security headers, the NUL check and the route's own checks (signature, 404,
    rate of the registration posts) are the route's and the application's: unchanged."""

    def __init__(self, app: ASGIApp, layers: list[DefineMiddleware]) -> None:
        self.app = app
        stack = app
        for layer in reversed(layers):
            stack = layer(stack)
        self.stack = stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["path"].startswith(PUBLIC_LINK_PREFIXES):
            tokens = territory_scope.enter_service()
            try:
                await self.app(scope, receive, send)
            finally:
                territory_scope.leave(tokens)
            return
        await self.stack(scope, receive, send)


def configure_heavy_work(settings: Settings) -> None:
    """Heavy work (bilans, packs, network analyses) in worker processes with their own
    connections to ``settings``' database; the pool starts at the first job and stops with
    the application. The pool is one per process: the last configuration wins."""
    offloop.configure(
        settings.heavy_processes,
        db.start_worker,
        (settings.database_url,),
        preload=HEAVY_MODULES,
    )


def create_app(settings: Settings, manage_database: bool = True) -> Litestar:
    """Build the application; ``manage_database=False`` when the caller already connected."""
    configure_heavy_work(settings)

    @asynccontextmanager
    async def database_lifespan(_app: Litestar) -> AsyncIterator[None]:
        if manage_database:
            await db.connect(settings.database_url)
            await db.start_pool()
            await _warn_if_row_security_bypassed()
        await offloop.warm_up()
        try:
            yield
        finally:
            await offloop.shutdown()
            if manage_database:
                await db.close_pool()

    config = openapi_config()
    config.render_plugins = [_swagger_plugin()]
    app = HeadAsGet(
        route_handlers=[
            healthz,
            audit_log,
            *page_handlers(),
            Router(path="/api/v1", route_handlers=resource_routers()),
            views_router,
            reports_router,
            network_router,
            create_static_files_router(
                path="/static/vis-network", directories=[VIS_DIR], include_in_schema=False
            ),
            Router(path="/api/v1", route_handlers=[exchange_router()]),
            territory_router(),
            diagnostic_router(),
            mailing_router(),
            inhabitant_router(),
            public_router(),
            calendar_router,
            create_static_files_router(
                path="/static/swagger",
                directories=[SWAGGER_DIR],
                include_in_schema=False,
            ),
            create_static_files_router(
                path="/static", directories=[WEB_DIR / "static"], include_in_schema=False
            ),
        ],
        lifespan=[database_lifespan, sender_lifespan(settings)],
        on_startup=[purge_stale_imports_at_startup],
        middleware=[
            DefineMiddleware(
                PublicLinks,
                layers=[
                    DefineMiddleware(
                        PostRateLimits,
                        configs=[
                            _sign_in_rate_limit(),
                            _participation_rate_limit(),
                            _theme_consultation_rate_limit(),
                        ],
                    ),
                    _session_config(settings).middleware,
                    DefineMiddleware(TokenAuthenticationMiddleware, exclude=PUBLIC_PATTERNS),
                    # After authentication, so that only a valid bearer token skips the CSRF
                    # check.
                    DefineMiddleware(BearerAwareCSRFMiddleware, config=_csrf_config(settings)),
                ],
            )
        ],
        before_request=refuse_nul_in_query,
        before_send=[security_headers(https=settings.base_url.startswith("https://"))],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=config,
        template_config=TemplateConfig(instance=_template_engine()),
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,
    )
    app.state.settings = settings
    return app


def app_from_environment() -> Litestar:
    """Entry point for ``uvicorn --factory`` (several workers each build their own app)."""
    access_log.install()
    os.umask(0o077)  # also when run as « uvicorn --factory » without the maillage command
    return create_app(load_settings())
