"""Duplicates reviewed as a coordinator expects (#21): the two records side by side, a choice
per field, a merge that cannot happen in one stray click, « pas des doublons » remembered, and
weak pairs (two people who share a surname) never offered."""

from __future__ import annotations

from maillage.exchange.duplicates import find_duplicates, first_names_agree, linked_counts
from maillage.tables import Contact, DuplicateDismissal, Membership
from tests.web.helpers import create, html_text


async def _pair(client) -> tuple[dict, dict]:
    a = await create(
        client,
        "contacts",
        {
            "first_name": "Hélène",
            "last_name": "Durand",
            "email": "h.durand@mairie.example",
            "phone": "0299000001",
        },
    )
    b = await create(
        client, "contacts", {"first_name": "Helene", "last_name": "Durand", "phone": "0299000002"}
    )
    group = await create(client, "groups", {"name": "COPIL", "kind": "copil"})
    await create(
        client,
        "memberships",
        {"contact": b["id"], "working_group": group["id"], "role": "titulaire"},
    )
    return a, b  # fmt: skip


async def test_the_list_offers_a_comparison_not_a_one_click_merge(admin, coordinator_web):
    a, b = await _pair(admin.client)
    page = await coordinator_web.get("/doublons")
    assert f"/doublons/comparer?type=contacts&amp;a={a['id']}&amp;b={b['id']}" in page.text
    assert "Garder A" not in html_text(page)
    assert "1 paire à examiner" in html_text(page)


async def test_the_comparison_shows_each_field_and_what_follows(admin, coordinator_web):
    a, b = await _pair(admin.client)
    page = await coordinator_web.get(f"/doublons/comparer?type=contacts&a={a['id']}&b={b['id']}")
    text = html_text(page)
    assert "Prénom Hélène Helene" in text
    assert "Téléphone +33299000001 +33299000002" in text or "0299000001" in text
    assert "1 participation" in text and "1 participations" not in text
    assert "La fusion ne peut pas être annulée." in text
    assert 'name="champ_first_name" value="a"' in page.text


async def test_the_comparison_counts_the_exchanges_and_decisions_that_follow(
    admin, coordinator_web
):
    """The merge moves a person's exchanges and the decisions they carry: the comparison says
    so before the coordinator chooses which record goes."""
    a, b = await _pair(admin.client)
    group = await create(
        admin.client,
        "groups",
        {"name": "Commission petite enfance", "kind": "commission_thematique"},
    )
    await create(
        admin.client,
        "decisions",
        {"summary": "Ouvrir un LAEP", "working_group": group["id"], "carrier_contact": b["id"]},
    )
    await create(
        admin.client,
        "interactions",
        {"occurred_on": "2026-11-30", "summary": "Appel", "contacts": [b["id"]]},
    )
    page = await coordinator_web.get(f"/doublons/comparer?type=contacts&a={a['id']}&b={b['id']}")
    text = html_text(page)
    assert "1 participation, 1 échange, 1 décision" in text
    town = await create(
        admin.client, "organisations", {"name": "Mairie de Melesse", "kind": "collectivite"}
    )
    await create(
        admin.client,
        "decisions",
        {"summary": "Relais", "working_group": group["id"], "carrier_organisation": town["id"]},
    )
    await create(
        admin.client,
        "actions",
        {"title": "Relais petite enfance", "pilot": town["id"], "partners": [town["id"]]},
    )
    counted = await linked_counts("organisations", town["id"])
    assert counted["décisions"] == 1 and counted["échanges"] == 0
    assert counted["fiches action"] == 1  # piloted and partnered: one fiche
    twin = await create(
        admin.client, "organisations", {"name": "Mairie Melesse", "kind": "collectivite"}
    )
    page = await coordinator_web.get(
        f"/doublons/comparer?type=organisations&a={town['id']}&b={twin['id']}"
    )
    assert "1 fiche action, 1 décision" in html_text(page)


async def test_the_merge_keeps_the_values_chosen_field_by_field(admin, coordinator_web):
    a, b = await _pair(admin.client)
    answer = await coordinator_web.post(
        "/doublons/fusionner",
        {"type": "contacts", "a": a["id"], "b": b["id"], "garder": "a",
         "champ_first_name": "a", "champ_phone": "b"},
    )  # fmt: skip
    assert answer.status_code == 303
    kept = await Contact.select().where(Contact.id == a["id"]).first()
    assert kept["first_name"] == "Hélène" and kept["phone"] == "+33299000002"
    assert kept["email"] == "h.durand@mairie.example"
    assert await Contact.count().where(Contact.id == b["id"]) == 0
    assert await Membership.count().where(Membership.contact == a["id"]) == 1


async def test_keeping_the_second_record_works_too(admin, coordinator_web):
    a, b = await _pair(admin.client)
    await coordinator_web.post(
        "/doublons/fusionner",
        {"type": "contacts", "a": a["id"], "b": b["id"], "garder": "b", "champ_first_name": "a"},
    )
    kept = await Contact.select().where(Contact.id == b["id"]).first()
    assert kept["first_name"] == "Hélène"  # chosen from A
    assert kept["email"] == "h.durand@mairie.example"  # empty in B: filled from A
    assert await Contact.count().where(Contact.id == a["id"]) == 0


async def test_not_duplicates_is_remembered(admin, coordinator_web):
    a, b = await _pair(admin.client)
    answer = await coordinator_web.post(
        "/doublons/ignorer", {"type": "contacts", "a": b["id"], "b": a["id"]}
    )
    assert answer.status_code == 303
    assert "ne seront plus proposées" in html_text(await coordinator_web.get("/doublons"))
    assert await find_duplicates("contacts") == []
    await coordinator_web.post(
        "/doublons/ignorer", {"type": "contacts", "a": a["id"], "b": b["id"]}
    )
    assert await DuplicateDismissal.count() == 1
    assert await Contact.count() == 2  # nothing merged


async def test_two_people_sharing_a_surname_are_not_offered(admin):
    await create(admin.client, "contacts", {"first_name": "Anne", "last_name": "Pierre"})
    await create(admin.client, "contacts", {"first_name": "André", "last_name": "Pierre"})
    await create(admin.client, "contacts", {"first_name": "J.", "last_name": "Lemaire"})
    await create(admin.client, "contacts", {"first_name": "Jean", "last_name": "Lemaire"})
    pairs = await find_duplicates("contacts")
    assert [(p.first["first_name"], p.second["first_name"]) for p in pairs] == [("J.", "Jean")]


def test_first_names_agree_when_one_shortens_the_other():
    assert first_names_agree("Marie", "Marie-Anne")
    assert first_names_agree("J.", "Jean")
    assert first_names_agree("Hélène", "HELENE")
    assert not first_names_agree("Anne", "André")
