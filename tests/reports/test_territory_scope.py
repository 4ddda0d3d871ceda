"""Reports by territory (#20): the bilan, the diagnostic and the COPIL pack of a user limited to
territories cover theirs only; a Caf conseillère covering two gets one consolidated bilan."""

from __future__ import annotations

import itertools
import json

import pytest

from maillage.reports.collect import collect
from maillage.reports.scope import resolve_scope
from maillage.tables import Action, Affiliation, Contact, Organisation, Partnership
from tests.territory_world import YEAR, accounts, build_territory_world


@pytest.fixture
async def scoped(app, admin, coordinator):
    world = await build_territory_world(admin.client)
    async with accounts(app, coordinator.token) as clients:
        yield world, clients


async def test_a_coordinator_gets_the_bilan_of_their_territory_only(scoped):
    world, clients = scoped
    client = clients["coordinateur-a"]
    response = await client.get("/api/v1/reports/annual", params={"year": YEAR})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["territory"] == "CC du Val d'Ardoise"
    text = json.dumps(report, ensure_ascii=False)
    assert "COPIL Ardoise" in text
    assert "Rives" not in text
    mine = await client.get(
        "/api/v1/reports/annual", params={"year": YEAR, "territory": world.a.territory["id"]}
    )
    assert mine.status_code == 200
    for other in (world.b.territory["id"], world.c["id"]):
        answer = await client.get(
            "/api/v1/reports/annual", params={"year": YEAR, "territory": other}
        )
        assert answer.status_code == 404, answer.text
    # The reader of the same territory: the same bilan.
    reader = await clients["lecteur-a"].get("/api/v1/reports/annual", params={"year": YEAR})
    assert reader.json()["territory"] == "CC du Val d'Ardoise"


async def test_a_caf_conseillere_gets_her_portfolio_consolidated(scoped):
    world, clients = scoped
    client = clients["conseillere-caf"]
    response = await client.get("/api/v1/reports/annual", params={"year": YEAR})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["territory"] == "2 territoires (CA des Deux Rives, CC du Val d'Ardoise)"
    text = json.dumps(report, ensure_ascii=False)
    assert "COPIL Ardoise" in text and "COPIL Rives" in text
    assert "Lac" not in text
    # One set of figures: the five meetings of the two territories, not one territory's.
    alone = {}
    for side in (world.a, world.b):
        one = await client.get(
            "/api/v1/reports/annual", params={"year": YEAR, "territory": side.territory["id"]}
        )
        assert one.status_code == 200
        alone[side.territory["name"]] = one.json()
    together = _meetings_figure(report)
    assert together == 5
    assert sorted(_meetings_figure(r) for r in alone.values()) == [2, 3]
    assert (
        await client.get(
            "/api/v1/reports/annual", params={"year": YEAR, "territory": world.c["id"]}
        )
    ).status_code == 404
    # Without territories, a database of three asks which one.
    unscoped = await clients["sans-territoire"].get("/api/v1/reports/annual", params={"year": YEAR})
    assert unscoped.status_code == 400


def _meetings_figure(report: dict) -> int:
    for section in report["sections"]:
        for table in section["tables"]:
            if table["key"] == f"Réunions {YEAR}":
                return sum(1 for row in table["rows"] if "COPIL" in json.dumps(row))
    raise AssertionError([t["key"] for s in report["sections"] for t in s["tables"]])


async def test_the_page_and_the_pack_follow_the_same_rule(scoped):
    world, clients = scoped
    client = clients["coordinateur-a"]
    own, other = world.a.meetings[0]["id"], world.b.meetings[0]["id"]
    assert (await client.get(f"/api/v1/meetings/{own}/pack?format=html")).status_code == 200
    assert (await client.get(f"/api/v1/meetings/{other}/pack?format=html")).status_code == 404
    unscoped = clients["sans-territoire"]
    assert (await unscoped.get(f"/api/v1/meetings/{other}/pack?format=html")).status_code == 200


async def test_the_diagnostic_covers_their_territory(scoped):
    world, clients = scoped
    client = clients["coordinateur-a"]
    response = await client.get("/api/v1/reports/diagnostic")
    assert response.status_code == 200, response.text
    assert [c["name"] for c in response.json()["communes"]] == ["Ardoise-la-Ville"]
    other = await client.get(
        "/api/v1/reports/diagnostic", params={"territory": world.b.territory["id"]}
    )
    assert other.status_code == 404
    portfolio = await clients["conseillere-caf"].get("/api/v1/reports/diagnostic")
    assert [c["name"] for c in portfolio.json()["communes"]] == [
        "Ardoise-la-Ville",
        "Rives-la-Ville",
    ]
    plan = await client.get(
        "/api/v1/reports/action-plan", params={"year": YEAR, "territory": world.b.territory["id"]}
    )
    assert plan.status_code == 404


@pytest.mark.slow
async def test_the_command_line_consolidates_the_territories_named(scoped, settings, tmp_path):
    from docx import Document

    from tests.reports.test_report_command import run

    world, _clients = scoped
    args = ["annual", "--year", str(YEAR), "--output", str(tmp_path)]
    for side in (world.a, world.b):
        args += ["--territory", str(side.territory["id"])]
    result = run(settings, *args)
    assert result.returncode == 0, result.stderr
    text = "\n".join(p.text for p in Document(tmp_path / f"bilan-{YEAR}.docx").paragraphs)
    assert "2 territoires (CA des Deux Rives, CC du Val d'Ardoise)" in text
    one = run(settings, *args[:-2], "--output", str(tmp_path / "un"))
    assert one.returncode == 0, one.stderr
    alone = "\n".join(p.text for p in Document(tmp_path / "un" / f"bilan-{YEAR}.docx").paragraphs)
    assert "CC du Val d'Ardoise" in alone and "2 territoires" not in alone


