"""The network by territory (#20): a coordinator sees their territory's network, a Caf
conseillère her portfolio's together; a shared institution appears where it has local ties."""

from __future__ import annotations

import pytest

from tests.territory_world import accounts, build_territory_world
from tests.web.helpers import Browser, open_browser, sign_in


@pytest.fixture
async def scoped(app, admin, coordinator):
    world = await build_territory_world(admin.client)
    async with accounts(app, coordinator.token) as clients:
        yield world, clients


async def _names(client, path: str = "/api/v1/network/report", **params) -> set[str]:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return {row["name"] for row in response.json()["nodes"]}


async def test_a_coordinator_sees_the_network_of_their_territory(scoped):
    world, clients = scoped
    names = await _names(clients["coordinateur-a"])
    assert "Ardoise Jeunesse" in names
    # The Caf sits on the COPIL Ardoise: a shared institution with a local tie.
    assert "Caf de Vilaine-et-Lande" in names
    assert "Rives Jeunesse" not in names
    # A shared institution tied to nothing here does not appear.
    assert "Bailleur départemental" not in names
    people = await _names(clients["lecteur-a"], level="contacts")
    assert "Camille Ardoiseier" in people and "Camille Rivesier" not in people
    other = await clients["coordinateur-a"].get(
        "/api/v1/network/report", params={"territory": world.b.territory["id"]}
    )
    assert other.status_code == 404
    export = await clients["coordinateur-a"].get("/api/v1/network/export/csv")
    assert export.status_code == 200
    assert "Ardoise Jeunesse" in export.text and "Rives Jeunesse" not in export.text


async def test_a_caf_conseillere_sees_her_portfolio_together_or_one_by_one(scoped):
    world, clients = scoped
    client = clients["conseillere-caf"]
    names = await _names(client)
    assert {"Ardoise Jeunesse", "Rives Jeunesse", "Caf de Vilaine-et-Lande"} <= names
    one = await _names(client, territory=world.b.territory["id"])
    assert "Rives Jeunesse" in one and "Ardoise Jeunesse" not in one
    assert "Caf de Vilaine-et-Lande" in one
    missing = await client.get("/api/v1/network/report", params={"territory": world.c["id"]})
    assert missing.status_code == 404


async def test_without_territories_the_network_is_everything(scoped):
    _world, clients = scoped
    names = await _names(clients["sans-territoire"])
    assert {"Ardoise Jeunesse", "Rives Jeunesse", "Bailleur départemental"} <= names


async def test_the_network_page_follows_the_rule(app, scoped):
    world, _clients = scoped
    async with await open_browser(app) as raw:
        browser = Browser(raw)
        assert (await sign_in(browser, "coordinateur-a@maillage.example")).status_code == 303
        page = await browser.get("/reseau?niveau=contacts")
        assert page.status_code == 200
        assert "Ardoise" in page.text and "Rivesier" not in page.text
        other = await browser.get(f"/reseau?territoire={world.b.territory['id']}")
        assert other.status_code == 404
        drawing = await browser.get(f"/reseau/dessin?territoire={world.b.territory['id']}")
        assert drawing.status_code == 404


@pytest.mark.slow
async def test_the_command_line_takes_one_or_several_territories(scoped, settings):
    import os
    import subprocess
    import sys

    world, _clients = scoped
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLAGE_")}
    env["MAILLAGE_DATA_DIR"] = str(settings.data_dir)
    env["MAILLAGE_DATABASE_URL"] = settings.database_url

    def network(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "maillage", "network", "report", "--format", "csv"]
        return subprocess.run(
            [*command, *args], env=env, capture_output=True, text=True, timeout=180
        )

    one = network("--territory", str(world.a.territory["id"]))
    assert one.returncode == 0, one.stderr
    assert "Ardoise Jeunesse" in one.stdout and "Rives Jeunesse" not in one.stdout
    both = network(
        "--territory", str(world.a.territory["id"]), "--territory", str(world.b.territory["id"])
    )
    assert "Ardoise Jeunesse" in both.stdout and "Rives Jeunesse" in both.stdout
    unknown = network("--territory", "999999")
    assert unknown.returncode == 1 and "Aucun territoire n'a ce numéro : 999999" in unknown.stderr
