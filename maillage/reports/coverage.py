"""Territorial coverage: communes × axes of the partners and facilities located there.

A « zone blanche » is a commune with no partner on an axis; weighting by population says which
gaps matter most (a commune of 8,000 inhabitants without any parenting support weighs more
than a hamlet of 90). ``coverage_gaps`` is what the dashboard alert calls.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from maillage.crm.childcare import SHORT_LABELS, childcare_of, duty
from maillage.db import read_transaction
from maillage.errors import InvalidData
from maillage.exchange.cells import french_date, neutralise
from maillage.folding import fold
from maillage.reports.scope import Scope, resolve_scope
from maillage.tables import Axis, CommuneIndicator, OrganisationAxis
from maillage.vocabulary import (
    COMMUNE_INDICATORS,
    COVERAGE_RATE_LABEL,
    ORGANISATION_KINDS,
)

FACILITY_KINDS = ("etablissement", "operateur_dsp")


@dataclass
class CommuneCoverage:
    id: int
    insee_code: str
    name: str
    population: int | None
    counts: dict[int, int]  # axis id → number of partners
    # With ``details`` (#18): what is recorded of the petite enfance duty (schema_exists,
    # relais_exists) and the latest value of each indicator (value, measured_on, source).
    childcare: dict[str, Any] | None = None
    indicators: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def duty(self) -> str | None:
        return duty(self.population)

    @property
    def coverage_rate(self) -> float | None:
        return coverage_rate(self.indicators)

    @property
    def gaps(self) -> list[int]:
        return [axis for axis, count in self.counts.items() if count == 0]


@dataclass
class AxisCoverage:
    id: int
    name: str
    partners: int
    communes_covered: int
    communes_total: int
    population_covered: int
    population_total: int

    @property
    def population_share(self) -> float | None:
        return self.population_covered / self.population_total if self.population_total else None

    @property
    def population_uncovered(self) -> int:
        return self.population_total - self.population_covered


@dataclass
class Coverage:
    territory: str
    kinds: tuple[str, ...]
    axes: list[Mapping[str, Any]]
    communes: list[CommuneCoverage]
    details: bool = False

    @property
    def indicator_codes(self) -> list[str]:
        """The indicators known in at least one commune, in the vocabulary's order."""
        found = {code for c in self.communes for code in c.indicators}
        known = [code for code in COMMUNE_INDICATORS if code in found]
        return known + sorted(found - set(known))

    @property
    def with_rate(self) -> bool:
        return {"places_eaje", "enfants_moins_3_ans"} <= set(self.indicator_codes)

    def by_axis(self) -> list[AxisCoverage]:
        population_total = sum(c.population or 0 for c in self.communes)
        result = []
        for axis in self.axes:
            covered = [c for c in self.communes if c.counts[axis["id"]] > 0]
            result.append(
                AxisCoverage(
                    id=axis["id"],
                    name=axis["name"],
                    partners=sum(c.counts[axis["id"]] for c in self.communes),
                    communes_covered=len(covered),
                    communes_total=len(self.communes),
                    population_covered=sum(c.population or 0 for c in covered),
                    population_total=population_total,
                )
            )
        return result

    def gaps(self) -> list[dict[str, Any]]:
        """Every zone blanche, the most populated first."""
        names = {a["id"]: a["name"] for a in self.axes}
        found = [
            {
                "commune": c.id,
                "commune_name": c.name,
                "insee_code": c.insee_code,
                "population": c.population,
                "axis": axis,
                "axis_name": names[axis],
            }
            for c in self.communes
            for axis in c.gaps
        ]
        return sorted(found, key=lambda g: (-(g["population"] or 0), fold(g["commune_name"])))

    def matrix_rows(self) -> tuple[list[str], list[list[Any]]]:
        columns = ["Code INSEE", "Commune", "Population"] + [a["name"] for a in self.axes]
        columns.append("Axes sans partenaire")
        rows = [
            [c.insee_code, c.name, c.population]
            + [c.counts[a["id"]] for a in self.axes]
            + [len(c.gaps)]
            for c in self.communes
        ]
        return columns, rows

    def detail_rows(self) -> tuple[list[str], list[list[Any]]]:
        """Per commune, the petite enfance duty and what is recorded of it, the latest value of
        each indicator with its date and source, and the coverage rate where both figures
        exist (#18); no column without ``details``."""
        if not self.details:
            return [], [[] for _ in self.communes]
        codes = self.indicator_codes
        columns = ["Obligation petite enfance", "Schéma pluriannuel", "Relais petite enfance"]
        for code in codes:
            label = COMMUNE_INDICATORS.get(code, code)
            columns += [label, f"{label} : date", f"{label} : source"]
        if self.with_rate:
            columns.append(COVERAGE_RATE_LABEL)
        rows = []
        for commune in self.communes:
            recorded = commune.childcare or {}
            row: list[Any] = [
                SHORT_LABELS.get(commune.duty or "", "Aucune"),
                known(recorded.get("schema_exists")),
                known(recorded.get("relais_exists")),
            ]
            for code in codes:
                figure = commune.indicators.get(code)
                row += (
                    [figure["value"], figure["measured_on"], figure["source"]]
                    if figure
                    else [None, None, None]
                )
            if self.with_rate:
                rate = commune.coverage_rate
                row.append(None if rate is None else round(rate, 1))
            rows.append(row)
        return columns, rows


