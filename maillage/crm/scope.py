"""Who sees which territory (#20): a user's roles per territory, and the scope of a request.

The rule, in one place:

- a user without any territory (``user_territory`` empty for them) works on every territory with
  the role of their account: that is how every instance worked before #20, and how an
  administrator always works;
- a user with territories is *scoped*: they see the shared records and the local records of
  their territories, with the role held on each one; the rest does not exist for them (404);
- a local record belongs to one territory: a body by its ``territory``, a meeting, its
  invitations, its decisions and the memberships through their body, a fiche action and an
  exchange by their own ``territory``. One without a territory is shared: visible to every
  user, written only by users without territories (the host's team);
- organisations, contacts, communes, territories and axes are shared by every territory in this
  first slice: a person sitting on bodies of two territories is one contact, seen by both, and
  their memberships are each local to their body's territory.

The service layer reads the scope of the request from `current()`; the web layer enters it
(`entered`) for each authenticated request; the command line runs unscoped. Entering a scope
also gives it to PostgreSQL's row-level security (`maillage.row_security`), the second barrier.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass

from maillage import row_security
from maillage.actor import ROLE_RANK, Actor
from maillage.crm import audit
from maillage.db import write_transaction
from maillage.errors import InvalidData, NotFound
from maillage.tables import Territory, User, UserTerritory
from maillage.vocabulary import ADMIN, USER_ROLES


@dataclass(frozen=True)
class Scope:
    """The territories a scoped user works on, each with the role held there."""

    roles: dict[int, str]

    @property
    def territories(self) -> list[int]:
        return sorted(self.roles)

    def can_write(self, territory: int | None, role: str) -> bool:
        if territory is None:
            return False  # shared records are written by users without territories
        held = self.roles.get(territory)
        return held is not None and ROLE_RANK.get(held, -1) >= ROLE_RANK[role]


_current: contextvars.ContextVar[Scope | None] = contextvars.ContextVar(
    "maillage_scope", default=None
)


def current() -> Scope | None:
    """The scope of the request in progress; None: every territory (unscoped)."""
    return _current.get()


def _row_setting(scope: Scope | None) -> str:
    """The same scope for PostgreSQL's row-level security (`maillage.row_security`)."""
    return row_security.of(None if scope is None else scope.territories)


@contextlib.contextmanager
def entered(scope: Scope | None) -> Iterator[None]:
    token = _current.set(scope)
    try:
        with row_security.entered(_row_setting(scope)):
            yield
    finally:
        _current.reset(token)


def enter(scope: Scope | None) -> None:
    """Set the scope for the rest of the current context (the request's task), for the
    services and for the database's policies alike."""
    _current.set(scope)
    row_security.enter(_row_setting(scope))


async def grants_of(user_id: int) -> dict[int, str]:
    rows = (
        await UserTerritory.select(UserTerritory.territory, UserTerritory.role)
        .where(UserTerritory.user == user_id)
        .run()
    )
    return {row["territory"]: row["role"] for row in rows}


async def user_scope(user_id: int, account_role: str) -> tuple[str, Scope | None]:
    """`scope_of` for a user whose territories are not read yet."""
    return scope_of(account_role, await grants_of(user_id))


def scope_of(account_role: str, roles: dict[int, str]) -> tuple[str, Scope | None]:
    """The role for the route guards and the scope of a user: an administrator and a user
    without territories are unscoped; a scoped user passes the guards with the highest role
    they hold on one of their territories, and the services check the role of each record's."""
    if account_role == ADMIN or not roles:
        return account_role, None
    best = max(roles.values(), key=lambda role: ROLE_RANK.get(role, -1))
    return best, Scope(roles)


async def territory_names(ids: list[int]) -> list[str]:
    if not ids:
        return []
    rows = await Territory.select(Territory.name).where(Territory.id.is_in(ids)).run()
    return sorted(row["name"] for row in rows)


# ----- grants: the command line today, the users' page later ------------------------------------


