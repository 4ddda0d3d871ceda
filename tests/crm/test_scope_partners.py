"""Organisations and contacts local to a territory, or shared (#20): a town hall, its élus and
a local association belong to their territory; the Caf and its people are shared; a person on
the bodies of two territories is shared; out of scope answers 404."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from tests.crm.test_scope import SIREN_A, SIREN_B, _user
from tests.web.helpers import create


@dataclass
class Partners:
    a: dict
    b: dict
    mairie_a: dict
    asso_b: dict
    caf: dict
    maire_a: dict
    adjoint_b: dict
    conseillere_caf: dict
    body_a: dict
    body_b: dict


@pytest.fixture
async def partners(admin) -> Partners:
    c = admin.client
    a = await create(c, "territories", {"name": "CC du Val d'Ardoise", "siren": SIREN_A})
    b = await create(c, "territories", {"name": "CA des Deux Rives", "siren": SIREN_B})
    commune_a = await create(
        c, "communes", {"insee_code": "35001", "name": "Ardoise", "territory": a["id"]}
    )
    commune_b = await create(
        c, "communes", {"insee_code": "35002", "name": "Rives", "territory": b["id"]}
    )
    mairie_a = await create(
        c,
        "organisations",
        {"name": "Mairie d'Ardoise", "kind": "collectivite", "commune": commune_a["id"]},
    )
    asso_b = await create(
        c,
        "organisations",
        {"name": "Parents des Rives", "kind": "association", "commune": commune_b["id"]},
    )
    caf = await create(c, "organisations", {"name": "Caf du département", "kind": "institution"})
    maire_a = await create(c, "contacts", {"first_name": "Anne", "last_name": "Ardoise"})
    adjoint_b = await create(c, "contacts", {"first_name": "Bruno", "last_name": "Rives"})
    conseillere = await create(c, "contacts", {"first_name": "Claire", "last_name": "Caf"})
    for contact, organisation in (
        (maire_a, mairie_a),
        (adjoint_b, asso_b),
        (conseillere, caf),
    ):
        await create(
            c, "affiliations", {"contact": contact["id"], "organisation": organisation["id"]}
        )
    body_a = await create(
        c, "groups", {"name": "COPIL Ardoise", "kind": "copil", "territory": a["id"]}
    )
    body_b = await create(
        c, "groups", {"name": "COPIL Rives", "kind": "copil", "territory": b["id"]}
    )
    return Partners(a, b, mairie_a, asso_b, caf, maire_a, adjoint_b, conseillere, body_a, body_b)


SignIn = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def coordinator_of(app) -> AsyncIterator[SignIn]:
    """API clients of new accounts limited to one territory, each closed after the test:
    ``await coordinator_of(SIREN_A, "coord-a@maillage.example")``, a reader with
    ``role="lecteur"`` (shared with `test_scope_departements`)."""
    opened: list[httpx.AsyncClient] = []

    async def signed_in(siren: str, email: str, role: str = "coordinateur") -> httpx.AsyncClient:
        client = await _user(app, email, role, [siren])
        opened.append(client)
        return client

    yield signed_in
    for client in opened:
        await client.aclose()


@pytest.fixture
async def coordinator_a(coordinator_of: SignIn, partners) -> httpx.AsyncClient:
    return await coordinator_of(SIREN_A, "coord-a@maillage.example")


@pytest.fixture
async def reader_a(coordinator_of: SignIn, partners) -> httpx.AsyncClient:
    return await coordinator_of(SIREN_A, "lect-a@maillage.example", "lecteur")


def _ids(response: httpx.Response) -> set[int]:
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def _territory(client, resource: str, record: dict) -> int | None:
    response = await client.get(f"/api/v1/{resource}/{record['id']}")
    assert response.status_code == 200, response.text
    return response.json()["territory"]


async def test_partners_are_placed_by_kind_commune_and_ties(admin, partners):
    p, c = partners, admin.client
    assert await _territory(c, "organisations", p.mairie_a) == p.a["id"]
    assert await _territory(c, "organisations", p.asso_b) == p.b["id"]
    assert await _territory(c, "organisations", p.caf) is None
    # People follow their ties: the maire with her town hall, the Caf's people shared.
    assert await _territory(c, "contacts", p.maire_a) == p.a["id"]
    assert await _territory(c, "contacts", p.adjoint_b) == p.b["id"]
    assert await _territory(c, "contacts", p.conseillere_caf) is None


async def test_an_explicit_territory_wins_and_a_new_commune_places_again(admin, partners):
    c, p = admin.client, partners
    shared = await create(
        c,
        "organisations",
        {"name": "Fédération des centres sociaux", "kind": "association", "territory": None},
    )
    assert shared["territory"] is None
    branch = await create(
        c,
        "organisations",
        {"name": "Antenne Caf d'Ardoise", "kind": "institution", "territory": p.a["id"]},
    )
    assert branch["territory"] == p.a["id"]
    commune_b = p.asso_b["commune"]
    moved = await c.patch(
        f"/api/v1/organisations/{p.mairie_a['id']}",
        json={"version": p.mairie_a["version"], "commune": commune_b},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["territory"] == p.b["id"]
    # Her town hall moved: the maire follows it.
    assert await _territory(c, "contacts", p.maire_a) == p.b["id"]


async def test_a_person_on_bodies_of_two_territories_is_shared(admin, partners):
    c, p = admin.client, partners
    first = await create(
        c, "memberships", {"contact": p.maire_a["id"], "working_group": p.body_a["id"]}
    )
    assert await _territory(c, "contacts", p.maire_a) == p.a["id"]
    second = await create(
        c, "memberships", {"contact": p.maire_a["id"], "working_group": p.body_b["id"]}
    )
    assert await _territory(c, "contacts", p.maire_a) is None
    assert (await c.delete(f"/api/v1/memberships/{second['id']}")).status_code == 204
    assert await _territory(c, "contacts", p.maire_a) == p.a["id"]
    assert first["id"]


async def test_a_coordinator_sees_their_partners_and_the_shared_ones_only(
    partners, coordinator_a, reader_a
):
    p = partners
    for client in (coordinator_a, reader_a):
        organisations = _ids(await client.get("/api/v1/organisations"))
        assert organisations == {p.mairie_a["id"], p.caf["id"]}
        contacts = _ids(await client.get("/api/v1/contacts"))
        assert contacts == {p.maire_a["id"], p.conseillere_caf["id"]}
        # The search and the filters go through the same rule.
        assert _ids(await client.get("/api/v1/organisations", params={"q": "rives"})) == set()
        assert _ids(await client.get("/api/v1/contacts", params={"q": "bruno"})) == set()
        by_organisation = await client.get(
            "/api/v1/contacts", params={"organisation": p.asso_b["id"]}
        )
        assert _ids(by_organisation) == set()
        affiliations = await client.get("/api/v1/affiliations")
        assert {row["contact"] for row in affiliations.json()["items"]} == {
            p.maire_a["id"],
            p.conseillere_caf["id"],
        }
        for resource, record in (("organisations", p.asso_b), ("contacts", p.adjoint_b)):
            response = await client.get(f"/api/v1/{resource}/{record['id']}")
            assert response.status_code == 404, response.text


async def test_a_coordinator_writes_their_partners_not_the_shared_ones(partners, coordinator_a):
    p, c = partners, coordinator_a
    renamed = await c.patch(
        f"/api/v1/organisations/{p.mairie_a['id']}",
        json={"version": p.mairie_a["version"], "phone": "02 99 00 00 00"},
    )
    assert renamed.status_code == 200, renamed.text
    shared = await c.patch(
        f"/api/v1/organisations/{p.caf['id']}", json={"version": p.caf["version"], "notes": "x"}
    )
    assert shared.status_code == 403
    assert "Fiche partagée" in shared.json()["detail"]
    other = await c.patch(
        f"/api/v1/contacts/{p.adjoint_b['id']}", json={"version": 1, "notes": "x"}
    )
    assert other.status_code == 404


async def test_a_coordinators_new_partners_are_local_to_their_territory(partners, coordinator_a):
    c = coordinator_a
    association = await create(c, "organisations", {"name": "Ludothèque", "kind": "association"})
    assert association["territory"] == partners.a["id"]
    person = await create(c, "contacts", {"first_name": "Denis", "last_name": "Ludo"})
    assert person["territory"] == partners.a["id"]
    tie = await create(
        c, "affiliations", {"contact": person["id"], "organisation": association["id"]}
    )
    assert tie["contact"] == person["id"]
    # A shared record is not theirs to create.
    refused = await c.post(
        "/api/v1/organisations", json={"name": "DDETS", "kind": "institution", "territory": None}
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["field"] == "territory"


async def test_another_territorys_partner_is_as_unknown_as_a_missing_id(partners, coordinator_a):
    c, p = coordinator_a, partners
    answers = []
    for organisation in (p.asso_b["id"], 999_999):
        response = await c.post(
            "/api/v1/affiliations",
            json={"contact": p.maire_a["id"], "organisation": organisation},
        )
        assert response.status_code == 400, response.text
        answers.append(response.json()["errors"][0]["message"].replace(str(organisation), "N"))
    assert answers[0] == answers[1]


async def test_a_coordinator_cannot_make_their_contact_shared(partners, coordinator_a):
    c, p = coordinator_a, partners
    response = await c.post(
        "/api/v1/affiliations", json={"contact": p.maire_a["id"], "organisation": p.caf["id"]}
    )
    assert response.status_code == 400, response.text
    assert "deviendrait une fiche partagée" in response.json()["errors"][0]["message"]
    listed = await c.get("/api/v1/affiliations", params={"contact": p.maire_a["id"]})
    assert len(listed.json()["items"]) == 1  # nothing written


async def test_the_demo_places_its_partners(database):
    """The demo writes in bulk; its town halls and their people are local, the Caf shared."""
    import datetime as dt

    from maillage.crm.demo import load_demo
    from maillage.tables import Contact, Organisation, Territory

    await load_demo(seed=1, today=dt.date(2026, 12, 7))
    only = (await Territory.select(Territory.id))[0]["id"]
    kinds = await Organisation.select(Organisation.kind, Organisation.territory).run()
    assert {row["territory"] is None for row in kinds if row["kind"] == "institution"} == {True}
    assert {row["territory"] for row in kinds if row["kind"] == "collectivite"} == {only}
    placed = {row["territory"] for row in await Contact.select(Contact.territory).run()}
    assert placed == {None, only}


async def test_the_dashboard_counts_and_lists_what_the_coordinator_sees(admin, partners):
    """Figures and refused addresses of the dashboard follow the same rule."""
    import datetime as dt

    from maillage.crm import dashboard
    from maillage.crm import scope as territory_scope
    from maillage.tables import Contact

    await Contact.update(
        {Contact.email_bounced_at: dt.datetime.now(dt.UTC), Contact.email: "b@rives.example"}
    ).where(Contact.id == partners.adjoint_b["id"])
    scope = territory_scope.Scope({partners.a["id"]: "coordinateur"})
    now = dt.datetime.now(dt.UTC)
    with territory_scope.entered(scope):
        seen = await dashboard.dashboard(now, now.date())
    assert seen["figures"]["organisations"] == 2  # the town hall and the Caf
    assert seen["figures"]["contacts"] == 2
    assert seen["todo"]["bounced"] == []
    everything = await dashboard.dashboard(now, now.date())
    assert everything["figures"]["organisations"] == 3
    assert [row["id"] for row in everything["todo"]["bounced"]] == [partners.adjoint_b["id"]]


async def test_partnerships_are_seen_with_both_organisations(admin, partners, coordinator_a):
    """A partnership is local (#20): seen when both organisations are, written by a
    coordinator of its territory (the organisation's, or the partner's when the organisation
    is shared), out of scope answers 404."""
    c, p = admin.client, partners
    caf_mairie = await create(
        c, "partnerships", {"organisation": p.caf["id"], "partner": p.mairie_a["id"]}
    )
    mairie_asso = await create(
        c, "partnerships", {"organisation": p.mairie_a["id"], "partner": p.asso_b["id"]}
    )
    caf_asso = await create(
        c, "partnerships", {"organisation": p.caf["id"], "partner": p.asso_b["id"]}
    )
    assert _ids(await coordinator_a.get("/api/v1/partnerships")) == {caf_mairie["id"]}
    for hidden in (mairie_asso, caf_asso):
        response = await coordinator_a.get(f"/api/v1/partnerships/{hidden['id']}")
        assert response.status_code == 404
        response = await coordinator_a.patch(
            f"/api/v1/partnerships/{hidden['id']}", json={"description": "x", "version": 1}
        )
        assert response.status_code == 404
    response = await coordinator_a.patch(
        f"/api/v1/partnerships/{caf_mairie['id']}", json={"description": "DSP", "version": 1}
    )
    assert response.status_code == 200, response.text
    response = await coordinator_a.post(
        "/api/v1/partnerships", json={"organisation": p.mairie_a["id"], "partner": p.asso_b["id"]}
    )
    assert response.status_code == 400
    assert "introuvable" in response.text
    response = await coordinator_a.post(
        "/api/v1/partnerships", json={"organisation": p.mairie_a["id"], "partner": p.caf["id"]}
    )
    assert response.status_code == 201, response.text
    # Between two shared organisations: the host team's.
    other_caf = await create(c, "organisations", {"name": "MSA", "kind": "institution"})
    response = await coordinator_a.post(
        "/api/v1/partnerships", json={"organisation": p.caf["id"], "partner": other_caf["id"]}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "organisation"


async def test_the_partner_view_lists_and_counts_what_the_coordinator_sees(admin, partners):
    """The sections of a shared partner and their totals follow the same rule (#20)."""
    import datetime as dt

    from maillage.crm import scope as territory_scope
    from maillage.crm import views
    from maillage.tables import Contact

    c, p = admin.client, partners
    await create(c, "partnerships", {"organisation": p.caf["id"], "partner": p.mairie_a["id"]})
    await create(c, "partnerships", {"organisation": p.asso_b["id"], "partner": p.caf["id"]})
    await create(c, "partnerships", {"organisation": p.caf["id"], "partner": p.asso_b["id"]})
    # The Caf's adviser sits on a body of B; a person of B (placed there by an older import)
    # is affiliated to the Caf.
    await create(
        c, "memberships", {"contact": p.conseillere_caf["id"], "working_group": p.body_b["id"]}
    )
    await create(c, "affiliations", {"contact": p.adjoint_b["id"], "organisation": p.caf["id"]})
    await Contact.update({Contact.territory: p.b["id"]}).where(Contact.id == p.adjoint_b["id"])
    today = dt.date.today()
    everything = await views.organisation_overview(p.caf["id"], today, limit=10)
    assert everything["totals"]["partnerships"] == len(everything["partnerships"]) == 3
    assert everything["totals"]["contacts"] == len(everything["contacts"]) == 2
    assert everything["totals"]["bodies"] == len(everything["bodies"]) == 1
    with territory_scope.entered(territory_scope.Scope({p.a["id"]: "coordinateur"})):
        seen = await views.organisation_overview(p.caf["id"], today, limit=10)
    assert [row["with"] for row in seen["partnerships"]] == [p.mairie_a["id"]]
    assert [row["contact"] for row in seen["contacts"]] == [p.conseillere_caf["id"]]
    assert seen["bodies"] == []
    assert seen["totals"]["partnerships"] == 1
    assert seen["totals"]["contacts"] == 1
    assert seen["totals"]["bodies"] == 0
