"""Territorial coverage: communes × axes of the partners and facilities located there.

A « zone blanche » is a commune with no partner on an axis; weighting by population says which
gaps matter most (a commune of 8,000 inhabitants without any parenting support weighs more
than a hamlet of 90). ``coverage_gaps`` is what the dashboard alert calls.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from maillage.db import read_transaction
from maillage.errors import InvalidData
from maillage.exchange.cells import neutralise
from maillage.folding import fold
from maillage.reports.scope import Scope, resolve_scope
from maillage.tables import Axis, OrganisationAxis
from maillage.vocabulary import ORGANISATION_KINDS

FACILITY_KINDS = ("etablissement", "operateur_dsp")


@dataclass
class CommuneCoverage:
    id: int
    insee_code: str
    name: str
    population: int | None
    counts: dict[int, int]  # axis id → number of partners

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
    axes: list[dict[str, Any]]
    communes: list[CommuneCoverage]

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


def coverage_matrix(
    scope: Scope,
    axes: list[dict[str, Any]],
    organisations: list[dict[str, Any]],
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


async def diagnostic(territory_id: int | None, kinds: tuple[str, ...] = ()) -> Coverage:
    """The territorial diagnostic of the current data (two queries besides the scope)."""
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
    return coverage_matrix(scope, axes, organisations, kinds)


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
    return neutralise(value) if isinstance(value, str) else value
