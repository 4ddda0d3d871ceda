"""Consultations per theme (#22): attached to an axis rather than a meeting, open or closed,
questions edited and reordered, answers anonymous, summarised and exported apart from any
meeting's."""

from __future__ import annotations

import pytest

from maillage.actor import CLI
from maillage.crm import consultations
from maillage.errors import InvalidData, NotFound
from maillage.tables import Axis
from tests.crm.test_consultations import PUBLIC, consultation


async def _axis() -> int:
    row = await Axis.select(Axis.id).order_by(Axis.id).first()
    assert row is not None
    return row["id"]


async def theme_with_questions() -> tuple[int, list[int]]:
    created = await consultations.create_theme(CLI, await _axis(), "  La parentalité  ")
    owner = ("consultation", created["id"])
    ids = [
        (await consultations.add_question_to(CLI, owner, kind, label, choices))["id"]
        for kind, label, choices in (
            ("choix", "Quel soutien ?", ["Groupes de parents", "Entretiens"]),
            ("echelle", "Êtes-vous bien informé ?", []),
            ("texte", "Une idée ?", []),
        )
    ]
    return created["id"], ids


async def test_a_theme_opens_only_with_questions_and_answers_stay_apart(database):
    meeting, _ = await consultation()
    empty = await consultations.create_theme(CLI, await _axis(), "Sans question")
    with pytest.raises(InvalidData) as refused:
        await consultations.set_theme_open(CLI, empty["id"], True)
    assert "au moins une question" in refused.value.errors[0].message
    theme_id, ids = await theme_with_questions()
    assert (await consultations.theme(theme_id))["title"] == "La parentalité"
    assert await consultations.open_theme(theme_id) is None  # closed until opened
    with pytest.raises(NotFound):
        await consultations.answer_theme(theme_id, {ids[0]: "Entretiens"}, PUBLIC)
    await consultations.set_theme_open(CLI, theme_id, True)
    await consultations.answer_theme(theme_id, {ids[0]: "Entretiens", ids[1]: "5"}, PUBLIC)
    await consultations.answer_theme(theme_id, {ids[2]: "Un café des parents"}, PUBLIC)
    result = await consultations.results_of(("consultation", theme_id))
    assert result["respondents"] == 2
    assert result["questions"][0]["counts"] == [("Groupes de parents", 0), ("Entretiens", 1)]
    assert (await consultations.results(meeting))["respondents"] == 0
    exported = await consultations.export_csv_of(("consultation", theme_id))
    assert exported.splitlines()[0] == "Quel soutien ?;Êtes-vous bien informé ?;Une idée ?"
    listed = {row["id"]: row for row in await consultations.themes()}
    assert listed[theme_id]["questions"] == 3 and listed[theme_id]["respondents"] == 2
    # A meeting's question cannot be answered through a theme, nor the reverse.
    with pytest.raises(InvalidData):
        await consultations.answer_theme(theme_id, {999_999: "x"}, PUBLIC)


async def test_questions_are_edited_and_reordered(database):
    theme_id, ids = await theme_with_questions()
    await consultations.move_question(CLI, ids[2], -1)
    await consultations.move_question(CLI, ids[0], -1)  # already first: nothing moves
    order = [q["id"] for q in await consultations.questions_of(("consultation", theme_id))]
    assert order == [ids[0], ids[2], ids[1]]
    await consultations.move_question(CLI, ids[0], 1)
    order = [q["id"] for q in await consultations.questions_of(("consultation", theme_id))]
    assert order == [ids[2], ids[0], ids[1]]
    edited = await consultations.edit_question(
        CLI, ids[0], "Quel soutien attendez-vous ?", ["Groupes", "Entretiens", "Ateliers"]
    )
    assert edited["choices"] == ["Groupes", "Entretiens", "Ateliers"]
    await consultations.set_theme_open(CLI, theme_id, True)
    await consultations.answer_theme(theme_id, {ids[0]: "Ateliers"}, PUBLIC)
    # Answered: the wording may change, the choices may not.
    with pytest.raises(InvalidData) as refused:
        await consultations.edit_question(CLI, ids[0], "Quel soutien ?", ["Groupes", "Autre"])
    assert "déjà répondu" in refused.value.errors[0].message
    await consultations.edit_question(CLI, ids[0], "Quel soutien, surtout ?")
    first = (await consultations.questions_of(("consultation", theme_id)))[1]
    assert first["label"] == "Quel soutien, surtout ?" and len(first["choices"]) == 3
    with pytest.raises(InvalidData):
        await consultations.edit_question(CLI, ids[1], "   ")
