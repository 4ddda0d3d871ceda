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
from maillage.crm.registry import scoped
from maillage.db import read_transaction, write_transaction
from maillage.errors import FieldError, InvalidData, NotFound
from maillage.tables import ConsultationAnswer, ConsultationQuestion, Meeting
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


async def _meeting(meeting_id: int) -> dict[str, Any] | None:
    if not 1 <= meeting_id <= 2**31 - 1:
        return None
    # Scoped (#20): another territory's meeting is not found; public pages have no user.
    return await (
        scoped(
            Meeting.select(
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
            ),
            "meetings",
        )
        .where(Meeting.id == meeting_id)
        .first()
    )


async def _visible(meeting_id: int) -> None:
    if await _meeting(meeting_id) is None:
        raise NotFound("Réunion", meeting_id)


async def questions(meeting_id: int) -> list[dict[str, Any]]:
    async with read_transaction():
        rows = await (
            ConsultationQuestion.select(*QUESTION_COLUMNS)
            .where(ConsultationQuestion.meeting == meeting_id)
            .order_by(ConsultationQuestion.position)
            .order_by(ConsultationQuestion.id)
        )
    return [{**row, "choices": choices_of(row)} for row in rows]


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


async def add_question(
    actor: Actor, meeting_id: int, kind: str, label: str, choices: list[str]
) -> dict[str, Any]:
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
    async with write_transaction():
        meeting = await _meeting(meeting_id)
        if meeting is None:
            raise NotFound("Réunion", meeting_id)
        await reach.check_meeting_writable(meeting_id)
        count = await ConsultationQuestion.count().where(ConsultationQuestion.meeting == meeting_id)
        if count >= MAX_QUESTIONS:
            raise InvalidData.one(
                "label", f"Une consultation compte au plus {MAX_QUESTIONS} questions."
            )
        row = ConsultationQuestion(
            meeting=meeting_id, position=count + 1, kind=kind, label=label, choices=cleaned
        )
        await row.save()
        await audit.record(
            actor, "create", ENTITY, row.id, {"meeting": meeting_id, "kind": kind, "label": label}
        )
    return {"id": row.id, "meeting": meeting_id, "kind": kind, "label": label, "choices": cleaned}


async def delete_question(actor: Actor, question_id: int) -> int:
    """Delete a question and its answers; the meeting's number."""
    async with write_transaction():
        row = (
            await ConsultationQuestion.select(*QUESTION_COLUMNS)
            .where(ConsultationQuestion.id == question_id)
            .first()
        )
        if row is None or await _meeting(row["meeting"]) is None:
            raise NotFound("Question", question_id)
        await reach.check_meeting_writable(row["meeting"])
        await ConsultationQuestion.delete().where(ConsultationQuestion.id == question_id)
        await audit.record(
            actor, "delete", ENTITY, question_id, {"meeting": row["meeting"], "label": row["label"]}
        )
    return row["meeting"]


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
    kept = check_answers(opened[1], given)
    submission = secrets.token_hex(8)
    async with write_transaction():
        await ConsultationAnswer.insert(
            *(
                ConsultationAnswer(
                    meeting=meeting_id, question=question, submission=submission, value=value
                )
                for question, value in kept.items()
            )
        )
        await audit.record(
            actor, "answer", ENTITY, None, {"meeting": meeting_id, "answers": len(kept)}
        )
    return len(kept)


async def results(meeting_id: int) -> dict[str, Any]:
    """Per question: counts of each choice or scale step, the scale's mean, the free texts."""
    await _visible(meeting_id)
    asked = await questions(meeting_id)
    async with read_transaction():
        rows = await ConsultationAnswer.select(
            ConsultationAnswer.question, ConsultationAnswer.submission, ConsultationAnswer.value
        ).where(ConsultationAnswer.meeting == meeting_id)
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
    asked = await questions(meeting_id)
    async with read_transaction():
        rows = await (
            ConsultationAnswer.select(
                ConsultationAnswer.question, ConsultationAnswer.submission, ConsultationAnswer.value
            )
            .where(ConsultationAnswer.meeting == meeting_id)
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
