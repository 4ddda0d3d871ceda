"""Consultations per theme in the pages (#22): the coordinator creates one on an axis, writes,
edits and reorders its questions, opens it; inhabitants answer on `/consulter/{id}`; a meeting's
questions are edited and reordered on the meeting page the same way."""

from __future__ import annotations

import datetime as dt

from maillage.crm import consultations
from maillage.tables import Axis, ConsultationAnswer, ConsultationQuestion
from maillage.web.pages import participation
from tests.crm.test_inhabitants import public_meeting
from tests.web.helpers import html_text


def _stamp(settings, theme: int) -> str:
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=10)
    return participation.form_stamp(settings.secret_key, participation.THEME_STAMP + theme, moment)


async def _ids() -> list[int]:
    rows = await ConsultationQuestion.select(ConsultationQuestion.id).order_by(
        ConsultationQuestion.position
    )
    return [row["id"] for row in rows]


async def test_a_theme_consultation_from_creation_to_answers(
    coordinator_web, visitor, settings, database
):
    axis = await Axis.select(Axis.id, Axis.name).order_by(Axis.id).first()
    created = await coordinator_web.post(
        "/consultations", {"title": "Parentalité : vos besoins", "axis": str(axis["id"])}
    )
    assert created.status_code == 303
    page = created.headers["location"]
    theme = int(page.rsplit("/", 1)[1])
    assert (await visitor.get(f"/consulter/{theme}")).status_code == 404  # closed
    refused = await coordinator_web.post(f"{page}/ouverture", {"ouverte": "oui"})
    assert "au moins une question" in html_text(
        await coordinator_web.get(refused.headers["location"])
    )
    for fields in (
        {"label": "Quel soutien ?", "kind": "choix", "choices": "Groupes\r\nEntretiens"},
        {"label": "Bien informé ?", "kind": "echelle", "choices": ""},
    ):
        assert (await coordinator_web.post(f"{page}/questions", fields)).status_code == 303
    first, second = await _ids()
    await coordinator_web.post(f"{page}/questions/{second}/deplacer", {"sens": "haut"})
    assert await _ids() == [second, first]
    await coordinator_web.post(
        f"{page}/questions/{first}/modifier",
        {"label": "Quel soutien attendez-vous ?", "choices": "Groupes\r\nEntretiens\r\nAteliers"},
    )
    await coordinator_web.post(f"{page}/ouverture", {"ouverte": "oui"})
    text = html_text(await coordinator_web.get(page))
    assert "ouverte au public" in text and f"http://testserver/consulter/{theme}" in text
    listing = html_text(await coordinator_web.get("/consultations"))
    assert "Parentalité : vos besoins" in listing and axis["name"] in listing

    form = await visitor.get(f"/consulter/{theme}")
    assert form.status_code == 200
    body = html_text(form)
    assert body.index("Bien informé ?") < body.index("Quel soutien attendez-vous ?")
    assert "Ateliers" in body
    done = await visitor.post(
        f"/consulter/{theme}",
        {f"q{first}": "Ateliers", f"q{second}": "5", "jeton": _stamp(settings, theme)},
    )
    assert done.status_code == 200 and "Merci pour vos réponses" in html_text(done)
    # A meeting's stamp does not open a theme's form.
    meeting_stamp = participation.form_stamp(
        settings.secret_key, -theme, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=10)
    )
    forged = await visitor.post(
        f"/consulter/{theme}", {f"q{first}": "Ateliers", "jeton": meeting_stamp}
    )
    assert forged.status_code == 400
    assert await ConsultationAnswer.count() == 2
    text = html_text(await coordinator_web.get(page))
    assert "1 personne a répondu" in text and "Ateliers : 1" in text
    export = await coordinator_web.get(f"{page}/reponses.csv")
    assert export.content.decode("utf-8-sig").splitlines() == [
        "Bien informé ?;Quel soutien attendez-vous ?",
        "5;Ateliers",
    ]
    closed = await coordinator_web.post(f"{page}/ouverture", {"ouverte": "non"})
    assert closed.status_code == 303
    assert (await visitor.get(f"/consulter/{theme}")).status_code == 404


async def test_a_meetings_questions_are_edited_and_reordered_on_its_page(coordinator_web, database):
    meeting = await public_meeting()
    page = f"/reunions/{meeting}"
    for label in ("Première ?", "Seconde ?"):
        await coordinator_web.post(
            f"{page}/consultation/questions", {"label": label, "kind": "texte", "choices": ""}
        )
    first, second = await _ids()
    moved = await coordinator_web.post(
        f"{page}/consultation/questions/{first}/deplacer", {"sens": "bas"}
    )
    assert moved.status_code == 303
    assert await _ids() == [second, first]
    await coordinator_web.post(
        f"{page}/consultation/questions/{second}/modifier", {"label": "Désormais première ?"}
    )
    text = html_text(await coordinator_web.get(page))
    assert text.index("Désormais première ?") < text.index("Première ?")
    asked = await consultations.questions(meeting)
    assert [q["label"] for q in asked] == ["Désormais première ?", "Première ?"]


async def test_the_api_runs_a_theme_consultation(coordinator, reader, database):
    axis = (await Axis.select(Axis.id).order_by(Axis.id).first())["id"]
    api = coordinator.client
    refused = await reader.client.post("/api/v1/consultations", json={"axis": axis, "title": "x"})
    assert refused.status_code == 403
    created = await api.post("/api/v1/consultations", json={"axis": axis, "title": "Jeunesse"})
    assert created.status_code == 201, created.text
    theme = created.json()["id"]
    closed = await api.post(f"/api/v1/consultations/{theme}/open", json={"is_open": True})
    assert closed.status_code == 400 and "au moins une question" in closed.text
    ids = []
    for body in (
        {"kind": "choix", "label": "Quel lieu ?", "choices": ["Mairie", "École"]},
        {"kind": "texte", "label": "Une idée ?"},
    ):
        answer = await api.post(f"/api/v1/consultations/{theme}/questions", json=body)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    moved = await api.post(f"/api/v1/consultation-questions/{ids[1]}/move", json={"step": -1})
    assert moved.status_code == 200
    edited = await api.patch(
        f"/api/v1/consultation-questions/{ids[0]}",
        json={"label": "Quel lieu préférez-vous ?", "choices": ["Mairie", "École", "Gymnase"]},
    )
    assert edited.status_code == 200 and edited.json()["choices"][-1] == "Gymnase"
    opened = await api.post(f"/api/v1/consultations/{theme}/open", json={"is_open": True})
    assert opened.json()["is_open"] is True
    read = (await reader.client.get(f"/api/v1/consultations/{theme}")).json()
    assert [q["label"] for q in read["questions"]] == ["Une idée ?", "Quel lieu préférez-vous ?"]
    listed = (await reader.client.get("/api/v1/consultations")).json()
    assert [t["title"] for t in listed] == ["Jeunesse"]
