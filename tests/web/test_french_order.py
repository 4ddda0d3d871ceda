"""Lists in French order and search that folds ligatures and apostrophes (#21), on both
engines (the suite runs on SQLite, and on PostgreSQL with MAILLAGE_TEST_DATABASE_URL)."""

from __future__ import annotations

from tests.web.helpers import create

NAMES = ["Mouazé", "ADIL", "École Jules-Ferry", "Accueil de jour", "Mézière", "espace jeunes",
         "Zèbre", "Étoile", "Lœuillet", "Eau vive"]  # fmt: skip
FRENCH_ORDER = ["Accueil de jour", "ADIL", "Eau vive", "École Jules-Ferry", "espace jeunes",
                "Étoile", "Lœuillet", "Mézière", "Mouazé", "Zèbre"]  # fmt: skip


async def test_partners_are_listed_in_french_order(admin):
    for name in NAMES:
        await create(admin.client, "organisations", {"name": name, "kind": "association"})
    listed = (await admin.client.get("/api/v1/organisations?limit=50")).json()["items"]
    assert [row["name"] for row in listed] == FRENCH_ORDER
    backwards = (await admin.client.get("/api/v1/organisations?limit=50&sort=-name")).json()
    assert [row["name"] for row in backwards["items"]] == FRENCH_ORDER[::-1]


async def test_the_partners_page_lists_them_in_french_order(admin, coordinator_web):
    for name in NAMES:
        await create(admin.client, "organisations", {"name": name, "kind": "association"})
    page = (await coordinator_web.get("/partenaires")).text
    positions = [page.index(name.replace("'", "&#39;")) for name in FRENCH_ORDER]
    assert positions == sorted(positions)


async def test_contacts_are_listed_by_last_name_in_french_order(admin):
    for last in ["Oudin", "Œuvrard", "Ébrard", "Durand", "Eon"]:
        await create(admin.client, "contacts", {"first_name": "Lou", "last_name": last})
    listed = (await admin.client.get("/api/v1/contacts?limit=50")).json()["items"]
    assert [row["last_name"] for row in listed] == ["Durand", "Ébrard", "Eon", "Œuvrard", "Oudin"]


async def test_search_folds_ligatures_and_typographic_apostrophes(admin):
    await create(admin.client, "contacts", {"first_name": "Jeanne", "last_name": "Lœuillet"})
    await create(admin.client, "contacts", {"first_name": "Paul", "last_name": "D'Hivert"})
    await create(admin.client, "contacts", {"first_name": "Rémi", "last_name": "L’Hôte"})

    async def found(query: str) -> list[str]:
        answer = await admin.client.get("/api/v1/contacts", params={"q": query})
        return [row["last_name"] for row in answer.json()["items"]]

    assert await found("loeuillet") == ["Lœuillet"]
    assert await found("LŒUILLET") == ["Lœuillet"]
    assert await found("D’Hivert") == ["D'Hivert"]
    assert await found("l'hote") == ["L’Hôte"]
