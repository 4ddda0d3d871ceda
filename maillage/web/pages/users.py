"""Utilisateurs: accounts and roles, for administrators."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.params import FromPath
from litestar.response import Template

from maillage import french
from maillage.crm import auth, lookups, throttle
from maillage.crm import scope as territory_scope
from maillage.crm.registry import SERVICES
from maillage.crm.resources import ListQuery
from maillage.errors import ServiceError
from maillage.web.pages.common import (
    Field,
    FormState,
    build,
    error_text,
    flash,
    read_form,
    redirect,
    render,
    take_service_error,
)
from maillage.web.pages.labels import choices
from maillage.web.security import AppRequest, requires

SERVICE = SERVICES["users"]
ADMIN = [requires("admin")]
MAX_USERS = 500
FIELDS = [
    Field("email", "Adresse électronique", "email", required=True, autocomplete="off"),
    Field("name", "Nom affiché", empty_is_none=False, maxlength=200),
    Field("role", "Rôle", "select", required=True, choices=choices("user_role")),
]


@get("/utilisateurs", guards=ADMIN, include_in_schema=False)
async def user_list(request: AppRequest) -> Template:
    result = await SERVICE.page(ListQuery(limit=MAX_USERS, sort="email"))
    return await _list_page(request, result["items"], FormState(values={"role": "lecteur"}))


async def _list_page(
    request: AppRequest,
    users: list[dict[str, Any]],
    form: FormState,
    status_code: int = 200,
    temporary: dict[str, Any] | None = None,
) -> Template:
    slowed = await throttle.slowed_accounts([user["email"] for user in users])
    return render(
        request,
        "utilisateurs.html",
        status_code=status_code,
        users=users,
        form=form,
        fields=FIELDS,
        roles=choices("user_role"),
        territory_roles=[(v, t) for v, t in choices("user_role") if v != "admin"],
        held=await territory_scope.territories_of_users(),
        territories=await lookups.territories(),
        temporary=temporary,
        slowed={
            email: french.format_time(french.in_paris(until)) for email, until in slowed.items()
        },
    )


@post("/utilisateurs", guards=ADMIN, include_in_schema=False)
async def user_create(request: AppRequest) -> Any:
    form = read_form(FIELDS, await request.form())
    if not form.has_errors:
        struct = build(SERVICE.spec.input, form.values, form)
        if struct is not None:
            try:
                user = await SERVICE.create(request.user, struct)
                password = await auth.set_temporary_password(request.user, user["id"])
            except ServiceError as error:
                take_service_error(error, form)
            else:
                return await _show_temporary(request, user, password, created=True)
    users = (await SERVICE.page(ListQuery(limit=MAX_USERS, sort="email")))["items"]
    return await _list_page(request, users, form, 400)


async def _show_temporary(
    request: AppRequest, user: dict[str, Any], password: str, created: bool
) -> Template:
    """The temporary password is shown once, on this page, and never stored in clear."""
    users = (await SERVICE.page(ListQuery(limit=MAX_USERS, sort="email")))["items"]
    temporary = {"email": user["email"], "password": password, "created": created}
    return await _list_page(
        request, users, FormState(values={"role": "lecteur"}), temporary=temporary
    )


@post("/utilisateurs/{record_id:int}/role", guards=ADMIN, include_in_schema=False)
async def user_role(request: AppRequest, record_id: FromPath[int]) -> Any:
    role = (await request.form()).get("role")
    return await _update(request, record_id, {"role": role}, "Rôle modifié.")


@post("/utilisateurs/{record_id:int}/desactiver", guards=ADMIN, include_in_schema=False)
async def user_deactivate(request: AppRequest, record_id: FromPath[int]) -> Any:
    if record_id == request.user.user_id:
        flash(request, "Vous ne pouvez pas désactiver votre propre compte.", "erreur")
        return redirect("/utilisateurs")
    return await _update(request, record_id, {"active": False}, "Compte désactivé.")


@post("/utilisateurs/{record_id:int}/reactiver", guards=ADMIN, include_in_schema=False)
async def user_reactivate(request: AppRequest, record_id: FromPath[int]) -> Any:
    return await _update(request, record_id, {"active": True}, "Compte réactivé.")


async def _update(
    request: AppRequest, record_id: int, changes: dict[str, Any], message: str
) -> Any:
    user = await SERVICE.get(record_id)
    form = FormState()
    if record_id == request.user.user_id and changes.get("role") not in (None, "admin"):
        flash(request, "Vous ne pouvez pas retirer vos propres droits d'administration.", "erreur")
        return redirect("/utilisateurs")
    struct = build(SERVICE.spec.update, {**changes, "version": user["version"]}, form)
    if struct is None:
        flash(request, "Valeur non reconnue.", "erreur")
        return redirect("/utilisateurs")
    try:
        await SERVICE.update(request.user, record_id, struct)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        flash(request, f"{message} ({user['email']})")
    return redirect("/utilisateurs")


@post("/utilisateurs/{record_id:int}/mot-de-passe", guards=ADMIN, include_in_schema=False)
async def user_reset_password(request: AppRequest, record_id: FromPath[int]) -> Any:
    user = await SERVICE.get(record_id)
    password = await auth.set_temporary_password(request.user, record_id)
    return await _show_temporary(request, user, password, created=False)


@post("/utilisateurs/{record_id:int}/debloquer", guards=ADMIN, include_in_schema=False)
async def user_unlock(request: AppRequest, record_id: FromPath[int]) -> Any:
    user = await SERVICE.get(record_id)
    if await auth.unlock_sign_in(request.user, record_id):
        flash(
            request,
            f"Connexion débloquée pour {user['email']} : elle peut réessayer dès maintenant.",
        )
    else:
        flash(request, f"La connexion de {user['email']} n'était pas freinée.")
    return redirect("/utilisateurs")


@post("/utilisateurs/{record_id:int}/territoires", guards=ADMIN, include_in_schema=False)
async def user_add_territory(request: AppRequest, record_id: FromPath[int]) -> Any:
    """Limit the account to one more territory, with a role there (#20)."""
    user = await SERVICE.get(record_id)
    data = await request.form()
    territory = str(data.get("territory") or "")
    try:
        await territory_scope.grant_territories(
            request.user,
            record_id,
            [int(territory)] if territory.isdigit() and len(territory) < 10 else [],
            str(data.get("role") or ""),
        )
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        flash(request, f"Territoire attribué ({user['email']}).")
    return redirect("/utilisateurs")


@post(
    "/utilisateurs/{record_id:int}/territoires/{territory_id:int}/retirer",
    guards=ADMIN,
    include_in_schema=False,
)
async def user_remove_territory(
    request: AppRequest, record_id: FromPath[int], territory_id: FromPath[int]
) -> Any:
    user = await SERVICE.get(record_id)
    held = await territory_scope.revoke_territories(request.user, record_id, [territory_id])
    left = "" if held else " : sans territoire attitré, le compte voit désormais tout"
    flash(request, f"Territoire retiré ({user['email']}){left}.")
    return redirect("/utilisateurs")


HANDLERS = [
    user_add_territory,
    user_remove_territory,
    user_list,
    user_create,
    user_role,
    user_deactivate,
    user_reactivate,
    user_reset_password,
    user_unlock,
]
