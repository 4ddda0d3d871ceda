"""The diagnostic seen on the ground (#18): communes coloured by their partners on an axis or by
an imported indicator (zones blanches hatched), partners placed at their commune and sized by
their centrality in the network, and the petite enfance duties each commune's size brings.

The data is read in a few queries; parsing outlines and drawing run off the event loop.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from maillage import french
from maillage.crm.childcare import DUTY_LABELS, SHORT_LABELS, childcare_of, duty
from maillage.db import read_transaction
from maillage.errors import InvalidData
from maillage.geo import svg, wkb
from maillage.graph.data import NetworkFilter
from maillage.graph.network import network_service
from maillage.offloop import off_loop
from maillage.reports.coverage import Coverage, coverage_rate, diagnostic, latest_indicators
from maillage.reports.network import centralities
from maillage.tables import CommuneIndicator, CommuneOutline, Organisation
from maillage.vocabulary import COMMUNE_INDICATORS, COVERAGE_RATE, COVERAGE_RATE_LABEL

PARTNERS = "partenaires"
MIN_RADIUS, MAX_RADIUS = 3.0, 14.0


@dataclass
class Legend:
    swatch: str  # inline SVG
    label: str


@dataclass
class DiagnosticMaps:
    territory: str
    axes: list[Mapping[str, Any]]
    axis: Mapping[str, Any] | None
    measure: str  # PARTNERS, an indicator code or COVERAGE_RATE
    measure_label: str
    measures: list[tuple[str, str]]  # what the communes can be coloured by
    communes: list[dict[str, Any]]
    choropleth: str = ""
    legend: list[Legend] = field(default_factory=list)
    partners_map: str = ""
    partners_legend: list[Legend] = field(default_factory=list)
    partners: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # The dates the chosen indicator was measured on in the territory, the latest first, and
    # the one shown (None: the latest value of each commune).
    dates: list[dt.date] = field(default_factory=list)
    day: dt.date | None = None

    @property
    def with_duty(self) -> list[dict[str, Any]]:
        return [c for c in self.communes if c["duty"]]


def measures_of(codes: set[str]) -> list[tuple[str, str]]:
    found = [(code, label) for code, label in COMMUNE_INDICATORS.items() if code in codes]
    if {"places_eaje", "enfants_moins_3_ans"} <= codes:
        found.append((COVERAGE_RATE, COVERAGE_RATE_LABEL))
    return found


async def diagnostic_maps(
    territory_id: int | None,
    axis_id: int | None = None,
    measure: str = PARTNERS,
    day: dt.date | None = None,
) -> DiagnosticMaps:
    """``day``: show the chosen indicator as measured on that date (one of its dates in the
    territory), instead of the latest value of each commune."""
    coverage = await diagnostic(territory_id)
    ids = [c.id for c in coverage.communes]
    async with read_transaction():
        outlines = {
            row["commune"]: row["wkb"]
            for row in await CommuneOutline.select(
                CommuneOutline.commune, CommuneOutline.wkb
            ).where(CommuneOutline.commune.is_in(ids or [0]))
        }
        childcare = await childcare_of(ids)
        dates = await indicator_dates(ids, measure) if measure in COMMUNE_INDICATORS else []
        if day is not None and day not in dates:
            label = COMMUNE_INDICATORS.get(measure, measure)
            raise InvalidData.one(
                "date",
                f"Aucune valeur de « {label} » au {french.date_fr(day)} sur ce territoire.",
            )
        indicators = await latest_indicators(ids, {measure: day} if day else None)
        organisations = await Organisation.select(
            Organisation.id, Organisation.name, Organisation.commune
        ).where(
            Organisation.commune.is_in(ids or [0]) & (Organisation.archived == False)  # noqa: E712
        )
    network = await network_service.report(NetworkFilter(communes=frozenset(ids)))
    axis = _chosen_axis(coverage, axis_id)
    codes = {code for values in indicators.values() for code in values}
    measures = measures_of(codes)
    if measure != PARTNERS and measure not in dict(measures):
        raise InvalidData.one(
            "mesure", f"Indicateur inconnu ou absent de ce territoire : « {measure} »."
        )
    maps = await off_loop(
        _draw,
        coverage,
        axis,
        measure,
        measures,
        outlines,
        childcare,
        indicators,
        organisations,
        centralities(network),
        f" au {french.date_fr(day)}" if day else "",
    )
    maps.dates, maps.day = dates, day
    return maps


async def indicator_dates(commune_ids: list[int], code: str) -> list[dt.date]:
    """The dates ``code`` was measured on in these communes, the latest first."""
    rows = (
        await CommuneIndicator.select(CommuneIndicator.measured_on)
        .where(CommuneIndicator.commune.is_in(commune_ids or [0]) & (CommuneIndicator.code == code))
        .distinct()
        .order_by(CommuneIndicator.measured_on, ascending=False)
    )
    return [row["measured_on"] for row in rows]


def _chosen_axis(coverage: Coverage, axis_id: int | None) -> Mapping[str, Any] | None:
    if axis_id is None:
        return coverage.axes[0] if coverage.axes else None
    for axis in coverage.axes:
        if axis["id"] == axis_id:
            return axis
    raise InvalidData.one("axe", f"Axe n° {axis_id} inconnu.")


def classes(values: list[float], count: int = 4) -> list[float]:
    """Upper bounds of up to ``count`` classes of equal size (quantiles), distinct values."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return []
    bounds: list[float] = []
    for i in range(1, count + 1):
        bound = ordered[min(len(ordered) - 1, math.ceil(i * len(ordered) / count) - 1)]
        if not bounds or bound > bounds[-1]:
            bounds.append(bound)
    return bounds


