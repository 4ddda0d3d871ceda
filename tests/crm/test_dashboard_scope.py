"""The dashboard of some territories is the same whatever the other territories hold (#20).

Its reads go step by step from the user's own rows (meetings, then their invitations, then the
people present, then their affiliations and organisations), so that the cost follows what the
user sees (bench/README.md); these tests pin the answers: a territory's dashboard, computed
alone, then again with two more territories of the same shape added around it, sharing its
institutions; and the Caf adviser's two territories, equal to what each territory brings.
Runs on SQLite, and on PostgreSQL when MAILLAGE_TEST_DATABASE_URL is set."""

from __future__ import annotations

import datetime as dt
from typing import Any

from piccolo.table import Table

from maillage.crm import dashboard as board
from maillage.crm import decisions
from maillage.crm import scope as territory_scope
from maillage.crm.dashboard import dashboard
from maillage.tables import (
    Action,
    Affiliation,
    Axis,
    Commune,
    Contact,
    Decision,
    Invitation,
    Meeting,
    Organisation,
    OrganisationAxis,
    OutboxMessage,
    Partnership,
    Territory,
    WorkingGroup,
)

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
TODAY = NOW.date()


async def _insert(table: type[Table], rows: list[dict[str, Any]]) -> list[int]:
    done = await table.insert(*(table(**row) for row in rows)).returning(table.id).run()
    return [row["id"] for row in done]


async def _shared() -> dict[str, int]:
    """The institutions every territory shares: a Caf with its conseillère, a DSP operator."""
    axes = [row["id"] for row in await Axis.select(Axis.id).order_by(Axis.position)]
    caf, operator = await _insert(
        Organisation,
        [
            {"name": "Caf", "kind": "institution", "territory": None},
            {"name": "Crèches SAS", "kind": "operateur_dsp", "territory": None},
        ],
    )
    await _insert(OrganisationAxis, [{"organisation": caf, "axis": axes[0]}])
    (conseillere,) = await _insert(
        Contact, [{"first_name": "Sophie", "last_name": "Caf", "territory": None}]
    )
    await _insert(Affiliation, [{"contact": conseillere, "organisation": caf}])
    return {"caf": caf, "operator": operator, "conseillere": conseillere, "axis": axes[1]}


async def _territory(n: int, shared: dict[str, int]) -> int:
    """One territory: town hall and association with their axes and people (one address
    refused), a body with a meeting to come, one held last week (the shared conseillère
    present in territory 1 only) and one in the spring, a late decision, a late fiche action,
    a DSP contract ending soon."""
    (territory,) = await _insert(Territory, [{"name": f"T{n}", "siren": f"2000000{n:02d}"}])
    (commune,) = await _insert(
        Commune, [{"name": f"Commune {n}", "insee_code": f"990{n:02d}", "territory": territory}]
    )
    local = {"territory": territory, "commune": commune}
    mairie, asso = await _insert(
        Organisation,
        [
            {"name": f"Mairie {n}", "kind": "collectivite", **local},
            {"name": f"Association {n}", "kind": "association", **local},
        ],
    )
    await _insert(
        OrganisationAxis,
        [{"organisation": mairie, "axis": shared["axis"]}, {"organisation": asso, "axis": 1}],
    )
    people = await _insert(
        Contact,
        [{"first_name": f"P{i}", "last_name": f"Nom {n}", **local} for i in range(3)]
        + [
            {
                "first_name": "Refusée",
                "last_name": f"Nom {n}",
                "email": f"r{n}@example.org",
                "email_bounced_at": NOW - dt.timedelta(days=n),
                **local,
            }
        ],
    )
    await _insert(
        Affiliation,
        [
            {"contact": people[0], "organisation": mairie},
            {"contact": people[1], "organisation": asso},
        ],
    )
    (body,) = await _insert(
        WorkingGroup, [{"name": f"COPIL {n}", "kind": "copil", "territory": territory}]
    )

    def meeting(days: int, title: str) -> dict[str, Any]:
        starts = NOW + dt.timedelta(days=days)
        return {
            "working_group": body,
            "title": title,
            "starts_at": starts,
            "ends_at": starts + dt.timedelta(hours=2),
            "ical_uid": f"{n}-{title}@test",
        }

    soon, held, spring = await _insert(
        Meeting, [meeting(5, "À venir"), meeting(-7, "Tenue"), meeting(-200, "Printemps")]
    )
    guests = [*people[:3], *([shared["conseillere"]] if n == 1 else [])]
    await _insert(
        Invitation,
        [{"meeting": soon, "contact": c, "token_nonce": "x"} for c in people[:2]]
        + [
            {"meeting": held, "contact": c, "token_nonce": "x", "attendance": "present"}
            for c in guests[:2] + guests[3:]
        ]
        + [{"meeting": held, "contact": people[2], "token_nonce": "x", "attendance": "absent"}]
        + [
            {"meeting": spring, "contact": c, "token_nonce": "x", "attendance": "present"}
            for c in people[:1]
        ],
    )
    await _insert(
        Decision,
        [
            {"summary": f"Décision {n}", "working_group": body, "meeting": held,
             "due_on": TODAY - dt.timedelta(days=n), "status": "a_faire"},
        ],
    )  # fmt: skip
    await _insert(
        Action,
        [
            {"title": f"Fiche {n}", "status": "en_cours", "territory": territory,
             "end_date": TODAY - dt.timedelta(days=3)},
        ],
    )  # fmt: skip
    await _insert(
        Partnership,
        [
            {"organisation": mairie, "partner": shared["operator"], "kind": "delegation_dsp",
             "end_date": TODAY + dt.timedelta(days=60 + n), "contract_reference": f"DSP-{n}"},
        ],
    )  # fmt: skip
    return territory


