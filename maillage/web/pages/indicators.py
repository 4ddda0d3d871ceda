"""Commune indicators typed by hand (#18): the figures the import reads from Cafdata or INSEE
files (places in EAJE, children under 3…), one value per commune, indicator and date, for a
coordinator who has them on paper. The same service as ``/api/v1/indicators`` (its rules, its
French errors, its audit); readers see the values, coordinators add, correct and delete."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from maillage import french
from maillage.crm import lookups
from maillage.crm.registry import SERVICES
from maillage.crm.resources import ListQuery
from maillage.crm.scope import current as current_scope
from maillage.vocabulary import COMMUNE_INDICATORS
from maillage.web.pages.common import (
    Field,
    FormState,
    flash,
    form_values,
    parse_int,
    redirect,
    render,
    save_from_form,
)
from maillage.web.security import AppRequest, requires

PATH = "/diagnostic/indicateurs"
NUMBER = "Saisissez un nombre positif (par exemple 12 ou 12,5)."
FIELDS = [
    Field("commune", "Commune", "select", required=True, choices="communes", integer_choices=True),
    Field("code", "Indicateur", "select", required=True, choices=tuple(COMMUNE_INDICATORS.items())),
    Field(
        "value", "Valeur", required=True, hint="Un nombre ; virgule ou point pour les décimales."
    ),
    Field("measured_on", "Date de la mesure", "date", required=True),
    Field("source", "Source", hint="D'où vient le chiffre : « Cafdata 2025 », « INSEE »…"),
]


def _service() -> Any:
    return SERVICES["indicators"]


async def _territory(chosen: int | None) -> tuple[list[dict[str, Any]], int | None]:
    territories = await lookups.territories()
    if chosen is None and territories:
        scope = current_scope()
        mine = [t["id"] for t in territories if scope is None or t["id"] in scope.roles]
        chosen = (mine or [territories[0]["id"]])[0]
    return territories, chosen


def _number(text: Any) -> float | None:
    try:
        return french.parse_number(str(text or ""))
    except ValueError:
        return None


async def _save(request: AppRequest, record_id: int | None = None) -> tuple[Any, FormState]:
    form = await request.form()
    value = _number(form.get("value"))
    extra = {"value": value} if value is not None else {}
    record, state = await save_from_form(request, _service(), FIELDS, record_id, extra=extra)
    if record is None and value is None and str(form.get("value") or "").strip():
        state.errors["value"] = [NUMBER]
    return record, state


def _label(record: dict[str, Any], communes: dict[int, str]) -> str:
    what = COMMUNE_INDICATORS.get(record["code"], record["code"])
    where = french.of(communes.get(record["commune"]) or "la commune")
    return f"{what} {where} au {french.date_fr(record['measured_on'])}"


async def _list_page(
    request: AppRequest,
    territory: int | None,
    commune: int | None,
    form: FormState | None = None,
    status_code: int = 200,
) -> Template:
    territories, territory = await _territory(territory)
    communes = await lookups.territory_communes(territory)
    ids = [c["id"] for c in communes]
    if commune not in ids:
        commune = ids[0] if ids else None
    rows: list[dict[str, Any]] = []
    if commune is not None:
        found = await _service().page(
            ListQuery(limit=200, sort="-measured_on", filters={"commune": commune})
        )
        rows = found["items"]
    names = {c["id"]: c["name"] for c in communes}
    if form is None:
        form = FormState(values={"commune": commune})
    return render(
        request,
        "indicateurs.html",
        status_code=status_code,
        territories=territories,
        territory=territory,
        communes=communes,
        commune=commune,
        commune_name=names.get(commune or 0, ""),
        rows=rows,
        labels=COMMUNE_INDICATORS,
        fields=FIELDS,
        form=form,
        options={"communes": [{"id": c["id"], "name": c["name"]} for c in communes]},
        path=PATH,
    )


@get(PATH, guards=[requires("lecteur")], include_in_schema=False)
async def indicators_page(
    request: AppRequest,
    territoire: Annotated[str | None, QueryParameter(max_length=12)] = None,
    commune: Annotated[str | None, QueryParameter(max_length=12)] = None,
) -> Template:
    return await _list_page(request, parse_int(territoire), parse_int(commune))


@post(PATH, guards=[requires("coordinateur")], include_in_schema=False)
async def create_indicator(request: AppRequest) -> Any:
    record, form = await _save(request)
    if record is None:
        commune = parse_int(str(form.values.get("commune") or ""))
        territory = await lookups.commune_territory(commune)
        return await _list_page(request, territory, commune, form, 400)
    names = {record["commune"]: await _commune_name(record["commune"])}
    flash(request, f"Valeur enregistrée : {_label(record, names)}.")
    return redirect(await _back(record["commune"]))


@get(
    f"{PATH}/{{record_id:int}}/modifier", guards=[requires("coordinateur")], include_in_schema=False
)
async def edit_indicator(request: AppRequest, record_id: FromPath[int]) -> Template:
    record = await _service().get(record_id)
    values = {**form_values(FIELDS, record), "version": record["version"]}
    return await _edit_page(request, record, FormState(values=values))


@post(
    f"{PATH}/{{record_id:int}}/modifier", guards=[requires("coordinateur")], include_in_schema=False
)
async def update_indicator(request: AppRequest, record_id: FromPath[int]) -> Any:
    existing = await _service().get(record_id)
    record, form = await _save(request, record_id)
    if record is None:
        return await _edit_page(request, existing, form, 400)
    names = {record["commune"]: await _commune_name(record["commune"])}
    flash(request, f"Valeur corrigée : {_label(record, names)}.")
    return redirect(await _back(record["commune"]))


@post(
    f"{PATH}/{{record_id:int}}/supprimer",
    guards=[requires("coordinateur")],
    include_in_schema=False,
)
async def delete_indicator(request: AppRequest, record_id: FromPath[int]) -> Any:
    record = await _service().get(record_id)
    await _service().delete(request.user, record_id)
    names = {record["commune"]: await _commune_name(record["commune"])}
    flash(request, f"Valeur supprimée : {_label(record, names)}.")
    return redirect(await _back(record["commune"]))


async def _edit_page(
    request: AppRequest, record: dict[str, Any], form: FormState, status_code: int = 200
) -> Template:
    territory = await lookups.commune_territory(record["commune"])
    communes = await lookups.territory_communes(territory)
    names = {c["id"]: c["name"] for c in communes}
    return render(
        request,
        "formulaire.html",
        status_code=status_code,
        heading=f"Modifier la valeur : {_label(record, names)}",
        record=record,
        fields=FIELDS,
        form=form,
        options={"communes": [{"id": c["id"], "name": c["name"]} for c in communes]},
        back=await _back(record["commune"]),
    )


async def _commune_name(commune: int) -> str:
    return (await lookups.commune_names([commune])).get(commune, "")


async def _back(commune: int) -> str:
    territory = await lookups.commune_territory(commune)
    query = f"territoire={territory}&" if territory is not None else ""
    return f"{PATH}?{query}commune={commune}"


HANDLERS = [indicators_page, create_indicator, edit_indicator, update_indicator, delete_indicator]
