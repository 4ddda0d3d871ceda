"""What every page shares: the layout's context, flash messages, forms, pagination.

A page handler reads its input, calls a service and returns ``render(...)``; the form helpers
turn posted fields into the service's input struct and its errors back into messages placed
next to the fields they concern.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import MediaType, Response
from litestar.datastructures import FormMultiDict, MultiDict
from litestar.response import Redirect, Template

from maillage.actor import Actor
from maillage.errors import Conflict, InvalidData, ServiceError
from maillage.french import number, plural
from maillage.messages import translate_message
from maillage.web.security import AppRequest, WebSession

PAGE_SIZE = 25
# Rows a detail page shows per section before « voir tout »: its cost must not grow with the
# record's size (a département's Caf sits in hundreds of bodies).
SECTION_SIZE = 20


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    role: str = "lecteur"
    group: str = ""  # items of one group fold under its name (a disclosure), others stand alone


# The menu, in the order people read it: the daily pages stand alone; the yearly ones, the
# data tools and the administration fold into three groups, so the menu holds on one line at
# 1,366 px and in a short list on a phone. A new capability adds its line here, a handler
# module and a template.
NAV: list[NavItem] = [
    NavItem("Tableau de bord", "/"),
    NavItem("Partenaires", "/partenaires"),
    NavItem("Contacts", "/contacts"),
    NavItem("Instances", "/instances"),
    NavItem("Réunions", "/reunions"),
    NavItem("Réseau", "/reseau"),
    NavItem("Envois", "/envois"),
    NavItem("Diagnostic", "/diagnostic", group="Pilotage"),
    NavItem("Bilan annuel", "/bilan", group="Pilotage"),
    NavItem("Plan d'action", "/plan-d-action", group="Pilotage"),
    NavItem("Territoires", "/territoires", group="Pilotage"),
    NavItem("Consultations", "/consultations", group="Pilotage"),
    NavItem("Exports", "/exports", "coordinateur", group="Données"),
    NavItem("Imports", "/imports", "coordinateur", group="Données"),
    NavItem("Doublons", "/doublons", "coordinateur", group="Données"),
    NavItem("Journal", "/journal", "admin", group="Administration"),
    NavItem("Utilisateurs", "/utilisateurs", "admin", group="Administration"),
]


def current_actor(request: AppRequest) -> Actor | None:
    user = request.scope.get("user")
    return user if isinstance(user, Actor) else None


def _nav_for(actor: Actor | None, path: str) -> list[dict[str, Any]]:
    """The menu for this person: single entries, and groups as ``{"label", "entries"}``."""
    if actor is None:
        return []
    entries: list[dict[str, Any]] = []
    groups: dict[str, dict[str, Any]] = {}
    for item in NAV:
        if not actor.can(item.role):
            continue
        active = path == item.path if item.path == "/" else path.startswith(item.path)
        entry = {"label": item.label, "path": item.path, "active": active}
        if not item.group:
            entries.append(entry)
            continue
        if item.group not in groups:
            groups[item.group] = {"label": item.group, "entries": [], "active": False}
            entries.append(groups[item.group])
        groups[item.group]["entries"].append(entry)
        groups[item.group]["active"] |= active
    return entries


def base_context(request: AppRequest) -> dict[str, Any]:
    actor = current_actor(request)
    web = request.scope.get("auth")
    return {
        "actor": actor,
        "account": web if isinstance(web, WebSession) else None,
        "nav": _nav_for(actor, request.url.path),
        "can_write": actor is not None and actor.can("coordinateur"),
        "is_admin": actor is not None and actor.can("admin"),
        "flashes": pop_flashes(request),
    }


def render(request: AppRequest, template: str, status_code: int = 200, **context: Any) -> Template:
    return Template(
        template_name=template,
        context={**base_context(request), **context},
        status_code=status_code,
        # Explicit: handlers that may also redirect are typed Any, which Litestar reads as JSON.
        media_type=MediaType.HTML,
    )


def error_page(request: AppRequest, status: int, message: str) -> Response[Any]:
    titles = {
        400: "Demande invalide",
        403: "Accès refusé",
        404: "Page introuvable",
        409: "Modification en conflit",
        429: "Trop de tentatives",
    }
    title = titles.get(status, "Erreur" if status < 500 else "Erreur du serveur")
    return render(request, "erreur.html", status_code=status, title=title, message=message)


# ----- flash messages: one request's outcome shown on the next page ------------------------------


def flash(request: AppRequest, message: str, kind: str = "succes") -> None:
    session = dict(request.session) if request.scope.get("session") else {}
    session["flash"] = [*session.get("flash", []), [kind, message]][-5:]
    request.set_session(session)


def pop_flashes(request: AppRequest) -> list[dict[str, str]]:
    session = request.scope.get("session")
    if not isinstance(session, dict) or not session.get("flash"):
        return []
    messages = [{"kind": kind, "message": text} for kind, text in session["flash"]]
    request.set_session({k: v for k, v in session.items() if k != "flash"})
    return messages


def redirect(path: str) -> Redirect:
    """After a successful POST, 303 so that reloading the next page does not post again."""
    return Redirect(path, status_code=303)


def safe_next(target: str | None) -> str:
    """Only local paths: a crafted « suivant » must not send the person to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# ----- forms -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One form field: how it is shown and how its posted text becomes a value.

    ``kind``: text, email, tel, url, textarea, select, multi (checkboxes), multiselect,
    checkbox, date, int, password. ``choices`` names a list the page passes in ``options``
    (« axes », « communes »…) or gives fixed ``(value, label)`` pairs.
    """

    name: str
    label: str
    kind: str = "text"
    required: bool = False
    choices: str | tuple[tuple[str, str], ...] | None = None
    hint: str = ""
    empty_is_none: bool = True
    autocomplete: str | None = None
    integer_choices: bool = False
    maxlength: int | None = None


@dataclass
class FormState:
    """What a form template needs: the values to show and the messages per field."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.general)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


