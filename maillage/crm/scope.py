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
- communes, territories and axes are shared by every territory;
- an organisation is local to the territory in its ``territory``, or shared when it has none.
  The intercommunality itself (its SIREN is the territory's) belongs to its territory.
  Departmental institutions and DSP operators serving several EPCI (kinds ``institution`` and
  ``operateur_dsp``: Caf, Département, DDETS, Éducation nationale, bailleurs…) are shared;
  any other kind (town halls, CCAS, associations, facilities…) is placed in the territory of
  its commune, or, without a commune, of its parent organisation, or on an instance with a
  single territory in that one. The ``territory`` given when creating or editing wins (the host
  team makes a local association shared, or an institution's local branch local); changing
  the commune places the organisation again. A scoped user's new organisation goes to the
  commune's territory when it is one of theirs, else to their territory when they write on
  only one (else they choose);
- a contact follows their ties: local to a territory when every affiliation is to an
  organisation of that territory and every membership is in a body of it; shared as soon as one
  tie is shared (an institution's person is shared, as the issue asks) or two ties are in two
  territories (an élu sitting on the bodies of two EPCI is one contact, seen by both and by
  every other territory, written by the host team only). Without ties, a contact is placed
  like an organisation: the commune's territory, a scoped creator's territory, the single
  territory of the instance. Every write of an affiliation, a membership, an organisation's or
  a body's territory places the people concerned again (`settle_contacts`); a scoped user
  cannot make shared, by such a write, a contact they could edit (a field error asks the host
  team to do it), so that nobody publishes a territory's records by mistake;
- a shared organisation or contact belongs to a département (`maillage.departements`: its
  commune's, its parent's, the single one of a person's ties), or to none: a scoped user sees
  the shared records of the départements of their territories and those of none, so that one
  instance serves several départements (a Caf's coordinators do not see the institutions of
  the other départements); the column is kept wherever the territory is placed
  (`settle_departements`);
- an affiliation is seen when both its contact and its organisation are seen;
- editing a shared record (organisation, contact, body, fiche…) is for the users without
  territories only; the scoped users read it whole, with its ties to what they see.

The service layer reads the scope of the request from `current()`; the web layer enters it
(`entered`) for each authenticated request; the command line runs unscoped. Entering a scope
also gives it to PostgreSQL's row-level security (`maillage.row_security`), the second barrier.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias

from msgspec import UNSET
from piccolo.columns.combination import WhereRaw

from maillage import departements, offloop, row_security
from maillage.actor import ROLE_RANK, Actor
from maillage.crm import audit
from maillage.db import is_sqlite, write_transaction
from maillage.errors import InvalidData, NotFound
from maillage.tables import (
    Affiliation,
    Commune,
    Contact,
    Membership,
    Organisation,
    Partnership,
    Territory,
    User,
    UserTerritory,
    WorkingGroup,
)
from maillage.vocabulary import ADMIN, COORDINATOR, USER_ROLES


@dataclass(frozen=True)
class Scope:
    """The territories a scoped user works on, each with the role held there, and the
    départements of those territories (`Territory.departement`, those of none left out).

    The départements are read once per request, with the user's territories
    (`maillage.crm.auth`), and reach the SQL as constants: ``departement IN ('69', '01')``,
    whose selectivity PostgreSQL estimates from the column's statistics, where a subquery on
    ``territory`` was an init plan it could not (#20). None: not read (a scope made by hand,
    in a test or a script): the queries then look them up in SQL as before. A territory's
    département moves with its communes (`settle_territory_departements`); a scope lives
    for one request, and what is memoised by scope (`maillage.crm.caches`,
    `ResourceService`'s statements) has the départements in its key."""

    roles: dict[int, str]
    departements: tuple[str, ...] | None = None

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
    """The same scope for PostgreSQL's row-level security (`maillage.row_security`), with the
    départements read for the request (none: the policies look them up)."""
    if scope is None:
        return row_security.EVERY_TERRITORY
    return row_security.of(scope.territories, scope.departements)


@contextlib.contextmanager
def entered(scope: Scope | None) -> Iterator[None]:
    token = _current.set(scope)
    try:
        with row_security.entered(_row_setting(scope)):
            yield
    finally:
        _current.reset(token)


ServiceTokens: TypeAlias = "tuple[contextvars.Token[Scope | None], contextvars.Token[str]]"


def enter_service() -> ServiceTokens:
    """No user's scope and every row, for a request whose own secret is the permission (an
    answer, unsubscribe or feed link): what ``entered(None)`` inside
    ``row_security.entered(EVERY_TERRITORY)`` give, as two settings and no context manager
    (#16: the public links' gate, `maillage.web.app.PublicLinks`). `leave` undoes them."""
    return _current.set(None), row_security.enter_token(row_security.EVERY_TERRITORY)


def leave(tokens: ServiceTokens) -> None:
    row_security.leave(tokens[1])
    _current.reset(tokens[0])


def enter(scope: Scope | None) -> None:
    """Set the scope for the rest of the current context (the request's task), for the
    services and for the database's policies alike."""
    _current.set(scope)
    row_security.enter(_row_setting(scope))


# A heavy job run in a worker process (a bilan, a pack, a network) sees its caller's scope.
offloop.carry("territory scope", current, "maillage.crm.scope:enter")


async def departements_of(territories: list[int]) -> tuple[str, ...]:
    """The départements of these territories, sorted, without duplicates nor NULL."""
    if not territories:
        return ()
    rows = await Territory.select(Territory.departement).where(
        Territory.id.is_in(territories) & Territory.departement.is_not_null()
    )
    return tuple(sorted({row["departement"] for row in rows}))


async def grants_of(user_id: int) -> dict[int, str]:
    rows = (
        await UserTerritory.select(UserTerritory.territory, UserTerritory.role)
        .where(UserTerritory.user == user_id)
        .run()
    )
    return {row["territory"]: row["role"] for row in rows}


async def user_scope(user_id: int, account_role: str) -> tuple[str, Scope | None]:
    """`scope_of` for a user whose territories are not read yet."""
    roles = await grants_of(user_id)
    return scope_of(account_role, roles, await departements_of(list(roles)))


def scope_of(
    account_role: str, roles: dict[int, str], departements: tuple[str, ...] | None = None
) -> tuple[str, Scope | None]:
    """The role for the route guards and the scope of a user: an administrator and a user
    without territories are unscoped; a scoped user passes the guards with the highest role
    they hold on one of their territories, and the services check the role of each record's."""
    if account_role == ADMIN or not roles:
        return account_role, None
    best = max(roles.values(), key=lambda role: ROLE_RANK.get(role, -1))
    return best, Scope(roles, departements)


async def territory_names(ids: list[int]) -> list[str]:
    if not ids:
        return []
    rows = await Territory.select(Territory.name).where(Territory.id.is_in(ids)).run()
    return sorted(row["name"] for row in rows)


# ----- grants: the command line today, the users' page later ------------------------------------


async def territories_by_siren(sirens: list[str]) -> dict[str, dict[str, Any]]:
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


async def grant(actor: Actor, user_id: int, sirens: list[str], role: str) -> list[dict[str, Any]]:
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
) -> list[dict[str, Any]]:
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


async def revoke(actor: Actor, user_id: int, sirens: list[str]) -> list[dict[str, Any]]:
    territories = await territories_by_siren(sirens)
    return await revoke_territories(actor, user_id, [t["id"] for t in territories.values()])


async def revoke_territories(
    actor: Actor, user_id: int, territory_ids: list[int]
) -> list[dict[str, Any]]:
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


async def territories_of_users() -> dict[int, list[dict[str, Any]]]:
    """Every user's territories (the users' page), in one query."""
    rows = await UserTerritory.select(
        UserTerritory.user,
        UserTerritory.territory.id.as_alias("id"),
        UserTerritory.territory.name.as_alias("name"),
        UserTerritory.role,
    ).order_by(UserTerritory.territory.name)
    by_user: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_user.setdefault(row.pop("user"), []).append(row)
    return by_user


async def territories_of(user_id: int) -> list[dict[str, Any]]:
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


# ----- where organisations and contacts belong ---------------------------------------------------

# Kinds that serve several territories: shared unless someone places them.
SHARED_KINDS = frozenset({"institution", "operateur_dsp"})


def writable(scope: Scope) -> list[int]:
    """The territories where a scoped user writes partners (coordinator role)."""
    return [t for t in scope.territories if scope.can_write(t, COORDINATOR)]


async def _commune_territory(commune: Any) -> int | None:
    if not isinstance(commune, int):  # none, or a commune an import creates (placed later)
        return None
    row = await Commune.select(Commune.territory).where(Commune.id == commune).first().run()
    return None if row is None else row["territory"]


async def _only_territory() -> int | None:
    rows = await Territory.select(Territory.id).limit(2).run()
    return rows[0]["id"] if len(rows) == 1 else None


async def _placed(derived: int | None) -> int | None:
    """A scoped user's new record goes where they write: the derived territory when it is
    theirs, else their only one; otherwise the derived one (and `_check_territory` explains)."""
    scope = current()
    if scope is None:
        return derived if derived is not None else await _only_territory()
    mine = writable(scope)
    if derived in mine:
        return derived
    return mine[0] if len(mine) == 1 else derived


async def _territory_by_siren(siren: Any) -> int | None:
    if not siren:
        return None
    row = await Territory.select(Territory.id).where(Territory.siren == siren).first().run()
    return None if row is None else row["id"]


async def organisation_territory(values: dict[str, Any]) -> int | None:
    """Where an organisation belongs by the rule (module docstring)."""
    own = await _territory_by_siren(values.get("siren"))
    if own is not None:  # the intercommunality itself
        return await _placed(own)
    if values.get("kind") in SHARED_KINDS:
        return await _placed(None) if current() is not None else None
    derived = await _commune_territory(values.get("commune"))
    parent = values.get("parent")
    if derived is None and values.get("commune") is None and isinstance(parent, int):
        row = await Organisation.select(Organisation.territory).where(Organisation.id == parent)
        derived = row[0]["territory"] if row else None
    return await _placed(derived)


async def place_organisation(values: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """Preparer of organisations: a new one without ``territory`` is placed by the rule; an
    edit that moves the commune (and says nothing of the territory) places it again."""
    if existing is None:
        if values.get("territory", UNSET) is UNSET:
            values["territory"] = await organisation_territory(values)
        return
    moved = values.get("commune") != existing.get("commune")
    if moved and values.get("territory") == existing.get("territory"):
        values["territory"] = await organisation_territory(values)


async def place_group(values: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """Preparer of bodies: a new one without ``territory`` goes, for a scoped user, to the only
    territory where they write (with several, they choose: `_check_territory` asks for the
    field); for the host team it is shared, as before. An edit that says nothing of the
    territory keeps it."""
    if existing is None and values.get("territory", UNSET) is UNSET:
        values["territory"] = None if current() is None else await _placed(None)


async def place_contact(values: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """Preparer of contacts: one with ties follows them, whatever the form says; one without
    is placed like an organisation of a local kind."""
    if existing is not None:
        ties = await tie_territories([existing["id"]])
        if existing["id"] in ties:
            values["territory"] = ties[existing["id"]]
        elif values.get("commune") != existing.get("commune") and values.get(
            "territory"
        ) == existing.get("territory"):
            values["territory"] = await _placed(await _commune_territory(values.get("commune")))
        return
    if values.get("territory", UNSET) is UNSET:
        values["territory"] = await _placed(await _commune_territory(values.get("commune")))


async def tie_territories(contact_ids: list[int]) -> dict[int, int | None]:
    """The territory each contact's ties put them in (None: shared), for those with ties.

    Every tie counts, those the request does not see included: on PostgreSQL the policies
    hide a scoped request's view of another territory's ties, and a function that sees them
    all reads them (migration 2026-12-08T01:00:00), so that a write in one territory does not
    take there a person shared with another."""
    found: dict[int, set[int | None]] = {}
    if not is_sqlite():
        for chunk in range(0, len(contact_ids), 500):
            ids = [int(i) for i in contact_ids[chunk : chunk + 500]]
            rows = await Contact.raw("SELECT * FROM maillage_tie_territories({})", ids)
            for row in rows:
                found.setdefault(row["contact"], set()).add(row["territory"])
        return _settled(found)
    for chunk in range(0, len(contact_ids), 500):
        ids = contact_ids[chunk : chunk + 500]
        affiliations = await Affiliation.select(
            Affiliation.contact, Affiliation.organisation.territory.as_alias("territory")
        ).where(Affiliation.contact.is_in(ids))
        memberships = await Membership.select(
            Membership.contact, Membership.working_group.territory.as_alias("territory")
        ).where(Membership.contact.is_in(ids))
        for row in [*affiliations, *memberships]:
            found.setdefault(row["contact"], set()).add(row["territory"])
    return _settled(found)


def _settled(found: dict[int, set[int | None]]) -> dict[int, int | None]:
    return {
        contact: next(iter(places)) if len(places) == 1 else None
        for contact, places in found.items()
    }


async def settle_contacts(contact_ids: Any) -> None:
    """Place the contacts again after a write of their ties (inside its transaction). A scoped
    user cannot thereby make shared a contact they could edit: a field error, nothing
    written."""
    ids = sorted({i for i in contact_ids if isinstance(i, int)})
    if not ids:
        return
    ties = await tie_territories(ids)
    rows = await Contact.select(
        Contact.id, Contact.territory, Contact.first_name, Contact.last_name
    ).where(Contact.id.is_in(list(ties) or [0]))
    scope = current()
    for row in rows:
        after = ties[row["id"]]
        if after == row["territory"]:
            continue
        if scope is not None and after is None and row["territory"] in writable(scope):
            raise InvalidData.one(
                "contact",
                f"« {row['first_name']} {row['last_name']} » deviendrait une fiche partagée "
                "entre les territoires (rattachée à une organisation partagée ou à des instances "
                "de plusieurs territoires) : seule l'équipe qui héberge maillage peut le faire.",
            )
        await Contact.update({Contact.territory: after}).where(Contact.id == row["id"]).run()
    # Their ties changed: their département may have too (one with no ties keeps theirs).
    await settle_departements(contacts=ids)


async def settle_territory_departements(
    territory_ids: Any, was: dict[int, str | None] | None = None
) -> None:
    """The territories' départements from their communes (a commune written; one without
    communes keeps its own); those that change place again, in the same transaction, every
    partner whose département the rule (`maillage.departements`) takes from them: their own
    organisations and people, those of their communes (and of the communes without territory
    of the départements they had or have), the shared organisations that work there (sitting
    in their bodies, partners of their local organisations) and the branches of all these,
    then the people tied to any of them or sitting in their bodies. ``was``: their
    départements before a write that already changed them (a territory's typed by hand,
    #20), else read here."""
    ids = sorted({i for i in territory_ids if isinstance(i, int)})
    if not ids:
        return
    moved, codes = await _moved_territories(ids, was)
    if moved:
        await _settle_partners_of(moved, codes)


async def _moved_territories(
    ids: list[int], was: dict[int, str | None] | None
) -> tuple[list[int], set[str | None]]:
    """The territories of ``ids`` whose département changed (by their communes, written
    here, or before by ``was``), and the départements they had or have."""
    read_here = was is None
    if was is None:
        before = await Territory.select(Territory.id, Territory.departement).where(
            Territory.id.is_in(ids)
        )
        was = {row["id"]: row["departement"] for row in before}
    where = f"{departements.TERRITORIES_CHANGED} AND {departements.ids_in(ids)}"
    changing = await Territory.raw(f"SELECT id FROM territory WHERE {where}").run()
    if changing:
        changed = departements.ids_in([row["id"] for row in changing])
        await Territory.raw(f"{departements.TERRITORIES} WHERE {changed}").run()
    elif read_here:
        return [], set()
    after = await Territory.select(Territory.id, Territory.departement).where(
        Territory.id.is_in(ids)
    )
    moved = sorted(row["id"] for row in after if row["departement"] != was.get(row["id"]))
    return moved, {was.get(t) for t in moved} | {row["departement"] for row in after}


def communes_without_territory(codes: Iterable[str | None]) -> Any:
    """A condition on ``commune``: those of no territory whose INSEE code is of one of the
    départements ``codes``; None for none. Read by the database: the open data leave 35,000
    communes of no territory, not to be brought to Python on every change of département."""
    wanted = sorted({code for code in codes if code})
    if not wanted:
        return None
    of_code = departements.of_insee_code('"commune"."insee_code"')
    marks = ", ".join("{}" for _ in wanted)
    return Commune.territory.is_null() & WhereRaw(f"{of_code} IN ({marks})", *wanted)


async def _settle_partners_of(moved: list[int], codes: set[str | None]) -> None:
    """Place again the partners of the territories ``moved``, whose départements were or are
    ``codes`` (`settle_territory_departements`)."""
    # Their communes, and those without territory of the départements they had or have:
    # theirs is their INSEE code's while a territory has it (`departements._OF_COMMUNE`).
    there = Commune.territory.is_in(moved)
    loose = communes_without_territory(codes)
    communes = Commune.select(Commune.id).where(there if loose is None else there | loose)
    own = await Organisation.select(Organisation.id).where(
        Organisation.territory.is_in(moved) | Organisation.commune.is_in(communes)
    )
    # Theirs first: the shared organisations placed where they work read the départements of
    # the local partners (`departements.ORGANISATION_TIES`), settled by then.
    placed = await settle_departements(organisations=[row["id"] for row in own])
    bodies = WorkingGroup.select(WorkingGroup.id).where(WorkingGroup.territory.is_in(moved))
    placed += await settle_departements(organisations=await _working_in(moved, bodies))
    members = Membership.select(Membership.contact).where(Membership.working_group.is_in(bodies))
    people = await Contact.select(Contact.id).where(
        Contact.territory.is_in(moved) | Contact.commune.is_in(communes) | Contact.id.is_in(members)
    )
    tied = await contacts_tied_to(organisations=placed)
    await settle_departements(contacts=[*(row["id"] for row in people), *tied])


async def _working_in(moved: list[int], bodies: Any) -> list[int]:
    """The shared organisations that work in the territories ``moved``: sitting in their
    ``bodies``, partners of their local organisations."""
    local = Organisation.select(Organisation.id).where(Organisation.territory.is_in(moved))
    sitting = Membership.select(Membership.organisation).where(
        Membership.working_group.is_in(bodies) & Membership.organisation.is_not_null()
    )
    partners = Partnership.select(Partnership.partner).where(Partnership.organisation.is_in(local))
    partnered = Partnership.select(Partnership.organisation).where(Partnership.partner.is_in(local))
    working = await Organisation.select(Organisation.id).where(
        Organisation.territory.is_null()
        & (
            Organisation.id.is_in(sitting)
            | Organisation.id.is_in(partners)
            | Organisation.id.is_in(partnered)
        )
    )
    return [row["id"] for row in working]


async def settle_commune_partners(commune_ids: Any) -> None:
    """A commune given to another territory, or to none, or another INSEE code: the partners
    there take the département of its new place (`departements._OF_COMMUNE`) even when no
    territory's changes, then the people tied to them (#20)."""
    ids = sorted({i for i in commune_ids if isinstance(i, int)})
    if ids:
        await _settle_partners_in(ids)


async def settle_deleted_territory(departement: str | None) -> None:
    """A territory deleted, in its transaction (its keys refused it while it had communes,
    local partners, bodies or accounts): a commune of no territory is of its INSEE département
    while a territory has it (`departements._OF_COMMUNE`), so the partners of those of its
    département lose it with the last territory of that département (#20)."""
    loose = communes_without_territory([departement])
    if loose is not None:
        await _settle_partners_in(Commune.select(Commune.id).where(loose))


async def _settle_partners_in(communes: Any) -> None:
    """The organisations and people of ``communes`` (ids, or a query of ids) placed again,
    then the people tied to those organisations."""
    there = await Organisation.select(Organisation.id).where(Organisation.commune.is_in(communes))
    placed = await settle_departements(organisations=[row["id"] for row in there])
    people = await Contact.select(Contact.id).where(Contact.commune.is_in(communes))
    tied = await contacts_tied_to(organisations=placed)
    await settle_departements(contacts=[*(row["id"] for row in people), *tied])


_SETTLED_AT_ONCE = 500  # ids given to one statement


def _starts(ids: list[int]) -> range:
    return range(0, len(ids), _SETTLED_AT_ONCE)


async def settle_departements(organisations: Any = (), contacts: Any = ()) -> list[int]:
    """Give the organisations, then their branches without commune that follow them, then the
    contacts, the département of the rule (`maillage.departements`), inside the caller's
    transaction; the organisations placed (those given and their branches) are returned. On
    PostgreSQL a function that sees every row does it (a scoped write does not see every tie
    of a person).

    Each generation of branches is placed by a statement of its own, after its parents': a
    statement reads the rows as they were before it (PostgreSQL's snapshot, and SQLite alike),
    so a branch placed with its parent took the parent's former département (#20)."""
    generation = sorted({i for i in organisations if isinstance(i, int)})
    people = sorted({i for i in contacts if isinstance(i, int)})
    placed: list[int] = []
    while generation:
        placed += generation
        children: set[int] = set()
        for start in _starts(generation):
            rows = await Organisation.select(Organisation.id).where(
                Organisation.parent.is_in(generation[start : start + _SETTLED_AT_ONCE])
                & Organisation.commune.is_null()
            )
            children.update(row["id"] for row in rows)
        following = sorted(children - set(placed))  # a cycle of parents ends here
        if not following:  # the last generation with the people: one call, often the only one
            await _settle(generation, people)
            return placed
        await _settle(generation, [])
        generation = following
    await _settle([], people)
    return placed


async def _settle(placed: list[int], people: list[int]) -> None:
    if not placed and not people:
        return
    if not is_sqlite():
        # The function locks the rows it rewrites in the order of their ids, organisations
        # first (migration 2026-12-10T13:00:00): so do the calls, all the organisations before
        # any person, so that two writes reach the partners they share in the same order.
        calls = [(placed, people)]
        if len(placed) > _SETTLED_AT_ONCE or len(people) > _SETTLED_AT_ONCE:
            calls = [
                *((placed[i : i + _SETTLED_AT_ONCE], []) for i in _starts(placed)),
                *(([], people[i : i + _SETTLED_AT_ONCE]) for i in _starts(people)),
            ]
        for organisation_ids, contact_ids in calls:
            await Contact.raw(
                "SELECT maillage_settle_departements({}::integer[], {}::integer[])",
                organisation_ids,
                contact_ids,
            ).run()
        return
    for start in _starts(placed):
        where = departements.ids_in(placed[start : start + _SETTLED_AT_ONCE])
        await Organisation.raw(departements.ORGANISATIONS.format(where=where)).run()
    for start in _starts(people):
        where = departements.ids_in(people[start : start + _SETTLED_AT_ONCE])
        await Contact.raw(departements.CONTACTS.format(where=where)).run()


async def contacts_tied_to(
    organisations: list[int] | None = None, groups: list[int] | None = None
) -> list[int]:
    ids: set[int] = set()
    if organisations:
        rows = await Affiliation.select(Affiliation.contact).where(
            Affiliation.organisation.is_in(list(organisations))
        )
        ids.update(row["contact"] for row in rows)
    if groups:
        rows = await Membership.select(Membership.contact).where(
            Membership.working_group.is_in(list(groups))
        )
        ids.update(row["contact"] for row in rows)
    return sorted(ids)


async def place_written(organisation_ids: list[Any], contact_ids: list[Any]) -> None:
    """After a bulk write (import, territory load, demo): the organisations written without a
    territory whose commune an import created in the same run are placed, then the people of
    the records written."""
    organisation_ids = [i for i in organisation_ids if isinstance(i, int)]
    unplaced = await Organisation.select(
        Organisation.id,
        Organisation.kind,
        Organisation.commune,
        Organisation.parent,
        Organisation.siren,
    ).where(
        Organisation.id.is_in(list(organisation_ids) or [0])
        & Organisation.territory.is_null()
        & (Organisation.commune.is_not_null() | Organisation.siren.is_not_null())
    )
    for row in unplaced:
        if row["kind"] in SHARED_KINDS and not row["siren"]:
            continue
        territory = await organisation_territory(row)
        if territory is not None:
            await Organisation.update({Organisation.territory: territory}).where(
                Organisation.id == row["id"]
            )
    # The communes written may have given a territory its département (and its partners).
    await settle_territory_departements([row["id"] for row in await Territory.select(Territory.id)])
    tied = await contacts_tied_to(organisations=list(organisation_ids))
    await settle_departements(organisations=organisation_ids)
    await settle_contacts([*contact_ids, *tied])


_TIES = (
    "(SELECT a.contact AS contact, o.territory AS territory FROM affiliation a "
    "JOIN organisation o ON o.id = a.organisation "
    "UNION ALL SELECT m.contact AS contact, w.territory AS territory FROM membership m "
    "JOIN working_group w ON w.id = m.working_group)"
)
# The intercommunality itself belongs to its territory.
_BY_SIREN = (
    "UPDATE organisation SET territory = (SELECT t.id FROM territory t "
    "WHERE t.siren = organisation.siren) WHERE territory IS NULL AND siren IN "
    "(SELECT siren FROM territory WHERE siren IS NOT NULL)"
)
_KINDS = ", ".join(f"'{kind}'" for kind in sorted(SHARED_KINDS))


async def place_all(first_organisation: int = 1, first_contact: int = 1) -> None:
    """Place, by the rule, the organisations and contacts from the ids given on (the demo's,
    written in bulk), in a few statements whatever their number."""
    from maillage.db import current_engine

    engine = current_engine()
    single = await _only_territory()
    organisations = f"id >= {int(first_organisation)} AND kind NOT IN ({_KINDS})"
    contacts = f"id >= {int(first_contact)}"
    statements = [
        _BY_SIREN + f" AND id >= {int(first_organisation)}",
        "UPDATE organisation SET territory = (SELECT c.territory FROM commune c "
        f"WHERE c.id = organisation.commune) WHERE {organisations} AND commune IS NOT NULL",
        "UPDATE organisation SET territory = (SELECT p.territory FROM organisation p "
        "WHERE p.id = organisation.parent) WHERE territory IS NULL AND commune IS NULL "
        f"AND parent IS NOT NULL AND {organisations}",
        "UPDATE contact SET territory = (SELECT c.territory FROM commune c "
        f"WHERE c.id = contact.commune) WHERE {contacts}",
        "UPDATE contact SET territory = (SELECT CASE WHEN COUNT(*) = COUNT(t.territory) "
        "AND MIN(t.territory) = MAX(t.territory) THEN MIN(t.territory) END "
        f"FROM {_TIES} t WHERE t.contact = contact.id) "
        f"WHERE {contacts} AND id IN (SELECT t.contact FROM {_TIES} t)",
    ]
    if single is not None:
        statements.insert(
            2,
            f"UPDATE organisation SET territory = {single} WHERE territory IS NULL "
            f"AND {organisations}",
        )
        statements.append(
            f"UPDATE contact SET territory = {single} WHERE territory IS NULL AND {contacts} "
            f"AND id NOT IN (SELECT t.contact FROM {_TIES} t)"
        )
    # Their départements (`maillage.departements`): the territories', then the records'.
    statements += [
        f"{departements.TERRITORIES} WHERE {departements.TERRITORIES_CHANGED}",
        # The local ones first: a shared one may take the département of its local partners.
        departements.ORGANISATIONS.format(
            where=f"id >= {int(first_organisation)} AND territory IS NOT NULL"
        ),
        departements.ORGANISATIONS.format(
            where=f"id >= {int(first_organisation)} AND territory IS NULL AND parent IS NULL"
        ),
        departements.ORGANISATIONS.format(
            where=f"id >= {int(first_organisation)} AND territory IS NULL AND parent IS NOT NULL"
        ),
        departements.CONTACTS.format(where=contacts),
    ]
    for statement in statements:
        await engine.run_ddl(statement)
