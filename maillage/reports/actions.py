"""The CTG action plan: fiches action with their indicators against targets, and the recording
of an indicator's value for a year (through the actions service, so version and audit apply)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from maillage.actor import Actor
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import Evaluation, Indicator
from maillage.errors import InvalidData
from maillage.reports.collect import ActionRow, ReportRows
from maillage.reports.scope import FIRST_YEAR
from maillage.vocabulary import FINANCERS, NO_AXIS


def actions_in_scope(rows: ReportRows) -> list[ActionRow]:
    """The report's fiches action: those of its territories (#20); one tied to no territory
    when its body is the report's or its pilot is in one of its communes."""
    scope = rows.scope
    territories = scope.territory_ids
    if territories is None:
        return list(rows.actions)
    return [
        action
        for action in rows.actions
        if action.get("territory") in territories
        or (
            action.get("territory") is None
            and (
                action["working_group"] in scope.group_ids
                or action["pilot.commune"] in scope.commune_ids
            )
        )
    ]


def achievement(value: float | None, target: float | None) -> float | None:
    """Value over target (1.0: target reached); None when either is missing or the target is 0."""
    if value is None or not target:
        return None
    return value / target


def indicator_rows(action: Mapping[str, Any], year: int) -> list[dict[str, Any]]:
    result = []
    for indicator in action["indicators"] or []:
        targets, values = indicator.get("targets", {}), indicator.get("values", {})
        row = {"name": indicator["name"], "unit": indicator.get("unit", "")}
        for label, y in (("previous", year - 1), ("current", year)):
            target, value = targets.get(str(y)), values.get(str(y))
            row[f"target_{label}"] = target
            row[f"value_{label}"] = value
            row[f"rate_{label}"] = achievement(value, target)
        result.append(row)
    return result


def runs_during(action: Mapping[str, Any], year: int) -> bool:
    start, end = action["start_date"], action["end_date"]
    return (start is None or start.year <= year) and (end is None or end.year >= year)


class IndicatorValueIn(Struct, forbid_unknown_fields=True, kw_only=True):
    """A value (and optionally a target) of one indicator for one year."""

    version: Annotated[int, Meta(ge=1)]
    indicator: Annotated[str, Meta(min_length=1, max_length=200)]
    year: Annotated[int, Meta(ge=FIRST_YEAR, le=2100)]
    value: float | None = None
    target: float | None = None
    unit: Annotated[str, Meta(max_length=50)] | None = None


async def record_indicator(actor: Actor, action_id: int, data: IndicatorValueIn) -> dict[str, Any]:
    """Set the value (and target) of an indicator for a year; creates the indicator if new.

    A value of ``None`` removes the year's value. Goes through the actions service: a stale
    ``version`` gets the usual 409 and the change is written to the audit log.
    """
    service = SERVICES["actions"]
    action = await service.get(action_id)
    indicators = [dict(i) for i in action["indicators"] or []]
    current = next((i for i in indicators if i["name"] == data.indicator), None)
    if current is None:
        if data.value is None and data.target is None:
            raise InvalidData.one(
                "indicator", f"Indicateur « {data.indicator} » inconnu sur cette fiche action."
            )
        current = {"name": data.indicator, "unit": data.unit or "", "targets": {}, "values": {}}
        indicators.append(current)
    key = str(data.year)
    _set(current.setdefault("values", {}), key, data.value)
    if data.target is not None:
        current.setdefault("targets", {})[key] = data.target
    if data.unit is not None:
        current["unit"] = data.unit
    update = service.spec.update(
        version=data.version, indicators=msgspec.convert(indicators, list[Indicator])
    )
    return await service.update(actor, action_id, update)


def _set(mapping: dict[str, float], key: str, value: float | None) -> None:
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = value


# ----- yearly evaluation and budget (#22) ----------------------------------------------------


class EvaluationIn(Evaluation, kw_only=True):
    """The evaluation of one year, with the ``version`` of the fiche action it was read at."""

    version: Annotated[int, Meta(ge=1)]


async def record_evaluation(actor: Actor, action_id: int, data: EvaluationIn) -> dict[str, Any]:
    """Write (or replace) the evaluation of ``data.year``; through the actions service, so a
    stale ``version`` gets the usual 409 and the change goes to the audit log."""
    service = SERVICES["actions"]
    action = await service.get(action_id)
    # The same fields without ``version``: already validated, so no conversion round trip.
    evaluation = Evaluation(**{name: getattr(data, name) for name in Evaluation.__struct_fields__})
    others = [
        msgspec.convert(e, Evaluation)
        for e in action.get("evaluations") or []
        if e["year"] != data.year
    ]
    evaluations = sorted([*others, evaluation], key=lambda e: e.year)
    update = service.spec.update(version=data.version, evaluations=evaluations)
    return await service.update(actor, action_id, update)


# What each field of an evaluation must be, in the words of the form and the command line.
EVALUATION_FIELD_PROBLEMS = {
    "year": "Année : indiquez une année entre 2000 et 2100.",
    "financer": "Financeur inconnu : choisissez-le dans la liste.",
    "decision": "Suite décidée inconnue : choisissez-la dans la liste.",
    "planned": "Montant : indiquez un nombre positif (en euros).",
    "spent": "Montant : indiquez un nombre positif (en euros).",
    "note": "Précision d'une ligne de budget : 300 caractères au plus.",
    "budget": "Budget : 30 lignes au plus.",
    "version": "Version de la fiche action manquante : rechargez la page.",
}
_ERROR_PATH = re.compile(r"at `\$((?:\.\w+|\[\d+\])*)`")


def evaluation_problem(error: msgspec.ValidationError) -> str:
    """The French message for a refused evaluation, chosen by the path msgspec names (« at
    `$.budget[0].planned` »): the deepest field that has a message wins; what remains is a text
    over its length limit."""
    found = _ERROR_PATH.search(str(error))
    fields = re.findall(r"\.(\w+)", found.group(1)) if found else []
    for field in reversed(fields):
        if field in EVALUATION_FIELD_PROBLEMS:
            return EVALUATION_FIELD_PROBLEMS[field]
    return "Texte trop long : 20 000 caractères au plus par champ."


def evaluation_of(action: Mapping[str, Any], year: int) -> dict[str, Any] | None:
    return next((e for e in action.get("evaluations") or [] if e["year"] == year), None)


def budget_totals(actions: Sequence[Mapping[str, Any]], year: int) -> dict[str, Any]:
    """Planned and spent amounts of ``year``, per financer (in the vocabulary's order) and per
    axis; a spent amount left empty counts as nothing spent yet."""
    by_financer: dict[str, list[float]] = {}
    by_axis: dict[str, list[float]] = {}
    for action in actions:
        evaluation = evaluation_of(action, year)
        for line in (evaluation or {}).get("budget", []):
            planned, spent = line["planned"] or 0.0, line["spent"] or 0.0
            for key, totals in (
                (line["financer"], by_financer),
                (action.get("axis.name") or NO_AXIS, by_axis),
            ):
                pair = totals.setdefault(key, [0.0, 0.0])
                pair[0] += planned
                pair[1] += spent
    ordered = {code: by_financer[code] for code in FINANCERS if code in by_financer}
    planned = sum(pair[0] for pair in ordered.values())
    spent = sum(pair[1] for pair in ordered.values())
    return {
        "by_financer": ordered,
        "by_axis": dict(sorted(by_axis.items())),
        "planned": planned,
        "spent": spent,
    }
