"""The coordinator's side of inhabitants' registrations (#22): cancel one, give a place to
someone on the waiting list. The list itself is a section of the meeting page."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath

from maillage.crm import consultations, inhabitants
from maillage.errors import ServiceError
from maillage.mailing import participation
from maillage.web.pages import consultations as question_pages
from maillage.web.pages.common import error_text, flash, redirect
from maillage.web.security import AppRequest, requires, settings_of

WRITE = [requires("coordinateur")]
READ = [requires("lecteur")]


async def _change(request: AppRequest, meeting_id: int, registration_id: int, promote: bool) -> Any:
    back = f"/reunions/{meeting_id}#inscriptions"
    try:
        if promote:
            settings = settings_of(request)
            row = await participation.promote(request.user, settings, registration_id)
        else:
            row = await inhabitants.cancel(request.user, registration_id)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
        return redirect(back)
    if row["meeting"] != meeting_id:  # a number typed from another meeting's page
        back = f"/reunions/{row['meeting']}#inscriptions"
    done = "a maintenant une place" if promote else ": inscription annulée"
    flash(request, f"{row['name']} {done}.")
    return redirect(back)


@post(
    "/reunions/{record_id:int}/inscriptions/{registration_id:int}/annuler",
    guards=WRITE,
    include_in_schema=False,
)
async def registration_cancel(
    request: AppRequest, record_id: FromPath[int], registration_id: FromPath[int]
) -> Any:
    return await _change(request, record_id, registration_id, promote=False)


@post(
    "/reunions/{record_id:int}/inscriptions/{registration_id:int}/promouvoir",
    guards=WRITE,
    include_in_schema=False,
)
async def registration_promote(
    request: AppRequest, record_id: FromPath[int], registration_id: FromPath[int]
) -> Any:
    return await _change(request, record_id, registration_id, promote=True)


# ----- the consultation's questions ----------------------------------------------------------


@post("/reunions/{record_id:int}/consultation/questions", guards=WRITE, include_in_schema=False)
async def question_add(request: AppRequest, record_id: FromPath[int]) -> Any:
    data = await request.form()
    choices = str(data.get("choices") or "")[:20_000].splitlines()
    try:
        await consultations.add_question(
            request.user,
            record_id,
            str(data.get("kind") or "")[:20],
            str(data.get("label") or "")[:2000],
            choices,
        )
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        flash(request, "Question ajoutée à la consultation.")
    return redirect(f"/reunions/{record_id}#consultation")


@post(
    "/reunions/{record_id:int}/consultation/questions/{question_id:int}/supprimer",
    guards=WRITE,
    include_in_schema=False,
)
async def question_delete(
    request: AppRequest, record_id: FromPath[int], question_id: FromPath[int]
) -> Any:
    try:
        meeting = await consultations.delete_question(request.user, question_id)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
        return redirect(f"/reunions/{record_id}#consultation")
    flash(request, "Question supprimée, avec ses réponses.")
    return redirect(f"/reunions/{meeting}#consultation")


@post(
    "/reunions/{record_id:int}/consultation/questions/{question_id:int}/modifier",
    guards=WRITE,
    include_in_schema=False,
)
async def question_edit(
    request: AppRequest, record_id: FromPath[int], question_id: FromPath[int]
) -> Any:
    return await question_pages.edit_question(
        request, question_id, f"/reunions/{record_id}#question-{question_id}"
    )


@post(
    "/reunions/{record_id:int}/consultation/questions/{question_id:int}/deplacer",
    guards=WRITE,
    include_in_schema=False,
)
async def question_move(
    request: AppRequest, record_id: FromPath[int], question_id: FromPath[int]
) -> Any:
    return await question_pages.move_question(
        request, question_id, f"/reunions/{record_id}#question-{question_id}"
    )


@get("/reunions/{record_id:int}/consultation.csv", guards=READ, include_in_schema=False)
async def consultation_export(record_id: FromPath[int]) -> Response[Any]:
    await inhabitants.meeting_of(record_id)  # 404 for an unknown meeting
    text = await consultations.export_csv(record_id)
    return Response(
        content=("\ufeff" + text).encode("utf-8"),  # the BOM: Excel reads UTF-8 correctly
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="consultation-{record_id}.csv"',
            "Cache-Control": "no-store",
        },
    )


HANDLERS = [
    registration_cancel,
    registration_promote,
    question_add,
    question_edit,
    question_move,
    question_delete,
    consultation_export,
]
