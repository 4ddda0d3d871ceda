"""The consultation of a public meeting in the pages (#22): the coordinator writes questions
on the meeting page, inhabitants answer anonymously on `/participer/{id}/consultation`, the
summary shows on the meeting page and the answers export as CSV."""

from __future__ import annotations

import datetime as dt
import re

from maillage.tables import ConsultationAnswer, ConsultationQuestion, Meeting
from maillage.web.pages import participation
from tests.crm.test_inhabitants import public_meeting
from tests.web.helpers import html_text


async def _open(meeting: int) -> None:
    await Meeting.update({Meeting.consultation_open: True}).where(Meeting.id == meeting)


def _stamp(settings, meeting: int) -> str:
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=10)
    return participation.form_stamp(settings.secret_key, -meeting, moment)


async def test_questions_answers_summary_and_export(coordinator_web, visitor, settings, database):
    meeting = await public_meeting()
    await _open(meeting)
    page = f"/reunions/{meeting}"
    for fields in (
        {"label": "Quel mode de garde ?", "kind": "choix", "choices": "Crèche\r\nAutre\r\n"},
        {"label": "Votre satisfaction", "kind": "echelle", "choices": ""},
        {"label": "Une idée ?", "kind": "texte", "choices": ""},
    ):
        response = await coordinator_web.post(f"{page}/consultation/questions", fields)
        assert response.status_code == 303
    refused = await coordinator_web.post(
        f"{page}/consultation/questions", {"label": "Seule", "kind": "choix", "choices": "Oui"}
    )
    assert "Donnez de 2 à 10 réponses possibles" in html_text(
        await coordinator_web.get(refused.headers["location"])
    )
    q = {
        row["kind"]: row["id"]
        for row in await ConsultationQuestion.select(
            ConsultationQuestion.id, ConsultationQuestion.kind
        )
    }

    before = html_text(await coordinator_web.get(page))
    assert "Personne n'a encore répondu." in before and "0 personne a répondu" not in before
    assert "Aucune inscription pour l'instant" in before and "0 personne" not in before

    form = await visitor.get(f"/participer/{meeting}/consultation")
    assert form.status_code == 200
    assert "Vos réponses sont anonymes" in html_text(form)
    assert re.search(r'name="jeton" value="[^"]+"', form.text)
    answers = {f"q{q['choix']}": "Crèche", f"q{q['echelle']}": "4", f"q{q['texte']}": "Un relais"}
    done = await visitor.post(
        f"/participer/{meeting}/consultation", {**answers, "jeton": _stamp(settings, meeting)}
    )
    assert done.status_code == 200, html_text(done)
    assert "Merci pour vos réponses" in html_text(done)
    too_fast = await visitor.post(
        f"/participer/{meeting}/consultation",
        {**answers, "jeton": re.search(r'name="jeton" value="([^"]+)"', form.text)[1]},
    )
    assert "envoyé trop vite" in html_text(too_fast)
    wrong = await visitor.post(
        f"/participer/{meeting}/consultation",
        {f"q{q['echelle']}": "9", "jeton": _stamp(settings, meeting)},
    )
    assert wrong.status_code == 400
    assert "Votre satisfaction : Choisissez une des réponses proposées." in html_text(wrong)
    assert await ConsultationAnswer.count() == 3

    text = html_text(await coordinator_web.get(page))
    assert "1 personne a répondu" in text
    assert "Crèche : 1" in text and "Moyenne : 4,0 sur 5" in text and "Un relais" in text
    export = await coordinator_web.get(f"{page}/consultation.csv")
    assert export.headers["content-type"].startswith("text/csv")
    assert export.content.decode("utf-8-sig").splitlines() == [
        "Quel mode de garde ?;Votre satisfaction;Une idée ?",
        "Crèche;4;Un relais",
    ]


async def test_closed_consultations_get_the_same_404(visitor, settings, database):
    closed = await public_meeting()
    empty = await public_meeting()
    await _open(empty)
    answers = set()
    for number in (closed, empty, 999_999, "abc", "²"):
        for method in ("GET", "POST"):
            path = f"/participer/{number}/consultation"
            if method == "GET":
                response = await visitor.get(path)
            else:
                response = await visitor.post(path, {"jeton": "x"})
            assert response.status_code == 404
            assert "Consultation fermée" in html_text(response)
            answers.add(response.text)
    assert len(answers) == 1


async def test_a_registration_stamp_does_not_open_the_consultation(visitor, settings, database):
    meeting = await public_meeting()
    await _open(meeting)
    await ConsultationQuestion.insert(
        ConsultationQuestion(meeting=meeting, position=1, kind="echelle", label="Note", choices=[])
    )
    question = (await ConsultationQuestion.select(ConsultationQuestion.id).first())["id"]
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=10)
    stamp = participation.form_stamp(settings.secret_key, meeting, moment)
    response = await visitor.post(
        f"/participer/{meeting}/consultation", {f"q{question}": "3", "jeton": stamp}
    )
    assert response.status_code == 400
    assert "Votre réponse n'a pas pu être enregistrée" in html_text(response)
    assert await ConsultationAnswer.count() == 0


async def test_a_reader_sees_the_summary_without_the_question_form(reader_web, database):
    meeting = await public_meeting()
    text = html_text(await reader_web.get(f"/reunions/{meeting}"))
    assert "Consultation des habitants" in text and "Ajouter une question" not in text


async def test_the_api_writes_questions_and_reads_the_summary(reader, coordinator, database):
    meeting = await public_meeting()
    await _open(meeting)
    base = f"/api/v1/meetings/{meeting}/consultation"
    question = {"kind": "choix", "label": "Garde ?", "choices": ["Crèche", "Autre"]}
    assert (await reader.client.post(f"{base}/questions", json=question)).status_code == 403
    created = await coordinator.client.post(f"{base}/questions", json=question)
    assert created.status_code == 201, created.text
    bad = await coordinator.client.post(
        f"{base}/questions", json={"kind": "choix", "label": "Seule", "choices": ["Oui"]}
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "choices"
    unknown = await coordinator.client.post(f"{base}/questions", json={"kind": "x", "label": "Q"})
    assert unknown.status_code == 400
    read = await reader.client.get(base)
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["open"] is True and body["respondents"] == 0
    assert body["questions"][0]["counts"] == [["Crèche", 0], ["Autre", 0]]
    gone = await coordinator.client.delete(f"/api/v1/consultation-questions/{created.json()['id']}")
    assert gone.status_code == 204
    assert (await reader.client.get(base)).json()["open"] is False
    assert (await reader.client.get("/api/v1/meetings/999999/consultation")).status_code == 404
