"""The network API on a small territory entered through the API, on the test database."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import networkx as nx
import pytest

from maillage.graph.network import load_network_data, network_service

HOSTILE = "Assoc <script>alert('x')</script> « été » 🎉"


async def create(client, resource: str, payload: dict) -> dict:
    response = await client.post(f"/api/v1/{resource}", json=payload)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def territory(coordinator) -> dict:
    c = coordinator.client
    ville = await create(
        c, "communes", {"insee_code": "35001", "name": "Ville", "population": 9000}
    )
    caf = await create(c, "organisations", {"name": "Caf", "kind": "institution", "axes": [3]})
    mairie = await create(
        c,
        "organisations",
        {"name": "Mairie", "kind": "collectivite", "axes": [3], "commune": ville["id"]},
    )
    club = await create(
        c,
        "organisations",
        {"name": "Club ados", "kind": "association", "axes": [3], "commune": ville["id"]},
    )
    hostile = await create(c, "organisations", {"name": HOSTILE, "kind": "association"})
    people = {}
    for org, (first, last) in zip(
        (caf, mairie, club, hostile),
        [("Anne", "Caf"), ("Marc", "Maire"), ("Lou", "Club"), ("Zoé", "X")],
        strict=True,
    ):
        person = await create(
            c, "contacts", {"first_name": first, "last_name": last, "civility": "Mme"}
        )
        await create(
            c,
            "affiliations",
            {"contact": person["id"], "organisation": org["id"], "is_primary": True},
        )
        people[org["name"]] = person
    group = await create(
        c,
        "groups",
        {
            "name": "Commission jeunesse",
            "kind": "commission_thematique",
            "axes": [3],
            "communes": [ville["id"]],
        },
    )
    for org in (caf, mairie):
        await create(
            c,
            "memberships",
            {
                "contact": people[org["name"]]["id"],
                "working_group": group["id"],
                "organisation": org["id"],
            },
        )
    await create(
        c,
        "partnerships",
        {"organisation": caf["id"], "partner": hostile["id"], "kind": "convention"},
    )
    await create(
        c,
        "interactions",
        {
            "occurred_on": "2025-01-10",
            "kind": "visite",
            "organisations": [club["id"]],
            "follow_up_on": "2025-02-01",
        },
    )
    return {"caf": caf, "mairie": mairie, "club": club, "hostile": hostile, "group": group}


def flagged(body: dict) -> dict[str, list[str]]:
    return {u["name"]: [r["message"] for r in u["reasons"]] for u in body["under_connected"]}


async def test_the_report_explains_who_is_under_connected(reader, territory):
    response = await reader.client.get("/api/v1/network/report")
    assert response.status_code == 200, response.text
    body = json.loads(response.text, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
    assert set(body) >= {"network", "nodes", "under_connected", "suggestions"}
    assert body["network"]["nodes"] == 4
    assert flagged(body)["Club ados"][0] == "isolé : aucun lien"
    club = next(n for n in body["nodes"] if n["name"] == "Club ados")
    assert club["last_contact"] == "2025-01-10"
    advice = next(s for s in body["suggestions"] if s["name"] == "Club ados")
    assert advice["bodies"][0]["name"] == "Commission jeunesse"
    assert body["follow_ups"][0]["message"] == "relance prévue le 01/02/2025"


async def test_the_suggested_action_adds_the_partner_to_the_body(coordinator, reader, territory):
    body = (await reader.client.get("/api/v1/network/suggestions")).json()
    advice = next(s for s in body["suggestions"] if s["name"] == "Club ados")
    action = advice["bodies"][0]["action"]
    assert (await reader.client.post(action["path"], json=action["body"])).status_code == 403
    response = await coordinator.client.post(action["path"], json=action["body"])
    assert response.status_code == 201, response.text
    after = (await reader.client.get("/api/v1/network/under-connected")).json()
    assert (
        "Club ados" not in flagged(after) or "isolé : aucun lien" not in flagged(after)["Club ados"]
    )


async def test_an_organisation_without_anybody_cannot_be_added_without_a_contact(
    coordinator, territory
):
    empty = await create(
        coordinator.client, "organisations", {"name": "Sans personne", "kind": "autre"}
    )
    response = await coordinator.client.post(
        "/api/v1/network/memberships",
        json={"working_group": territory["group"]["id"], "organisation": empty["id"]},
    )
    assert response.status_code == 400
    assert "Aucune personne active" in response.json()["errors"][0]["message"]


async def test_results_are_cached_until_the_data_change(coordinator, reader, territory):
    await reader.client.get("/api/v1/network/metrics")
    before = network_service.computations
    await reader.client.get("/api/v1/network/metrics")
    await reader.client.get("/api/v1/network/under-connected")
    assert network_service.computations == before
    await create(coordinator.client, "organisations", {"name": "Nouvelle", "kind": "autre"})
    body = (await reader.client.get("/api/v1/network/metrics")).json()
    assert network_service.computations == before + 1
    assert body["network"]["nodes"] == 5


async def test_loading_takes_one_query_per_table(territory, queries):
    await load_network_data(dt.date.today())
    assert queries.count == 18


async def test_the_drawing_page_needs_a_token_and_loads_nothing_from_elsewhere(
    anonymous, reader, territory
):
    assert (await anonymous.get("/api/v1/network/graph.html")).status_code == 401
    response = await reader.client.get("/api/v1/network/graph.html")
    assert response.status_code == 200
    assert "default-src 'none'" in response.headers["content-security-policy"]
    html = response.text
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert "<script>alert" not in html and "Assoc &lt;script&gt;" in html
    script = await anonymous.get("/static/vis-network/vis-network.min.js")
    assert script.status_code == 200 and "vis-network" in script.text[:200]


async def test_the_standalone_drawing_is_a_download(reader, territory):
    response = await reader.client.get("/api/v1/network/graph.html?standalone=true")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    assert "<script src=" not in response.text


async def test_exports_open_in_gephi_and_excel(reader, territory):
    gexf = await reader.client.get("/api/v1/network/export/gexf")
    graph = nx.read_gexf(io.BytesIO(gexf.content))
    assert {graph.nodes[n]["label"] for n in graph} >= {"Caf", HOSTILE}
    csv = await reader.client.get("/api/v1/network/export/csv")
    assert csv.content.startswith(b"\xef\xbb\xbf") and b"\r\n" in csv.content
    graphml = await reader.client.get("/api/v1/network/export/graphml")
    assert nx.read_graphml(io.BytesIO(graphml.content)).number_of_nodes() == 4
    assert (await reader.client.get("/api/v1/network/export/pdf")).status_code == 404


async def test_filters_that_select_nothing_and_bad_periods_answer_in_french(reader, territory):
    body = (await reader.client.get("/api/v1/network/report", params={"kind": "entreprise"})).json()
    assert body["nodes"] == [] and body["empty_reason"].startswith("Aucune fiche")
    bad = await reader.client.get(
        "/api/v1/network/report", params={"start": "2025-12-31", "end": "2025-01-01"}
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["message"] == "La date de début doit précéder la date de fin."
    wrong = await reader.client.get("/api/v1/network/report", params={"kind": "banque"})
    assert wrong.status_code == 400
