"""A territory's département given by hand (#20): a new EPCI created before its communes are
loaded, or one whose communes all left, keeps the département it has, so that its coordinator
sees the shared Caf of that département; as soon as it has communes, theirs wins."""

# ruff: noqa: F811 (the fixtures imported from the scope tests are parameters here)
from __future__ import annotations

import html
import re

import httpx
import pytest

from maillage.crm.resources import ResourceService
from maillage.tables import Contact, Organisation, Territory
from tests.crm.test_scope_departements import (  # noqa: F401 - fixtures
    Departements,
    _departement,
    _ids,
    coordinator_a,
    deps,
    postgres_only,
)
from tests.crm.test_scope_partners import (  # noqa: F401 - fixtures
    SignIn,
    coordinator_of,
    partners,
)
from tests.support import run_command
from tests.web.helpers import Browser, create, open_browser, sign_in

SIREN_E = "200000040"


@pytest.fixture
async def new_epci(admin, deps: Departements) -> dict:
    """A territory of the 35 typed by hand, without communes yet."""
    return await create(
        admin.client,
        "territories",
        {"name": "CC nouvelle de Vilaine", "siren": SIREN_E, "departement": " 35 "},
    )


@pytest.fixture
async def coordinator_e(coordinator_of: SignIn, new_epci: dict) -> httpx.AsyncClient:
    return await coordinator_of(SIREN_E, "coord-e@maillage.example")


async def test_a_territory_without_communes_keeps_the_departement_given(
    deps: Departements, new_epci: dict, coordinator_e: httpx.AsyncClient
):
    assert new_epci["departement"] == "35"
    assert await _departement(Territory, new_epci) == "35"
    organisations = _ids(await coordinator_e.get("/api/v1/organisations"))
    assert {deps.caf_35["id"], deps.national["id"]} <= organisations
    assert deps.caf_29["id"] not in organisations
    people = _ids(await coordinator_e.get("/api/v1/contacts"))
    assert deps.agent_35["id"] in people and deps.agent_29["id"] not in people


