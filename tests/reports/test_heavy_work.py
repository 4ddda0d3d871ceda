"""Bilans and packs are computed in a worker process and memoised (#16): identical requests
(same parameters, same data) get the bytes of the first computation; any write changes the
answer; a pack export is journaled every time, computed or not."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from litestar.serialization import encode_json

from maillage import offloop
from maillage.graph import drawing
from maillage.graph.data import NetworkFilter
from maillage.graph.network import network_service
from maillage.reports import service
from maillage.tables import AuditEvent, Meeting
from tests.reports.world import TODAY


def computed(job: str) -> int:
    return offloop.dispatched[job]


@pytest.mark.slow
async def test_the_bilan_is_computed_in_a_worker_process(world, reader):
    before = computed("annual_job")
    response = await reader.client.get(
        "/api/v1/reports/annual", params={"year": 2026, "format": "docx"}
    )
    assert response.status_code == 200, response.text
    assert response.content[:2] == b"PK"
    assert computed("annual_job") == before + 1
    assert offloop.processes() >= 1 and offloop._pool is not None


@pytest.mark.slow
async def test_an_identical_bilan_is_not_computed_again(world, reader):
    params = {"year": 2026, "format": "docx"}
    before = computed("annual_job")
    first = await reader.client.get("/api/v1/reports/annual", params=params)
    second = await reader.client.get("/api/v1/reports/annual", params=params)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert computed("annual_job") == before + 1
    # Another format or year is another answer.
    xlsx = await reader.client.get("/api/v1/reports/annual", params={**params, "format": "xlsx"})
    assert xlsx.status_code == 200 and computed("annual_job") == before + 2


async def test_identical_bilans_asked_together_are_computed_once(world, reader):
    before = computed("annual_job")
    answers = await asyncio.gather(
        *(
            reader.client.get("/api/v1/reports/annual", params={"year": 2026, "format": "json"})
            for _ in range(2)
        )
    )
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert computed("annual_job") == before + 1


async def test_a_write_changes_the_answer(world, coordinator):
    params = {"year": 2026, "format": "json"}
    first = (await coordinator.client.get("/api/v1/reports/annual", params=params)).json()
    before = computed("annual_job")
    action = world.actions["rpe"]
    written = await coordinator.client.post(
        f"/api/v1/actions/{action}/indicator-values",
        json={"version": 1, "indicator": "Communes desservies", "year": 2026, "value": 2},
    )
    assert written.status_code == 200, written.text
    second = (await coordinator.client.get("/api/v1/reports/annual", params=params)).json()
    assert computed("annual_job") == before + 1
    assert second != first


async def test_a_year_without_data_is_refused_in_french_from_the_worker(world, reader):
    response = await reader.client.get(
        "/api/v1/reports/annual", params={"year": 2019, "format": "docx"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "year"
    assert response.json()["errors"][0]["message"].startswith("Aucune donnée pour 2019")


async def test_a_pack_is_computed_once_and_journaled_each_time(world, reader):
    meeting = (await Meeting.select(Meeting.id).order_by(Meeting.starts_at).first())["id"]
    before = computed("pack_job")
    exports = await AuditEvent.count().where(AuditEvent.action == "export")
    path = f"/api/v1/meetings/{meeting}/pack"
    first = await reader.client.get(path, params={"format": "docx"})
    second = await reader.client.get(path, params={"format": "docx"})
    assert first.status_code == second.status_code == 200, first.text
    assert first.content == second.content
    assert computed("pack_job") == before + 1
    assert await AuditEvent.count().where(AuditEvent.action == "export") == exports + 2


async def test_the_service_answers_the_command_line_without_a_pool(world):
    saved = offloop._config
    offloop.configure(0)
    try:
        before = computed("annual_job")
        content = await service.annual(2026, None, TODAY, "xlsx")
        assert content[:2] == b"PK" and computed("annual_job") == before + 1
    finally:
        offloop.configure(*saved)


async def test_the_network_json_is_made_where_the_analysis_is(world, reader):
    """The API's JSON comes back as bytes from the heavy-work process; the analysis itself
    (1.1 MB pickled on a département) never crosses to the serving process."""
    outputs, analyses = computed("output_job"), computed("analysis_job")
    whole = await reader.client.get("/api/v1/network/report")
    metrics = await reader.client.get("/api/v1/network/metrics")
    assert whole.status_code == metrics.status_code == 200, whole.text
    assert whole.headers["content-type"] == "application/json"
    assert computed("output_job") == outputs + 2
    assert computed("analysis_job") == analyses
    body = whole.json()
    assert set(metrics.json()) == {"level", "filter", "empty_reason", "network", "nodes"}
    assert metrics.json() == {key: body[key] for key in metrics.json()}
    # The same JSON as the analysis read back here would give.
    report = await network_service.report(NetworkFilter())
    assert body == json.loads(encode_json(report.to_dict()))


async def test_each_drawing_gets_its_own_nonce_from_one_rendering(world, reader):
    before = computed("output_job")
    pages = [await reader.client.get("/api/v1/network/graph.html") for _ in range(2)]
    nonces = []
    for page in pages:
        assert page.status_code == 200, page.text
        nonce = re.search(r"'nonce-([^']+)'", page.headers["content-security-policy"])
        assert nonce is not None
        nonces.append(nonce.group(1))
        assert f'nonce="{nonce.group(1)}"' in page.text
        assert drawing.NONCE_MARK not in page.text
    assert nonces[0] != nonces[1]
    assert computed("output_job") == before + 1


async def test_the_diagnostic_file_is_made_in_a_worker_process(world, reader):
    before = computed("diagnostic_download_job")
    response = await reader.client.get("/api/v1/reports/diagnostic", params={"format": "xlsx"})
    assert response.status_code == 200, response.text
    assert response.content[:2] == b"PK"
    assert computed("diagnostic_download_job") == before + 1
