"""Signing in and out, and « Mon compte » (password change, personal calendar link)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath, Parameter

from maillage.actor import Actor
from maillage.calendar import feeds
from maillage.calendar import service as calendar_service
from maillage.crm import auth, throttle
from maillage.errors import InvalidData, ServiceError
from maillage.web.pages.common import (
    Field,
    FormState,
    error_page,
    error_text,
    flash,
    read_form,
    redirect,
    render,
    safe_next,
    take_service_error,
)
from maillage.web.security import AppRequest, WebSession, new_session, settings_of

LOGIN_FIELDS = [
    Field("email", "Adresse électronique", "email", required=True, autocomplete="username"),
    Field("password", "Mot de passe", "password", required=True, autocomplete="current-password"),
]
PASSWORD_FIELDS = [
    Field(
        "current_password",
        "Mot de passe actuel",
        "password",
        required=True,
        autocomplete="current-password",
    ),
    Field(
        "new_password",
        "Nouveau mot de passe",
        "password",
        required=True,
        autocomplete="new-password",
        hint="10 caractères au moins, variés ; une phrase de passe convient très bien.",
    ),
    Field(
        "confirmation",
        "Confirmation du nouveau mot de passe",
        "password",
        required=True,
        autocomplete="new-password",
    ),
]
BAD_CREDENTIALS = "Adresse électronique ou mot de passe incorrect."


@get("/connexion", exclude_from_auth=True, include_in_schema=False)
async def login_page(
    request: AppRequest, suivant: str | None = Parameter(default=None, max_length=500)
) -> Any:
    if request.session.get("uid"):
        return redirect(safe_next(suivant))
    form = FormState()
    return render(request, "connexion.html", form=form, fields=LOGIN_FIELDS, suivant=suivant)


@post("/connexion", exclude_from_auth=True, include_in_schema=False)
async def login(request: AppRequest) -> Any:
    data = await request.form()
    form = read_form(LOGIN_FIELDS, data)
    suivant = safe_next(data.get("suivant"))
    email = (form.values.get("email") or "").strip().lower()
    password = form.values.get("password") or ""
    if form.has_errors:
        return _login_refused(request, form, suivant, 400)
    if any(ord(character) < 32 for character in email) or "\x00" in password:
        # PostgreSQL refuses NUL in text: such a form never reaches the database (#23).
        form.general.append(BAD_CREDENTIALS)
        return _login_refused(request, form, suivant, 400)
    address = request.client.host if request.client else ""
    try:
        outcome = await auth.sign_in(email, password, address)
    except throttle.TooManyAttempts as error:
        form.general.append(error.message)
        return _login_refused(request, form, suivant, 429)
    if outcome is None:
        form.general.append(BAD_CREDENTIALS)
        return _login_refused(request, form, suivant, 400)
    actor, stamp = outcome
    request.set_session(new_session(actor.user_id, stamp))
    return redirect(suivant)


def _login_refused(
    request: AppRequest, form: FormState, suivant: str, status: int
) -> Response[Any]:
    form.values["password"] = None
    return render(
        request,
        "connexion.html",
        status_code=status,
        form=form,
        fields=LOGIN_FIELDS,
        suivant=suivant if suivant != "/" else None,
    )


@post("/deconnexion", include_in_schema=False)
async def logout(request: AppRequest) -> Response[Any]:
    if isinstance(request.user, Actor) and request.user.user_id is not None:
        await auth.end_sessions(request.user.user_id)
    request.set_session({"flash": [["succes", "Déconnexion effectuée."]]})
    return redirect("/connexion")


async def _account(
    request: AppRequest, form: FormState, status_code: int = 200, **extra: Any
) -> Any:
    links: list[dict[str, Any]] = []
    web = request.auth
    if isinstance(web, WebSession) and web.contact:
        links = await feeds.own_tokens(request.user)
    return render(
        request,
        "compte.html",
        status_code=status_code,
        form=form,
        fields=PASSWORD_FIELDS,
        links=links,
        **{"feed": None, "replaced": False, **extra},
    )


@get("/compte", include_in_schema=False)
async def account_page(request: AppRequest) -> Any:
    if not isinstance(request.auth, WebSession):
        return _session_only(request)
    return await _account(request, FormState())


@post("/compte/agenda", include_in_schema=False)
async def create_personal_feed(request: AppRequest) -> Any:
    """A new secret link to « my meetings »: shown once, only its hash is kept."""
    if not isinstance(request.auth, WebSession):
        return _session_only(request)
    replace = (await request.form()).get("remplacer") == "on"
    try:
        token = await feeds.renew_own_token(request.user, replace)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
        return redirect("/compte#titre-agenda")
    feed = calendar_service.links(settings_of(request), feeds.token_path(token))
    return await _account(request, FormState(), feed=feed, replaced=replace)


@post("/compte/agenda/{token_id:int}/revoquer", include_in_schema=False)
async def revoke_personal_feed(request: AppRequest, token_id: FromPath[int]) -> Any:
    """The link stops working at once: calendars subscribed to it get nothing more."""
    if not isinstance(request.auth, WebSession):
        return _session_only(request)
    try:
        await feeds.revoke_own_token(request.user, token_id)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        flash(request, "Lien d'abonnement révoqué : il ne fonctionne plus.")
    return redirect("/compte#titre-agenda")


@post("/compte/mot-de-passe", include_in_schema=False)
async def change_password(request: AppRequest) -> Any:
    if not isinstance(request.auth, WebSession):
        return _session_only(request)
    form = read_form(PASSWORD_FIELDS, await request.form())
    if not form.has_errors:
        try:
            stamp = await auth.change_own_password(
                request.user,
                form.values["current_password"],
                form.values["new_password"],
                form.values["confirmation"],
            )
        except throttle.TooManyAttempts as error:
            form.general.append(error.message)
            form.values = {}
            return await _account(request, form, 429)
        except InvalidData as error:
            take_service_error(error, form)
        else:
            # The new stamp keeps this session open; every other one is closed.
            request.set_session(new_session(request.user.user_id, stamp))
            flash(request, "Mot de passe changé. Vos autres sessions ont été fermées.")
            return redirect("/compte")
    form.values = {}
    return await _account(request, form, 400)


def _session_only(request: AppRequest) -> Any:
    """An API token opens pages, but has no account page: its password is not the token's."""
    return error_page(
        request,
        403,
        "Cette page sert à la personne connectée par le formulaire de connexion ; "
        "un jeton d'API n'a pas de mot de passe à changer.",
    )


HANDLERS = [
    login_page,
    login,
    logout,
    account_page,
    change_password,
    create_personal_feed,
    revoke_personal_feed,
]