async def territories_by_siren(sirens: list[str]) -> dict[str, dict]:
    """The territories of the SIRENs given, or a French error naming the field and the unknown."""
    wanted = [siren.strip().replace(" ", "") for siren in sirens if siren.strip()]
    if not wanted:
        raise InvalidData.one("territory", "Indiquez au moins un SIREN de territoire.")
    rows = await Territory.select(Territory.id, Territory.name, Territory.siren).where(
        Territory.siren.is_in(wanted)
    )
    found = {row["siren"]: row for row in rows}
    unknown = [siren for siren in wanted if siren not in found]
    if unknown:
        raise InvalidData.one(
            "territory",
            f"Aucun territoire n'a ce SIREN : {', '.join(unknown)} "
            "(chargez-le d'abord avec « maillage territory load --epci SIREN »).",
        )
    return {siren: found[siren] for siren in wanted}


async def grant(actor: Actor, user_id: int, sirens: list[str], role: str) -> list[dict]:
    """Give the user ``role`` on the territory of each SIREN (the command line)."""
    await _check_grant(user_id, role)
    territories = await territories_by_siren(sirens)
    return await grant_territories(actor, user_id, [t["id"] for t in territories.values()], role)


async def _check_grant(user_id: int, role: str) -> None:
    if role not in USER_ROLES or role == ADMIN:
        raise InvalidData.one(
            "role",
            "Rôle par territoire : « coordinateur » ou « lecteur » (un administrateur couvre "
            "déjà tous les territoires).",
        )
    user = await User.select(User.id, User.role).where(User.id == user_id).first()
    if user is None:
        raise NotFound("Utilisateur", user_id)
    if user["role"] == ADMIN:
        raise InvalidData.one(
            "territory", "Un administrateur couvre tous les territoires : rien à attribuer."
        )


async def grant_territories(
    actor: Actor, user_id: int, territory_ids: list[int], role: str
) -> list[dict]:
    """Give the user ``role`` on each territory (changing the role already held there)."""
    await _check_grant(user_id, role)
    found = await Territory.select(Territory.id).where(Territory.id.is_in(territory_ids or [0]))
    missing = sorted(set(territory_ids) - {row["id"] for row in found})
    if missing or not territory_ids:
        raise InvalidData.one("territory", "Choisissez un territoire de la liste.")
    async with write_transaction():
        for territory_id in dict.fromkeys(territory_ids):
            await (
                UserTerritory.delete()
                .where((UserTerritory.user == user_id) & (UserTerritory.territory == territory_id))
                .run()
            )
            await UserTerritory.insert(
                UserTerritory(user=user_id, territory=territory_id, role=role)
            ).run()
            await audit.record(
                actor, "grant", "user", user_id, {"territoire": territory_id, "role": role}
            )
    return await territories_of(user_id)


async def revoke(actor: Actor, user_id: int, sirens: list[str]) -> list[dict]:
    territories = await territories_by_siren(sirens)
    return await revoke_territories(actor, user_id, [t["id"] for t in territories.values()])


async def revoke_territories(actor: Actor, user_id: int, territory_ids: list[int]) -> list[dict]:
    """Take the territories from the user; with none left, the user sees every territory with
    the role of their account."""
    async with write_transaction():
        for territory_id in territory_ids:
            removed = (
                await UserTerritory.delete()
                .where((UserTerritory.user == user_id) & (UserTerritory.territory == territory_id))
                .returning(UserTerritory.id)
                .run()
            )
            if removed:
                await audit.record(actor, "revoke", "user", user_id, {"territoire": territory_id})
    return await territories_of(user_id)


async def territories_of_users() -> dict[int, list[dict]]:
    """Every user's territories (the users' page), in one query."""
    rows = await UserTerritory.select(
        UserTerritory.user,
        UserTerritory.territory.id.as_alias("id"),
        UserTerritory.territory.name.as_alias("name"),
        UserTerritory.role,
    ).order_by(UserTerritory.territory.name)
    by_user: dict[int, list[dict]] = {}
    for row in rows:
        by_user.setdefault(row.pop("user"), []).append(row)
    return by_user


async def territories_of(user_id: int) -> list[dict]:
    """The user's territories with their role, by name: empty for an unscoped user."""
    rows = await (
        UserTerritory.select(
            UserTerritory.territory.id.as_alias("id"),
            UserTerritory.territory.name.as_alias("name"),
            UserTerritory.territory.siren.as_alias("siren"),
            UserTerritory.role,
        )
        .where(UserTerritory.user == user_id)
        .run()
    )
    return sorted(rows, key=lambda row: (row["name"], row["id"]))
