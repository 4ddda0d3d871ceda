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
    # Found by part of its name, accents and capitals aside, with the other filters.
    assert await names("structure=CENTRE SOCIAL") == ["Guérin", "Bernard"]
    assert await names("structure=melesse") == ["Morel"]
    assert await names("structure=centre&fonction=anim") == ["Bernard"]
    assert await names("structure=inconnue") == []


async def test_the_organisation_filter_does_not_list_every_partner(admin, reader_web):
    """A département has 5,000 partners: the filter is a field, not a choice among them all;
    the organisation chosen from a partner's page is named, and can be removed."""
    made = await _people(admin.client)
    page = await reader_web.get("/contacts")
    assert 'id="filtre-structure"' in page.text and 'name="organisation"' not in page.text
    assert "Mairie de Melesse" not in html_text(page).split("Filtrer")[0]
    chosen = await reader_web.get(f"/contacts?organisation={made['centre']['id']}")
    text = html_text(chosen)
    assert "Rattachés à : Centre social Ty Blosne" in text
    assert '(<a href="/contacts">toutes les organisations</a>)' in chosen.text
    assert f'<input type="hidden" name="organisation" value="{made["centre"]["id"]}">' in (
        chosen.text
    )
    unknown = html_text(await reader_web.get("/contacts?organisation=999999"))
    assert "Rattachés à : n° 999999 (introuvable)" in unknown
    assert (await reader_web.get("/contacts?organisation=99999999999")).status_code == 400


async def test_the_api_filters_alike(admin):
    made = await _people(admin.client)
    answer = await admin.client.get(
        "/api/v1/contacts", params={"organisation": made["centre"]["id"], "function": "direct"}
    )
    assert answer.status_code == 200
    assert [row["last_name"] for row in answer.json()["items"]] == ["Guérin"]
    grouped = await admin.client.get("/api/v1/contacts", params={"group": made["group"]["id"]})
    assert [row["last_name"] for row in grouped.json()["items"]] == ["Morel"]