REQUIRED = "Ce champ est obligatoire."
# The « Territoire » select's value for a shared record (#20); « — » (empty) leaves the placing
# to the rule of `maillage.crm.scope` (commune, ties, the user's only territory).
SHARED = "partage"


def _convert(item: Field, form: FormMultiDict | MultiDict[Any], state: FormState) -> Any:
    if item.kind in ("multi", "multiselect"):
        raw_list = [v for v in form.getall(item.name, []) if str(v).strip()]
        try:
            return [int(v) for v in raw_list]
        except ValueError:
            state.add(item.name, "Choix invalide.")
            return []
    if item.kind == "checkbox":
        return form.get(item.name) in ("on", "true", "1", "oui")
    raw = (
        str(form.get(item.name) or "").strip()
        if item.kind != "password"
        else form.get(item.name) or ""
    )
    if raw == "":
        if item.required:
            state.add(item.name, REQUIRED)
        return None if item.empty_is_none else ""
    if item.kind == "int" or item.integer_choices:
        try:
            return int(raw)
        except ValueError:
            state.add(item.name, "Saisissez un nombre entier.")
            return None
    if item.kind == "date":
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            state.add(item.name, "Date invalide : utilisez le format JJ/MM/AAAA.")
            return None
    # A text field's choices are suggestions (a datalist): any text is accepted and the service
    # checks its length and characters. Only a select's choices are a closed list.
    closed = item.choices if item.kind == "select" and isinstance(item.choices, tuple) else ()
    if closed and raw not in {value for value, _ in closed}:
        state.add(item.name, "Choix non reconnu : choisissez dans la liste.")
    return raw


def read_form(fields: Iterable[Field], form: FormMultiDict | MultiDict[Any]) -> FormState:
    """Posted text (or a GET form's query) to typed values; missing required fields are
    reported all at once."""
    state = FormState()
    for item in fields:
        value = _convert(item, form, state)
        state.values[item.name] = value
    return state


def build(struct: type[msgspec.Struct], values: dict[str, Any], state: FormState) -> Any:
    """The service's input struct from form values, or None with the problem noted."""
    try:
        return msgspec.convert(values, struct, strict=False)
    except msgspec.ValidationError as error:
        problem = translate_message(str(error), None)
        state.add(problem["field"], problem["message"])
        return None


