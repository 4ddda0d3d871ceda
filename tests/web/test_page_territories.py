"""Territories' pages: the map of the communes, and a new territory from the public registers
found by name, previewed, then confirmed (#18)."""

from __future__ import annotations

import re

import pytest

from maillage.actor import REGISTERS
from maillage.opendata import load as loading
from maillage.opendata import registers
from maillage.opendata.load import load_territory
from maillage.tables import Affiliation, Commune, Territory
from tests.web.helpers import html_text

SIREN = "247300015"


@pytest.fixture(scope="module")
def snapshot() -> registers.Snapshot:
    return registers.read_territory(
        SIREN, key=registers.mandate_key("test-secret-key-not-for-production")
    )


@pytest.fixture
def registers_read_once(snapshot, monkeypatch):
    async def cached(siren: str, secret: str, cache_dir=None) -> registers.Snapshot:
        if siren != SIREN:
            registers.find_epci(siren)  # the real French errors
        return snapshot

    monkeypatch.setattr(loading, "read_registers", cached)


async def test_the_map_draws_one_path_per_commune_and_the_same_table(
    database, snapshot, reader_web
):
    report = await load_territory(REGISTERS, SIREN, dry_run=False, snapshot=snapshot)

    response = await reader_web.get(f"/territoires/{report.territory_id}/carte")

    assert response.status_code == 200
    svg = re.search(r"<svg.*?</svg>", response.text, flags=re.S)
    assert svg is not None
    assert svg.group(0).count("<path ") == 3
    assert "<title>La Léchère (73187) : 2\u202f586 habitants</title>" in svg.group(0)
    text = html_text(response)
    # html_text folds spaces: the narrow no-break spaces of French numbers too.
    assert "3 communes, 7 220 habitants" in text
    assert "La Léchère 73187 2 586" in text
    assert "https://" not in svg.group(0).replace("http://www.w3.org/2000/svg", "")


async def test_an_admin_finds_the_epci_previews_and_confirms(
    database, admin_web, registers_read_once
):
    found = await admin_web.get("/territoires/nouveau?q=vallees+aigueblanche")
    assert f'href="/territoires/nouveau?epci={SIREN}"' in found.text

    preview = await admin_web.get(f"/territoires/nouveau?epci={SIREN}")
    assert preview.status_code == 200
    text = html_text(preview)
    assert "Simulation (rien n'a été écrit) : 3 communes créées" in text
    assert "Commune La Léchère (73187) : création" in text
    assert await Territory.count() == 0

    confirmed = await admin_web.post("/territoires/nouveau", {"epci": SIREN})
    assert confirmed.status_code == 303
    territory = await Territory.select().first()
    assert confirmed.headers["location"] == f"/territoires/{territory['id']}/carte"
    assert await Commune.count() == 3
    assert await Affiliation.count() == 52


async def test_a_commune_code_given_as_epci_gets_a_french_message(database, admin_web):
    response = await admin_web.get("/territoires/nouveau?epci=73003")
    assert response.status_code == 400
    assert "ressemble à un code INSEE de commune" in html_text(response)


async def test_a_coordinator_cannot_load_a_territory(database, coordinator_web):
    assert (await coordinator_web.get("/territoires/nouveau")).status_code == 403
    response = await coordinator_web.post("/territoires/nouveau", {"epci": SIREN})
    assert response.status_code == 403
    assert await Territory.count() == 0


async def test_the_api_previews_then_loads(database, admin, registers_read_once):
    preview = await admin.client.post("/api/v1/territories/load", json={"epci": SIREN})
    assert preview.status_code == 200, preview.text
    assert preview.json()["enregistre"] is False
    assert preview.json()["totaux"]["contacts"] == 38
    assert await Territory.count() == 0

    loaded = await admin.client.post(
        "/api/v1/territories/load", json={"epci": SIREN, "dry_run": False}
    )
    assert loaded.status_code == 200
    assert loaded.json()["enregistre"] is True
    assert loaded.json()["territoire"] == (await Territory.select().first())["id"]

    again = await admin.client.post(
        "/api/v1/territories/load", json={"epci": SIREN, "dry_run": False}
    )
    assert again.json()["changements"] == []
