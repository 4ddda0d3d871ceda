"""Exports, imports and duplicates within a territory (#20): a scoped coordinator exports their
territory's people and the shared ones, imports local records into it without touching anyone
else's, and merges only duplicates of their territory."""

from __future__ import annotations

import csv
import io

from tests.crm import test_scope_partners as shared_fixtures
from tests.crm.test_scope import SIREN_A, SIREN_B, _user
from tests.web.helpers import create

# The world of the partners' tests: two territories, a town hall and its maire in the first,
# an association and its adjoint in the second, the Caf and its conseillère shared.
partners = shared_fixtures.partners
coordinator_a = shared_fixtures.coordinator_a
coordinator_of = shared_fixtures.coordinator_of  # what coordinator_a signs in with


def _names(response) -> list[str]:
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    header = rows[0]
    first = header.index("Prénom")
    return sorted(row[first] for row in rows[1:])


async def test_a_coordinator_exports_their_people_and_the_shared_ones(partners, coordinator_a):
    everyone = await coordinator_a.get("/api/v1/exports/contacts.csv")
    assert _names(everyone) == ["Anne", "Claire"]
    organisations = await coordinator_a.get("/api/v1/exports/organisations.csv")
    assert "Parents des Rives" not in organisations.text
    assert "Mairie d'Ardoise" in organisations.text
    other = await coordinator_a.get(
        "/api/v1/exports/contacts.csv", params={"territory": partners.b["id"]}
    )
    assert other.status_code == 400
    assert "hors de votre périmètre" in other.json()["errors"][0]["message"]


async def test_the_caf_export_of_a_territory_has_the_shared_people_who_sit_there(
    admin, partners, coordinator_a
):
    p = partners
    params = {"preset": "caf", "territory": p.a["id"]}
    assert _names(await coordinator_a.get("/api/v1/exports/contacts.csv", params=params)) == [
        "Anne"
    ]
    await create(
        admin.client,
        "memberships",
        {"contact": p.conseillere_caf["id"], "working_group": p.body_a["id"]},
    )
    with_caf = await coordinator_a.get("/api/v1/exports/contacts.csv", params=params)
    assert _names(with_caf) == ["Anne", "Claire"]


async def test_a_caf_user_covering_two_territories_gets_them_consolidated(app, partners):
    async with await _user(
        app, "conseillere@caf.example", "coordinateur", [SIREN_A, SIREN_B]
    ) as caf:
        assert _names(await caf.get("/api/v1/exports/contacts.csv")) == ["Anne", "Bruno", "Claire"]
        per_territory = await caf.get(
            "/api/v1/exports/contacts.csv", params={"territory": partners.b["id"]}
        )
        assert _names(per_territory) == ["Bruno"]


async def _import(client, text: str, kind: str, commit: bool = True):
    files = {"file": ("partenaires.csv", text.encode(), "text/csv")}
    return await client.post(
        "/api/v1/imports", params={"kind": kind, "commit": str(commit).lower()}, files=files
    )


async def test_a_coordinators_import_creates_local_records_in_their_territory(
    admin, partners, coordinator_a
):
    text = "Nom;Prénom;Courriel;Raison sociale\r\nLudo;Denis;denis@ludo.example;Ludothèque\r\n"
    done = await _import(coordinator_a, text, "contacts")
    assert done.status_code == 200, done.text
    created = await admin.client.get("/api/v1/contacts", params={"q": "denis"})
    assert [row["territory"] for row in created.json()["items"]] == [partners.a["id"]]
    ludo = await admin.client.get("/api/v1/organisations", params={"q": "ludotheque"})
    assert [row["territory"] for row in ludo.json()["items"]] == [partners.a["id"]]


async def test_a_coordinators_import_cannot_touch_a_shared_record(partners, coordinator_a):
    text = "Nom;Type;Téléphone\r\nMairie d'Ardoise;Collectivité;0299000001\r\n"
    text += "Caf du département;Institution;0299000002\r\n"
    refused = await _import(coordinator_a, text, "organisations")
    assert refused.status_code == 400, refused.text
    lines = {line["ligne"]: line for line in refused.json()["rapport"]["lignes"]}
    assert lines[2]["action"] == "mise_a_jour"  # their town hall: fine
    assert lines[3]["action"] == "rejet"
    assert "« Caf du département » : fiche partagée" in lines[3]["problemes"][0]["motif"]
    unchanged = await coordinator_a.get(f"/api/v1/organisations/{partners.caf['id']}")
    assert unchanged.json()["phone"] is None


async def test_another_territorys_partner_is_not_found_by_an_import(admin, partners, coordinator_a):
    # « Parents des Rives » exists in the other territory: the line creates a local one.
    text = "Nom;Type;Téléphone\r\nParents des Rives;Association;0299000003\r\n"
    done = await _import(coordinator_a, text, "organisations")
    assert done.status_code == 200, done.text
    theirs = await admin.client.get(f"/api/v1/organisations/{partners.asso_b['id']}")
    assert theirs.json()["phone"] is None
    both = await admin.client.get("/api/v1/organisations", params={"q": "parents des rives"})
    assert sorted(row["territory"] for row in both.json()["items"]) == sorted(
        [partners.a["id"], partners.b["id"]]
    )


