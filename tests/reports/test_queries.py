"""The bilan reads its data in a bounded number of queries, whatever the number of rows."""

from __future__ import annotations

from typing import get_type_hints

from maillage.reports.annual import build_annual_report
from maillage.reports.collect import ReportRows, collect
from maillage.reports.scope import resolve_scope
from tests.read_models import misfits
from tests.reports.world import TODAY, add_meeting, insert


async def test_the_number_of_queries_does_not_grow_with_the_meetings(world, queries):
    queries.reset()
    await build_annual_report(2026, None, TODAY, with_charts=False)
    baseline = queries.count
    for month in range(1, 13):
        await add_meeting(
            world, "pe", (2026, month, 2), attendance={"mairie": "present", "creche": "absent"}
        )
    queries.reset()
    await build_annual_report(2026, None, TODAY, with_charts=False)
    assert queries.count == baseline
    # The report's own reads (24 at most: the decisions and the consultations of #22, per
    # meeting and per theme; the communes' outlines and petite enfance records of #18; the
    # territories' scope of #20) and the network as /reseau reads it: the shared loader's one
    # query per table (18, pinned by tests/graph/test_api.py), since #17 gave both one loader.
    assert baseline <= 24 + 18


async def test_the_report_rows_are_what_their_read_models_say(world):
    """Each typed field of the collected rows holds what its TypedDicts say, key by key (#17),
    a consultation per meeting and per theme included."""
    from maillage.actor import CLI, Actor
    from maillage.crm import consultations
    from maillage.tables import Axis, Consultation, Meeting, Partnership

    meeting = await (
        Meeting.select(Meeting.id, Meeting.starts_at)
        .where(Meeting.is_public == True)  # noqa: E712 - Piccolo's column comparison
        .order_by(Meeting.id)
        .first()
    )
    await Meeting.update({Meeting.consultation_open: True}).where(Meeting.id == meeting["id"])
    year = meeting["starts_at"].year
    question = await consultations.add_question(CLI, meeting["id"], "echelle", "Satisfaction", [])
    await consultations.answer(
        meeting["id"], {question["id"]: "4"}, Actor(name="page-participer", role="lecteur")
    )
    axis = await Axis.select(Axis.id).first()
    theme = await consultations.create_theme(CLI, axis["id"], "Horaires")
    # A theme of the report's year, whatever today's date.
    await Consultation.update({Consultation.created_at: meeting["starts_at"]}).where(
        Consultation.id == theme["id"]
    )
    asked = await consultations.add_question_to(
        CLI, ("consultation", theme["id"]), "texte", "Idées", []
    )
    await consultations.set_theme_open(CLI, theme["id"], True)
    await consultations.answer_theme(
        theme["id"], {asked["id"]: "Le samedi"}, Actor(name="page-consulter", role="lecteur")
    )
    await insert(
        Partnership(
            organisation=world.organisations["mairie"], partner=world.organisations["creche"]
        )
    )
    rows = await collect(await resolve_scope(None), year)
    hints = get_type_hints(ReportRows)
    for name in ("axes", "groups", "organisations", "partnerships", "interactions", "actions"):
        assert getattr(rows, name), name
        assert misfits(getattr(rows, name), hints[name]) == [], name
    assert len(rows.consultations) == 2
    assert misfits(rows.consultations, hints["consultations"]) == []
