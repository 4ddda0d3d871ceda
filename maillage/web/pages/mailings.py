"""Envois groupés: compose a mass mailing, preview it, then confirm to queue it.

Three steps, no JavaScript: the form (filters, subject, body with merge fields), the preview
(a rendered sample, how many will receive it, who is left out and why) and the confirmation,
which queues the messages through ``maillage.mailing.mailings`` like the API does.
"""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.response import Template

from maillage.crm import lookups
from maillage.errors import ServiceError
from maillage.french import plural
from maillage.mailing import mailings
from maillage.web.pages.common import (
    Field,
    FormState,
    flash,
    parse_int,
    read_form,
    redirect,
    render,
    take_service_error,
)
from maillage.web.pages.labels import choices
from maillage.web.security import AppRequest, requires, settings_of

WRITE = [requires("coordinateur")]
FILTER_FIELDS = [
    Field("axis", "Axe de la CTG", "select", choices="axes", integer_choices=True),
    Field("kind", "Type d'organisation", "select", choices=choices("organisation_kind")),
    Field("group", "Membres de l'instance", "select", choices="groups", integer_choices=True),
    Field("commune", "Commune", "select", choices="communes", integer_choices=True),
]
MERGE_HINT = "Champs de fusion : " + ", ".join(
    "{{ " + name + " }} (" + text + ")" for name, text in mailings.MERGE_FIELDS.items()
)
MESSAGE_FIELDS = [
    Field("subject", "Objet", required=True, maxlength=300, hint=MERGE_HINT),
    Field(
        "body",
        "Texte du message",
        "textarea",
        required=True,
        maxlength=50_000,
        hint="Par exemple : Bonjour {{ prenom }} {{ nom }}, … Le lien de désinscription est "
        "ajouté au bas de chaque message.",
    ),
]
FIELDS = [*FILTER_FIELDS, *MESSAGE_FIELDS]


async def _options() -> dict[str, Any]:
    return {
        "axes": await lookups.axes(),
        "groups": await lookups.groups(),
        "communes": await lookups.filter_communes(),
    }


async def _compose(
    request: AppRequest,
    form: FormState,
    preview: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    return render(
        request,
        "envois/nouveau.html",
        status_code=status_code,
        form=form,
        filter_fields=FILTER_FIELDS,
        message_fields=MESSAGE_FIELDS,
        fields=FIELDS,
        options=await _options(),
        preview=preview,
    )


def _filters(values: dict[str, Any]) -> mailings.Filters:
    return mailings.Filters(values["axis"], values["kind"], values["group"], values["commune"])


@get("/envois/nouveau", guards=WRITE, include_in_schema=False)
async def mailing_new(request: AppRequest) -> Template:
    return await _compose(request, FormState())


@post("/envois/nouveau", guards=WRITE, include_in_schema=False)
async def mailing_preview(request: AppRequest) -> Template:
    """The preview: nothing is queued until the person confirms below it."""
    form = read_form(FIELDS, await request.form())
    if form.has_errors:
        return await _compose(request, form, status_code=400)
    try:
        result = await mailings.preview(
            settings_of(request),
            _filters(form.values),
            form.values["subject"],
            form.values["body"],
        )
    except ServiceError as error:
        take_service_error(error, form)
        return await _compose(request, form, status_code=400)
    return await _compose(request, form, preview=result)


@post("/envois/nouveau/envoyer", guards=WRITE, include_in_schema=False)
async def mailing_send(request: AppRequest) -> Any:
    data = await request.form()
    form = read_form(FIELDS, data)
    if form.has_errors:
        return await _compose(request, form, status_code=400)
    settings, filters = settings_of(request), _filters(form.values)
    subject, body = form.values["subject"], form.values["body"]
    # The person confirmed a number: a form without it never matches, back to the preview.
    expected = parse_int(data.get("destinataires"))
    try:
        result = await mailings.send(
            request.user,
            settings,
            filters,
            subject,
            body,
            expected_count=-1 if expected is None else expected,
        )
    except mailings.AudienceChanged as changed:
        form.general.append(changed.message)
        return await _compose(request, form, preview=changed.preview, status_code=409)
    except ServiceError as error:
        take_service_error(error, form)
        return await _compose(request, form, status_code=400)
    flash(
        request,
        f"Envoi groupé « {subject} » : "
        + plural(result["queued"], "message mis", "messages mis")
        + " en file.",
    )
    return redirect("/envois?statut=en_attente")


HANDLERS = [mailing_new, mailing_preview, mailing_send]
