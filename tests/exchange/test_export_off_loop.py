"""Exports are built in a heavy-work process (#16): the same file, headers and journal as when
built in the serving process, and the worker's temporary copy removed once sent."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from maillage import offloop
from maillage.tables import AuditEvent


async def test_an_export_is_built_in_a_worker_and_its_copy_removed(world, coordinator, monkeypatch):
    removed: list[str] = []
    unlink = os.unlink

    def spy(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        removed.append(str(path))
        return unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", spy)
    path = "/api/v1/exports/contacts.csv?preset=caf"
    jobs = offloop.dispatched["export_job"]
    built = await coordinator.client.get(path)
    assert built.status_code == 200, built.text
    assert offloop.dispatched["export_job"] == jobs + 1
    assert offloop.processes() == 1  # the application's pool: the job ran in its worker
    today = f"{dt.date.today():%Y-%m-%d}"
    assert built.headers["content-disposition"] == f'attachment; filename="export-caf-{today}.csv"'
    assert built.headers["content-type"].startswith("text/csv; charset=utf-8")
    assert removed and all(Path(p).name.startswith("maillage-export-") for p in removed)
    assert not any(Path(p).exists() for p in removed)

    # The same request built in this process gives the same bytes.
    monkeypatch.setattr(offloop, "_get_pool", lambda: None)
    here = await coordinator.client.get(path)
    assert here.content == built.content and b"Lef\xc3\xa8vre" in built.content

    events = (
        await AuditEvent.select(AuditEvent.entity, AuditEvent.changes)
        .where(AuditEvent.action == "export")
        .output(load_json=True)
    )
    lines = len(built.content.decode("utf-8-sig").splitlines()) - 1  # under the header
    assert [(e["entity"], e["changes"]["lignes"]) for e in events] == [("contacts", lines)] * 2
    assert events[0]["changes"]["fichier"] == f"export-caf-{today}.csv"


async def test_an_xlsx_export_streams_from_the_worker(world, coordinator):
    jobs = offloop.dispatched["export_job"]
    response = await coordinator.client.get("/api/v1/exports/annuaire.xlsx")
    assert response.status_code == 200 and response.content.startswith(b"PK\x03\x04")
    assert offloop.dispatched["export_job"] == jobs + 1
