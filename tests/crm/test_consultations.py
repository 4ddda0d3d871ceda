"""A short consultation per public meeting (#22): questions, anonymous answers, summary,
export."""

from __future__ import annotations

import pytest

from maillage.actor import CLI
from maillage.crm import consultations
from maillage.errors import InvalidData, NotFound
from maillage.tables import AuditEvent, ConsultationAnswer, Meeting
from tests.crm.test_inhabitants import public_meeting

PUBLIC = consultations.Actor(name="page-participer", role="lecteur")


async def consultation() -> tuple[int, dict[str, int]]:
    meeting = await public_meeting()
    await Meeting.update({Meeting.consultation_open: True}).where(Meeting.id == meeting)
    ids = {}
    for key, kind, label, choices in (
        ("garde", "choix", "Quel mode de garde ?", ["Crèche", "Assistante maternelle", "Autre"]),
        ("note", "echelle", "Êtes-vous satisfait de l'offre ?", []),
        ("idee", "texte", "Une idée pour le territoire ?", []),
    ):
        ids[key] = (await consultations.add_question(CLI, meeting, kind, label, choices))["id"]
    return meeting, ids


async def test_answers_are_summarised_and_exported_without_anyone(database):
    meeting, q = await consultation()
    given = [
        {q["garde"]: "Crèche", q["note"]: "4", q["idee"]: "Un relais =petite enfance"},
        {q["garde"]: "Crèche", q["note"]: "2"},
        {q["garde"]: "Autre", q["idee"]: '=HYPERLINK("http://x")'},
    ]
    for answers in given:
        await consultations.answer(meeting, answers, PUBLIC)
    result = await consultations.results(meeting)
    assert result["respondents"] == 3
    garde, note, idee = result["questions"]
    assert garde["counts"] == [("Crèche", 2), ("Assistante maternelle", 0), ("Autre", 1)]
    assert note["answers"] == 2 and note["mean"] == 3
    assert sorted(idee["texts"]) == ['=HYPERLINK("http://x")', "Un relais =petite enfance"]
    exported = await consultations.export_csv(meeting)
    lines = exported.splitlines()
    assert (
        lines[0]
        == "Quel mode de garde ?;Êtes-vous satisfait de l'offre ?;Une idée pour le territoire ?"
    )
    assert len(lines) == 4
    assert "'=HYPERLINK" in exported
    columns = {c._meta.name for c in ConsultationAnswer._meta.columns}
    assert columns == {"id", "meeting", "consultation", "question", "submission", "value"}
    events = await AuditEvent.select().where(AuditEvent.action == "answer")
    assert len(events) == 3 and "Crèche" not in repr(events)


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({}, "consultation"),
        ({"garde": "Nounou"}, "q{garde}"),
        ({"note": "6"}, "q{note}"),
        ({"note": "٣"}, "q{note}"),
        ({"idee": "x" * 2001}, "q{idee}"),
        ({"idee": "\x00\x00 "}, "consultation"),
    ],
)
async def test_wrong_answers_name_the_question(database, answers, field):
    meeting, q = await consultation()
    with pytest.raises(InvalidData) as caught:
        await consultations.answer(meeting, {q[k]: v for k, v in answers.items()}, PUBLIC)
    assert [e.field for e in caught.value.errors] == [field.format(**q)]
    assert await ConsultationAnswer.count() == 0


async def test_a_closed_or_private_consultation_takes_no_answer(database):
    meeting, q = await consultation()
    await Meeting.update({Meeting.consultation_open: False}).where(Meeting.id == meeting)
    assert await consultations.open_consultation(meeting) is None
    with pytest.raises(NotFound):
        await consultations.answer(meeting, {q["note"]: "3"}, PUBLIC)
    empty = await public_meeting()
    await Meeting.update({Meeting.consultation_open: True}).where(Meeting.id == empty)
    assert await consultations.open_consultation(empty) is None  # no question yet


@pytest.mark.parametrize(
    ("kind", "label", "choices", "field"),
    [
        ("sondage", "Question", [], "kind"),
        ("texte", "  ", [], "label"),
        ("choix", "Question", ["Oui"], "choices"),
        ("choix", "Question", ["Oui", "Oui"], "choices"),
        ("choix", "Question", [str(n) for n in range(11)], "choices"),
    ],
)
async def test_questions_are_checked(database, kind, label, choices, field):
    meeting = await public_meeting()
    with pytest.raises(InvalidData) as caught:
        await consultations.add_question(CLI, meeting, kind, label, choices)
    assert caught.value.errors[0].field == field


async def test_deleting_a_question_deletes_its_answers(database):
    meeting, q = await consultation()
    await consultations.answer(meeting, {q["garde"]: "Crèche", q["note"]: "5"}, PUBLIC)
    assert await consultations.delete_question(CLI, q["garde"]) == meeting
    assert await ConsultationAnswer.count() == 1
    with pytest.raises(NotFound):
        await consultations.delete_question(CLI, q["garde"])
