"""A short consultation per public meeting (#22): questions the coordinator writes (a choice,
a scale from 1 to 5, free text), answered anonymously on ``/participer/{id}/consultation``.

Anonymous means stored without a name, an address, a time or a link to a registration: each
answer row holds its question, its value and a random submission number that groups the
answers sent together (one line of the export). Answers are not personal data and stay after
the registrations are deleted; they feed the meeting's summary and the bilan.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import unicodedata
from typing import Any

from maillage.actor import Actor
from maillage.crm import audit, reach
from maillage.crm.registry import visible_meeting
from maillage.db import read_transaction, write_transaction
from maillage.errors import FieldError, InvalidData, NotFound
from maillage.tables import (
    ROW_ID_MAX,
    Axis,
    Consultation,
    ConsultationAnswer,
    ConsultationQuestion,
    Meeting,
)
from maillage.vocabulary import CANCELLED, DRAFT

KINDS = {"choix": "Choix dans une liste", "echelle": "Échelle de 1 à 5", "texte": "Texte libre"}
SCALE = ("1", "2", "3", "4", "5")
MAX_QUESTIONS = 20
MAX_CHOICES = 10
LABEL_MAX = 300
CHOICE_MAX = 100
TEXT_MAX = 2000
ENTITY = "consultation"
QUESTION_COLUMNS = (
    ConsultationQuestion.id,
    ConsultationQuestion.meeting,
    ConsultationQuestion.consultation,
    ConsultationQuestion.position,
    ConsultationQuestion.kind,
    ConsultationQuestion.label,
    ConsultationQuestion.choices,
)


def _line(text: str, limit: int) -> str:
    kept = "".join(" " if c.isspace() else c for c in text if unicodedata.category(c)[0] != "C")
    return " ".join(kept.split())[: limit + 1]


def _text(text: str) -> str:
    """Free text: control characters dropped, line breaks kept."""
    kept = "".join(
        c for c in text.replace("\r\n", "\n") if c == "\n" or unicodedata.category(c)[0] != "C"
    )
    return kept.strip()


def choices_of(row: dict[str, Any]) -> list[str]:
    value = row["choices"]
    if isinstance(value, str):  # SQLite hands JSON back as text
        value = json.loads(value or "[]")
    return [str(v) for v in value]


MEETING_COLUMNS = (
    Meeting.id,
    Meeting.title,
    Meeting.starts_at,
    Meeting.ends_at,
    Meeting.location,
    Meeting.status,
    Meeting.is_public,
    Meeting.consultation_open,
    Meeting.working_group.name.as_alias("group_name"),
    Meeting.working_group.kind.as_alias("group_kind"),
)


async def _meeting(meeting_id: int) -> dict[str, Any] | None:
    # Scoped (#20): another territory's meeting is not found; public pages have no user.
    found: dict[str, Any] | None = await visible_meeting(meeting_id, *MEETING_COLUMNS)
    return found


async def _visible(meeting_id: int) -> None:
    if await _meeting(meeting_id) is None:
        raise NotFound("Réunion", meeting_id)


Owner = tuple[str, int]
"""Whose questions: ``("meeting", id)`` or ``("consultation", id)`` (a theme's, #22)."""


def _of(table: type[ConsultationQuestion] | type[ConsultationAnswer], owner: Owner) -> Any:
    column = table.meeting if owner[0] == "meeting" else table.consultation
    return column == owner[1]


def _keys(owner: Owner) -> Any:
    """The row's ``meeting`` and ``consultation``, one of them None."""
    if owner[0] == "meeting":
        return {"meeting": owner[1], "consultation": None}
    return {"meeting": None, "consultation": owner[1]}


async def questions_of(owner: Owner) -> list[dict[str, Any]]:
    async with read_transaction():
        rows = await (
            ConsultationQuestion.select(*QUESTION_COLUMNS)
            .where(_of(ConsultationQuestion, owner))
            .order_by(ConsultationQuestion.position)
            .order_by(ConsultationQuestion.id)
        )
    return [{**row, "choices": choices_of(row)} for row in rows]


async def questions(meeting_id: int) -> list[dict[str, Any]]:
    return await questions_of(("meeting", meeting_id))


async def open_consultation(meeting_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The meeting and its questions while a stranger may answer, else None."""
    async with read_transaction():
        meeting = await _meeting(meeting_id)
    if (
        meeting is None
        or not meeting["is_public"]
        or not meeting["consultation_open"]
        or meeting["status"] in (CANCELLED, DRAFT)
    ):
        return None
    asked = await questions(meeting_id)
    return (meeting, asked) if asked else None


def _checked(kind: str, label: str, choices: list[str]) -> tuple[str, list[str]]:
    """The question's wording and choices cleaned, or ``InvalidData`` naming each wrong one."""
    label = _line(label, LABEL_MAX)
    cleaned = [c for c in (_line(choice, CHOICE_MAX) for choice in choices[:50]) if c]
    errors = []
    if kind not in KINDS:
        errors.append(FieldError("kind", "Choisissez le type : choix, échelle ou texte libre."))
    if not label:
        errors.append(FieldError("label", "Écrivez la question."))
    elif len(label) > LABEL_MAX:
        errors.append(FieldError("label", f"La question est limitée à {LABEL_MAX} caractères."))
    if kind == "choix":
        if not 2 <= len(cleaned) <= MAX_CHOICES or len(set(cleaned)) != len(cleaned):
            errors.append(
                FieldError(
                    "choices",
                    f"Donnez de 2 à {MAX_CHOICES} réponses possibles, différentes, une par ligne.",
                )
            )
        elif any(len(c) > CHOICE_MAX for c in cleaned):
            errors.append(
                FieldError("choices", f"Chaque réponse est limitée à {CHOICE_MAX} caractères.")
            )
    else:
        cleaned = []
    if errors:
        raise InvalidData(errors)
    return label, cleaned


async def add_question(
    actor: Actor, meeting_id: int, kind: str, label: str, choices: list[str]
) -> dict[str, Any]:
    return await add_question_to(actor, ("meeting", meeting_id), kind, label, choices)


async def add_question_to(
    actor: Actor, owner: Owner, kind: str, label: str, choices: list[str]
) -> dict[str, Any]:
    label, cleaned = _checked(kind, label, choices)
    async with write_transaction():
        await _check_writable(owner)
        count = await ConsultationQuestion.count().where(_of(ConsultationQuestion, owner))
        if count >= MAX_QUESTIONS:
            raise InvalidData.one(
                "label", f"Une consultation compte au plus {MAX_QUESTIONS} questions."
            )
        row = ConsultationQuestion(
            **_keys(owner), position=count + 1, kind=kind, label=label, choices=cleaned
        )
        await row.save()
        await audit.record(
            actor, "create", ENTITY, row.id, {owner[0]: owner[1], "kind": kind, "label": label}
        )
    return {
        "id": row.id,
        "meeting": owner[1] if owner[0] == "meeting" else None,
        "consultation": owner[1] if owner[0] == "consultation" else None,
        "kind": kind,
        "label": label,
        "choices": cleaned,
    }


async def _question(question_id: int) -> dict[str, Any]:
    row = (
        await ConsultationQuestion.select(*QUESTION_COLUMNS)
        .where(ConsultationQuestion.id == question_id)
        .first()
    )
    if row is None:
        raise NotFound("Question", question_id)
    return {**row, "choices": choices_of(row)}


def owner_of(question: dict[str, Any]) -> Owner:
    if question["meeting"] is not None:
        return ("meeting", question["meeting"])
    return ("consultation", question["consultation"])


async def _check_writable(owner: Owner) -> None:
    """A meeting's questions are written by a coordinator of its territory (#20); another
    territory's meeting is not found. A theme's consultation, like its axis, is shared."""
    if owner[0] == "meeting":
        if await _meeting(owner[1]) is None:
            raise NotFound("Réunion", owner[1])
        await reach.check_meeting_writable(owner[1])
    elif await theme_row(owner[1]) is None:
        raise NotFound("Consultation", owner[1])


async def _writable_question(question_id: int) -> tuple[dict[str, Any], Owner]:
    """The question and its owner, if this user may change it; else as if it did not exist."""
    row = await _question(question_id)
    owner = owner_of(row)
    if owner[0] == "meeting" and await _meeting(owner[1]) is None:
        raise NotFound("Question", question_id)
    await _check_writable(owner)
    return row, owner


async def edit_question(
    actor: Actor, question_id: int, label: str, choices: list[str] | None = None
) -> dict[str, Any]:
    """Reword a question, or change its choices while nobody has answered it: an answer given
    to the old choices would no longer be one of them."""
    async with write_transaction():
        row, _owner = await _writable_question(question_id)
        wanted = row["choices"] if choices is None else choices
        label, cleaned = _checked(row["kind"], label, wanted)
        if cleaned != row["choices"]:
            answered = await ConsultationAnswer.count().where(
                ConsultationAnswer.question == question_id
            )
            if answered:
                raise InvalidData.one(
                    "choices",
                    "Des personnes ont déjà répondu : seul le libellé de la question peut "
                    "changer, pas ses réponses possibles.",
                )
        await ConsultationQuestion.update(
            {ConsultationQuestion.label: label, ConsultationQuestion.choices: cleaned}
        ).where(ConsultationQuestion.id == question_id)
        await audit.record(actor, "update", ENTITY, question_id, {"label": label})
    return {**row, "label": label, "choices": cleaned}


async def move_question(actor: Actor, question_id: int, step: int) -> dict[str, Any]:
    """Move a question up (``step`` −1) or down (+1) its consultation; positions are then
    renumbered 1, 2, 3… At the top or the bottom, nothing moves."""
    if step not in (-1, 1):
        raise InvalidData.one("step", "Déplacez d'un cran : vers le haut ou vers le bas.")
    async with write_transaction():
        row, owner = await _writable_question(question_id)
        order = [
            q["id"]
            for q in await ConsultationQuestion.select(ConsultationQuestion.id)
            .where(_of(ConsultationQuestion, owner))
            .order_by(ConsultationQuestion.position)
            .order_by(ConsultationQuestion.id)
        ]
        index = order.index(question_id)
        other = index + step
        if 0 <= other < len(order):
            order[index], order[other] = order[other], order[index]
            for position, item in enumerate(order, start=1):
                await ConsultationQuestion.update({ConsultationQuestion.position: position}).where(
                    ConsultationQuestion.id == item
                )
            await audit.record(actor, "move", ENTITY, question_id, {"position": other + 1})
    return row


async def delete_question(actor: Actor, question_id: int) -> int:
    """Delete a question and its answers; the number of its meeting (or theme consultation)."""
    async with write_transaction():
        row, owner = await _writable_question(question_id)
        await ConsultationQuestion.delete().where(ConsultationQuestion.id == question_id)
        await audit.record(
            actor, "delete", ENTITY, question_id, {owner[0]: owner[1], "label": row["label"]}
        )
    return owner[1]


def check_answers(asked: list[dict[str, Any]], given: dict[int, str]) -> dict[int, str]:
    """The answers kept (empty ones skipped), or ``InvalidData`` naming each wrong one."""
    kept: dict[int, str] = {}
    errors = []
    for question in asked:
        raw = given.get(question["id"], "")
        field = f"q{question['id']}"
        if question["kind"] == "texte":
            value = _text(raw)
            if len(value) > TEXT_MAX:
                errors.append(FieldError(field, f"Réponse limitée à {TEXT_MAX} caractères."))
                continue
        else:
            value = raw.strip()
            allowed = SCALE if question["kind"] == "echelle" else question["choices"]
            if value and value not in allowed:
                errors.append(FieldError(field, "Choisissez une des réponses proposées."))
                continue
        if value:
            kept[question["id"]] = value
    if not errors and not kept:
        errors.append(FieldError("consultation", "Répondez à au moins une question."))
    if errors:
        raise InvalidData(errors)
    return kept


async def answer(meeting_id: int, given: dict[int, str], actor: Actor) -> int:
    """Record one person's answers; how many were kept. The journal keeps the count only."""
    opened = await open_consultation(meeting_id)
    if opened is None:
        raise NotFound("Consultation", meeting_id)
    return await _record(("meeting", meeting_id), opened[1], given, actor)


async def _record(
    owner: Owner, asked: list[dict[str, Any]], given: dict[int, str], actor: Actor
) -> int:
    kept = check_answers(asked, given)
    submission = secrets.token_hex(8)
    async with write_transaction():
        await ConsultationAnswer.insert(
            *(
                ConsultationAnswer(
                    **_keys(owner), question=question, submission=submission, value=value
                )
                for question, value in kept.items()
            )
        )
        await audit.record(
            actor, "answer", ENTITY, None, {owner[0]: owner[1], "answers": len(kept)}
        )
    return len(kept)


async def results(meeting_id: int) -> dict[str, Any]:
    """Per question: counts of each choice or scale step, the scale's mean, the free texts."""
    await _visible(meeting_id)
    return await results_of(("meeting", meeting_id))


async def results_of(owner: Owner) -> dict[str, Any]:
    asked = await questions_of(owner)
    async with read_transaction():
        rows = await ConsultationAnswer.select(
            ConsultationAnswer.question, ConsultationAnswer.submission, ConsultationAnswer.value
        ).where(_of(ConsultationAnswer, owner))
    return summarise(asked, rows)


def summarise(asked: list[dict[str, Any]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_question: dict[int, list[str]] = {}
    for row in rows:
        by_question.setdefault(row["question"], []).append(row["value"])
    summary = []
    for question in asked:
        values = by_question.get(question["id"], [])
        item: dict[str, Any] = {**question, "answers": len(values)}
        if question["kind"] == "texte":
            item["texts"] = values
        else:
            options = SCALE if question["kind"] == "echelle" else question["choices"]
            item["counts"] = [(option, values.count(option)) for option in options]
            if question["kind"] == "echelle" and values:
                item["mean"] = sum(int(v) for v in values) / len(values)
        summary.append(item)
    return {"questions": summary, "respondents": len({r["submission"] for r in rows})}


async def export_csv(meeting_id: int) -> str:
    """One line per person who answered (in no particular order), one column per question."""
    await _visible(meeting_id)
    return await export_csv_of(("meeting", meeting_id))


async def export_csv_of(owner: Owner) -> str:
    asked = await questions_of(owner)
    async with read_transaction():
        rows = await (
            ConsultationAnswer.select(
                ConsultationAnswer.question, ConsultationAnswer.submission, ConsultationAnswer.value
            )
            .where(_of(ConsultationAnswer, owner))
            .order_by(ConsultationAnswer.submission)
        )
    lines: dict[str, dict[int, str]] = {}
    for row in rows:
        lines.setdefault(row["submission"], {})[row["question"]] = row["value"]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow([_cell(q["label"]) for q in asked])
    for answers in lines.values():
        writer.writerow([_cell(answers.get(q["id"], "")) for q in asked])
    return out.getvalue()


def _cell(text: str) -> str:
    """A spreadsheet must not run what an inhabitant typed (« =HYPERLINK(…) »)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# ----- consultations per theme ------------------------------------------------------------------

THEME_COLUMNS = (
    Consultation.id,
    Consultation.axis,
    Consultation.axis.name.as_alias("axis_name"),
    Consultation.title,
    Consultation.is_open,
    Consultation.created_at,
)
TITLE_MAX = 200


async def theme_row(consultation_id: int) -> dict[str, Any] | None:
    if not 1 <= consultation_id <= ROW_ID_MAX:
        return None
    return (
        await Consultation.select(*THEME_COLUMNS).where(Consultation.id == consultation_id).first()
    )


async def theme(consultation_id: int) -> dict[str, Any]:
    async with read_transaction():
        row = await theme_row(consultation_id)
    if row is None:
        raise NotFound("Consultation", consultation_id)
    return row


async def themes() -> list[dict[str, Any]]:
    """Every consultation per theme, newest first, with its number of questions and answers."""
    async with read_transaction():
        rows = await Consultation.select(*THEME_COLUMNS).order_by(Consultation.id, ascending=False)
        asked = await ConsultationQuestion.select(ConsultationQuestion.consultation).where(
            ConsultationQuestion.consultation.is_not_null()
        )
        answered = await ConsultationAnswer.select(
            ConsultationAnswer.consultation, ConsultationAnswer.submission
        ).where(ConsultationAnswer.consultation.is_not_null())
    questions_by: dict[int, int] = {}
    for row in asked:
        questions_by[row["consultation"]] = questions_by.get(row["consultation"], 0) + 1
    people: dict[int, set[str]] = {}
    for row in answered:
        people.setdefault(row["consultation"], set()).add(row["submission"])
    return [
        {
            **row,
            "questions": questions_by.get(row["id"], 0),
            "respondents": len(people.get(row["id"], ())),
        }
        for row in rows
    ]


async def create_theme(actor: Actor, axis_id: int, title: str) -> dict[str, Any]:
    """A consultation on a theme of the CTG (an axis), closed until the coordinator opens it."""
    title = _line(title, TITLE_MAX)
    errors = []
    if not title:
        errors.append(FieldError("title", "Donnez un titre à la consultation."))
    elif len(title) > TITLE_MAX:
        errors.append(FieldError("title", f"Le titre est limité à {TITLE_MAX} caractères."))
    async with write_transaction():
        if not 1 <= axis_id <= ROW_ID_MAX or not await Axis.exists().where(Axis.id == axis_id):
            errors.append(FieldError("axis", "Choisissez un axe de la CTG."))
        if errors:
            raise InvalidData(errors)
        row = Consultation(axis=axis_id, title=title, is_open=False)
        await row.save()
        await audit.record(
            actor, "create", "consultation_theme", row.id, {"axis": axis_id, "title": title}
        )
    return await theme(row.id)


async def set_theme_open(actor: Actor, consultation_id: int, is_open: bool) -> dict[str, Any]:
    """Open (the public page answers) or close a theme's consultation; opening asks for a
    question at least."""
    async with write_transaction():
        if await theme_row(consultation_id) is None:
            raise NotFound("Consultation", consultation_id)
        if is_open and not await ConsultationQuestion.exists().where(
            ConsultationQuestion.consultation == consultation_id
        ):
            raise InvalidData.one(
                "is_open", "Ajoutez au moins une question avant d'ouvrir la consultation."
            )
        await Consultation.update({Consultation.is_open: is_open}).where(
            Consultation.id == consultation_id
        )
        await audit.record(
            actor, "update", "consultation_theme", consultation_id, {"is_open": is_open}
        )
    return await theme(consultation_id)


async def open_theme(consultation_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """A theme's consultation and its questions while a stranger may answer, else None."""
    async with read_transaction():
        row = await theme_row(consultation_id)
    if row is None or not row["is_open"]:
        return None
    asked = await questions_of(("consultation", consultation_id))
    return (row, asked) if asked else None


async def answer_theme(consultation_id: int, given: dict[int, str], actor: Actor) -> int:
    opened = await open_theme(consultation_id)
    if opened is None:
        raise NotFound("Consultation", consultation_id)
    return await _record(("consultation", consultation_id), opened[1], given, actor)
