"""The network page: the drawing, who is under-connected and why, and acting on a suggestion."""

from __future__ import annotations

from tests.web.helpers import HOSTILE, create, html_text, small_network


async def _isolated_club(client, name: str = "Club ados", commune: int | None = None) -> dict:
    club = await create(
        client,
        "organisations",
        {"name": name, "kind": "association", "axes": [4], "commune": commune},
    )
    person = await create(client, "contacts", {"first_name": "Lou", "last_name": "Martin"})
    await create(
        client,
        "affiliations",
        {"contact": person["id"], "organisation": club["id"], "is_primary": True},
    )
    return {"club": club, "person": person}


async def test_it_lists_under_connected_partners_with_reasons(reader_web, admin):
    net = await small_network(admin.client)
    await _isolated_club(admin.client, commune=net["commune"]["id"])
    response = await reader_web.get("/reseau")
    assert response.status_code == 200
    page = html_text(response)
    assert "Partenaires sous-connectés" in page
    assert "Club ados Pourquoi : isolé : aucun lien" in page
    assert 'src="/reseau/dessin?niveau=organisations"' in response.text
    assert "Inscrire dans l'instance" not in page  # a reader cannot act


async def test_it_serves_the_drawing_behind_the_session_with_its_own_policy(reader_web, visitor):
    response = await reader_web.get("/reseau/dessin")
    assert response.status_code == 200
    assert "nonce-" in response.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert (await visitor.get("/reseau/dessin")).status_code == 303
    download = await reader_web.get("/reseau/dessin?autonome=true")
    assert "attachment" in download.headers["content-disposition"]


async def test_the_suggestion_button_registers_the_partner_in_the_body(coordinator_web, admin):
    net = await small_network(admin.client)
    found = await _isolated_club(admin.client, commune=net["commune"]["id"])
    page = await coordinator_web.get("/reseau")
    assert "Inscrire dans l'instance" in html_text(page)
    response = await coordinator_web.post(
        "/reseau/inscrire",
        {
            "working_group": net["group"]["id"],
            "organisation": found["club"]["id"],
            "contact": found["person"]["id"],
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/instances/{net['group']['id']}"
    group_page = html_text(await coordinator_web.get(response.headers["location"]))
    assert "Inscription enregistrée" in group_page and "Lou Martin" in group_page
    assert "isolé : aucun lien" not in html_text(await coordinator_web.get("/reseau"))


async def test_it_refuses_the_suggestion_to_a_reader_and_without_csrf(
    reader_web, coordinator_web, admin
):
    net = await small_network(admin.client)
    found = await _isolated_club(admin.client)
    data = {"working_group": net["group"]["id"], "contact": found["person"]["id"]}
    assert (await reader_web.post("/reseau/inscrire", data)).status_code == 403
    assert (await coordinator_web.post("/reseau/inscrire", data, csrf=False)).status_code == 403
    assert "Lou Martin" not in html_text(
        await coordinator_web.get(f"/instances/{net['group']['id']}")
    )


async def test_it_escapes_a_hostile_name_on_the_network_page(coordinator_web, admin):
    await small_network(admin.client)
    await _isolated_club(admin.client, name=HOSTILE)
    page = await coordinator_web.get("/reseau")
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
