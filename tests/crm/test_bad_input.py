"""Bad input gets a clear French 4xx naming the field, and the database stays unchanged."""

from __future__ import annotations

import pytest

from maillage.tables import Contact, Organisation


@pytest.fixture
async def group(coordinator) -> dict:
    response = await coordinator.client.post(
        "/api/v1/groups", json={"name": "Commission jeunesse", "kind": "commission_thematique"}
    )
    return response.json()


async def post(coordinator, resource: str, payload) -> tuple[int, dict]:
    kwargs = {"content": payload} if isinstance(payload, bytes | str) else {"json": payload}
    response = await coordinator.client.post(
        f"/api/v1/{resource}", headers={"Content-Type": "application/json"}, **kwargs
    )
    return response.status_code, response.json()


def fields(body: dict) -> dict[str, str]:
    return {e["field"]: e["message"] for e in body["errors"]}


async def test_it_refuses_malformed_json(coordinator):
    status, body = await post(coordinator, "organisations", b'{"name": "Club", ')
    assert status == 400
    assert "JSON" in body["errors"][0]["message"]


async def test_it_names_a_field_of_the_wrong_type(coordinator):
    status, body = await post(
        coordinator, "communes", {"insee_code": "35901", "name": "A", "population": "beaucoup"}
    )
    assert status == 400
    assert fields(body) == {
        "population": "Type invalide : attendu un nombre entier ou rien (null)."
    }


async def test_it_refuses_unknown_fields(coordinator):
    status, body = await post(
        coordinator, "organisations", {"name": "Club", "kind": "association", "couleur": "bleu"}
    )
    assert status == 400
    assert "couleur" in fields(body)


async def test_it_refuses_a_missing_required_field(coordinator):
    status, body = await post(coordinator, "contacts", {"first_name": "Anne"})
    assert status == 400
    assert fields(body) == {"last_name": "Champ obligatoire manquant."}


async def test_it_refuses_ten_thousand_character_names(coordinator):
    status, body = await post(coordinator, "organisations", {"name": "A" * 10_000, "kind": "autre"})
    assert status == 400
    assert "au plus 300" in fields(body)["name"]
    assert await Organisation.count().run() == 0


@pytest.mark.parametrize("text", ["Club\x00", "Club\x1b[31m", "Club\nNouvelle-ligne"])
async def test_it_refuses_control_characters_in_single_line_fields(coordinator, text):
    status, body = await post(coordinator, "organisations", {"name": text, "kind": "autre"})
    assert status == 400
    assert "Caractère de contrôle" in fields(body)["name"]
    assert await Organisation.count().run() == 0


async def test_it_accepts_line_breaks_in_notes(coordinator):
    status, body = await post(
        coordinator, "organisations", {"name": "Club", "kind": "autre", "notes": "ligne 1\nligne 2"}
    )
    assert status == 201
    assert body["notes"] == "ligne 1\nligne 2"


async def test_it_refuses_an_oversized_body(coordinator):
    payload = b'{"name": "' + b"A" * (3 * 1024 * 1024) + b'", "kind": "autre"}'
    status, body = await post(coordinator, "organisations", payload)
    assert status == 413
    assert body["detail"] == "Corps de requête trop volumineux."


async def test_it_refuses_an_impossible_date(coordinator):
    status, body = await post(coordinator, "interactions", {"occurred_on": "2026-02-30"})
    assert status == 400
    assert "Date invalide" in fields(body)["occurred_on"]


async def test_it_refuses_a_meeting_in_an_unknown_body(coordinator):
    status, body = await post(
        coordinator,
        "meetings",
        {
            "working_group": 999,
            "title": "X",
            "starts_at": "2026-12-08T14:00:00+01:00",
            "ends_at": "2026-12-08T15:00:00+01:00",
        },
    )
    assert status == 400
    assert fields(body) == {"working_group": "Instance n° 999 introuvable."}


async def test_it_refuses_a_meeting_without_time_zone_or_ending_before_it_starts(
    coordinator, group
):
    status, body = await post(
        coordinator,
        "meetings",
        {
            "working_group": group["id"],
            "title": "X",
            "starts_at": "2026-12-08T14:00:00",
            "ends_at": "2026-12-08T15:00:00",
        },
    )
    assert status == 400 and "fuseau" in fields(body)["starts_at"]
    status, body = await post(
        coordinator,
        "meetings",
        {
            "working_group": group["id"],
            "title": "X",
            "starts_at": "2026-12-08T14:00:00+01:00",
            "ends_at": "2026-12-08T13:00:00+01:00",
        },
    )
    assert status == 400 and "finir après" in fields(body)["ends_at"]


