"""A page's total is counted up to a cap (#20): the exact count of 3.6 million invitations took
3.3 s on the national bench; a page says « plus de 10 000 » past it. The API keeps the exact
total its contract documents (``{"items", "total", "limit", "offset"}``, clients page with
``offset < total``)."""

from __future__ import annotations

import pytest

from maillage.crm import scope as territory_scope
from maillage.crm.registry import SERVICES
from maillage.crm.resources import ListQuery
from maillage.db import read_transaction
from maillage.tables import OutboxMessage
from maillage.web.pages import common, contacts, journal, meetings, outbox, partners
from tests.crm import test_scope
from tests.crm.test_scope import World
from tests.web.helpers import create, html_text

world = test_scope.world


async def _people(client, count: int) -> list[dict]:
    return [
        await create(client, "contacts", {"first_name": "Agent", "last_name": f"Numéro {n}"})
        for n in range(count)
    ]


async def test_the_total_is_counted_up_to_the_cap(admin):
    await _people(admin.client, 5)
    service = SERVICES["contacts"]
    async with read_transaction():
        exact = await service.page(ListQuery(limit=2))
        capped = await service.page(ListQuery(limit=2, count_cap=3))
        roomy = await service.page(ListQuery(limit=2, count_cap=5))
        # Past the last page, the total is counted alone, by the same rule.
        past = await service.page(ListQuery(limit=2, offset=40, count_cap=3))
        searched = await service.page(ListQuery(limit=2, q="agent", count_cap=3))
    assert exact["total"] == 5
    assert capped["total"] == 4  # the cap and one: « more than 3 »
    assert len(capped["items"]) == 2
    assert roomy["total"] == 5
    assert past["items"] == [] and past["total"] == 4
    assert searched["total"] == 4


async def test_a_scoped_users_two_halves_are_capped_together(admin, world: World):
    """A scoped user's total on PostgreSQL is the shared rows' count plus their territory's:
    each capped, their sum capped again."""
    c = admin.client
    for n in range(3):
        await create(c, "groups", {"name": f"Commission {n}", "kind": "reseau"})
        await create(
            c, "groups", {"name": f"COPIL {n}", "kind": "copil", "territory": world.a["id"]}
        )
    with territory_scope.entered(territory_scope.Scope({world.a["id"]: "coordinateur"}, ())):
        async with read_transaction():
            exact = await SERVICES["groups"].page(ListQuery(limit=1))
            capped = await SERVICES["groups"].page(ListQuery(limit=1, count_cap=2))
    assert exact["total"] >= 7  # those above, the world's body of A and its shared one
    assert capped["total"] == 3


async def test_the_api_total_stays_exact(admin):
    await _people(admin.client, 5)
    listed = await admin.client.get("/api/v1/contacts", params={"limit": 1})
    assert listed.json()["total"] == 5
    schema = (await admin.client.get("/schema/openapi.json")).json()
    described = schema["paths"]["/api/v1/contacts"]["get"]["description"]
    assert "nombre exact" in described
    page = schema["components"]["schemas"]
    assert any(
        "total" in body.get("properties", {}) and "total" in body.get("required", [])
        for name, body in page.items()
        if "contact" in name.lower()
    )


def test_the_french_wording_past_the_cap():
    pager = common.paginate(1, 10_001, size=50, cap=10_000, shown=50)
    assert pager.count("contact").replace("\u202f", " ").replace("\xa0", " ") == (
        "plus de 10 000 contacts"
    )
    assert pager.pages == 200 and pager.has_next
    assert common.paginate(1, 10_000, cap=10_000).count("contact").startswith("10")
    last = common.paginate(230, 10_001, size=50, cap=10_000, shown=7)
    assert not last.has_next


@pytest.mark.parametrize(
    ("module", "path", "word"),
    [(contacts, "/contacts", "contacts"), (partners, "/partenaires", "partenaires")],
)
async def test_the_page_says_more_than_the_cap(admin, reader_web, monkeypatch, module, path, word):
    c = admin.client
    for n in range(4):
        await _people(c, 1)
        await create(c, "organisations", {"name": f"Association {n}", "kind": "association"})
    monkeypatch.setattr(module, "PAGE_COUNT_CAP", 2)
    text = html_text(await reader_web.get(path))
    assert f"plus de 2 {word}" in text
    monkeypatch.setattr(module, "PAGE_COUNT_CAP", 10_000)
    text = html_text(await reader_web.get(path))
    assert f"4 {word}" in text and "plus de" not in text


async def test_the_meetings_page_says_more_than_the_cap(admin, reader_web, monkeypatch):
    c = admin.client
    body = await create(c, "groups", {"name": "Commission enfance", "kind": "reseau"})
    for day in range(1, 5):
        await create(
            c,
            "meetings",
            {
                "working_group": body["id"],
                "title": f"Séance {day}",
                "starts_at": f"2030-03-0{day}T14:00:00+01:00",
                "ends_at": f"2030-03-0{day}T16:00:00+01:00",
            },
        )
    monkeypatch.setattr(meetings, "PAGE_COUNT_CAP", 2)
    assert "plus de 2 réunions" in html_text(await reader_web.get("/reunions"))
    monkeypatch.setattr(meetings, "PAGE_COUNT_CAP", 10_000)
    text = html_text(await reader_web.get("/reunions"))
    assert "4 réunions" in text and "plus de" not in text


async def test_the_journal_says_more_than_the_cap(admin, admin_web, monkeypatch):
    """The audit log grows with every write of the instance: its page counts up to the cap
    too; the API's total stays exact."""
    await _people(admin.client, 4)  # four events « a créé »
    monkeypatch.setattr(journal, "PAGE_COUNT_CAP", 2)
    text = html_text(await admin_web.get("/journal?objet=contact"))
    assert "plus de 2 événements" in text
    monkeypatch.setattr(journal, "PAGE_COUNT_CAP", 10_000)
    text = html_text(await admin_web.get("/journal?objet=contact"))
    assert "4 événements" in text and "plus de" not in text
    listed = await admin.client.get("/api/v1/audit", params={"entity": "contact", "limit": 1})
    assert listed.json()["total"] == 4


async def test_the_outbox_says_more_than_the_cap(admin, admin_web, monkeypatch):
    """The list's total and each status's count in its tab."""
    await OutboxMessage.insert(
        *(
            OutboxMessage(
                kind="envoi_groupe",
                recipient=f"p{n}@example.org",
                subject=f"Lettre {n}",
                message_id=f"<lettre-{n}@maillage.example>",
                status="en_attente" if n < 4 else "echec",
            )
            for n in range(5)
        )
    )
    monkeypatch.setattr(outbox, "PAGE_COUNT_CAP", 2)
    text = html_text(await admin_web.get("/envois"))
    assert "En attente (plus de 2)" in text and "Échec (1)" in text
    monkeypatch.setattr(outbox, "PAGE_COUNT_CAP", 10_000)
    text = html_text(await admin_web.get("/envois"))
    assert "En attente (4)" in text and "plus de" not in text