def _class_of(value: float, bounds: list[float]) -> int:
    return next((i for i, bound in enumerate(bounds) if value <= bound), len(bounds) - 1)


def _figure(value: float | None) -> str:
    return "non renseigné" if value is None else french.number(value)


def _draw(
    coverage: Coverage,
    axis: Mapping[str, Any] | None,
    measure: str,
    measures: list[tuple[str, str]],
    outlines: dict[int, str],
    childcare: dict[int, dict[str, Any]],
    indicators: dict[int, dict[str, dict[str, Any]]],
    organisations: list[dict[str, Any]],
    centrality: dict[int, dict[str, Any]],
    on: str = "",
) -> DiagnosticMaps:
    label = (
        f"Partenaires sur l'axe « {axis['name']} »"
        if measure == PARTNERS and axis
        else dict(measures).get(measure, "Partenaires") + on
    )
    result = DiagnosticMaps(
        coverage.territory, coverage.axes, axis, measure, label, measures, communes=[]
    )
    shapes: dict[int, list[wkb.Polygon]] = {}
    for commune in coverage.communes:
        try:
            shapes[commune.id] = wkb.polygons(outlines.get(commune.id, ""))
        except wkb.BadGeometry as error:
            result.problems.append(f"{commune.name} : {error}")
            shapes[commune.id] = []
        values = indicators.get(commune.id, {})
        recorded = childcare.get(commune.id) or {}
        code = duty(commune.population)
        result.communes.append(
            {
                "id": commune.id,
                "name": commune.name,
                "insee_code": commune.insee_code,
                "population": commune.population,
                "partners": commune.counts.get(axis["id"], 0) if axis else 0,
                "duty": code,
                "duty_label": SHORT_LABELS.get(code or "", ""),
                "duty_text": DUTY_LABELS.get(code or "", ""),
                "schema_exists": recorded.get("schema_exists"),
                "relais_exists": recorded.get("relais_exists"),
                "indicators": {k: v["value"] for k, v in values.items()}
                | {COVERAGE_RATE: coverage_rate(values)},
                "outlined": bool(shapes[commune.id]),
            }
        )
    _choropleth(result, shapes)
    _partners(result, shapes, organisations, centrality)
    return result


def _value(commune: dict[str, Any], measure: str) -> float | None:
    value: float | None = (
        commune["partners"] if measure == PARTNERS else commune["indicators"].get(measure)
    )
    return value


def _choropleth(result: DiagnosticMaps, shapes: dict[int, list[wkb.Polygon]]) -> None:
    measure = result.measure
    values = [_value(c, measure) for c in result.communes]
    # Zones blanches are hatched whatever the measure: no partner on the chosen axis.
    bounds = classes([v for v in values if v is not None and (measure != PARTNERS or v > 0)])
    palette = svg.PALETTE[-len(bounds) :] if bounds else ()
    areas = []
    for commune, value in zip(result.communes, values, strict=True):
        gap = commune["partners"] == 0 and result.axis is not None
        fill = (
            None
            # No class at all: no axis defined yet, or no value above zero.
            if value is None or not bounds or (measure == PARTNERS and gap)
            else palette[_class_of(value, bounds)]
        )
        note = f"{result.measure_label} : {_figure(value)}"
        if gap and measure != PARTNERS:
            note += " ; zone blanche sur l'axe"
        areas.append(
            svg.Area(
                commune["name"],
                commune["insee_code"],
                commune["population"],
                shapes[commune["id"]],
                fill=fill if not (gap and measure == PARTNERS) else None,
                hatched=gap,
                note=note,
            )
        )
    title = f"{result.measure_label}, par commune — {result.territory}"
    result.choropleth = svg.render(areas, title, map_id="carte-communes")
    lower = 0 if measure != PARTNERS else 1
    for i, bound in enumerate(bounds):
        start = lower if i == 0 else bounds[i - 1]
        text = (
            _figure(bound)
            if i == 0 and start == bound
            else f"de {_figure(start)} à {_figure(bound)}"
            if i == 0
            else f"plus de {_figure(start)} à {_figure(bound)}"
        )
        result.legend.append(Legend(svg.swatch(palette[i]), text))
    if result.axis is not None:
        result.legend.append(
            Legend(svg.swatch(None, hatched=True), "Zone blanche : aucun partenaire sur l'axe")
        )
    if measure != PARTNERS and any(v is None for v in values):
        result.legend.append(Legend(svg.swatch(None), "Valeur non renseignée"))