async def test_duplicates_stay_within_the_territory_and_shared_ones_are_not_merged(
    admin, partners, coordinator_a
):
    c, p = coordinator_a, partners
    twin_a = await create(c, "contacts", {"first_name": "Anne", "last_name": "Ardoise"})
    await create(
        admin.client,
        "contacts",
        {"first_name": "Bruno", "last_name": "Rives", "territory": p.b["id"]},
    )
    found = await c.get("/api/v1/duplicates", params={"type": "contacts"})
    assert found.status_code == 200, found.text
    pairs = {(pair["a"]["id"], pair["b"]["id"]) for pair in found.json()}
    people = {i for pair in pairs for i in pair}
    assert people == {p.maire_a["id"], twin_a["id"]}  # the twins of the other territory unseen

    async def merge(kind: str, keep: int, remove: int) -> int:
        body = {"type": kind, "keep": keep, "remove": remove}
        return (await c.post("/api/v1/duplicates/merge", json=body)).status_code

    assert await merge("contacts", p.maire_a["id"], p.adjoint_b["id"]) == 404
    assert await merge("contacts", p.maire_a["id"], p.conseillere_caf["id"]) == 403
    assert await merge("organisations", p.caf["id"], p.mairie_a["id"]) == 403
    assert await merge("contacts", p.maire_a["id"], twin_a["id"]) == 200
    gone = await admin.client.get(f"/api/v1/contacts/{twin_a['id']}")
    assert gone.status_code == 404


async def test_a_siret_of_another_territory_is_refused_without_naming_its_record(
    admin, partners, coordinator_a
):
    """The SIRET is unique in the whole instance (#20): a coordinator who types or imports one
    held by another territory's partner gets a field error that names neither the partner nor
    its territory, nothing written."""
    siret = "39825979600017"
    await admin.client.patch(
        f"/api/v1/organisations/{partners.asso_b['id']}", json={"siret": siret, "version": 1}
    )
    made = await coordinator_a.post(
        "/api/v1/organisations", json={"name": "Club", "kind": "association", "siret": siret}
    )
    assert made.status_code == 400, made.text
    error = made.json()["errors"][0]
    assert error["field"] == "siret"
    assert "autre territoire" in error["message"]
    assert "Parents des Rives" not in made.text and "Deux Rives" not in made.text
    assert str(partners.asso_b["id"]) not in made.text
    text = "Nom;Type;SIRET\r\nClub;Association;398 259 796 00017\r\n"
    refused = await _import(coordinator_a, text, "organisations")
    assert refused.status_code == 400, refused.text
    line = refused.json()["rapport"]["lignes"][0]
    assert line["action"] == "rejet"
    assert line["problemes"][0]["colonne"] == "C (« SIRET »)"
    assert "autre territoire" in line["problemes"][0]["motif"]
    assert "Parents des Rives" not in refused.text
    # A SIRET the coordinator sees is named as before.
    await admin.client.patch(
        f"/api/v1/organisations/{partners.mairie_a['id']}",
        json={"siret": "39825979600025", "version": 1},
    )
    seen = await coordinator_a.post(
        "/api/v1/organisations",
        json={"name": "Club", "kind": "association", "siret": "39825979600025"},
    )
    assert seen.status_code == 409
    assert "Mairie d'Ardoise" in seen.text


async def test_a_merge_that_brings_a_commune_places_the_organisation_again(admin, partners):
    """The kept organisation had no commune (shared, on an instance of two territories); the
    duplicate's commune is in the second: merged, it is local there, as an edit would make it."""
    c, p = admin.client, partners
    kept = await create(c, "organisations", {"name": "Ludothèque", "kind": "association"})
    assert kept["territory"] is None
    duplicate = await create(
        c,
        "organisations",
        {"name": "Ludothèque", "kind": "association", "commune": p.asso_b["commune"]},
    )
    assert duplicate["territory"] == p.b["id"]
    body = {"type": "organisations", "keep": kept["id"], "remove": duplicate["id"]}
    merged = await c.post("/api/v1/duplicates/merge", json=body)
    assert merged.status_code == 200, merged.text
    after = (await c.get(f"/api/v1/organisations/{kept['id']}")).json()
    assert after["commune"] == p.asso_b["commune"]
    assert after["territory"] == p.b["id"]


async def test_the_pairs_said_not_duplicates_are_read_within_the_territory(admin, partners):
    """« Ce ne sont pas des doublons » (#20): a scoped user reads only the pairs of records they
    see, not the whole instance's list."""
    from maillage.actor import CLI
    from maillage.crm import scope as territory_scope
    from maillage.exchange import duplicates

    c, p = admin.client, partners
    twin_b = await create(
        c, "contacts", {"first_name": "Bruno", "last_name": "Rives", "territory": p.b["id"]}
    )
    twin_a = await create(
        c, "contacts", {"first_name": "Anne", "last_name": "Ardoise", "territory": p.a["id"]}
    )
    for first, second in ((p.adjoint_b, twin_b), (p.maire_a, twin_a)):
        await duplicates.dismiss(CLI, "contacts", first["id"], second["id"])
    every = await duplicates._dismissed("contacts")
    assert len(every) == 2
    with territory_scope.entered(territory_scope.Scope({p.a["id"]: "coordinateur"})):
        mine = await duplicates._dismissed("contacts")
    assert mine == {tuple(sorted((p.maire_a["id"], twin_a["id"])))}
