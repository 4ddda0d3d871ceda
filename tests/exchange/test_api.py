"""The exchange API: roles, streaming downloads, imports in multipart, OpenAPI in French."""

from __future__ import annotations

import csv
import io

import pytest

from tests.exchange.test_import import GOOD


async def test_export_download_is_an_attachment(world, coordinator):
    response = await coordinator.client.get(
        "/api/v1/exports/contacts.csv", params={"preset": "caf"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "export-caf-" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Organisation"


async def test_export_errors_are_french(world, coordinator):
    response = await coordinator.client.get("/api/v1/exports/contacts.pdf")
    assert response.status_code == 400
    assert "Format inconnu" in response.json()["errors"][0]["message"]


async def test_reader_cannot_export_or_import(world, reader):
    assert (await reader.client.get("/api/v1/exports/contacts.csv")).status_code == 403
    files = {"file": ("p.csv", GOOD.encode(), "text/csv")}
    assert (await reader.client.post("/api/v1/imports", files=files)).status_code == 403


async def test_import_is_a_dry_run_unless_committed(database, coordinator):
    files = {"file": ("p.csv", GOOD.encode(), "text/csv")}
    dry = await coordinator.client.post("/api/v1/imports", files=files)
    assert dry.status_code == 200, dry.text
    assert dry.json()["enregistre"] is False
    assert dry.json()["totaux"]["creation"] == 3
    listed = await coordinator.client.get("/api/v1/contacts")
    assert listed.json()["total"] == 0
    done = await coordinator.client.post("/api/v1/imports", params={"commit": "true"}, files=files)
    assert done.json()["enregistre"] is True
    assert (await coordinator.client.get("/api/v1/contacts")).json()["total"] == 3


async def test_refused_import_returns_the_report(database, coordinator):
    bad = GOOD + "Mme;X;Y;pas-une-adresse;;;;\r\n"
    files = {"file": ("p.csv", bad.encode(), "text/csv")}
    response = await coordinator.client.post(
        "/api/v1/imports", params={"commit": "true"}, files=files
    )
    assert response.status_code == 400
    body = response.json()
    assert "Import non effectué" in body["detail"]
    assert body["rapport"]["totaux"]["rejet"] == 1


async def test_duplicates_and_merge(world, coordinator):
    c = coordinator.client
    twin = await c.post(
        "/api/v1/organisations", json={"name": "centre social des tilleuls", "kind": "association"}
    )
    pairs = (await c.get("/api/v1/duplicates", params={"type": "organisations"})).json()
    assert pairs and pairs[0]["score"] >= 70
    merged = await c.post(
        "/api/v1/duplicates/merge",
        json={
            "type": "organisations",
            "keep": world["tilleuls"]["id"],
            "remove": twin.json()["id"],
        },
    )
    assert merged.status_code == 200, merged.text


async def test_rgpd_endpoints(world, coordinator, admin):
    helene = world["helene"]["id"]
    page = await coordinator.client.get(
        f"/api/v1/rgpd/contacts/{helene}", params={"format": "html"}
    )
    assert "Données personnelles" in page.text
    assert (
        await coordinator.client.post(f"/api/v1/rgpd/contacts/{helene}/anonymise")
    ).status_code == 403
    done = await admin.client.post(f"/api/v1/rgpd/contacts/{helene}/anonymise")
    assert done.status_code == 200, done.text
    assert "article 14" in (await coordinator.client.get("/api/v1/rgpd/notice")).text


async def test_openapi_summaries_are_french(anonymous, database):
    schema = (await anonymous.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/v1/imports"]["post"]
    assert operation["summary"].startswith("Importer")
    assert {"400", "403", "413"} <= set(operation["responses"])


async def test_a_sheet_of_elected_officials_in_one_api_import(database, coordinator):
    """(#18) The API runs the same service: communes, town halls and mandates in one call."""
    from tests.exchange.test_import_elected_sheet import SHEET

    files = {"file": ("elus.csv", SHEET, "text/csv")}
    done = await coordinator.client.post("/api/v1/imports", params={"commit": "true"}, files=files)

    assert done.status_code == 200, done.text
    body = done.json()
    assert body["totaux"] == {"creation": 6, "mise_a_jour": 0, "inchange": 0, "rejet": 0}
    assert body["nombre_avertissements"] == 0
    assert "Commune « Acigné » (35001) : création" in body["lignes"][0]["resume"]
    assert "Organisation « Mairie d'Acigné » : création" in body["lignes"][0]["resume"]


@pytest.mark.parametrize("kind", ["organisations", "contacts"])
async def test_a_merge_of_an_id_no_record_can_have_is_not_found(world, coordinator, kind):
    """Found by the fuzzer on PostgreSQL: an id past the 32-bit integers reached the merge's
    lock statement and the driver refused it, a 500; it is a record that does not exist."""
    existing = world["tilleuls"]["id"] if kind == "organisations" else world["helene"]["id"]
    for keep, remove in ((existing, -1834101565036291840), (2**31, existing), (existing, 0)):
        response = await coordinator.client.post(
            "/api/v1/duplicates/merge", json={"type": kind, "keep": keep, "remove": remove}
        )
        assert response.status_code == 404, response.text
        assert "introuvable" in response.json()["detail"]