def place_partners(
    communes: Sequence[Mapping[str, Any]],
    shapes: dict[int, list[wkb.Polygon]],
    organisations: Sequence[Mapping[str, Any]],
    centrality: dict[int, dict[str, Any]],
) -> tuple[list[svg.Marker], list[dict[str, Any]]]:
    """Each partner at its commune (``communes``: id and name), a disc sized by its PageRank
    among the connected ones, dashed when under-connected or out of the network; with the rows
    of the table beside the map, the most central first. Shared by /diagnostic and the bilan."""
    anchors = {cid: svg.inside_point(s) for cid, s in shapes.items()}
    names = {c["id"]: c["name"] for c in communes}
    # An isolated partner has no centrality, whatever PageRank spreads evenly over isolates.
    top = max((c["pagerank"] for c in centrality.values() if c["degree"]), default=0.0) or 1.0
    by_commune: dict[int, list[Mapping[str, Any]]] = {}
    for organisation in sorted(organisations, key=lambda o: o["name"]):
        by_commune.setdefault(organisation["commune"], []).append(organisation)
    markers = []
    placed = []
    frame_span = _span(shapes)
    for commune_id, located in by_commune.items():
        anchor = anchors.get(commune_id)
        for rank, organisation in enumerate(located):
            figures = centrality.get(organisation["id"])
            share = (figures["pagerank"] / top) if figures and figures["degree"] else 0.0
            radius = MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * math.sqrt(share)
            marked = figures is None or figures["under_connected"]
            row = {
                "name": organisation["name"],
                "commune": names.get(commune_id, ""),
                "commune_id": commune_id,
                "centrality": round(100 * share),
                "degree": figures["degree"] if figures else 0,
                "under_connected": marked,
                "reasons": (figures or {}).get("reasons") or ["hors du réseau (aucun lien)"],
            }
            placed.append(row)
            if anchor is None:
                continue
            title = f"{organisation['name']} ({row['commune']}) : centralité {row['centrality']} sur 100"
            if marked:
                title += " ; sous-connecté"
            markers.append(svg.Marker(_spread(anchor, rank, frame_span), radius, title, marked))
    placed.sort(key=lambda r: (-r["centrality"], r["name"]))
    return markers, placed


def _partners(
    result: DiagnosticMaps,
    shapes: dict[int, list[wkb.Polygon]],
    organisations: list[dict[str, Any]],
    centrality: dict[int, dict[str, Any]],
) -> None:
    markers, result.partners = place_partners(result.communes, shapes, organisations, centrality)
    areas = [
        svg.Area(c["name"], c["insee_code"], c["population"], shapes[c["id"]])
        for c in result.communes
    ]
    result.partners_map = svg.render(
        areas,
        f"Partenaires à leur commune, selon leur centralité — {result.territory}",
        markers=markers,
        map_id="carte-partenaires",
    )
    result.partners_legend = [
        Legend(
            svg.swatch(None, marked=False),
            "Partenaire : plus le disque est grand, plus il est central",
        ),
        Legend(svg.swatch(None, marked=True), "Partenaire sous-connecté (cercle pointillé)"),
    ]


def _span(shapes: dict[int, list[wkb.Polygon]]) -> float:
    drawn = [s for group in shapes.values() for s in group]
    if not drawn:
        return 0.0
    west, _, east, _ = wkb.bbox(drawn)
    return east - west


def _spread(anchor: wkb.Point, rank: int, span: float) -> wkb.Point:
    """Partners of one commune around its point, on a sunflower spiral (no two on one spot)."""
    if rank == 0:
        return anchor
    step = span / 40
    angle = rank * 2.39996  # the golden angle
    distance = step * math.sqrt(rank)
    return (anchor[0] + distance * math.cos(angle), anchor[1] + distance * math.sin(angle) * 0.7)
