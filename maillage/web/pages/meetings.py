"""Réunions: the agenda, scheduling, moving, cancelling, attendance, sign-in sheet, minutes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import get, post
from litestar.params import FromPath, Parameter
from litestar.response import Template

from maillage.calendar import service as calendar
from maillage.calendar.scheduling import SchedulingWarning
from maillage.crm import agenda, audit, consultations, decisions, inhabitants, lookups
from maillage.crm.registry import SERVICES
from maillage.crm.resources import PAGE_COUNT_CAP, ListQuery
from maillage.errors import InvalidData, ServiceError
from maillage.folding import fold
from maillage.french import plural
from maillage.mailing import invitations, review
from maillage.vocabulary import CANCELLED, DECISION_STATUSES, HELD, PENDING, PLANNED
from maillage.web.pages.common import (
    PAGE_SIZE,
    Field,
    FormState,
    build,
    error_text,
    flash,
    paginate,
    parse_int,
    read_form,
    redirect,
    render,
    take_service_error,
)
from maillage.web.pages.labels import PARIS, choices, iso_local
from maillage.web.security import AppRequest, requires, settings_of

SERVICE = SERVICES["meetings"]
PICKER_SIZE = 20
WRITE = [requires("coordinateur")]
WHEN_FIELDS = [
    Field("date", "Date", "date", required=True),
    Field(
        "start", "Heure de début", "time", required=True, hint="Heure de Paris, par exemple 14:00."
    ),
    Field("end", "Heure de fin", "time", required=True),
]
FIELDS = [
    Field(
        "working_group", "Instance", "select", required=True, choices="groups", integer_choices=True
    ),
    Field("title", "Titre", required=True, maxlength=300),
    *WHEN_FIELDS,
    Field("location", "Lieu", empty_is_none=False, maxlength=300),
    Field("video_url", "Lien de visioconférence", "url"),
    Field("agenda", "Ordre du jour", "textarea", empty_is_none=False),
    Field("is_public", "Réunion publique (avec des habitants)", "checkbox"),
    Field(
        "registration_open",
        "Inscriptions en ligne ouvertes aux habitants (page publique sans compte)",
        "checkbox",
    ),
    Field(
        "capacity",
        "Nombre de places",
        "int",
        hint="Laissez vide pour ne pas limiter ; au-delà, les habitants vont en liste d'attente.",
    ),
    Field(
        "retention_days",
        "Conservation des inscriptions (jours après la réunion)",
        "int",
        hint="365 si vide ; les inscriptions sont ensuite effacées automatiquement.",
    ),
    Field(
        "consultation_open",
        "Consultation en ligne ouverte (réponses anonymes)",
        "checkbox",
    ),
]
# The service speaks of starts_at and ends_at; the form of a date and two times.
ALIASES = {"starts_at": "start", "ends_at": "end"}
LABELS = {f.name: f.label for f in FIELDS} | {
    "starts_at": "Début",
    "ends_at": "Fin",
    "status": "Statut",
    "minutes": "Compte rendu",
}


def _moments(values: dict[str, Any], form: FormState) -> dict[str, Any]:
    """Date and times typed in Paris time to aware datetimes (the service wants a zone)."""
    day, start, end = values.pop("date", None), values.pop("start", None), values.pop("end", None)
    if values.get("retention_days", 0) is None:
        values["retention_days"] = 365
    if form.has_errors or day is None:
        return values
    try:
        starts = dt.datetime.combine(day, dt.time.fromisoformat(start), PARIS)
    except ValueError:
        form.add("start", "Heure invalide : utilisez le format HH:MM.")
        return values
    try:
        ends = dt.datetime.combine(day, dt.time.fromisoformat(end), PARIS)
    except ValueError:
        form.add("end", "Heure invalide : utilisez le format HH:MM.")
        return values
    return {**values, "starts_at": starts, "ends_at": ends}


@get("/reunions", include_in_schema=False)
async def meeting_list(
    request: AppRequest,
    periode: str = Parameter(default="a_venir", max_length=20),
    instance: str | None = Parameter(default=None, max_length=12),
    statut: str | None = Parameter(default=None, max_length=20),
    page: int = Parameter(default=1, ge=1, le=1_000_000),
) -> Template:
    periode = periode if periode in ("a_venir", "passees") else "a_venir"
    statut = statut if statut in choices_dict("meeting_status") else None
    params = {"periode": periode, "instance": instance, "statut": statut}
    result = await agenda.list_meetings(
        period=periode,
        now=dt.datetime.now(dt.UTC),
        group=parse_int(instance),
        status=statut,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        count_cap=PAGE_COUNT_CAP,
    )
    return render(
        request,
        "reunions/liste.html",
        items=result["items"],
        pager=paginate(page, result["total"], cap=PAGE_COUNT_CAP, shown=len(result["items"])),
        params=params,
        groups=await lookups.groups(include_inactive=True),
        statuses=choices("meeting_status"),
    )


def choices_dict(kind: str) -> dict[str, str]:
    return dict(choices(kind))


@get("/reunions/nouvelle", guards=WRITE, include_in_schema=False)
async def meeting_new(
    request: AppRequest, instance: int | None = Parameter(default=None, ge=1)
) -> Template:
    values: dict[str, Any] = {"working_group": instance}
    if instance:
        group = await SERVICES["groups"].get(instance)
        values["location"] = group["default_location"]
        values["title"] = group["name"]
    return await _form_page(request, FormState(values=values))


async def _form_page(
    request: AppRequest,
    form: FormState,
    status_code: int = 200,
    meeting: dict[str, Any] | None = None,
    warnings: list[Any] | None = None,
) -> Template:
    return render(
        request,
        "reunions/formulaire.html",
        status_code=status_code,
        form=form,
        fields=FIELDS,
        options={"groups": await lookups.groups()},
        r=meeting,
        warnings=warnings or [],
    )


async def _unconfirmed(
    data: Any, group: int, values: dict[str, Any], record_id: int | None = None
) -> list[SchedulingWarning]:
    """The scheduling warnings for the slot, unless the coordinator already confirmed them."""
    if data.get("confirmer") == "1":
        return []
    starts, ends = values["starts_at"], values["ends_at"]
    return await calendar.warnings_before(group, starts, ends, record_id)


@post("/reunions/nouvelle", guards=WRITE, include_in_schema=False)
async def meeting_create(request: AppRequest) -> Any:
    data = await request.form()
    form = read_form(FIELDS, data)
    values = _moments(dict(form.values), form)
    if not form.has_errors:
        struct = build(SERVICE.spec.input, values, form)
        if struct is not None:
            warnings = await _unconfirmed(data, struct.working_group, values)
            if warnings:
                return await _form_page(request, form, warnings=warnings)
            try:
                record = (await calendar.schedule(request.user, struct)).meeting
            except ServiceError as error:
                take_service_error(error, form, ALIASES)
            else:
                flash(request, f"Réunion « {record['title']} » planifiée.")
                return redirect(f"/reunions/{record['id']}")
    return await _form_page(request, form, 400)


def _edit_values(meeting: dict[str, Any]) -> dict[str, Any]:
    return {
        **{f.name: meeting.get(f.name) for f in FIELDS},
        "date": iso_local(meeting["starts_at"], "date"),
        "start": iso_local(meeting["starts_at"], "time"),
        "end": iso_local(meeting["ends_at"], "time"),
        "version": meeting["version"],
    }


async def _posted(request: AppRequest, record_id: int, fields: Any) -> tuple[Any, ...]:
    """An edit or move form as posted: the meeting, the form data, the read form, its moments
    and the version the coordinator read."""
    meeting = await SERVICE.get(record_id)
    data = await request.form()
    form = read_form(fields, data)
    values = _moments(dict(form.values), form)
    form.values["version"] = version = parse_int(data.get("version"))
    return meeting, data, form, values, version


@get("/reunions/{record_id:int}/modifier", guards=WRITE, include_in_schema=False)
async def meeting_edit_page(request: AppRequest, record_id: FromPath[int]) -> Template:
    meeting = await SERVICE.get(record_id)
    return await _form_page(request, FormState(values=_edit_values(meeting)), meeting=meeting)


@post("/reunions/{record_id:int}/modifier", guards=WRITE, include_in_schema=False)
async def meeting_edit(request: AppRequest, record_id: FromPath[int]) -> Any:
    meeting, data, form, values, version = await _posted(request, record_id, FIELDS)
    if not form.has_errors:
        changes = {**values, "version": version}
        struct = build(SERVICE.spec.update, changes, form)
        if struct is not None:
            warnings = await _unconfirmed(data, values["working_group"], values, record_id)
            if warnings and _slot_changed(meeting, values):
                return await _form_page(request, form, meeting=meeting, warnings=warnings)
            try:
                await calendar.update_meeting(request.user, record_id, changes)
            except ServiceError as error:
                take_service_error(error, form, ALIASES)
            else:
                return await _changed(request, record_id, "Réunion modifiée.")
    return await _form_page(request, form, 400, meeting=meeting)


def _slot_changed(meeting: dict[str, Any], values: dict[str, Any]) -> bool:
    """Warnings are asked again only when the day, the hours or the body change."""
    keys = ("starts_at", "ends_at", "working_group")
    return any(meeting.get(key) != values.get(key) for key in keys)


@get("/reunions/{record_id:int}", include_in_schema=False)
async def meeting_detail(
    request: AppRequest,
    record_id: FromPath[int],
    contact_q: str | None = Parameter(default=None, max_length=200),
) -> Template:
    detail = await agenda.meeting_detail(record_id, dt.date.today())
    history = await audit.list_events(20, 0, "meeting", record_id)
    found = None
    if contact_q and contact_q.strip():
        found = await SERVICES["contacts"].page(ListQuery(limit=PICKER_SIZE, q=contact_q))
    return render(
        request,
        "reunions/fiche.html",
        r=detail["meeting"],
        g=detail["group"],
        people=detail["people"],
        invited=[p for p in detail["people"] if p["invitation"]],
        members_not_invited=[p for p in detail["people"] if not p["invitation"]],
        contact_q=contact_q,
        found=found,
        history=history["items"],
        field_labels=LABELS,
        minutes_form=FormState(values={"minutes": detail["meeting"]["minutes"]}),
        warnings=await _live_warnings(detail["meeting"]),
        started=detail["meeting"]["starts_at"] <= dt.datetime.now(dt.UTC),
        inbound_items=await review.of_meeting(record_id),
        **await _decisions_context(detail),
        **await _registrations_context(request, detail["meeting"]),
    )


async def _registrations_context(request: AppRequest, meeting: dict[str, Any]) -> dict[str, Any]:
    """Inhabitants registered through the public page (#22), on public meetings only."""
    if not meeting["is_public"]:
        return {"ins": None}
    base = settings_of(request).base_url.rstrip("/")
    return {
        "ins": await inhabitants.meeting_registrations(meeting["id"]),
        "public_url": f"{base}/participer/{meeting['id']}",
        "consultation": await consultations.results(meeting["id"]),
        "consultation_url": f"{base}/participer/{meeting['id']}/consultation",
        "consultation_kinds": consultations.KINDS,
    }


async def _decisions_context(detail: dict[str, Any]) -> dict[str, Any]:
    """The decisions taken at the meeting, the body's earlier ones still open (« suites à
    donner »), and who may carry a new one: the meeting's people and their organisations."""
    today = dt.date.today()
    meeting = detail["meeting"]
    people = sorted(
        {p["contact"]: f"{p['first_name']} {p['last_name']}" for p in detail["people"]}.items(),
        key=lambda item: fold(item[1]),
    )
    return {
        "decisions": await decisions.of_meeting(meeting["id"], today),
        "follow_ups": await decisions.open_of_group(
            detail["group"]["id"], today, before_meeting=meeting["id"]
        ),
        "carrier_people": people,
        "carrier_organisations": await decisions.organisations_of([c for c, _ in people]),
        "decision_statuses": list(DECISION_STATUSES.items()),
    }


async def _live_warnings(meeting: dict[str, Any]) -> list[Any]:
    """Only a meeting still to come can be moved away from a holiday or a clash."""
    if meeting["status"] in (CANCELLED, HELD):
        return []
    if meeting["ends_at"] < dt.datetime.now(dt.UTC):
        return []
    return await calendar.warnings_of(meeting)


async def tell_invitees(request: AppRequest, record_id: int) -> None:
    """The update or cancellation goes at once to those who had the meeting: say to how many."""
    report = await invitations.queue_changes(request.user, settings_of(request), record_id)
    for kind, word in (("modification", "La modification"), ("annulation", "L'annulation")):
        if report[kind]:
            people = plural(report[kind], "personne invitée", "personnes invitées")
            flash(request, f"{word} part à {people} : suivi dans « Envois ».")
    if report.get("inhabitants"):
        people = plural(report["inhabitants"], "habitant inscrit", "habitants inscrits")
        flash(request, f"L'avis d'annulation part à {people} : suivi dans « Envois ».")
    for item in report["problems"][:10]:
        flash(request, f"{item['name']} : {item['reason']}", "attention")


async def _changed(request: AppRequest, record_id: int, message: str) -> Any:
    """After an edit, a move or a change of status: say so, tell the invitees, show the page."""
    flash(request, message)
    await tell_invitees(request, record_id)
    return redirect(f"/reunions/{record_id}")


@get("/reunions/{record_id:int}/deplacer", guards=WRITE, include_in_schema=False)
async def meeting_move_page(request: AppRequest, record_id: FromPath[int]) -> Template:
    meeting = await SERVICE.get(record_id)
    values = {
        "date": iso_local(meeting["starts_at"], "date"),
        "start": iso_local(meeting["starts_at"], "time"),
        "end": iso_local(meeting["ends_at"], "time"),
        "location": meeting["location"],
        "version": meeting["version"],
    }
    return _move_page(request, meeting, FormState(values=values))


MOVE_FIELDS = [*WHEN_FIELDS, Field("location", "Lieu", empty_is_none=False, maxlength=300)]


def _move_page(
    request: AppRequest,
    meeting: dict[str, Any],
    form: FormState,
    status_code: int = 200,
    warnings: list[SchedulingWarning] | None = None,
) -> Template:
    return render(
        request,
        "reunions/deplacer.html",
        status_code=status_code,
        r=meeting,
        form=form,
        fields=MOVE_FIELDS,
        warnings=warnings or [],
    )


@post("/reunions/{record_id:int}/deplacer", guards=WRITE, include_in_schema=False)
async def meeting_move(request: AppRequest, record_id: FromPath[int]) -> Any:
    meeting, data, form, values, version = await _posted(request, record_id, MOVE_FIELDS)
    if not form.has_errors and version is not None:
        warnings = await _unconfirmed(data, meeting["working_group"], values, record_id)
        if warnings:
            return _move_page(request, meeting, form, warnings=warnings)
        try:
            await calendar.move(
                request.user,
                record_id,
                version,
                values["starts_at"],
                values["ends_at"],
                values.get("location"),
            )
        except ServiceError as error:
            take_service_error(error, form, ALIASES)
        else:
            return await _changed(request, record_id, "Réunion déplacée.")
    return _move_page(request, meeting, form, 400)


async def _set_status(request: AppRequest, record_id: int, status: str, message: str) -> Any:
    meeting = await SERVICE.get(record_id)
    try:
        changes = {"version": meeting["version"], "status": status}
        await calendar.update_meeting(request.user, record_id, changes)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        return await _changed(request, record_id, message)
    return redirect(f"/reunions/{record_id}")


@get("/reunions/{record_id:int}/annuler", guards=WRITE, include_in_schema=False)
async def meeting_cancel_page(request: AppRequest, record_id: FromPath[int]) -> Any:
    """Cancelling tells every invitee at once: say to how many before it is done."""
    meeting = await SERVICE.get(record_id)
    if meeting["status"] == CANCELLED:
        return redirect(f"/reunions/{record_id}")
    informed = await agenda.invitees_informed(record_id)
    return render(request, "reunions/annuler.html", r=meeting, informed=informed)


@post("/reunions/{record_id:int}/annuler", guards=WRITE, include_in_schema=False)
async def meeting_cancel(request: AppRequest, record_id: FromPath[int]) -> Any:
    return await _set_status(request, record_id, CANCELLED, "Réunion annulée.")


@post("/reunions/{record_id:int}/retablir", guards=WRITE, include_in_schema=False)
async def meeting_restore(request: AppRequest, record_id: FromPath[int]) -> Any:
    return await _set_status(request, record_id, PLANNED, "Réunion rétablie.")


@post("/reunions/{record_id:int}/compte-rendu", guards=WRITE, include_in_schema=False)
async def meeting_minutes(request: AppRequest, record_id: FromPath[int]) -> Any:
    meeting = await SERVICE.get(record_id)
    minutes = str((await request.form()).get("minutes") or "")
    try:
        changes = {"version": meeting["version"], "minutes": minutes}
        await calendar.update_meeting(request.user, record_id, changes)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        flash(request, "Compte rendu enregistré.")
    return redirect(f"/reunions/{record_id}#compte-rendu")


async def _people_page(
    request: AppRequest, record_id: int, template: str, **extra: Any
) -> Template:
    """A page listing the people of a meeting (attendance form, sign-in sheet)."""
    detail = await agenda.meeting_detail(record_id, dt.date.today())
    r, g, people = detail["meeting"], detail["group"], detail["people"]
    return render(request, template, r=r, g=g, people=people, **extra)


@get("/reunions/{record_id:int}/presences", include_in_schema=False)
async def attendance_page(request: AppRequest, record_id: FromPath[int]) -> Template:
    attendance_choices = choices("attendance")
    return await _people_page(
        request, record_id, "reunions/presences.html", attendance_choices=attendance_choices
    )


@post("/reunions/{record_id:int}/presences", guards=WRITE, include_in_schema=False)
async def attendance_record(request: AppRequest, record_id: FromPath[int]) -> Any:
    data = await request.form()
    attendance: dict[int, str | None] = {}
    for key, value in data.multi_items():
        if key.startswith("presence-") and key[9:].isdigit():
            attendance[int(key[9:])] = str(value) or None
    count = parse_int(data.get("attendance_count"))
    try:
        changed = await agenda.record_attendance(
            request.user, record_id, attendance, data.get("held") == "on", count
        )
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
        return redirect(f"/reunions/{record_id}/presences")
    flash(request, f"Présences enregistrées ({plural(changed, 'modification')}).")
    return redirect(f"/reunions/{record_id}")


@get("/reunions/{record_id:int}/emargement", include_in_schema=False)
async def sign_in_sheet(request: AppRequest, record_id: FromPath[int]) -> Template:
    return await _people_page(request, record_id, "reunions/emargement.html", blank_lines=5)


@post(
    "/reunions/{record_id:int}/messages/{item_id:int}/rattacher",
    guards=WRITE,
    include_in_schema=False,
)
async def inbound_item_attach(
    request: AppRequest, record_id: FromPath[int], item_id: FromPath[int]
) -> Any:
    """« Rattacher à … »: the choice is « invitation-N » (an invitee) or « contact-N »."""
    data = await request.form()
    kind, _, number = str(data.get("cible", "")).partition("-")
    target = parse_int(number)
    try:
        await review.checked_meeting(record_id, write=True)
        if kind not in ("invitation", "contact") or target is None:
            raise InvalidData.one("cible", "Choisissez la personne à qui rattacher ce message.")
        done = await review.attach(
            request.user,
            item_id,
            invitation_id=target if kind == "invitation" else None,
            contact_id=target if kind == "contact" else None,
            meeting_id=record_id,
        )
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        flash(
            request,
            "Message rattaché"
            + (
                " : réponse enregistrée." if done["response"] != PENDING else " : personne invitée."
            ),
        )
    return redirect(f"/reunions/{record_id}#a-examiner")


@post(
    "/reunions/{record_id:int}/messages/{item_id:int}/ignorer",
    guards=WRITE,
    include_in_schema=False,
)
async def inbound_item_ignore(
    request: AppRequest, record_id: FromPath[int], item_id: FromPath[int]
) -> Any:
    try:
        await review.checked_meeting(record_id, write=True)
        await review.ignore(request.user, item_id, meeting_id=record_id)
    except ServiceError as error:
        flash(request, error_text(error), "erreur")
    else:
        flash(request, "Message ignoré.")
    return redirect(f"/reunions/{record_id}#a-examiner")


HANDLERS = [
    inbound_item_attach,
    inbound_item_ignore,
    meeting_cancel_page,
    meeting_list,
    meeting_new,
    meeting_create,
    meeting_edit_page,
    meeting_edit,
    meeting_detail,
    meeting_move_page,
    meeting_move,
    meeting_cancel,
    meeting_restore,
    meeting_minutes,
    attendance_page,
    attendance_record,
    sign_in_sheet,
]