@postgres_only
async def test_the_policies_follow_the_departement_given(
    deps: Departements, coordinator_e: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(ResourceService, "scope_clause", lambda self: None)
    organisations = _ids(await coordinator_e.get("/api/v1/organisations", params={"q": "caf"}))
    assert deps.caf_35["id"] in organisations and deps.caf_29["id"] not in organisations
    response = await coordinator_e.get(f"/api/v1/contacts/{deps.agent_29['id']}")
    assert response.status_code == 404


@pytest.mark.parametrize("code", ["20", "96", "977", "2C", "Rennes"])
async def test_it_refuses_an_unknown_departement(admin, code: str):
    response = await admin.client.post(
        "/api/v1/territories", json={"name": "CC inconnue", "departement": code}
    )
    assert response.status_code == 400, response.text
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert "Code de département inconnu" in errors["departement"]
    assert await Territory.count().where(Territory.name == "CC inconnue") == 0


async def test_it_normalises_the_code(admin):
    corse = await create(admin.client, "territories", {"name": "CC corse", "departement": "2a"})
    assert corse["departement"] == "2A"
    overseas = await create(
        admin.client, "territories", {"name": "CC d'outre-mer", "departement": "9 7 4"}
    )
    assert overseas["departement"] == "974"


async def test_a_change_by_hand_is_seen_and_places_the_partners_again(
    admin, deps: Departements, new_epci: dict, coordinator_e: httpx.AsyncClient
):
    """Typed 29 by mistake then corrected: the coordinator's next request sees the 35's."""
    c = admin.client
    # A partner local to the territory follows its département.
    club = await create(
        c,
        "organisations",
        {"name": "Club de Vilaine", "kind": "association", "territory": new_epci["id"]},
    )
    assert await _departement(Organisation, club) == "35"
    moved = await c.patch(
        f"/api/v1/territories/{new_epci['id']}",
        json={"version": new_epci["version"], "departement": "29"},
    )
    assert moved.status_code == 200, moved.text
    assert await _departement(Organisation, club) == "29"
    organisations = _ids(await coordinator_e.get("/api/v1/organisations"))
    assert deps.caf_29["id"] in organisations and deps.caf_35["id"] not in organisations


async def test_communes_of_another_departement_then_decide(
    admin, deps: Departements, new_epci: dict, coordinator_e: httpx.AsyncClient
):
    c = admin.client
    await create(
        c, "communes", {"insee_code": "29039", "name": "Concarneau", "territory": new_epci["id"]}
    )
    assert await _departement(Territory, new_epci) == "29"
    organisations = _ids(await coordinator_e.get("/api/v1/organisations"))
    assert deps.caf_29["id"] in organisations and deps.caf_35["id"] not in organisations
    # Another code typed while it has communes is refused with the reason; theirs passes.
    current = (await c.get(f"/api/v1/territories/{new_epci['id']}")).json()
    typed = await c.patch(
        f"/api/v1/territories/{new_epci['id']}",
        json={"version": current["version"], "departement": "35"},
    )
    assert typed.status_code == 400, typed.text
    assert typed.json()["errors"] == [
        {
            "field": "departement",
            "message": "Ce territoire a des communes : son département est celui de la majorité "
            "d'entre elles (« 29 ») et ne se saisit pas.",
        }
    ]
    assert await _departement(Territory, new_epci) == "29"
    same = await c.patch(
        f"/api/v1/territories/{new_epci['id']}",
        json={"version": current["version"], "departement": " 29 ", "name": "CC renommée"},
    )
    assert same.status_code == 200, same.text
    assert (same.json()["departement"], same.json()["name"]) == ("29", "CC renommée")


async def test_a_territory_whose_communes_all_leave_keeps_its_departement(
    admin, deps: Departements, new_epci: dict, coordinator_e: httpx.AsyncClient
):
    """Typed 35, given a commune of the Finistère (29), which then goes to D: without
    communes again, the territory keeps the 29 its communes gave it, not NULL."""
    c = admin.client
    commune = await create(
        c, "communes", {"insee_code": "29039", "name": "Concarneau", "territory": new_epci["id"]}
    )
    assert await _departement(Territory, new_epci) == "29"
    moved = await c.patch(
        f"/api/v1/communes/{commune['id']}",
        json={"version": commune["version"], "territory": deps.d["id"]},
    )
    assert moved.status_code == 200, moved.text
    assert await _departement(Territory, new_epci) == "29"
    assert await _departement(Territory, deps.d) == "29"
    organisations = _ids(await coordinator_e.get("/api/v1/organisations"))
    assert deps.caf_29["id"] in organisations and deps.caf_35["id"] not in organisations


def _value(page: str, name: str) -> str | None:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


async def test_the_page_form_shows_and_keeps_the_departement(
    app, admin, deps: Departements, new_epci: dict
):
    async with await open_browser(app) as client:
        browser = Browser(client)
        assert (await sign_in(browser, admin.email)).status_code == 303
        listed = await browser.get("/territoires")
        assert f'href="/territoires/{new_epci["id"]}/modifier"' in listed.text
        path = f"/territoires/{new_epci['id']}/modifier"
        form = await browser.get(path)
        assert form.status_code == 200, form.text
        text = html.unescape(form.text)
        assert "Département (code INSEE)" in text
        assert "utilisé tant que le territoire n'a pas de communes" in text
        assert _value(form.text, "departement") == "35"
        # Saved unchanged: the value stays.
        fields = {
            name: _value(form.text, name) or ""
            for name in ("name", "siren", "departement", "ctg_start", "ctg_end", "version")
        }
        response = await browser.post(path, fields)
        assert response.status_code == 303, response.text
        assert response.headers["location"] == f"/territoires/{new_epci['id']}/carte"
        assert await _departement(Territory, new_epci) == "35"
        # A wrong code: the form again, the message next to the field.
        current = (await admin.client.get(f"/api/v1/territories/{new_epci['id']}")).json()
        wrong = {**fields, "departement": "20", "version": str(current["version"])}
        response = await browser.post(path, wrong)
        assert response.status_code == 400
        assert "Code de département inconnu" in html.unescape(response.text)
    assert await _departement(Territory, new_epci) == "35"


async def test_the_command_line_gives_it_through_the_same_service(settings, admin, monkeypatch):
    territory = await create(admin.client, "territories", {"name": "CC corse", "siren": SIREN_E})
    done = await run_command(settings, monkeypatch, "territory", "departement", SIREN_E, "2b")
    assert done.exit_code == 0, done.output
    assert "CC corse (SIREN 200000040) : département 2B." in done.output
    assert await _departement(Territory, territory) == "2B"
    wrong = await run_command(settings, monkeypatch, "territory", "departement", SIREN_E, "20")
    assert wrong.exit_code == 1 and "Code de département inconnu" in wrong.output
    assert await _departement(Territory, territory) == "2B"
    await create(
        admin.client,
        "communes",
        {"insee_code": "2A004", "name": "Ajaccio", "territory": territory["id"]},
    )
    refused = await run_command(settings, monkeypatch, "territory", "departement", SIREN_E, "2B")
    assert refused.exit_code == 1, refused.output
    assert "celui de la majorité d'entre elles (« 2A ») et ne se saisit pas" in refused.output
    assert await _departement(Territory, territory) == "2A"


async def _moved_to_the_29(c: httpx.AsyncClient, territory: dict, how: str) -> None:
    """The territory's département goes from 35 to 29: typed by hand, or by its first commune."""
    if how == "typed":
        current = (await c.get(f"/api/v1/territories/{territory['id']}")).json()
        moved = await c.patch(
            f"/api/v1/territories/{territory['id']}",
            json={"version": current["version"], "departement": "29"},
        )
        assert moved.status_code == 200, moved.text
    else:
        await create(
            c,
            "communes",
            {"insee_code": "29039", "name": "Concarneau", "territory": territory["id"]},
        )
    assert await _departement(Territory, territory) == "29"


@pytest.mark.parametrize("how", ["typed", "communes"])
async def test_the_partners_placed_where_they_work_follow_the_territory(
    admin,
    deps: Departements,
    new_epci: dict,
    coordinator_e: httpx.AsyncClient,
    coordinator_a: httpx.AsyncClient,
    how: str,
):
    """Shared organisations without commune take the département of the bodies they sit in
    and of their local partners (`maillage.departements`), their branches without commune
    their parent's, their people their ties': when the territory's département changes, all
    of them change with it, in the same write, not at their next one (#20)."""
    c = admin.client
    body = await create(
        c, "groups", {"name": "CTG de Vilaine", "kind": "copil", "territory": new_epci["id"]}
    )
    club = await create(
        c,
        "organisations",
        {"name": "Club de Vilaine", "kind": "association", "territory": new_epci["id"]},
    )
    sitting = await create(c, "organisations", {"name": "Caf sans adresse", "kind": "institution"})
    branch = await create(
        c,
        "organisations",
        {"name": "Antenne de la Caf", "kind": "institution", "parent": sitting["id"]},
    )
    partner = await create(c, "organisations", {"name": "MSA sans adresse", "kind": "institution"})
    await create(
        c,
        "memberships",
        {
            "contact": deps.agent_35["id"],
            "working_group": body["id"],
            "organisation": sitting["id"],
        },
    )
    await create(c, "partnerships", {"organisation": partner["id"], "partner": club["id"]})
    adviser = await create(c, "contacts", {"first_name": "Agent", "last_name": "Antenne"})
    await create(c, "affiliations", {"contact": adviser["id"], "organisation": branch["id"]})
    # Shared (an affiliation to the Caf of the 35) and sitting in the body: of the 35 too.
    elu = await create(c, "contacts", {"first_name": "Élu", "last_name": "Vilaine"})
    await create(c, "affiliations", {"contact": elu["id"], "organisation": deps.caf_35["id"]})
    await create(c, "memberships", {"contact": elu["id"], "working_group": body["id"]})
    for table, record in (
        (Organisation, sitting),
        (Organisation, branch),
        (Organisation, partner),
        (Contact, adviser),
        (Contact, elu),
    ):
        assert await _departement(table, record) == "35", record.get(
            "name", record.get("last_name")
        )

    await _moved_to_the_29(c, new_epci, how)

    for table, record in (
        (Organisation, sitting),
        (Organisation, branch),
        (Organisation, partner),
        (Contact, adviser),
    ):
        assert await _departement(table, record) == "29", record.get(
            "name", record.get("last_name")
        )
    # Ties in the 35 and the 29 now: of none.
    assert await _departement(Contact, elu) is None
    shared = {sitting["id"], branch["id"], partner["id"]}
    assert shared <= _ids(await coordinator_e.get("/api/v1/organisations"))
    assert not shared & _ids(await coordinator_a.get("/api/v1/organisations"))
    assert adviser["id"] not in _ids(await coordinator_a.get("/api/v1/contacts"))