async def _seen(territories: list[int]) -> dict[str, Any]:
    """What the dashboard shows a user of ``territories``, in comparable form."""
    scope = territory_scope.Scope({t: "coordinateur" for t in territories})
    with territory_scope.entered(scope):
        data = await dashboard(NOW, TODAY)
        late = await decisions.late(TODAY)
    return {
        "figures": data["figures"],
        "meetings": [m["title"] for m in data["meetings"]],
        "answers": [sorted(m["answers"].items()) for m in data["meetings"]],
        "attendance": [(m["attendance_noted"], m["title"]) for m in data["todo"]["attendance"]]
        + [(m["attendance_noted"], m["title"]) for m in data["todo"]["minutes"]],
        "late_actions": [a["title"] for a in data["todo"]["late_actions"]],
        "bounced": [c["email"] for c in data["todo"]["bounced"]],
        "attendance_chart": [(r["month"], r["noted"], r["rate"]) for r in data["attendance_chart"]["rows"]],
        "axis_chart": data["axis_chart"]["rows"],
        "dsp": [p["contract_reference"] for p in data["dsp_contracts"]],
        "late_decisions": [d["summary"] for d in late],
    }  # fmt: skip


def _partners(seen: dict[str, Any]) -> int:
    return sum(row["partners"] for row in seen["axis_chart"])


async def test_a_territorys_dashboard_ignores_the_other_territories(database):
    shared = await _shared()
    first = await _territory(1, shared)
    alone = await _seen([first])
    assert alone["figures"] == {"organisations": 4, "contacts": 5, "groups": 1, "meetings": 1}
    assert alone["meetings"] == ["À venir"]
    assert alone["bounced"] == ["r1@example.org"]
    assert alone["late_actions"] == ["Fiche 1"] and alone["late_decisions"] == ["Décision 1"]
    assert alone["dsp"] == ["DSP-1"]
    # Present in the last twelve months: the town hall (P0), the association (P1), the Caf
    # (its conseillère, at territory 1's meeting).
    assert _partners(alone) == 3
    noted = sum(count for _, count, _ in alone["attendance_chart"])
    assert noted == 5  # last week's four (three present), the spring's one

    second = await _territory(2, shared)
    await _territory(3, shared)
    again = await _seen([first])
    # The institutions are shared: the others' local records change nothing.
    assert again == alone

    # A Caf adviser of the first two: both territories' records, the shared ones once.
    both = await _seen([first, second])
    assert both["figures"] == {"organisations": 6, "contacts": 9, "groups": 2, "meetings": 2}
    assert sorted(both["late_decisions"]) == ["Décision 1", "Décision 2"]
    assert both["dsp"] == ["DSP-1", "DSP-2"]
    assert both["bounced"] == ["r1@example.org", "r2@example.org"]
    assert _partners(both) == 5  # two town halls, two associations, the Caf
    assert sum(count for _, count, _ in both["attendance_chart"]) == 9