def known(value: bool | None) -> str:
    return "non renseigné" if value is None else "oui" if value else "non"


async def latest_indicators(
    commune_ids: list[int], on: dict[str, dt.date] | None = None
) -> dict[int, dict[str, dict[str, Any]]]:
    """The most recent value of each indicator of each commune, with its date and source;
    ``on`` keeps, for an indicator, the values measured on that date only."""
    rows = (
        await CommuneIndicator.select(
            CommuneIndicator.commune,
            CommuneIndicator.code,
            CommuneIndicator.value,
            CommuneIndicator.measured_on,
            CommuneIndicator.source,
        )
        .where(CommuneIndicator.commune.is_in(commune_ids or [0]))
        .order_by(CommuneIndicator.measured_on)
    )
    latest: dict[int, dict[str, dict[str, Any]]] = {}
    for row in rows:  # in date order: the last one wins
        if on and row["code"] in on and row["measured_on"] != on[row["code"]]:
            continue
        latest.setdefault(row["commune"], {})[row["code"]] = row
    return latest


def coverage_rate(values: dict[str, dict[str, Any]]) -> float | None:
    """Places in EAJE per 100 children under 3, where both are known."""
    places, children = values.get("places_eaje"), values.get("enfants_moins_3_ans")
    if places is None or children is None or not children["value"]:
        return None
    rate: float = 100 * places["value"] / children["value"]
    return rate


def coverage_matrix(
    scope: Scope,
    axes: Sequence[Mapping[str, Any]],
    organisations: Sequence[Mapping[str, Any]],
    kinds: tuple[str, ...] = (),
    as_of: dt.datetime | None = None,
) -> Coverage:
    """Pure: count the non-archived organisations of each commune on each axis.

    ``organisations`` carry ``commune``, ``kind``, ``archived``, ``created_at`` and ``axes``;
    ``as_of`` leaves out those registered later (the coverage at the end of a past year).
    """
    communes = {
        c["id"]: CommuneCoverage(
            c["id"], c["insee_code"], c["name"], c["population"], {a["id"]: 0 for a in axes}
        )
        for c in scope.communes
    }
    for organisation in organisations:
        commune = communes.get(organisation["commune"])
        if commune is None or organisation["archived"]:
            continue
        if kinds and organisation["kind"] not in kinds:
            continue
        if as_of is not None and organisation["created_at"] >= as_of:
            continue
        for axis in organisation["axes"]:
            if axis in commune.counts:
                commune.counts[axis] += 1
    return Coverage(scope.name, tuple(kinds), list(axes), list(communes.values()))


