"""The action plan: indicator values recorded per year, through the API and the pages."""

from __future__ import annotations


async def test_a_coordinator_records_a_value_for_a_year(world, coordinator):
    action = world.actions["rpe"]
    response = await coordinator.client.post(
        f"/api/v1/actions/{action}/indicator-values",
        json={"version": 1, "indicator": "Communes desservies", "year": 2026, "value": 2},
    )
    assert response.status_code == 200, response.text
    indicator = response.json()["indicators"][1]
    assert indicator["values"] == {"2026": 2.0} and indicator["targets"] == {"2026": 3.0}
    plan = (
        await coordinator.client.get("/api/v1/reports/action-plan", params={"year": 2026})
    ).json()
    rows = plan["items"][0]["indicators"]
    assert rows[1]["value_current"] == 2.0 and rows[1]["rate_current"] == 2 / 3
    audit = await coordinator.client.get("/api/v1/audit", params={"entity": "action"})
    assert audit.status_code == 403  # the audit log is for admins; the write went through it


async def test_a_stale_version_gets_a_conflict(world, coordinator):
    path = f"/api/v1/actions/{world.actions['rpe']}/indicator-values"
    first = {"version": 1, "indicator": "Familles accompagnées", "year": 2027, "target": 80}
    assert (await coordinator.client.post(path, json=first)).status_code == 200
    again = await coordinator.client.post(path, json={**first, "value": 10})
    assert again.status_code == 409


async def test_a_new_indicator_is_created_and_a_value_removed(world, coordinator):
    path = f"/api/v1/actions/{world.actions['numerique']}/indicator-values"
    created = await coordinator.client.post(
        path,
        json={
            "version": 1,
            "indicator": "Permanences",
            "unit": "demi-journées",
            "year": 2026,
            "value": 12,
        },
    )
    assert created.json()["indicators"] == [
        {"name": "Permanences", "unit": "demi-journées", "targets": {}, "values": {"2026": 12.0}}
    ]
    removed = await coordinator.client.post(
        path, json={"version": 2, "indicator": "Permanences", "year": 2026, "value": None}
    )
    assert removed.json()["indicators"][0]["values"] == {}
    unknown = await coordinator.client.post(
        path, json={"version": 3, "indicator": "Inconnu", "year": 2026}
    )
    assert unknown.status_code == 400
    assert "Indicateur « Inconnu » inconnu" in unknown.text


async def test_a_reader_cannot_record_values(world, reader):
    response = await reader.client.post(
        f"/api/v1/actions/{world.actions['rpe']}/indicator-values",
        json={"version": 1, "indicator": "Familles accompagnées", "year": 2026, "value": 1},
    )
    assert response.status_code == 403


async def test_the_pages_list_the_plan_and_record_a_value(world, coordinator):
    listing = await coordinator.client.get("/plan-d-action", params={"year": 2026})
    assert listing.status_code == 200
    assert "Ouvrir un relais petite enfance itinérant" in listing.text
    assert "110 %" in listing.text.replace("\u202f", " ").replace("\xa0", " ")
    action = world.actions["rpe"]
    posted = await coordinator.client.post(
        f"/plan-d-action/{action}/indicateurs",
        data={"version": "1", "indicator": "Communes desservies", "year": "2026", "value": "2,5"},
    )
    assert posted.status_code == 303
    detail = await coordinator.client.get(f"/plan-d-action/{action}")
    assert "2,5" in detail.text
    stale = await coordinator.client.post(
        f"/plan-d-action/{action}/indicateurs",
        data={"version": "1", "indicator": "Communes desservies", "year": "2026", "value": "abc"},
    )
    assert stale.status_code == 303 and "erreur=" in stale.headers["location"]


async def test_a_reader_sees_the_pages_without_the_form(world, reader):
    detail = await reader.client.get(f"/plan-d-action/{world.actions['rpe']}")
    assert detail.status_code == 200 and '<form class="inline" method="post"' not in detail.text
    page = await reader.client.get("/bilan", params={"year": 2026})
    assert page.status_code == 200
    assert "Points d'attention avant envoi" in page.text
    assert "/bilan/telecharger?year=2026&amp;format=docx" in page.text
    download = await reader.client.get(
        "/bilan/telecharger", params={"year": 2026, "format": "xlsx"}
    )
    assert download.headers["content-disposition"] == 'attachment; filename="bilan-2026.xlsx"'
