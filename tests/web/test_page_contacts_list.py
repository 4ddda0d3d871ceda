"""The contacts list shows where each person works and as what, and filters by organisation,
function and body (#21); the API offers the same filters."""

from __future__ import annotations

from tests.web.helpers import create, html_text


async def _people(client) -> dict:
    mairie = await create(
        client, "organisations", {"name": "Mairie de Melesse", "kind": "collectivite"}
    )
    centre = await create(
        client, "organisations", {"name": "Centre social Ty Blosne", "kind": "association"}
    )
    anne = await create(client, "contacts", {"first_name": "Anne", "last_name": "Morel"})
    paul = await create(client, "contacts", {"first_name": "Paul", "last_name": "Guérin"})
    lou = await create(client, "contacts", {"first_name": "Lou", "last_name": "Bernard"})
    await create(
        client,
        "affiliations",
        {
            "contact": anne["id"],
            "organisation": mairie["id"],
            "function": "Adjointe déléguée à l'enfance",
            "elected_mandate": True,
            "is_primary": True,
        },
    )
    await create(
        client,
        "affiliations",
        {
            "contact": paul["id"],
            "organisation": centre["id"],
            "function": "Directeur",
            "is_primary": True,
        },
    )
    await create(
        client,
        "affiliations",
        {"contact": lou["id"], "organisation": centre["id"], "function": "Animatrice"},
    )
    group = await create(
        client, "groups", {"name": "Commission enfance", "kind": "commission_thematique"}
    )
    await create(
        client,
        "memberships",
        {"contact": anne["id"], "working_group": group["id"], "role": "titulaire"},
    )
    return {"mairie": mairie, "centre": centre, "group": group}  # fmt: skip


async def test_the_list_shows_organisation_and_function(admin, reader_web):
    await _people(admin.client)
    text = html_text(await reader_web.get("/contacts"))
    assert "Organisation Fonction" in text
    assert "Morel Anne Mairie de Melesse Adjointe déléguée à l'enfance" in text
    assert "Guérin Paul Centre social Ty Blosne Directeur" in text


async def test_the_list_filters_by_organisation_function_and_body(admin, reader_web):
    made = await _people(admin.client)

    async def names(query: str) -> list[str]:
        page = await reader_web.get("/contacts?" + query)
        assert page.status_code == 200
        return [n for n in ("Morel", "Guérin", "Bernard") if f">{n}</a>" in page.text]

    assert await names(f"organisation={made['centre']['id']}") == ["Guérin", "Bernard"]
    assert await names("fonction=DIRECT") == ["Guérin"]
    assert await names("fonction=enfance") == ["Morel"]
    assert await names(f"instance={made['group']['id']}") == ["Morel"]
    assert await names(f"organisation={made['centre']['id']}&fonction=anim") == ["Bernard"]
    assert (await reader_web.get("/contacts?organisation=abc")).status_code == 200


async def test_the_api_filters_alike(admin):
    made = await _people(admin.client)
    answer = await admin.client.get(
        "/api/v1/contacts", params={"organisation": made["centre"]["id"], "function": "direct"}
    )
    assert answer.status_code == 200
    assert [row["last_name"] for row in answer.json()["items"]] == ["Guérin"]
    grouped = await admin.client.get("/api/v1/contacts", params={"group": made["group"]["id"]})
    assert [row["last_name"] for row in grouped.json()["items"]] == ["Morel"]