def check_kinds(kinds: tuple[str, ...]) -> None:
    unknown = [k for k in kinds if k not in ORGANISATION_KINDS]
    if unknown:
        allowed = ", ".join(ORGANISATION_KINDS)
        raise InvalidData.one(
            "kind",
            f"Type d'organisation inconnu : {', '.join(unknown)} (choisissez parmi {allowed}).",
        )


async def diagnostic(
    territory_id: int | None, kinds: tuple[str, ...] = (), details: bool = False
) -> Coverage:
    """The territorial diagnostic of the current data (two queries besides the scope; two more
    with ``details``: the petite enfance records and the communes' latest indicators)."""
    check_kinds(kinds)
    async with read_transaction():
        scope = await resolve_scope(territory_id)
        if not scope.communes:
            raise InvalidData.one(
                "territory",
                f"Le territoire « {scope.name} » n'a aucune commune : rattachez-lui ses communes "
                "(fiche commune, champ « territoire ») pour établir le diagnostic.",
            )
        axes = await Axis.select(Axis.id, Axis.name).order_by(Axis.position).run()
        organisations = await _located_organisations(scope)
        coverage = coverage_matrix(scope, axes, organisations, kinds)
        if details:
            ids = [c.id for c in coverage.communes]
            childcare = await childcare_of(ids)
            indicators = await latest_indicators(ids)
            for commune in coverage.communes:
                commune.childcare = childcare.get(commune.id)
                commune.indicators = indicators.get(commune.id, {})
            coverage.details = True
    return coverage


async def _located_organisations(scope: Scope) -> list[dict[str, Any]]:
    commune_ids = sorted(scope.commune_ids)
    rows = (
        await OrganisationAxis.select(
            OrganisationAxis.organisation,
            OrganisationAxis.axis,
            OrganisationAxis.organisation.commune,
            OrganisationAxis.organisation.kind,
        )
        .where(
            OrganisationAxis.organisation.commune.is_in(commune_ids)
            & (OrganisationAxis.organisation.archived == False)  # noqa: E712
        )
        .run()
    )
    by_id: dict[int, dict[str, Any]] = {}
    for row in rows:
        organisation = by_id.setdefault(
            row["organisation"],
            {
                "commune": row["organisation.commune"],
                "kind": row["organisation.kind"],
                "archived": False,
                "created_at": None,
                "axes": [],
            },
        )
        organisation["axes"].append(row["axis"])
    return list(by_id.values())


async def coverage_gaps(
    territory_id: int | None = None, kinds: tuple[str, ...] = (), limit: int = 20
) -> dict[str, Any]:
    """For the dashboard alert: how many zones blanches, and the most populated ones."""
    coverage = await diagnostic(territory_id, kinds)
    gaps = coverage.gaps()
    return {"territory": coverage.territory, "total": len(gaps), "items": gaps[:limit]}


def coverage_csv(coverage: Coverage) -> str:
    """Semicolon-separated with a BOM, as French Excel expects."""
    columns, rows = coverage.matrix_rows()
    details, extra = coverage.detail_rows()
    columns = columns + details
    rows = [row + more for row, more in zip(rows, extra, strict=True)]
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    # Commune and axis names are typed by people: « =HYPERLINK(…) » must reach Excel as text.
    writer.writerow([neutralise(name) for name in columns])
    writer.writerows([_csv_cell(value) for value in row] for row in rows)
    return buffer.getvalue()


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return french_date(value)
    if isinstance(value, float):  # French Excel reads « 12,5 »
        return str(int(value)) if value.is_integer() else str(round(value, 2)).replace(".", ",")
    return neutralise(value) if isinstance(value, str) else value
