"""The demo's accounts at the ``departement`` scale (#20): a coordinator limited to each
territory, and a Caf territorial adviser covering ten, to see the territories apart."""

from __future__ import annotations

from dataclasses import dataclass

from maillage.actor import CLI
from maillage.crm import scope
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import UserIn
from maillage.tables import Territory, User
from maillage.vocabulary import COORDINATOR

CAF_ADVISER = "caf-conseil@maillage.example"
CAF_PORTFOLIO = 10  # territories followed by the Caf's adviser


def coordinator_email(position: int) -> str:
    """The coordinator of the territory at ``position`` (1: the Val d'Ardoise)."""
    return f"coordination-{position:02d}@maillage.example"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    territories: list[str]


async def create_accounts(password: str) -> list[DemoAccount]:
    """One coordinator per territory (in the order of their ids) and the Caf's adviser on the
    first ten, all with ``password``; an address already taken is left as it is."""
    territories = await Territory.select(Territory.id, Territory.name).order_by(Territory.id)
    wanted = [
        (coordinator_email(position), "Coordination " + territory["name"], [territory])
        for position, territory in enumerate(territories, start=1)
    ]
    wanted.append((CAF_ADVISER, "Conseil territorial de la Caf", territories[:CAF_PORTFOLIO]))
    taken = {row["email"] for row in await User.select(User.email)}
    accounts = []
    for email, name, covered in wanted:
        if email in taken or not covered:
            continue
        user = await SERVICES["users"].create(
            CLI, UserIn(email=email, name=name, role=COORDINATOR, password=password)
        )
        await scope.grant_territories(CLI, user["id"], [t["id"] for t in covered], COORDINATOR)
        accounts.append(DemoAccount(email, [t["name"] for t in covered]))
    return accounts
