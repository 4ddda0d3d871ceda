"""What a set of territories reaches (#20): the bodies, meetings and exchanges that the bilan,
the diagnostic and the network of those territories read.

One rule for the reports and the network: a territory's bodies are those tied to it, and the
shared bodies (tied to no territory) that cover one of its communes; its exchanges are those
tied to it and the shared ones. A user's portfolio (`portfolio`) is the territories of their
scope, or None (every territory) for a user without territories.
"""

from __future__ import annotations

from typing import Any

from maillage.crm import scope as territory_scope
from maillage.errors import Forbidden, NotFound
from maillage.tables import Commune, GroupCommune, Interaction, Meeting, WorkingGroup
from maillage.vocabulary import COORDINATOR


def portfolio() -> list[int] | None:
    """The territories of the request's user; None: every territory (unscoped)."""
    current = territory_scope.current()
    return None if current is None else current.territories


def check_territory(territory_id: int) -> None:
    """A territory out of the user's portfolio does not exist for them (404)."""
    territories = portfolio()
    if territories is not None and territory_id not in territories:
        raise NotFound("Territoire", territory_id)


def check_writable(territory_id: int | None) -> None:
    """A user limited to territories acts (invitations, mailings, inhabitants) as coordinator
    only where they hold that role; a shared record is the host team's (403)."""
    current = territory_scope.current()
    if current is None or current.can_write(territory_id, COORDINATOR):
        return
    raise Forbidden(
        "Votre rôle sur ce territoire ne permet pas cette action : il faut y être coordinateur."
        if territory_id in current.roles
        else "Cette réunion est partagée entre les territoires : seule l'équipe qui héberge "
        "maillage peut agir sur elle."
    )


async def check_meeting_writable(meeting_id: int) -> None:
    """`check_writable` for the territory of the meeting's body."""
    if territory_scope.current() is None:
        return
    row = await (
        Meeting.select(Meeting.working_group.territory.as_alias("territory"))
        .where(Meeting.id == meeting_id)
        .first()
    )
    check_writable(row["territory"] if row else None)


def writable_territories() -> list[int] | None:
    """The territories where the user is coordinator; None: every territory (unscoped)."""
    current = territory_scope.current()
    if current is None:
        return None
    return [t for t in current.territories if current.can_write(t, COORDINATOR)]


def communes_of(territory_ids: list[int]) -> Any:
    """A sub-query: the communes of the territories."""
    return Commune.select(Commune.id).where(Commune.territory.is_in(territory_ids or [0]))


async def group_ids(territory_ids: list[int]) -> set[int]:
    """The bodies of the territories: their own, and the shared ones covering their communes.

    The communes are read first and given as a list: with a sub-query, PostgreSQL read the
    whole ``group_commune`` table (every territory's bodies) to keep the few of these
    communes (#20)."""
    own = await WorkingGroup.select(WorkingGroup.id).where(
        WorkingGroup.territory.is_in(territory_ids or [0])
    )
    communes = [row["id"] for row in await communes_of(territory_ids)]
    covering = await GroupCommune.select(GroupCommune.working_group).where(
        GroupCommune.working_group.territory.is_null() & GroupCommune.commune.is_in(communes or [0])
    )
    return {row["id"] for row in own} | {row["working_group"] for row in covering}


def meetings_of(groups: list[int]) -> Any:
    """A sub-query: the meetings of the bodies."""
    return Meeting.select(Meeting.id).where(Meeting.working_group.is_in(groups or [0]))


def interactions_clause(territory_ids: list[int]) -> Any:
    """The exchanges the territories see: theirs and the shared ones."""
    return Interaction.territory.is_null() | Interaction.territory.is_in(territory_ids or [0])