def take_service_error(
    error: ServiceError, state: FormState, aliases: dict[str, str] | None = None
) -> None:
    """Put a service's refusal next to the fields it names, or on top of the form."""
    aliases = aliases or {}
    if isinstance(error, InvalidData):
        for item in error.errors:
            state.add(aliases.get(item.field, item.field), item.message)
        return
    if isinstance(error, Conflict):
        state.general.append(error.message)
        return
    state.general.append(error.message)


def error_text(error: ServiceError) -> str:
    """A refusal as one sentence, for a flash message on the next page."""
    if isinstance(error, InvalidData):
        return " ".join(item.message for item in error.errors)
    return error.message


def form_values(fields: Iterable[Field], record: dict[str, Any]) -> dict[str, Any]:
    return {item.name: record.get(item.name) for item in fields}


# ----- lists -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pagination:
    page: int
    pages: int
    total: int
    size: int
    # The total was counted up to this many rows and there are more (`ListQuery.count_cap`):
    # « plus de 10 000 », and the page count is a floor.
    capped_at: int | None = None
    full: bool = True  # the page holds ``size`` rows (past the cap: another page may follow)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def has_next(self) -> bool:
        return self.page < self.pages or (self.capped_at is not None and self.full)

    def count(self, singular: str, plural_form: str | None = None) -> str:
        """« 3 partenaires », or past the cap « plus de 10 000 partenaires » (#20)."""
        if self.capped_at is not None:
            return "plus de " + plural(self.capped_at, singular, plural_form)
        return plural(self.total, singular, plural_form)


def capped_number(count: int, cap: int) -> str:
    """A count counted up to ``cap`` (`ListQuery.count_cap`), as a page shows it: « 12 », or
    past the cap « plus de 10 000 » (#20)."""
    return "plus de " + number(cap) if count > cap else str(count)


def paginate(
    page: int, total: int, size: int = PAGE_SIZE, cap: int | None = None, shown: int | None = None
) -> Pagination:
    """The pager of a list whose total is ``total``; ``cap``: the total was counted up to that
    many rows (`ListQuery.count_cap`), and a total past it means « more »; ``shown``: the rows
    of this page (fewer than ``size``: the last one)."""
    capped_at = cap if cap is not None and total > cap else None
    counted = total if capped_at is None else capped_at
    pages = max(1, math.ceil(counted / size))
    full = shown is None or shown >= size
    return Pagination(max(page, 1), pages, total, size, capped_at, full)


def query_string(params: dict[str, Any], **changes: Any) -> str:
    """The current list's parameters with some changed, for sort and page links."""
    merged = {**params, **changes}
    pairs = [(k, v) for k, v in merged.items() if v not in (None, "", False)]
    return "?" + urlencode(pairs, doseq=True) if pairs else "?"


def parse_int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


async def save_from_form(
    request: AppRequest,
    service: Any,
    fields: list[Field],
    record_id: int | None = None,
    extra: dict[str, Any] | None = None,
    territory: Field | None = None,
) -> tuple[dict[str, Any] | None, FormState]:
    """Create (or update, with the posted version) a record from a form through its service.

    Returns the saved record, or None and the form state with messages next to the fields."""
    data = await request.form()
    form = read_form([*fields, territory] if territory is not None else fields, data)
    values = {**form.values, **(extra or {})}
    if territory is not None:
        # « — » leaves the placing to the rule (nothing sent); « Partagé » is no territory.
        chosen = values.pop("territory", None)
        if chosen is not None and not form.errors.get("territory"):
            values["territory"] = None if chosen == SHARED else int(chosen)
    version = parse_int(data.get("version"))
    if record_id is not None:
        # Kept before any check so that a form shown again always carries the version read.
        form.values["version"] = version
    if form.has_errors:
        return None, form
    spec = service.spec
    if record_id is None:
        struct = build(spec.input, values, form)
    else:
        struct = build(spec.update, {**values, "version": version}, form)
    if struct is None:
        return None, form
    try:
        if record_id is None:
            record = await service.create(request.user, struct)
        else:
            record = await service.update(request.user, record_id, struct)
    except ServiceError as error:
        take_service_error(error, form)
        return None, form
    return record, form
