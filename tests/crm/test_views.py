"""The daily views: right content, and a number of queries that does not grow with the rows."""

from __future__ import annotations

import datetime as dt

import pytest

from maillage.crm import views
from maillage.tables import Affiliation, Membership
from tests.read_models import misfits


async def create(client, resource: str, payload: dict) -> dict:
    response = await client.post(f"/api/v1/{resource}", json=payload)
    assert response.status_code == 201, response.text
    return response.json()


async def populate(client, people: int) -> dict:
    """A commune, its mairie, an operator under DSP, a body with members and held meetings."""
    commune = await create(
        client, "communes", {"insee_code": "35901", "name": "Ardoise", "population": 4200}
    )
    mairie = await create(
        client,
        "organisations",
        {"name": "Mairie d'Ardoise", "kind": "collectivite", "commune": commune["id"], "axes": [1]},
    )
    operator = await create(
        client,
        "organisations",
        {
            "name": "Crèches & Cie",
            "kind": "operateur_dsp",
            "commune": commune["id"],
            "axes": [1, 2],
        },
    )
    creche = await create(
        client,
        "organisations",
        {"name": "Crèche Les Lutins", "kind": "etablissement", "commune": commune["id"]},
    )
    await create(
        client,
        "partnerships",
        {
            "organisation": mairie["id"],
            "partner": operator["id"],
            "kind": "delegation_dsp",
            "contract_reference": "DSP-2024-01",
            "delegated_service": creche["id"],
            "end_date": "2027-03-31",
        },
    )
    group = await create(
        client, "groups", {"name": "Commission petite enfance", "kind": "commission_thematique"}
    )
    meeting = await create(
        client,
        "meetings",
        {
            "working_group": group["id"],
            "title": "Commission de rentrée",
            "starts_at": "2026-09-15T14:00:00+02:00",
            "ends_at": "2026-09-15T16:00:00+02:00",
            "status": "tenue",
        },
    )
    contacts = []
    for index in range(people):
        contact = await create(
            client, "contacts", {"first_name": f"Prénom{index}", "last_name": f"Nom{index:03d}"}
        )
        await create(
            client,
            "affiliations",
            {
                "contact": contact["id"],
                "organisation": mairie["id"],
                "function": "agent",
                "elected_mandate": index == 0,
            },
        )
        await create(
            client,
            "memberships",
            {
                "contact": contact["id"],
                "working_group": group["id"],
                "role": "titulaire" if index == 0 else "membre",
                "organisation": mairie["id"],
                "start_date": "2026-04-01",
            },
        )
        invitation = await create(
            client, "invitations", {"meeting": meeting["id"], "contact": contact["id"]}
        )
        attendance = "present" if index % 2 == 0 else "absent"
        await client.patch(
            f"/api/v1/invitations/{invitation['id']}", json={"version": 1, "attendance": attendance}
        )
        contacts.append(contact)
    return {
        "commune": commune,
        "mairie": mairie,
        "operator": operator,
        "group": group,
        "meeting": meeting,
        "contacts": contacts,
    }


async def test_the_organisation_view_shows_people_contracts_bodies_and_meetings(coordinator):
    world = await populate(coordinator.client, 4)
    view = (
        await coordinator.client.get(f"/api/v1/organisations/{world['mairie']['id']}/overview")
    ).json()
    assert view["organisation"]["name"] == "Mairie d'Ardoise"
    assert [c["name"] for c in view["contacts"]] == [f"Prénom{i} Nom{i:03d}" for i in range(4)]
    contract = view["partnerships"][0]
    assert contract["kind"] == "delegation_dsp" and contract["with_name"] == "Crèches & Cie"
    assert (
        contract["end_date"] == "2027-03-31"
        and contract["delegated_service_name"] == "Crèche Les Lutins"
    )
    assert view["bodies"][0]["name"] == "Commission petite enfance"
    assert len(view["bodies"][0]["members"]) == 4
    assert view["meetings_attended"]["total"] == 1
    assert view["meetings_attended"]["items"][0]["present"] == 2
    # The one statement gives the meeting's date as the ORM would, on both engines.
    assert view["meetings_attended"]["items"][0]["starts_at"] == world["meeting"]["starts_at"]
    assert view["totals"] == {
        "contacts": 4,
        "partnerships": 1,
        "bodies": 1,
        "meetings_attended": 1,
    }


async def test_the_totals_come_back_for_a_partner_nobody_from_which_attended(coordinator):
    world = await populate(coordinator.client, 2)
    view = (
        await coordinator.client.get(f"/api/v1/organisations/{world['operator']['id']}/overview")
    ).json()
    assert view["meetings_attended"] == {"total": 0, "items": []}
    # Its contract with the mairie counts from either side; it has no people and no seat.
    assert view["totals"] == {
        "contacts": 0,
        "partnerships": 1,
        "bodies": 0,
        "meetings_attended": 0,
    }


async def test_the_group_view_counts_attendance_by_role(coordinator):
    world = await populate(coordinator.client, 4)
    view = (await coordinator.client.get(f"/api/v1/groups/{world['group']['id']}/overview")).json()
    assert [m["name"] for m in view["members_by_role"]["titulaire"]] == ["Prénom0 Nom000"]
    assert len(view["members_by_role"]["membre"]) == 3
    assert view["attendance"] == {
        "invited": 4,
        "present": 2,
        "absent": 2,
        "excused": 0,
        "unknown": 0,
        "rate": 0.5,
    }
    assert view["meetings"][0]["invited"] == 4 and view["meetings"][0]["present"] == 2


