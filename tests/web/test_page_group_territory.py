"""The territory of a body (#20): a coordinator of one territory creates bodies in it without
choosing; a coordinator of several chooses in the « Territoire » select of the bodies' form
(as on the partner and contact forms); saving a body unchanged keeps its territory; the API
follows the same rule (absent: placed; null: shared, for the host team only)."""

from __future__ import annotations

import re

from maillage.tables import WorkingGroup
from tests.crm.test_scope import SIREN_A, SIREN_B, _user
from tests.crm.test_scope_partners import Partners, partners  # noqa: F401 - the fixture
from tests.web.test_page_territory_field import _browser, _options


async def _territory(name: str) -> int | None:
    rows = await WorkingGroup.select(WorkingGroup.territory).where(WorkingGroup.name == name)
    assert len(rows) == 1, name
    return rows[0]["territory"]


async def test_a_coordinator_of_one_territory_creates_bodies_in_it(app, partners: Partners):  # noqa: F811
    async with _browser(app, "un@maillage.example", [SIREN_A]) as browser:
        form = await browser.get("/instances/nouvelle")
        assert form.status_code == 200
        assert 'id="f-territory"' not in form.text
        response = await browser.post(
            "/instances/nouvelle", {"name": "Commission jeunesse", "kind": "groupe_travail"}
        )
        assert response.status_code == 303, response.text
        assert await _territory("Commission jeunesse") == partners.a["id"]
        # Saving the edit form unchanged keeps it.
        body = response.headers["location"]
        form = await browser.get(f"{body}/modifier")
        assert form.status_code == 200 and 'id="f-territory"' not in form.text
        response = await browser.post(
            f"{body}/modifier",
            {"name": "Commission jeunesse", "kind": "groupe_travail", "version": "1"},
        )
        assert response.status_code == 303, response.text
        assert await _territory("Commission jeunesse") == partners.a["id"]


async def test_a_coordinator_of_two_territories_chooses_in_the_select(app, partners: Partners):  # noqa: F811
    async with _browser(app, "deux@maillage.example", [SIREN_A, SIREN_B]) as browser:
        form = await browser.get("/instances/nouvelle")
        assert _options(form.text) == ["—", "CA des Deux Rives", "CC du Val d'Ardoise"]
        response = await browser.post(
            "/instances/nouvelle", {"name": "Réseau parentalité", "kind": "reseau"}
        )
        assert response.status_code == 400
        assert 'id="f-territory-erreur"' in response.text
        assert "Choisissez un de vos territoires" in response.text
        response = await browser.post(
            "/instances/nouvelle",
            {"name": "Réseau parentalité", "kind": "reseau", "territory": str(partners.b["id"])},
        )
        assert response.status_code == 303, response.text
        assert await _territory("Réseau parentalité") == partners.b["id"]
        body = response.headers["location"]
        form = await browser.get(f"{body}/modifier")
        selected = re.search(r'<option value="(\d+)" selected>', form.text)
        assert selected is not None and int(selected[1]) == partners.b["id"]
        response = await browser.post(
            f"{body}/modifier",
            {
                "name": "Réseau parentalité",
                "kind": "reseau",
                "territory": str(partners.b["id"]),
                "version": "1",
            },
        )
        assert response.status_code == 303, response.text
        assert await _territory("Réseau parentalité") == partners.b["id"]


async def test_the_host_team_may_leave_a_body_shared(app, partners: Partners):  # noqa: F811
    async with _browser(app, "hote@maillage.example", []) as browser:
        form = await browser.get("/instances/nouvelle")
        assert _options(form.text) == [
            "—",
            "Partagé entre les territoires",
            "CA des Deux Rives",
            "CC du Val d'Ardoise",
        ]
        response = await browser.post(
            "/instances/nouvelle", {"name": "Comité départemental", "kind": "copil"}
        )
        assert response.status_code == 303, response.text
        assert await _territory("Comité départemental") is None
        response = await browser.post(
            "/instances/nouvelle",
            {"name": "Commission Rives", "kind": "copil", "territory": str(partners.b["id"])},
        )
        assert response.status_code == 303, response.text
        assert await _territory("Commission Rives") == partners.b["id"]


async def test_the_api_places_a_body_by_the_same_rule(app, partners: Partners):  # noqa: F811
    async with await _user(app, "api-un@maillage.example", "coordinateur", [SIREN_A]) as one:
        made = await one.post("/api/v1/groups", json={"name": "GT API", "kind": "groupe_travail"})
        assert made.status_code == 201, made.text
        assert made.json()["territory"] == partners.a["id"]
        # An update that says nothing of the territory keeps it.
        changed = await one.patch(
            f"/api/v1/groups/{made.json()['id']}", json={"version": 1, "name": "GT API bis"}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["territory"] == partners.a["id"]
        shared = await one.post(
            "/api/v1/groups", json={"name": "GT partagé", "kind": "reseau", "territory": None}
        )
        assert shared.status_code == 400, shared.text
        assert shared.json()["errors"][0]["field"] == "territory"
    async with await _user(
        app, "api-deux@maillage.example", "coordinateur", [SIREN_A, SIREN_B]
    ) as two:
        missing = await two.post("/api/v1/groups", json={"name": "GT ?", "kind": "reseau"})
        assert missing.status_code == 400, missing.text
        assert missing.json()["errors"][0]["field"] == "territory"
        chosen = await two.post(
            "/api/v1/groups",
            json={"name": "GT B", "kind": "reseau", "territory": partners.b["id"]},
        )
        assert chosen.status_code == 201 and chosen.json()["territory"] == partners.b["id"]
