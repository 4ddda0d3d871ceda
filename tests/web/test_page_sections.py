"""Detail pages cut their long sections to the first rows, say how many there are and link to
the whole list (`?tout=section`), so their cost does not grow with the record's size."""

from __future__ import annotations

import datetime as dt

import pytest

from maillage.web.pages import common
from tests.web.helpers import PARIS_OFFSET, create, html_text, small_network

SHOWN = 2


@pytest.fixture(autouse=True)
def short_sections(monkeypatch):
    # Three rows against a section size of two show the cut without creating twenty rows.
    for module in ("partners", "contacts", "groups"):
        monkeypatch.setattr(f"maillage.web.pages.{module}.SECTION_SIZE", SHOWN)
    assert common.SECTION_SIZE == 20


async def _meeting(client, group_id: int, day: dt.date, title: str) -> dict:
    return await create(
        client,
        "meetings",
        {
            "working_group": group_id,
            "title": title,
            "starts_at": f"{day}T14:00:00{PARIS_OFFSET}",
            "ends_at": f"{day}T16:00:00{PARIS_OFFSET}",
        },
    )


async def test_it_cuts_the_partner_contacts_and_links_to_all(coordinator_web, admin):
    net = await small_network(admin.client)
    organisation = net["organisation"]["id"]
    for name in ("Bernard", "Aubert"):
        contact = await create(admin.client, "contacts", {"first_name": "P", "last_name": name})
        await create(
            admin.client, "affiliations", {"contact": contact["id"], "organisation": organisation}
        )
    page = html_text(await coordinator_web.get(f"/partenaires/{organisation}"))
    # The primary contact first, then by name; the third is behind « voir tout ».
    assert "Hélène Durand" in page and "P Aubert" in page and "P Bernard" not in page
    assert "Affichage : 2 sur 3. Voir tout (3)" in page
    response = await coordinator_web.get(f"/partenaires/{organisation}?tout=contacts")
    assert f'href="/partenaires/{organisation}#titre-contacts"' in response.text
    full = html_text(response)
    assert "P Bernard" in full and "3 au total" in full


async def test_it_cuts_the_bodies_and_meetings_attended_of_a_partner(coordinator_web, admin):
    net = await small_network(admin.client)
    organisation, contact = net["organisation"]["id"], net["contact"]["id"]
    for name in ("Atelier A", "Atelier B"):
        group = await create(admin.client, "groups", {"name": name, "kind": "groupe_travail"})
        await create(
            admin.client, "memberships", {"contact": contact, "working_group": group["id"]}
        )
    for offset in (10, 20, 30):
        day = dt.date.today() - dt.timedelta(days=offset)
        meeting = await _meeting(admin.client, net["group"]["id"], day, f"Séance J-{offset}")
        await create(
            admin.client,
            "invitations",
            {"meeting": meeting["id"], "contact": contact, "attendance": "present"},
        )
    page = html_text(await coordinator_web.get(f"/partenaires/{organisation}"))
    assert "Atelier A" in page and "Atelier B" in page and "Commission thématique" not in page
    assert "Séance J-10" in page and "Séance J-20" in page and "Séance J-30" not in page
    assert page.count("Affichage : 2 sur 3. Voir tout (3)") == 2
    bodies = html_text(await coordinator_web.get(f"/partenaires/{organisation}?tout=instances"))
    assert "Commission thématique" in bodies and "Séance J-30" not in bodies
    meetings = html_text(await coordinator_web.get(f"/partenaires/{organisation}?tout=reunions"))
    assert "Séance J-30" in meetings and "Commission thématique" not in meetings


async def test_it_cuts_the_meetings_of_a_body_and_of_a_contact(coordinator_web, admin):
    net = await small_network(admin.client)
    group, contact = net["group"]["id"], net["contact"]["id"]
    for offset in (1, 2):
        day = dt.date.today() + dt.timedelta(days=7 + offset)
        meeting = await _meeting(admin.client, group, day, f"Suite {offset}")
        await create(admin.client, "invitations", {"meeting": meeting["id"], "contact": contact})
    await create(admin.client, "invitations", {"meeting": net["meeting"]["id"], "contact": contact})
    body = html_text(await coordinator_web.get(f"/instances/{group}"))
    # Latest first: the first meeting (in seven days) is the one left out.
    assert "Suite 2" in body and "Suite 1" in body and "Réunion Centre" not in body
    assert "Affichage : 2 sur 3. Voir tout (3)" in body
    assert "Réunion Centre" in html_text(
        await coordinator_web.get(f"/instances/{group}?tout=reunions")
    )
    person = html_text(await coordinator_web.get(f"/contacts/{contact}"))
    assert "Suite 2" in person and "Réunion Centre" not in person
    assert "Affichage : 2 sur 3. Voir tout (3)" in person
    assert "Réunion Centre" in html_text(
        await coordinator_web.get(f"/contacts/{contact}?tout=reunions")
    )


async def test_it_elides_before_a_vowel_and_speaks_of_an_organisation(coordinator_web, admin):
    net = await small_network(admin.client)
    body = html_text(await coordinator_web.get(f"/instances/{net['group']['id']}"))
    assert "Rôle d'Hélène Durand" in body and "Rôle de Hélène" not in body
    organisation = net["organisation"]["id"]
    page = html_text(await coordinator_web.get(f"/partenaires/{organisation}"))
    assert "Réunions où l'organisation était représentée" in page
    assert "où il était présent" not in page