async def test_the_dashboard_reads_each_block_in_one_statement(database, queries):
    """#16: a coordinator's dashboard was 26 statements on the demo (eight counts, the
    partners mobilised in six steps, the attendance chart and the meetings held in two or
    three); each block is now one statement (the steps as materialised common table
    expressions), with the same answers: each block checked here, so that none is dropped."""
    shared = await _shared()
    first = await _territory(1, shared)
    second = await _territory(2, shared)
    # The minutes of territory 2's meeting sent: only territory 1's stays to send.
    (invitation,) = (
        await Invitation.select(Invitation.id)
        .where(
            (Invitation.meeting.title == "Tenue")
            & (Invitation.meeting.working_group.name == "COPIL 2")
        )
        .limit(1)
    )
    await _insert(
        OutboxMessage,
        [{"kind": "compte_rendu", "recipient": "p@example.org", "subject": "CR",
          "message_id": "<cr@test>", "invitation": invitation["id"]}],
    )  # fmt: skip
    scope = territory_scope.Scope({first: "coordinateur"})
    queries.reset()
    with territory_scope.entered(scope):
        data = await dashboard(NOW, TODAY)
    # With the window of the charts' memo (#16: read when the charts are, not when kept).
    assert queries.count == 11
    assert data["figures"] == {"organisations": 4, "contacts": 5, "groups": 1, "meetings": 1}
    assert [m["title"] for m in data["meetings"]] == ["À venir"]
    assert data["meetings"][0]["answers"] == {"en_attente": 2}
    assert data["todo"]["attendance"] == []
    assert [(m["title"], m["minutes_sent"]) for m in data["todo"]["minutes"]] == [("Tenue", False)]
    assert [a["title"] for a in data["todo"]["late_actions"]] == ["Fiche 1"]
    assert [c["email"] for c in data["todo"]["bounced"]] == ["r1@example.org"]
    assert [p["contract_reference"] for p in data["dsp_contracts"]] == ["DSP-1"]
    rows = data["attendance_chart"]["rows"]
    assert [row["rate"] for row in rows if row["rate"] is not None] == [100, 75]
    assert sum(row["partners"] for row in data["axis_chart"]["rows"]) == 3

    # The statements are kept per shape (#16): another day's dashboard gets its own dates,
    # another territory's user their own rows.
    with territory_scope.entered(scope):
        later = await dashboard(NOW + dt.timedelta(days=10), TODAY + dt.timedelta(days=10))
    assert later["figures"]["meetings"] == 0 and later["meetings"] == []
    assert later["figures"]["organisations"] == 4
    with territory_scope.entered(territory_scope.Scope({second: "coordinateur"})):
        theirs = await dashboard(NOW, TODAY)
    assert [c["email"] for c in theirs["todo"]["bounced"]] == ["r2@example.org"]
    assert theirs["todo"]["minutes"] == []  # territory 2's minutes are sent

    # The administrator (unscoped): the same blocks over both territories.
    queries.reset()
    everything = await dashboard(NOW, TODAY)
    assert queries.count == 12
    assert everything["figures"] == {"organisations": 6, "contacts": 9, "groups": 2, "meetings": 2}
    held = everything["todo"]["minutes"]
    assert [(m["title"], m["minutes_sent"]) for m in held] == [("Tenue", False)]
    assert sorted(c["email"] for c in everything["todo"]["bounced"]) == [
        "r1@example.org",
        "r2@example.org",
    ]


def test_the_statements_kept_past_the_bound_are_the_least_recently_used(monkeypatch):
    """Users of more shapes than the bound: the statement of the shape used last stays."""
    monkeypatch.setattr(board, "_KEPT", board.OrderedDict())
    monkeypatch.setattr(board, "_KEPT_MAX", 2)

    def kept(territory: int) -> Any:
        scope = territory_scope.Scope({territory: "coordinateur"}, ())
        with territory_scope.entered(scope):
            return board._kept("figures", board._figures_statement)

    first, second = kept(1), kept(2)
    assert kept(1) is first  # used again: the most recent
    kept(3)  # the third shape pushes out the least recently used, the second
    assert kept(1) is first and kept(2) is not second
