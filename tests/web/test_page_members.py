"""Several members at once (a search, an organisation, a function) and a titulaire paired with
their suppléant, from the body's page (#21)."""

from __future__ import annotations

from maillage.tables import Membership
from tests.web.helpers import create, html_text


async def _town(client) -> dict:
    mairie = await create(
        client, "organisations", {"name": "Mairie de Melesse", "kind": "collectivite"}
    )
    centre = await create(client, "organisations", {"name": "Centre social", "kind": "association"})
    people = {}
    for first, last, org, function in [
        ("Anne", "Morel", mairie, "Adjointe à l'enfance"),
        ("Marc", "Roux", mairie, "Conseiller municipal délégué à l'enfance"),
        ("Lina", "Petit", mairie, "Secrétaire de mairie"),
        ("Paul", "Guérin", centre, "Directeur"),
    ]:
        person = await create(client, "contacts", {"first_name": first, "last_name": last})
        await create(
            client,
            "affiliations",
            {
                "contact": person["id"],
                "organisation": org["id"],
                "function": function,
                "is_primary": True,
            },
        )
        people[first] = person
    group = await create(
        client, "groups", {"name": "Commission enfance", "kind": "commission_thematique"}
    )
    return {"mairie": mairie, "centre": centre, "people": people, "group": group}  # fmt: skip


async def test_members_are_found_by_function_and_added_at_once(admin, coordinator_web):
    town = await _town(admin.client)
    group = town["group"]["id"]
    page = await coordinator_web.get(f"/instances/{group}/membres/plusieurs?fonction=enfance")
    text = html_text(page)
    assert "2 personnes trouvées" in text
    assert "Anne Morel — Mairie de Melesse, Adjointe à l'enfance" in text
    assert "Lina" not in text
    ids = [town["people"]["Anne"]["id"], town["people"]["Marc"]["id"]]
    answer = await coordinator_web.post(
        f"/instances/{group}/membres/plusieurs",
        [("contacts", i) for i in ids] + [("role", "titulaire")],
    )
    assert answer.status_code == 303
    shown = html_text(await coordinator_web.get(answer.headers["location"]))
    assert "2 personnes inscrites." in shown
    rows = await Membership.select().where(Membership.working_group == group)
    assert sorted(r["contact"] for r in rows) == sorted(ids)
    assert {r["role"] for r in rows} == {"titulaire"}
    assert {r["organisation"] for r in rows} == {town["mairie"]["id"]}


async def test_an_organisation_brings_its_people_and_members_are_not_added_twice(
    admin, coordinator_web
):
    town = await _town(admin.client)
    group = town["group"]["id"]
    anne = town["people"]["Anne"]["id"]
    await coordinator_web.post(f"/instances/{group}/membres/plusieurs",
                               [("contacts", anne), ("role", "membre")])  # fmt: skip
    page = await coordinator_web.get(
        f"/instances/{group}/membres/plusieurs?organisation={town['mairie']['id']}"
    )
    assert "3 personnes trouvées" in html_text(page)
    assert "Anne Morel — Mairie de Melesse, Adjointe à l'enfance (déjà membre)" in html_text(page)
    mairie_people = [town["people"][n]["id"] for n in ("Anne", "Marc", "Lina")]
    answer = await coordinator_web.post(
        f"/instances/{group}/membres/plusieurs",
        [("contacts", i) for i in mairie_people] + [("role", "membre")],
    )
    shown = html_text(await coordinator_web.get(answer.headers["location"]))
    assert "2 personnes inscrites. Déjà membres : Anne Morel." in shown
    assert await Membership.count().where(Membership.working_group == group) == 3


async def test_a_wrong_role_adds_nobody(admin, coordinator_web):
    town = await _town(admin.client)
    group = town["group"]["id"]
    ids = [p["id"] for p in town["people"].values()]
    answer = await coordinator_web.post(
        f"/instances/{group}/membres/plusieurs", [("contacts", i) for i in ids] + [("role", "roi")]
    )
    assert answer.status_code == 303
    shown = html_text(await coordinator_web.get(answer.headers["location"]))
    assert "Valeur non reconnue 'roi' : voir les valeurs permises." in shown
    assert "$.role" not in shown
    assert await Membership.count() == 0


async def test_a_titulaire_is_paired_with_a_suppleant(admin, coordinator_web):
    town = await _town(admin.client)
    group = town["group"]["id"]
    anne, lina = town["people"]["Anne"]["id"], town["people"]["Lina"]["id"]
    await coordinator_web.post(f"/instances/{group}/membres/plusieurs",
                               [("contacts", anne), ("role", "titulaire")])  # fmt: skip
    await coordinator_web.post(f"/instances/{group}/membres/plusieurs",
                               [("contacts", lina), ("role", "suppleant")])  # fmt: skip
    titulaire = await Membership.select().where(Membership.contact == anne).first()
    suppleant = await Membership.select().where(Membership.contact == lina).first()
    page = await coordinator_web.get(f"/instances/{group}")
    assert f'action="/instances/{group}/membres/{titulaire["id"]}/suppleant"' in page.text
    answer = await coordinator_web.post(
        f"/instances/{group}/membres/{titulaire['id']}/suppleant",
        {"substitute": suppleant["id"]},
    )
    assert answer.status_code == 303
    assert "Suppléance enregistrée." in html_text(await coordinator_web.get(f"/instances/{group}"))
    paired = await Membership.select().where(Membership.id == titulaire["id"]).first()
    assert paired["substitute"] == suppleant["id"]
    # A suppléant cannot be a titulaire's titulaire: the rule's French reason is shown.
    wrong = await coordinator_web.post(
        f"/instances/{group}/membres/{suppleant['id']}/suppleant",
        {"substitute": titulaire["id"]},
    )
    assert "Seul un titulaire peut avoir un suppléant." in html_text(
        await coordinator_web.get(wrong.headers["location"])
    )
