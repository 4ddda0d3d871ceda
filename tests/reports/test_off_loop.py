"""The bilan's CPU work runs beside the event loop, never on it (#16): while one coordinator
downloads a département's bilan, the others' pages keep answering."""

from __future__ import annotations

import threading

import pytest

from maillage.reports import annual, service


@pytest.mark.parametrize("fmt", ["json", "docx", "xlsx"])
async def test_assembling_and_rendering_run_on_heavy_work_threads(
    world, coordinator, monkeypatch, fmt
):
    seen: dict[str, str] = {}

    def spy(name, function):
        def recorded(*args, **kwargs):
            seen[name] = threading.current_thread().name
            return function(*args, **kwargs)

        return recorded

    monkeypatch.setattr(annual, "assemble", spy("assemble", annual.assemble))
    monkeypatch.setattr(service, "render", spy("render", service.render))
    response = await coordinator.client.get(
        "/api/v1/reports/annual", params={"year": 2026, "format": fmt}
    )
    assert response.status_code == 200, response.text
    loop_thread = threading.current_thread().name
    assert seen["assemble"].startswith("maillage-heavy") and seen["assemble"] != loop_thread
    if fmt != "json":
        assert seen["render"].startswith("maillage-heavy")
