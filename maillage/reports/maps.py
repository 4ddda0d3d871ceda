"""The bilan's map and its petite enfance table (#18).

The map shows, commune by commune, how many CTG axes have no partner there at the end of the
year (darker: more gaps), communes without any partner at all hatched, so it reads in black and
white; its rows are the « Couverture » sheet. The petite enfance table lists the communes whose
size brings an obligation, with what the coordinator recorded about their schéma and relais.
"""

from __future__ import annotations

from typing import Any

from maillage.crm.childcare import DUTY_LABELS, SCHEMA, duty
from maillage.french import number, plural
from maillage.geo import svg, wkb
from maillage.geo.png import render_png
from maillage.reports.collect import ReportRows
from maillage.reports.model import Chart, Section, Sheet

RECORDED = {True: "existe", False: "absent", None: "non renseigné"}


def coverage_areas(sheet: Sheet, rows: ReportRows) -> list[svg.Area]:
    """The communes of the « Couverture » sheet as areas: darker with more axes without a
    partner, hatched when no axis has any."""
    axes = len(sheet.columns) - 4
    by_code = {c["insee_code"]: c["id"] for c in rows.scope.communes}
    areas = []
    for code, name, population, *counts in sheet.rows:
        gaps = counts[-1]
        try:
            shapes = wkb.polygons(rows.outlines.get(by_code.get(code, 0), ""))
        except wkb.BadGeometry:
            shapes = []
        none_at_all = axes > 0 and gaps == axes
        shade = 0 if axes == 0 else min(len(svg.PALETTE) - 1, gaps * len(svg.PALETTE) // (axes + 1))
        areas.append(
            svg.Area(name, code, population, shapes, svg.PALETTE[shade], hatched=none_at_all)
        )
    return areas


def attach_map(section: Section, rows: ReportRows) -> None:
    """Add the map of zones blanches to the coverage section, when the communes have outlines."""
    sheet = next((s for s in section.sheets if s.key == "Couverture"), None)
    if sheet is None or not rows.outlines:
        return
    axes = len(sheet.columns) - 4
    legend = [
        (svg.PALETTE[0], False, "Aucun axe ou presque sans partenaire"),
        (svg.PALETTE[-1], False, "La plupart des axes sans partenaire"),
        (None, True, "Aucun partenaire, sur aucun axe"),
    ]
    png = render_png(coverage_areas(sheet, rows), "Zones blanches par commune", legend=legend)
    if not png:
        return
    section.charts.insert(
        0,
        Chart(
            "carte",
            f"Carte des zones blanches : nombre d'axes sans partenaire, sur {plural(axes, 'axe')}",
            png,
            sheet="Couverture",
            alt="Carte des communes du territoire : plus une commune est foncée, plus elle a "
            "d'axes sans partenaire ; les communes hachurées n'ont aucun partenaire.",
        ),
    )


def childcare_rows(rows: ReportRows) -> list[list[Any]]:
    found = []
    for commune in rows.scope.communes:
        code = duty(commune["population"])
        if code is None:
            continue
        recorded = rows.childcare.get(commune["id"]) or {}
        found.append(
            [
                commune["insee_code"],
                commune["name"],
                commune["population"],
                DUTY_LABELS[code],
                RECORDED[recorded.get("schema_exists")],
                RECORDED[recorded.get("relais_exists")] if code == SCHEMA else "sans objet",
            ]
        )
    return found


def add_childcare(section: Section, rows: ReportRows) -> None:
    """The petite enfance duties of the territory's communes, in the coverage section."""
    found = childcare_rows(rows)
    big = [r for r in found if r[3] == DUTY_LABELS[SCHEMA]]
    missing = [r[1] for r in big if r[4] != "existe" or r[5] != "existe"]
    if not found:
        sentence = "Aucune commune du territoire ne dépasse 3 500 habitants."
    else:
        sentence = (
            f"{plural(len(found), 'commune')} de plus de 3 500 habitants doivent planifier "
            f"l'offre d'accueil du jeune enfant, dont {number(len(big))} de plus de 10 000 "
            "habitants tenues d'avoir un schéma pluriannuel et un relais petite enfance "
            "(art. D.214-10-1 CASF)."
        )
        if missing:
            sentence += f" Schéma ou relais absent ou non renseigné : {', '.join(missing)}."
    section.paragraphs.append(f"Service public de la petite enfance : {sentence}")
    section.sheets.append(
        Sheet(
            "Petite enfance",
            "Obligations petite enfance des communes selon leur population",
            [
                "Code INSEE",
                "Commune",
                "Population",
                "Obligation",
                "Schéma pluriannuel",
                "Relais petite enfance",
            ],
            found,
            shown=bool(found),
        )
    )
    section.figures["childcare"] = {
        "planning": len(found),
        "schema": len(big),
        "missing": missing,
    }
