"""The create, edit, archive and restore pages of a registry resource, made from one description.

Partners, contacts and bodies share the same form pages and the same archive buttons; only the
address, the fields, the defaults and the French wording change (« créé » or « créée »).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from litestar import get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Template

from maillage.crm import lookups
from maillage.crm.registry import SERVICES
from maillage.crm.resources import ResourceService
from maillage.web.pages.common import (
    SHARED,
    Field,
    FormState,
    flash,
    form_values,
    redirect,
    render,
    save_from_form,
)
from maillage.web.security import AppRequest, requires


@dataclass(frozen=True)
class RecordPages:
    """What differs between the form pages of two resources."""

    resource: str  # the registry's name: "organisations", "contacts", "groups"
    path: str  # "/partenaires"
    new: str  # the creation page's last segment: "nouveau" or "nouvelle"
    fields: list[Field]
    # The form's choices; the record edited (None: a new one), whose own values stay offered.
    options: Callable[[dict[str, Any] | None], Awaitable[dict[str, Any]]]
    title: Callable[[dict[str, Any]], str]  # how a record is named in titles and messages
    new_title: str  # « Nouveau partenaire »
    # Flash messages; `{name}` is the record's title.
    created: str
    saved: str
    archived: str
    restored: str
    defaults: dict[str, Any] = field(default_factory=dict)
    # A « Territoire » select (#20) when the user may place the record in more than one,
    # and its hints, for a scoped user and for the host team (what « — » does); empty: the
    # partners' hint.
    territory: bool = False
    territory_hints: tuple[str, str] = ("", "")
    # The record's page after ``{path}/{id}`` (a territory's: « /carte »), where a saved form
    # and « Annuler » lead.
    show: str = ""

    @property
    def service(self) -> ResourceService:
        return SERVICES[self.resource]


TERRITORY_HINT = (
    "« — » : placé selon sa commune ou ses rattachements ; un territoire choisi l'emporte."
)
SHARED_HINT = " « Partagé » : visible de tous les territoires."


async def territory_field(pages: RecordPages) -> Field | None:
    """The « Territoire » select of the form, or None when the user has a single choice."""
    if not pages.territory:
        return None
    rows, shared = await lookups.placeable_territories()
    choices = [(SHARED, "Partagé entre les territoires")] if shared else []
    choices += [(str(row["id"]), row["name"]) for row in rows]
    if len(choices) < 2:
        return None
    hint = pages.territory_hints[shared] or TERRITORY_HINT
    hint += SHARED_HINT if shared else ""
    return Field("territory", "Territoire", "select", choices=tuple(choices), hint=hint)


def _with_territory(fields: list[Field], territory: Field | None) -> list[Field]:
    """The form's fields, the territory select right after the commune (a body's: after its
    kind)."""
    if territory is None:
        return fields
    names = [item.name for item in fields]
    after = next((name for name in ("commune", "kind") if name in names), None)
    at = names.index(after) + 1 if after is not None else len(fields)
    return [*fields[:at], territory, *fields[at:]]


def territory_value(record: dict[str, Any]) -> str:
    return SHARED if record.get("territory") is None else str(record["territory"])


def _form_page(
    request: AppRequest,
    pages: RecordPages,
    form: FormState,
    record: dict[str, Any] | None,
    options: dict[str, Any],
    status_code: int = 200,
    territory: Field | None = None,
) -> Template:
    if territory is not None and form.values.get("territory") is None:
        form.values["territory"] = None if record is None else territory_value(record)
    return render(
        request,
        "formulaire.html",
        status_code=status_code,
        form=form,
        fields=_with_territory(pages.fields, territory),
        record=record,
        options=options,
        path=pages.path,
        back=f"{pages.path}/{record['id']}{pages.show}" if record else pages.path,
        heading=f"Modifier « {pages.title(record)} »" if record else pages.new_title,
    )


def record_handlers(pages: RecordPages) -> list[HTTPRouteHandler]:
    """The six form and lifecycle handlers of `pages`, each guarded for writers."""
    write = [requires(pages.service.spec.write_role)]
    path, service = pages.path, pages.service

    async def new(request: AppRequest) -> Template:
        form = FormState(values=dict(pages.defaults))
        choice = await territory_field(pages)
        return _form_page(request, pages, form, None, await pages.options(None), territory=choice)

    async def create(request: AppRequest) -> Any:
        choice = await territory_field(pages)
        record, form = await save_from_form(request, service, pages.fields, territory=choice)
        if record is None:
            options = await pages.options(None)
            return _form_page(request, pages, form, None, options, 400, territory=choice)
        flash(request, pages.created.format(name=pages.title(record)))
        return redirect(f"{path}/{record['id']}{pages.show}")

    async def edit(request: AppRequest, record_id: FromPath[int]) -> Template:
        record = await service.get(record_id)
        values = {**form_values(pages.fields, record), "version": record["version"]}
        choice = await territory_field(pages)
        form = FormState(values=values)
        options = await pages.options(record)
        return _form_page(request, pages, form, record, options, territory=choice)

    async def update(request: AppRequest, record_id: FromPath[int]) -> Any:
        existing = await service.get(record_id)
        choice = await territory_field(pages)
        record, form = await save_from_form(
            request, service, pages.fields, record_id, territory=choice
        )
        if record is None:
            options = await pages.options(existing)
            return _form_page(request, pages, form, existing, options, 400, territory=choice)
        flash(request, pages.saved.format(name=pages.title(record)))
        return redirect(f"{path}/{record_id}{pages.show}")

    async def archive(request: AppRequest, record_id: FromPath[int]) -> Any:
        record = await service.set_archived(request.user, record_id, True)
        flash(request, pages.archived.format(name=pages.title(record)))
        return redirect(f"{path}/{record_id}")

    async def restore(request: AppRequest, record_id: FromPath[int]) -> Any:
        record = await service.set_archived(request.user, record_id, False)
        flash(request, pages.restored.format(name=pages.title(record)))
        return redirect(f"{path}/{record_id}")

    options: dict[str, Any] = {"guards": write, "include_in_schema": False}
    item = f"{path}/{{record_id:int}}"
    return [
        get(f"{path}/{pages.new}", name=f"{pages.resource}-new", **options)(new),
        post(f"{path}/{pages.new}", name=f"{pages.resource}-create", **options)(create),
        get(f"{item}/modifier", name=f"{pages.resource}-edit", **options)(edit),
        post(f"{item}/modifier", name=f"{pages.resource}-update", **options)(update),
        post(f"{item}/archiver", name=f"{pages.resource}-archive", **options)(archive),
        post(f"{item}/restaurer", name=f"{pages.resource}-restore", **options)(restore),
    ]
