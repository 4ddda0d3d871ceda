"""The demo territory: reproducible, true to the registry's rules, and telling its story."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from maillage.actor import CLI
from maillage.crm import rules
from maillage.crm.demo import generate, load_demo
from maillage.crm.demo import generator as demo_generator
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import OrganisationIn
from maillage.crm.text import search_text
from maillage.db import current_engine
from maillage.tables import (
    Affiliation,
    Commune,
    CommuneIndicator,
    Contact,
    Invitation,
    Meeting,
    Membership,
    Organisation,
    Partnership,
    Territory,
    WorkingGroup,
)

TODAY = dt.date(2026, 11, 29)
REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rows():
    return generate(1, TODAY).rows


async def sql(query: str) -> list[dict]:
    return await current_engine().run_querystring(_raw(query))


def _raw(query: str):
    from piccolo.querystring import QueryString

    return QueryString(query)


@pytest.fixture
async def demo(database) -> str:
    return await load_demo(seed=1, today=TODAY)


# ----- the generator, without a database ---------------------------------------------------


def test_it_generates_the_same_rows_for_the_same_seed_and_day(rows):
    assert generate(1, TODAY).rows == rows


def test_it_generates_other_rows_for_another_seed_or_day(rows):
    assert generate(2, TODAY).rows != rows
    assert generate(1, TODAY + dt.timedelta(days=1)).rows != rows


def test_its_counts_are_those_of_a_communaute_de_communes(rows):
    count = {table: len(found) for table, found in rows.items()}
    assert count[Commune] == 15
    assert 130 <= count[Organisation] <= 170
    assert 350 <= count[Contact] <= 450
    assert 12 <= count[WorkingGroup] <= 15
    assert 140 <= count[Meeting] <= 220
    assert 2_000 <= count[Invitation] <= 3_500
    assert {row["kind"] for row in rows[Organisation]} == {
        "institution", "collectivite", "association", "operateur_dsp", "etablissement",
        "entreprise", "autre",
    }  # fmt: skip
    assert {row["kind"] for row in rows[WorkingGroup]} == {
        "copil", "cotech", "commission_thematique", "commission_territoriale",
        "groupe_travail", "reseau",
    }  # fmt: skip


async def test_its_identifiers_and_contact_details_pass_the_service_rules(rows):
    for row in rows[Organisation]:
        assert await rules.check_organisation_identifiers(row, None) == [], row
        assert await rules.check_email(row, None) == [], row
        assert await rules.check_phone(row, None) == [], row
        assert row["email"].endswith(".example")
    for row in rows[Contact]:
        assert await rules.check_email(row, None) == [], row
        assert await rules.check_phone(row, None) == [], row
    for row in rows[Commune]:
        assert await rules.check_insee_code(row, None) == []
        assert row["insee_code"].startswith("359")


async def test_its_dates_are_ordered_and_its_meetings_in_paris_time(rows):
    checks = {
        Affiliation: rules.ordered_dates("start_date", "end_date"),
        Membership: rules.ordered_dates("start_date", "end_date"),
        Partnership: rules.ordered_dates("start_date", "end_date"),
    }
    for table, check in checks.items():
        for row in rows[table]:
            assert await check(row, None) == [], row
    for row in rows[Meeting]:
        assert await rules.check_meeting_times(row, None) == []
        assert str(row["starts_at"].tzinfo) == "Europe/Paris"
        expected = (
            ("tenue", "annulee") if row["starts_at"].date() < TODAY else ("planifiee", "annulee")
        )
        assert row["status"] in expected


def test_its_search_columns_are_those_the_services_compute(rows):
    for name in ("organisations", "contacts", "groups", "meetings"):
        spec = SERVICES[name].spec
        for row in rows[spec.table]:
            assert row["search"] == search_text(*(row[f] for f in spec.search_fields))


def test_a_departement_has_distinct_territories_and_identifiers(monkeypatch):
    monkeypatch.setitem(demo_generator.SCALES, "departement", 3)
    rows = generate(1, TODAY, "departement").rows
    territories = [row["name"] for row in rows[Territory]]
    assert len(set(territories)) == 3
    codes = [row["insee_code"] for row in rows[Commune]]
    assert len(codes) == len(set(codes))
    sirets = [row["siret"] for row in rows[Organisation] if row["siret"]]
    assert len(sirets) == len(set(sirets))
    uids = [row["ical_uid"] for row in rows[Meeting]]
    assert len(uids) == len(set(uids))


def test_each_commune_has_dated_indicators_drawn_aside_from_the_demo_stream(rows, monkeypatch):
    indicators = rows[CommuneIndicator]
    assert len(indicators) == 15 * 3 * 2  # three indicators, at the end of the last two years
    assert {row["measured_on"] for row in indicators} == {
        dt.date(2024, 12, 31),
        dt.date(2025, 12, 31),
    }
    with_places = {r["commune"] for r in indicators if r["code"] == "places_eaje" and r["value"]}
    assert len(with_places) >= 5
    # The indicators draw from a stream of their own: a larger demo, which draws more before
    # them, gives the Val d'Ardoise the same figures, and without them every other row is the same.
    monkeypatch.setitem(demo_generator.SCALES, "departement", 2)
    larger = generate(1, TODAY, "departement").rows[CommuneIndicator]
    assert [r for r in larger if r["commune"] <= 15] == indicators
    monkeypatch.setattr(demo_generator, "add_indicators", lambda ds, seed, today: None)
    without = generate(1, TODAY).rows
    assert CommuneIndicator not in without
    assert without == {table: found for table, found in rows.items() if table != CommuneIndicator}


# ----- loaded: the rules of the database and the story --------------------------------------


async def test_it_loads_and_summarises_in_french(demo):
    assert demo.startswith("1 territoire, 15 communes, ")
    assert await Organisation.count().run() > 100
    # The sequences follow the explicit ids: the next record the services create fits.
    last = max(row["id"] for row in await Organisation.select(Organisation.id).run())
    created = await SERVICES["organisations"].create(
        CLI, OrganisationIn(name="Nouvelle association", kind="association")
    )
    assert created["id"] > last


async def test_its_memberships_respect_the_rules(demo):
    archived = await sql(
        "SELECT COUNT(*) AS n FROM membership m JOIN contact c ON c.id = m.contact WHERE c.archived"
    )
    assert archived[0]["n"] == 0
    pairs = await sql(
        "SELECT t.working_group AS g1, s.working_group AS g2, s.role AS role FROM membership t "
        "JOIN membership s ON s.id = t.substitute"
    )
    assert pairs and all(p["g1"] == p["g2"] and p["role"] == "suppleant" for p in pairs)
    roles = await sql("SELECT DISTINCT role FROM membership")
    assert {r["role"] for r in roles} == {
        "president", "copilote", "animateur", "titulaire", "suppleant", "invite_permanent",
        "membre",
    }  # fmt: skip
    primaries = await sql(
        "SELECT contact, SUM(CASE WHEN is_primary THEN 1 ELSE 0 END) AS n FROM affiliation "
        "GROUP BY contact"
    )
    assert {p["n"] for p in primaries} == {1}


async def test_elected_mandates_start_after_the_2026_elections(demo):
    current = await sql(
        "SELECT a.function AS function, a.start_date AS start FROM affiliation a "
        "WHERE a.elected_mandate AND a.end_date IS NULL AND a.function LIKE 'Adjoint%'"
    )
    assert current and all(str(r["start"]) >= "2026-03-27" for r in current)
    ended = await sql(
        "SELECT COUNT(*) AS n FROM affiliation WHERE elected_mandate AND end_date = '2026-03-26'"
    )
    assert ended[0]["n"] >= 1  # mayors the election replaced: history kept


async def test_the_story_is_there(demo):
    isolated = await sql(
        "SELECT o.name FROM organisation o WHERE "
        "NOT EXISTS (SELECT 1 FROM membership m WHERE m.organisation = o.id) AND "
        "NOT EXISTS (SELECT 1 FROM partnership p WHERE o.id IN "
        "(p.organisation, p.partner, p.delegated_service)) AND "
        "NOT EXISTS (SELECT 1 FROM affiliation a JOIN membership m ON m.contact = a.contact "
        "WHERE a.organisation = o.id)"
    )
    assert 3 <= len(isolated) <= 12
    attendees = await sql(
        "SELECT g.name AS name, COUNT(DISTINCT a.organisation) AS orgs FROM invitation i "
        "JOIN meeting mt ON mt.id = i.meeting JOIN working_group g ON g.id = mt.working_group "
        "JOIN affiliation a ON a.contact = i.contact AND a.is_primary "
        "WHERE i.attendance = 'present' GROUP BY g.name"
    )
    assert [r["name"] for r in attendees if r["orgs"] == 1] == [
        "Groupe de travail Aller-vers les familles"
    ]
    never = await sql(
        "SELECT c.last_name AS name, COUNT(*) AS invited FROM invitation i "
        "JOIN contact c ON c.id = i.contact JOIN meeting m ON m.id = i.meeting "
        "WHERE m.status = 'tenue' GROUP BY c.id, c.last_name "
        "HAVING SUM(CASE WHEN i.attendance = 'present' THEN 1 ELSE 0 END) = 0 AND COUNT(*) >= 3"
    )
    assert [r["invited"] for r in never] == [6]
    soon = await sql(
        "SELECT end_date FROM partnership WHERE kind = 'delegation_dsp' "
        "AND delegated_service IS NOT NULL AND contract_reference IS NOT NULL"
    )
    ends = [dt.date.fromisoformat(str(r["end_date"])[:10]) for r in soon]
    assert any(TODAY <= end <= TODAY + dt.timedelta(days=182) for end in ends)
    assert len({end for end in ends if end > TODAY}) >= 4


async def test_the_public_meeting_to_come_has_an_open_consultation(demo):
    rows = await sql(
        "SELECT m.title AS title, m.consultation_open AS open, q.kind AS kind "
        "FROM consultation_question q JOIN meeting m ON m.id = q.meeting ORDER BY q.position"
    )
    assert [r["kind"] for r in rows] == ["choix", "echelle", "texte"]
    assert {r["title"] for r in rows} == {"Café-débat des parents : les écrans"}
    assert all(r["open"] for r in rows)


async def test_one_person_bridges_the_housing_commission_and_the_youth_network(demo):
    members = await sql(
        "SELECT g.name AS body, m.contact AS contact FROM membership m "
        "JOIN working_group g ON g.id = m.working_group"
    )
    by_body: dict[str, set[int]] = {}
    for row in members:
        by_body.setdefault(row["body"], set()).add(row["contact"])
    housing = by_body.pop("Commission thématique Logement")
    youth = by_body["Réseau des acteurs jeunesse"]
    (bridge,) = housing & youth
    elsewhere = set().union(*by_body.values())
    assert housing & elsewhere == {bridge}
    hats = await sql(f"SELECT elected_mandate FROM affiliation WHERE contact = {bridge}")
    assert len(hats) == 2 and any(h["elected_mandate"] for h in hats)


async def test_central_partners_come_to_most_meetings(demo):
    attendance = await sql(
        "SELECT contact, COUNT(*) AS came FROM invitation WHERE attendance = 'present' "
        "GROUP BY contact ORDER BY came DESC"
    )
    counts = [r["came"] for r in attendance]
    assert counts[0] >= 30 and counts[len(counts) // 2] <= 10


_PLANNED_INVITATIONS = """
SELECT i.meeting, COUNT(*) AS n FROM invitation i
JOIN meeting m ON m.id = i.meeting JOIN contact c ON c.id = i.contact
WHERE m.status = 'planifiee' AND c.email <> '' AND i.sent_at {sent}
GROUP BY i.meeting ORDER BY i.meeting LIMIT 1
"""


async def test_sending_a_demo_meeting_invites_only_those_never_invited(demo, settings):
    """The invitations the demo records as sent are owed nothing: « Envoyer » on a meeting
    already invited queues no message, and one on a meeting not invited yet queues them all."""
    from maillage.mailing import invitations

    unsent = await sql(
        "SELECT COUNT(*) AS n FROM invitation i JOIN meeting m ON m.id = i.meeting "
        "WHERE i.sent_at IS NOT NULL AND (i.sent_sequence IS NULL "
        "OR i.sent_sequence <> m.ical_sequence)"
    )
    assert unsent[0]["n"] == 0
    invited = await sql(_PLANNED_INVITATIONS.format(sent="IS NOT NULL"))
    waiting = await sql(_PLANNED_INVITATIONS.format(sent="IS NULL"))
    for meeting in (invited[0]["meeting"], waiting[0]["meeting"]):
        await _move_to_next_week(meeting)  # the demo's day may be past: still sendable
    assert (await invitations.queue(CLI, settings, invited[0]["meeting"]))["queued"] == 0
    queued = await invitations.queue(CLI, settings, waiting[0]["meeting"])
    assert queued["queued"] == waiting[0]["n"] > 0


async def _move_to_next_week(meeting_id: int) -> None:
    starts = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=7)
    await Meeting.update(
        {Meeting.starts_at: starts, Meeting.ends_at: starts + dt.timedelta(hours=2)}
    ).where(Meeting.id == meeting_id)


async def test_the_diagnostic_of_the_demo_shows_a_coverage_rate(demo, reader):
    response = await reader.client.get("/api/v1/reports/diagnostic")
    assert response.status_code == 200, response.text
    communes = response.json()["communes"]
    rates = [c["coverage_rate"] for c in communes if c["coverage_rate"]]
    assert len(rates) >= 5 and all(0 < rate < 100 for rate in rates)
    centre = max(communes, key=lambda c: c["population"])
    assert centre["indicators"]["places_eaje"]["measured_on"] == "2025-12-31"


async def test_every_loaded_row_reads_through_the_api(demo, reader):
    for resource in (
        "territories", "communes", "organisations", "contacts", "affiliations", "groups",
        "memberships", "meetings", "invitations", "partnerships", "interactions", "actions",
    ):  # fmt: skip
        response = await reader.client.get(f"/api/v1/{resource}?limit=500")
        assert response.status_code == 200, (resource, response.text)
        assert response.json()["total"] > 0, resource
    found = await reader.client.get("/api/v1/organisations?q=ardoisiers")
    assert found.json()["total"] >= 1


# ----- the command line --------------------------------------------------------------------


def run_demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPOSITORY),
        "MAILLAGE_DATA_DIR": str(tmp_path),
        "MAILLAGE_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
    }
    command = [sys.executable, "-c", "from maillage.cli import main; main()", "demo", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_the_demo_command_refuses_a_database_with_data_unless_forced(tmp_path):
    first = run_demo(tmp_path, "--seed", "1", "--today", "2026-11-29")
    assert first.returncode == 0, first.stderr
    assert "Démonstration chargée : 1 territoire, 15 communes" in first.stdout
    again = run_demo(tmp_path, "--seed", "1", "--today", "2026-11-29")
    assert again.returncode != 0
    assert "la base contient déjà des données" in again.stderr
    assert "--force" in again.stderr
    forced = run_demo(tmp_path, "--seed", "1", "--today", "2026-11-29", "--force")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout == first.stdout


async def test_on_postgresql_the_loaded_demo_has_fresh_statistics(database):
    """Without ANALYZE after the bulk load, PostgreSQL planned the lists for empty tables: a
    sequential scan and a sort of every contact on each page (#16)."""
    from maillage import db

    if db.is_sqlite():
        pytest.skip("SQLite n'a pas de statistiques à rafraîchir ici.")
    await load_demo(seed=2, today=dt.date(2026, 11, 29))
    rows = await db.current_engine().run_ddl(
        "SELECT relname FROM pg_stat_user_tables "
        "WHERE relname IN ('contact', 'organisation') AND last_analyze IS NOT NULL"
    )
    assert {row["relname"] for row in rows} == {"contact", "organisation"}