async def test_it_refuses_a_membership_of_an_archived_contact(coordinator, group):
    _, contact = await post(coordinator, "contacts", {"first_name": "Paul", "last_name": "Morel"})
    await coordinator.client.post(f"/api/v1/contacts/{contact['id']}/archive")
    status, body = await post(
        coordinator, "memberships", {"contact": contact["id"], "working_group": group["id"]}
    )
    assert status == 400
    assert "archivé" in fields(body)["contact"]


async def test_it_explains_how_to_fix_identifiers(coordinator):
    status, body = await post(
        coordinator,
        "organisations",
        {
            "name": "Asso",
            "kind": "association",
            "siret": "39825979600018",
            "rna": "123",
            "uai": "ABC",
            "email": "pas-une-adresse",
            "phone": "12",
        },
    )
    assert status == 400
    errors = fields(body)
    assert set(errors) == {"siret", "rna", "uai", "email", "phone"}
    assert "clé de contrôle" in errors["siret"]
    assert "W suivi de 9 chiffres" in errors["rna"]


async def test_it_normalises_phone_numbers_and_identifiers(coordinator):
    status, body = await post(
        coordinator,
        "organisations",
        {
            "name": "Caf",
            "kind": "institution",
            "siret": "398 259 796 00017",
            "phone": "02 99 12 34 56",
        },
    )
    assert status == 201
    assert body["siret"] == "39825979600017"
    assert body["phone"] == "+33299123456"


async def test_it_keeps_a_single_primary_affiliation(coordinator):
    _, contact = await post(coordinator, "contacts", {"first_name": "Léa", "last_name": "Roux"})
    _, first = await post(coordinator, "organisations", {"name": "A", "kind": "autre"})
    _, second = await post(coordinator, "organisations", {"name": "B", "kind": "autre"})
    status, _ = await post(
        coordinator,
        "affiliations",
        {"contact": contact["id"], "organisation": first["id"], "is_primary": True},
    )
    assert status == 201
    status, body = await post(
        coordinator,
        "affiliations",
        {"contact": contact["id"], "organisation": second["id"], "is_primary": True},
    )
    assert status == 400
    assert "rattachement principal" in fields(body)["is_primary"]


async def test_it_refuses_end_dates_before_start(coordinator):
    _, contact = await post(coordinator, "contacts", {"first_name": "Léa", "last_name": "Roux"})
    _, org = await post(coordinator, "organisations", {"name": "A", "kind": "autre"})
    status, body = await post(
        coordinator,
        "affiliations",
        {
            "contact": contact["id"],
            "organisation": org["id"],
            "start_date": "2026-03-20",
            "end_date": "2026-03-01",
        },
    )
    assert status == 400
    assert "postérieure" in fields(body)["end_date"]
    assert await Contact.count().run() == 1


@pytest.mark.parametrize(
    ("query", "field"), [("commune=2147483648", "commune"), ("kind=" + "x" * 201, "kind")]
)
async def test_it_refuses_list_filters_beyond_their_bounds_in_french(coordinator, query, field):
    response = await coordinator.client.get(f"/api/v1/organisations?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert response.json()["errors"][0]["message"].startswith(("Valeur trop grande", "Trop long"))


async def test_the_service_applies_the_same_filter_bounds(coordinator):
    from maillage.crm.registry import SERVICES
    from maillage.crm.resources import FILTER_BOUNDS, ListQuery
    from maillage.errors import InvalidData

    too_far = FILTER_BOUNDS[int]["le"] + 1
    too_long = "x" * (FILTER_BOUNDS[str]["max_length"] + 1)
    with pytest.raises(InvalidData) as refused:
        await SERVICES["organisations"].page(
            ListQuery(filters={"commune": too_far, "kind": too_long})
        )
    messages = {e.field: e.message for e in refused.value.errors}
    assert messages == {
        "commune": "Identifiant hors limites (1 à 2147483647).",
        "kind": "Texte trop long (au plus 200 caractères).",
    }
    assert (await SERVICES["organisations"].page(ListQuery(filters={"commune": 1})))["total"] == 0
