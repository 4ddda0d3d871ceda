"""Two territories and a third for the scope tests of reports, network, journal and feeds (#20).

- « CC du Val d'Ardoise » (A): commune Ardoise-la-Ville, the association Ardoise Jeunesse and
  its president, the COPIL Ardoise (two meetings in 2026), an exchange with the association;
- « CA des Deux Rives » (B): the same, named Rives;
- « CC du Lac » (C): nothing but its commune;
- the Caf (no commune: a shared institution) and its conseillère, who sits on both COPIL, and a
  shared bailleur tied to nothing.

``accounts`` gives API clients of: a coordinator of A, a lecteur of A, a Caf conseillère
(lecteur of A and B), a lecteur of A who coordinates B, and the persona coordinator without
territories.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx

from maillage.actor import CLI
from maillage.crm import auth
from maillage.crm import scope as territory_scope
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import UserIn
from tests.web.helpers import PASSWORD, create

SIREN_A, SIREN_B, SIREN_C = "200000008", "200000016", "200000024"
YEAR = 2026


def _at(day: str, hour: int) -> dict:
    return {
        "starts_at": f"{day}T{hour:02d}:00:00+01:00",
        "ends_at": f"{day}T{hour + 2:02d}:00:00+01:00",
    }


@dataclass
class Side:
    territory: dict
    commune: dict
    association: dict
    president: dict
    body: dict
    meetings: list[dict]
    interaction: dict


@dataclass
class TerritoryWorld:
    a: Side
    b: Side
    c: dict
    caf: dict
    conseillere: dict
    bailleur: dict
    names: dict = field(default_factory=dict)


async def _side(c, name: str, siren: str, insee: str, word: str, caf, conseillere, days) -> Side:
    territory = await create(c, "territories", {"name": name, "siren": siren})
    commune = await create(
        c,
        "communes",
        {"name": f"{word}-la-Ville", "insee_code": insee, "territory": territory["id"]},
    )
    association = await create(
        c,
        "organisations",
        {"name": f"{word} Jeunesse", "kind": "association", "commune": commune["id"]},
    )
    president = await create(
        c,
        "contacts",
        {
            "first_name": "Camille",
            "last_name": f"{word}ier",
            "commune": commune["id"],
            "email": f"camille@{word.lower()}.example",
        },
    )
    await create(
        c,
        "affiliations",
        {"contact": president["id"], "organisation": association["id"], "function": "président"},
    )
    body = await create(
        c, "groups", {"name": f"COPIL {word}", "kind": "copil", "territory": territory["id"]}
    )
    for contact, organisation in ((president, association), (conseillere, caf)):
        await create(
            c,
            "memberships",
            {
                "contact": contact["id"],
                "working_group": body["id"],
                "organisation": organisation["id"],
            },
        )
    meetings = []
    for day in days:
        meeting = await create(
            c,
            "meetings",
            {"working_group": body["id"], "title": f"COPIL {word}", "status": "tenue", **day},
        )
        for contact in (president, conseillere):
            invitation = await create(
                c, "invitations", {"meeting": meeting["id"], "contact": contact["id"]}
            )
            response = await c.patch(
                f"/api/v1/invitations/{invitation['id']}",
                json={"version": invitation["version"], "attendance": "present"},
            )
            assert response.status_code == 200, response.text
        meetings.append(meeting)
    interaction = await create(
        c,
        "interactions",
        {
            "occurred_on": f"{YEAR}-04-02",
            "summary": f"Appel {word}",
            "organisations": [association["id"]],
            "contacts": [president["id"]],
            "territory": territory["id"],
        },
    )
    return Side(territory, commune, association, president, body, meetings, interaction)


async def build_territory_world(client: httpx.AsyncClient) -> TerritoryWorld:
    c = client
    caf = await create(
        c, "organisations", {"name": "Caf de Vilaine-et-Lande", "kind": "institution"}
    )
    conseillere = await create(
        c,
        "contacts",
        {"first_name": "Dominique", "last_name": "Cafard", "email": "dominique@caf.example"},
    )
    await create(
        c,
        "affiliations",
        {"contact": conseillere["id"], "organisation": caf["id"], "function": "conseillère"},
    )
    bailleur = await create(
        c, "organisations", {"name": "Bailleur départemental", "kind": "institution"}
    )
    a = await _side(
        c,
        "CC du Val d'Ardoise",
        SIREN_A,
        "35901",
        "Ardoise",
        caf,
        conseillere,
        [_at(f"{YEAR}-03-10", 14), _at(f"{YEAR}-06-09", 14)],
    )
    b = await _side(
        c,
        "CA des Deux Rives",
        SIREN_B,
        "35902",
        "Rives",
        caf,
        conseillere,
        [_at(f"{YEAR}-03-12", 10), _at(f"{YEAR}-06-11", 10), _at(f"{YEAR}-09-17", 10)],
    )
    lake = await create(c, "territories", {"name": "CC du Lac", "siren": SIREN_C})
    await create(
        c, "communes", {"name": "Lac-la-Ville", "insee_code": "35903", "territory": lake["id"]}
    )
    return TerritoryWorld(a, b, lake, caf, conseillere, bailleur)


ACCOUNTS = {
    # name: (account role, [(siren, role on it)])
    "coordinateur-a": ("coordinateur", [(SIREN_A, "coordinateur")]),
    "lecteur-a": ("lecteur", [(SIREN_A, "lecteur")]),
    "conseillere-caf": ("lecteur", [(SIREN_A, "lecteur"), (SIREN_B, "lecteur")]),
    # Lecteur of A, coordinator of B: acts on B only.
    "mixte": ("coordinateur", [(SIREN_A, "lecteur"), (SIREN_B, "coordinateur")]),
}


async def token_of(name: str) -> str:
    """An API token of a new account ``name`` of ``ACCOUNTS``."""
    role, grants = ACCOUNTS[name]
    email = f"{name}@maillage.example"
    user = await SERVICES["users"].create(CLI, UserIn(email=email, role=role, password=PASSWORD))
    for siren, held in grants:
        await territory_scope.grant(CLI, user["id"], [siren], held)
    return await auth.create_token(CLI, email)


@contextlib.asynccontextmanager
async def accounts(app, unscoped_token: str) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """API clients of every account of ``ACCOUNTS``, and « sans-territoire »."""
    tokens = {name: await token_of(name) for name in ACCOUNTS}
    tokens["sans-territoire"] = unscoped_token
    async with contextlib.AsyncExitStack() as stack:
        clients = {}
        for name, token in tokens.items():
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),
                    base_url="http://testserver",
                    headers={"Authorization": f"Bearer {token}"},
                )
            )
        yield clients