async def test_a_memoised_bilan_is_never_handed_to_a_user_of_another_scope(scoped):
    """Bilans are memoised by their parameters and the data (#16): the same request from a
    coordinator of A then from the Caf conseillère gets each their own answer, and B's bilan
    computed for an unscoped user is still refused to the coordinator of A."""
    world, clients = scoped
    params = {"year": YEAR, "format": "json"}
    first = await clients["coordinateur-a"].get("/api/v1/reports/annual", params=params)
    assert first.json()["territory"] == "CC du Val d'Ardoise"
    second = await clients["conseillere-caf"].get("/api/v1/reports/annual", params=params)
    assert second.json()["territory"].startswith("2 territoires")
    other = {**params, "territory": world.b.territory["id"]}
    computed = await clients["sans-territoire"].get("/api/v1/reports/annual", params=other)
    assert computed.status_code == 200
    refused = await clients["coordinateur-a"].get("/api/v1/reports/annual", params=other)
    assert refused.status_code == 404, refused.text


async def _crowd(world, count: int) -> None:
    """``count`` organisations of B's commune, their people, partnerships and fiches action."""
    b = world.b
    organisations = await Organisation.insert(
        *(
            Organisation(
                name=f"Association Rives {n}",
                kind="association",
                commune=b.commune["id"],
                territory=b.territory["id"],
            )
            for n in range(count)
        )
    ).returning(Organisation.id)
    ids = [row["id"] for row in organisations]
    people = await Contact.insert(
        *(
            Contact(first_name="Claude", last_name=f"Rives {n}", commune=b.commune["id"])
            for n in range(count)
        )
    ).returning(Contact.id)
    await Affiliation.insert(
        *(
            Affiliation(contact=person["id"], organisation=organisation)
            for person, organisation in zip(people, ids, strict=True)
        )
    )
    await Partnership.insert(
        *(Partnership(organisation=one, partner=other) for one, other in itertools.pairwise(ids))
    )
    await Action.insert(
        *(
            Action(title=f"Action Rives {n}", pilot=ids[n], territory=b.territory["id"])
            for n in range(count // 10)
        )
    )


async def test_a_territorys_bilan_reads_nothing_of_the_other_territories(scoped):
    """The bilan of A reads A's rows and the shared ones it names: many more organisations,
    people, partnerships and fiches action in B change neither what it reads nor what it
    says (its cost follows A, not the instance)."""
    world, clients = scoped
    client = clients["coordinateur-a"]
    scope = await resolve_scope(world.a.territory["id"])

    async def read() -> tuple:
        rows = await collect(scope, YEAR)
        return (
            sorted(rows.organisations),
            rows.partnerships,
            [action["id"] for action in rows.actions],
            len(rows.network.organisations),
        )

    async def bilan() -> str:
        response = await client.get("/api/v1/reports/annual", params={"year": YEAR})
        assert response.status_code == 200, response.text
        return response.text

    before, said = await read(), await bilan()
    assert {world.a.association["id"], world.caf["id"]} <= set(before[0])
    await _crowd(world, 300)
    assert await read() == before
    assert await bilan() == said
    # B's bilan sees them.
    crowded = await collect(await resolve_scope(world.b.territory["id"]), YEAR)
    assert len(crowded.organisations) > 300 and len(crowded.partnerships) == 299


def _report_rows(rows) -> dict:
    """The rows a bilan is computed from, comparable across two reads."""
    return {
        "groups": sorted(rows.groups),
        "meetings": sorted(m["id"] for m in rows.meetings),
        "invitations": sorted((i["meeting"], i["contact"]) for i in rows.invitations),
        "memberships": sorted((m["contact"], m["working_group"]) for m in rows.memberships),
        "affiliations": sorted((a["contact"], a["organisation"]) for a in rows.affiliations),
        "organisations": sorted(rows.organisations),
        "partnerships": sorted(p["id"] for p in rows.partnerships),
        "interactions": sorted(map(repr, rows.interactions)),
        "network": (len(rows.network.organisations), len(rows.network.contacts)),
    }


@pytest.mark.parametrize("seed", [1, 2])
async def test_a_territorys_bilan_reads_the_same_with_other_territories_around(database, seed):
    """The bilan's rows of a territory and of two together (a Caf adviser's consolidation)
    are the same before and after four more territories of the same shape are loaded around
    them (none of their records shared): each read starts from the report's own territories
    (#20)."""
    from tests.graph.test_network_reach import _world

    t = (await _world(seed))["territories"]
    before = {}
    for chosen in ([t[0]], [t[1], t[2]]):
        scope = await resolve_scope(chosen[0], chosen if len(chosen) > 1 else None)
        before[tuple(chosen)] = _report_rows(await collect(scope, 2026))
    assert before[(t[0],)]["meetings"] and before[(t[0],)]["invitations"]
    await _world(seed + 10, offset=4, shared_exchanges=False)
    for chosen, rows in before.items():
        scope = await resolve_scope(chosen[0], list(chosen) if len(chosen) > 1 else None)
        assert _report_rows(await collect(scope, 2026)) == rows, chosen
