"""The network page: the drawing, who is under-connected and why, and acting on a suggestion."""

from __future__ import annotations

from maillage.actor import CLI
from maillage.crm.registry import SERVICES
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
    assert "Partenaires peu reliés" in page
    assert "Club ados Pourquoi : isolé : aucun lien" in page
    assert 'src="/reseau/dessin?niveau=organisations"' in response.text
    assert "Inscrire Lou Martin" not in page  # a reader cannot act


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
    assert "Inscrire Lou Martin dans l'instance" in html_text(page)  # names the person
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


async def test_the_filters_of_the_service_are_a_get_form(reader_web, admin):
    page = await reader_web.get("/reseau")
    for field in ("f-du", "f-au", "f-commune", "f-archives"):
        assert f'<label for="{field}">' in page.text, field
    assert "<legend>Axes de la CTG</legend>" in page.text
    assert "Types d'organisation Institution Collectivité" in html_text(page)
    assert 'id="f-type-collectivite"' in page.text


async def test_it_keeps_only_the_chosen_kinds_and_communes(reader_web, admin):
    net = await small_network(admin.client)
    other = await create(admin.client, "communes", {"insee_code": "35001", "name": "Acigné"})
    await _isolated_club(admin.client, commune=other["id"])
    page = html_text(await reader_web.get("/reseau?type=association"))
    assert "Club ados" in page
    page = html_text(await reader_web.get("/reseau?type=collectivite"))
    assert "Club ados" not in page
    page = html_text(await reader_web.get(f"/reseau?commune={net['commune']['id']}"))
    assert "Club ados" not in page and "Centre social des Lilas" in page
    response = await reader_web.get(f"/reseau?commune={other['id']}&type=association")
    assert "Club ados" in html_text(response)
    assert (
        f'src="/reseau/dessin?niveau=organisations&amp;type=association&amp;commune={other["id"]}"'
        in (response.text)
    )
    drawing = await reader_web.get("/reseau/dessin?type=collectivite")
    assert "Club ados" not in drawing.text
    assert "Club ados" in (await reader_web.get("/reseau/dessin?type=association")).text


async def test_archived_partners_show_only_when_asked(reader_web, admin):
    await small_network(admin.client)
    club = (await _isolated_club(admin.client))["club"]
    await SERVICES["organisations"].set_archived(CLI, club["id"], True)
    assert "Club ados" not in html_text(await reader_web.get("/reseau"))
    page = await reader_web.get("/reseau?archives=on")
    assert "Club ados" in html_text(
        page
    ) and 'id="f-archives" name="archives" value="on" checked' in (page.text)


async def test_a_wrong_period_is_explained_next_to_its_field(reader_web):
    response = await reader_web.get("/reseau?du=2026-06-01&au=2026-01-01")
    assert response.status_code == 400
    assert 'id="f-du-erreur"' in response.text
    assert "La date de début doit précéder la date de fin." in html_text(response)
    response = await reader_web.get("/reseau?du=2026-02-31&type=club")
    assert "Date invalide" in html_text(response)
    assert "Type d'organisation non reconnu : club." in html_text(response)
    response = await reader_web.get("/reseau/dessin?du=2026-06-01&au=2026-01-01")
    assert response.status_code == 400 and "précéder la date de fin" in html_text(response)


async def test_a_period_is_kept_in_the_form_and_the_drawing(reader_web, admin):
    await small_network(admin.client)
    response = await reader_web.get("/reseau?du=2025-01-01&au=2025-12-31&niveau=contacts")
    assert response.status_code == 200
    assert 'value="2025-01-01"' in response.text and 'value="2025-12-31"' in response.text
    assert 'src="/reseau/dessin?niveau=contacts&amp;du=2025-01-01&amp;au=2025-12-31"' in (
        response.text
    )


async def test_the_drawing_frame_is_valid_html(reader_web, admin):
    """HTML's width attribute takes pixels only: « 100% » is an error; the width is in the CSS."""
    await small_network(admin.client)
    page = (await reader_web.get("/reseau")).text
    frame = page[page.index("<iframe") : page.index("</iframe>")]
    assert 'class="network-frame"' in frame
    assert "width=" not in frame


async def test_the_page_opens_on_what_to_do_first(coordinator_web, admin):
    """(#21) A short list one can act on, each partner with its reason, a proposal and one
    action; the full list folded below; a link that opens the drawing on that partner."""
    net = await small_network(admin.client)
    clubs = [
        await _isolated_club(admin.client, f"Club n° {n}", commune=net["commune"]["id"])
        for n in range(7)
    ]
    response = await coordinator_web.get("/reseau")
    page = response.text
    first = page[page.index('id="a-faire"') : page.index("</section>", page.index('id="a-faire"'))]
    assert first.count("<li>") == 5
    assert "isolé : aucun lien" in first and "Proposition : l'inscrire dans" in first
    assert first.count('class="button button-small"') == 5  # one action each
    assert first.count("Inscrire Lou Martin") >= 4
    assert "Voir les 8 partenaires peu reliés" in page
    assert '<details id="sous-connectes">' in page
    club = clubs[0]["club"]["id"]
    focus = f"/reseau/dessin?niveau=organisations&amp;focus=o{club}"
    assert focus in page
    drawing = await coordinator_web.get(focus.replace("&amp;", "&"))
    assert drawing.status_code == 200
    assert "(s)" not in html_text(response)


async def test_a_long_list_of_under_connected_partners_is_shown_on_request(
    coordinator_web, admin, monkeypatch
):
    """On a département the whole list (a card and its forms per partner) weighed 4.7 MB: the
    page lists the first ones and links to the whole list."""
    from maillage.web.pages import network

    monkeypatch.setattr(network, "LISTED", 3)
    net = await small_network(admin.client)
    for n in range(5):
        await _isolated_club(admin.client, f"Club n° {n}", commune=net["commune"]["id"])
    short = (await coordinator_web.get("/reseau")).text
    listed = short[short.index('id="sous-connectes"') :]
    assert listed.count('<article class="card">') == 3
    link = "/reseau?niveau=organisations&amp;tous=oui#sous-connectes"
    assert f'<a href="{link}">Afficher les 6 partenaires peu reliés</a>' in listed
    # « à faire en premier » goes straight to the whole list, which opens folded out
    assert f'<a href="{link}">Voir les 6 partenaires peu reliés, avec leurs raisons</a>' in short
    whole = (await coordinator_web.get(link.replace("&amp;", "&"))).text
    assert whole[whole.index('id="sous-connectes"') :].count('<article class="card">') == 6
    assert "Afficher les 6" not in whole
    assert '<details id="sous-connectes" open>' in whole
    assert '<details id="sous-connectes">' in short