async def test_the_contact_view_lists_links_and_attendance(coordinator):
    world = await populate(coordinator.client, 2)
    contact_id = world["contacts"][0]["id"]
    view = (await coordinator.client.get(f"/api/v1/contacts/{contact_id}/overview")).json()
    assert view["affiliations"][0]["organisation.name"] == "Mairie d'Ardoise"
    assert "token_nonce" not in str(view)
    assert view["memberships"][0]["working_group.name"] == "Commission petite enfance"
    assert view["invitations"][0]["attendance"] == "present"
    assert view["attendance"]["rate"] == 1.0


async def test_the_commune_view_lists_partners_by_axis(coordinator):
    world = await populate(coordinator.client, 1)
    view = (
        await coordinator.client.get(f"/api/v1/communes/{world['commune']['id']}/overview")
    ).json()
    by_axis = {a["axis"]: [p["name"] for p in a["partners"]] for a in view["axes"]}
    assert by_axis[1] == ["Crèches & Cie", "Mairie d'Ardoise"]
    assert by_axis[2] == ["Crèches & Cie"]
    assert by_axis[3] == []
    assert [p["name"] for p in view["partners_without_axis"]] == ["Crèche Les Lutins"]


async def test_the_views_are_what_their_read_models_say(coordinator):
    """Every key of each view, nested rows included, is its TypedDict's, of its type (#17):
    the types stay true to the loaders on both engines."""
    world = await populate(coordinator.client, 3)
    today = dt.date.today()
    checked = [
        (
            await views.organisation_overview(world["mairie"]["id"], today, limit=2),
            views.OrganisationOverview,
        ),
        (await views.contact_overview(world["contacts"][0]["id"]), views.ContactOverview),
        (await views.group_overview(world["group"]["id"], today, limit=2), views.GroupOverview),
        (await views.commune_overview(world["commune"]["id"]), views.CommuneOverview),
    ]
    for value, model in checked:
        assert misfits(value, model) == [], model.__name__
    organisation = checked[0][0]
    # Every section has rows, so that each row's model is checked too.
    assert all(organisation[s] for s in ("contacts", "partnerships", "bodies"))
    assert organisation["meetings_attended"]["items"] and checked[2][0]["meetings"]


@pytest.mark.parametrize("view", ["organisations", "groups", "contacts", "communes"])
async def test_views_run_a_bounded_number_of_queries(coordinator, queries, view):
    small = await populate(coordinator.client, 2)
    ids = {
        "organisations": small["mairie"]["id"],
        "groups": small["group"]["id"],
        "contacts": small["contacts"][0]["id"],
        "communes": small["commune"]["id"],
    }
    queries.reset()
    await coordinator.client.get(f"/api/v1/{view}/{ids[view]}/overview")
    with_two = queries.count
    for index in range(10):
        contact = await create(
            coordinator.client, "contacts", {"first_name": "X", "last_name": f"Y{index}"}
        )
        await create(
            coordinator.client,
            "affiliations",
            {"contact": contact["id"], "organisation": small["mairie"]["id"]},
        )
        await create(
            coordinator.client,
            "memberships",
            {"contact": contact["id"], "working_group": small["group"]["id"]},
        )
        await create(
            coordinator.client,
            "invitations",
            {"meeting": small["meeting"]["id"], "contact": contact["id"]},
        )
    queries.reset()
    await coordinator.client.get(f"/api/v1/{view}/{ids[view]}/overview")
    assert queries.count == with_two
    assert queries.count <= 8


async def test_list_pages_run_a_bounded_number_of_queries(coordinator, queries):
    await populate(coordinator.client, 3)
    queries.reset()
    await coordinator.client.get("/api/v1/organisations", params={"limit": 2})
    few = queries.count
    queries.reset()
    await coordinator.client.get("/api/v1/organisations", params={"limit": 100})
    assert queries.count == few <= 5


async def test_elections_end_mandates_and_list_seats_to_fill(coordinator, admin):
    world = await populate(coordinator.client, 3)
    commune_id = world["commune"]["id"]
    preview = (
        await coordinator.client.get(
            f"/api/v1/communes/{commune_id}/elections", params={"date": "2026-10-01"}
        )
    ).json()
    assert [m["contact.last_name"] for m in preview["mandates"]] == ["Nom000"]
    assert [s["working_group.name"] for s in preview["seats_to_fill"]] == [
        "Commission petite enfance"
    ]
    assert await Affiliation.count().where(Affiliation.end_date.is_not_null()).run() == 0

    applied = await coordinator.client.post(
        f"/api/v1/communes/{commune_id}/elections", json={"date": "2026-10-01"}
    )
    assert applied.status_code == 200
    ended = await Affiliation.select().where(Affiliation.end_date == dt.date(2026, 10, 1)).run()
    assert [row["elected_mandate"] for row in ended] == [True]
    seats = await Membership.select().where(Membership.end_date.is_not_null()).run()
    assert [row["role"] for row in seats] == ["titulaire"]
    assert await Membership.count().run() == 3  # history stays
    log = (
        await admin.client.get(
            "/api/v1/audit", params={"entity": "commune", "entity_id": commune_id}
        )
    ).json()
    assert log["items"][0]["action"] == "elections"
    again = (
        await coordinator.client.get(
            f"/api/v1/communes/{commune_id}/elections", params={"date": "2026-10-01"}
        )
    ).json()
    assert again["mandates"] == [] and again["seats_to_fill"] == []


async def test_reader_cannot_apply_elections(reader, coordinator):
    world = await populate(coordinator.client, 1)
    response = await reader.client.post(
        f"/api/v1/communes/{world['commune']['id']}/elections", json={"date": "2026-10-01"}
    )
    assert response.status_code == 403
