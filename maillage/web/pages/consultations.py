"""Consultations per theme (#22): ``/consultations`` lists them and creates one on an axis;
``/consultations/{id}`` holds its questions (add, edit, reorder, delete), opens or closes it
and shows the summary of the anonymous answers. The public side is ``/consulter/{id}``.
The question forms of a meeting's consultation post to the same helpers."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from maillage.crm import consultations, lookups
from maillage.errors import ServiceError
from maillage.web.pages.common import error_text, flash, redirect, render
from maillage.web.security import AppRequest, requires, settings_of

WRITE = [requires("coordinateur")]
READ = [requires("lecteur")]


def _choices(data: Any) -> list[str] | None:
    if "choices" not in data:
        return None
    return str(data.get("choices") or "")[:20_000].splitlines()


async def add_question(request: AppRequest, owner: consultations.Owner, back: str) -> Any:
    data = await request.form()
    try:
        await consultations.add_question_to(
            request.user,
            owner,
            str(data.get("kind") or "")[:20],
            str(data.get("label") or "")[:2000],
            _choices(data) or [],
        )
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        flash(request, "Question ajoutée à la consultation.")
    return redirect(back)


async def edit_question(request: AppRequest, question_id: int, back: str) -> Any:
    data = await request.form()
    try:
        await consultations.edit_question(
            request.user, question_id, str(data.get("label") or "")[:2000], _choices(data)
        )
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        flash(request, "Question modifiée.")
    return redirect(back)


async def move_question(request: AppRequest, question_id: int, back: str) -> Any:
    data = await request.form()
    step = -1 if data.get("sens") == "haut" else 1
    try:
        await consultations.move_question(request.user, question_id, step)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        flash(request, "Question déplacée.")
    return redirect(back)


def csv_response(text: str, name: str) -> Response[bytes]:
    return Response(
        content=("\ufeff" + text).encode("utf-8"),  # the BOM: Excel reads UTF-8 correctly
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


# ----- the consultations per theme ------------------------------------------------------------


@get("/consultations", guards=READ, include_in_schema=False)
async def theme_list(request: AppRequest) -> Template:
    return render(
        request,
        "consultations/liste.html",
        themes=await consultations.themes(),
        axes=await lookups.axes(),
    )


@post("/consultations", guards=WRITE, include_in_schema=False)
async def theme_create(request: AppRequest) -> Any:
    data = await request.form()
    raw = str(data.get("axis") or "")
    axis = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else 0
    try:
        row = await consultations.create_theme(
            request.user, axis, str(data.get("title") or "")[:2000]
        )
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
        return redirect("/consultations")
    flash(request, "Consultation créée : ajoutez ses questions, puis ouvrez-la.")
    return redirect(f"/consultations/{row['id']}")


@get("/consultations/{record_id:int}", guards=READ, include_in_schema=False)
async def theme_page(request: AppRequest, record_id: FromPath[int]) -> Template:
    theme = await consultations.theme(record_id)
    base = settings_of(request).base_url
    return render(
        request,
        "consultations/fiche.html",
        theme=theme,
        consultation=await consultations.results_of(("consultation", record_id)),
        consultation_kinds=consultations.KINDS,
        public_url=f"{base}/consulter/{record_id}",
    )


@post("/consultations/{record_id:int}/ouverture", guards=WRITE, include_in_schema=False)
async def theme_open(request: AppRequest, record_id: FromPath[int]) -> Any:
    data = await request.form()
    wanted = data.get("ouverte") == "oui"
    try:
        await consultations.set_theme_open(request.user, record_id, wanted)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        flash(request, "Consultation ouverte au public." if wanted else "Consultation fermée.")
    return redirect(f"/consultations/{record_id}")


@post("/consultations/{record_id:int}/questions", guards=WRITE, include_in_schema=False)
async def theme_question_add(request: AppRequest, record_id: FromPath[int]) -> Any:
    return await add_question(request, ("consultation", record_id), f"/consultations/{record_id}")


@post(
    "/consultations/{record_id:int}/questions/{question_id:int}/modifier",
    guards=WRITE,
    include_in_schema=False,
)
async def theme_question_edit(
    request: AppRequest, record_id: FromPath[int], question_id: FromPath[int]
) -> Any:
    return await edit_question(request, question_id, f"/consultations/{record_id}")


@post(
    "/consultations/{record_id:int}/questions/{question_id:int}/deplacer",
    guards=WRITE,
    include_in_schema=False,
)
async def theme_question_move(
    request: AppRequest, record_id: FromPath[int], question_id: FromPath[int]
) -> Any:
    return await move_question(request, question_id, f"/consultations/{record_id}")


@post(
    "/consultations/{record_id:int}/questions/{question_id:int}/supprimer",
    guards=WRITE,
    include_in_schema=False,
)
async def theme_question_delete(
    request: AppRequest, record_id: FromPath[int], question_id: FromPath[int]
) -> Any:
    try:
        await consultations.delete_question(request.user, question_id)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        flash(request, "Question supprimée, avec ses réponses.")
    return redirect(f"/consultations/{record_id}")


@get("/consultations/{record_id:int}/reponses.csv", guards=READ, include_in_schema=False)
async def theme_export(record_id: FromPath[int]) -> Response[Any]:
    await consultations.theme(record_id)  # 404 for an unknown consultation
    text = await consultations.export_csv_of(("consultation", record_id))
    return csv_response(text, f"consultation-theme-{record_id}.csv")


HANDLERS = [
    theme_list,
    theme_create,
    theme_page,
    theme_open,
    theme_question_add,
    theme_question_edit,
    theme_question_move,
    theme_question_delete,
    theme_export,
]
