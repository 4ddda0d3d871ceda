"""The bilan's map and its petite enfance table (#18).

The map shows, commune by commune, how many CTG axes have no partner there at the end of the
year (darker: more gaps), communes without any partner at all hatched, so it reads in black and
white; its rows are the « Couverture » sheet. The petite enfance table lists the communes whose
size brings an obligation, with what the coordinator recorded about their schéma and relais.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from maillage.crm.childcare import DUTY_LABELS, SCHEMA, duty
from maillage.french import number, plural
from maillage.geo import svg, wkb
from maillage.geo.png import render_png
from maillage.reports.collect import ReportRows
from maillage.reports.model import Chart, Section, Sheet
from maillage.reports.network import NetworkYear
from maillage.reports.territory_maps import place_partners

PARTNER_FILL = "#e6842a"  # the disc of a partner, as geo.png draws it
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


def attach_partners_map(section: Section, rows: ReportRows, current: NetworkYear) -> None:
    """Add the map of partners at their commune, sized by their centrality in the network of
    the year and the under-connected marked, as /diagnostic draws it, when the communes have
    outlines: the network analysis seen on the ground."""
    if not rows.outlines:
        return
    end = dt.date(current.year, 12, 31)
    communes = rows.scope.communes
    ids = {c["id"] for c in communes}
    located = [
        o
        for o in rows.organisations.values()
        if o["commune"] in ids
        and not o["archived"]
        and (o["created_at"] is None or o["created_at"].date() <= end)
    ]
    shapes: dict[int, list[wkb.Polygon]] = {}
    for commune in communes:
        try:
            shapes[commune["id"]] = wkb.polygons(rows.outlines.get(commune["id"], ""))
        except wkb.BadGeometry:
            shapes[commune["id"]] = []
    markers, placed = place_partners(communes, shapes, located, current.centrality)
    areas = [
        svg.Area(c["name"], c["insee_code"], c["population"], shapes[c["id"]]) for c in communes
    ]
    legend = [
        (PARTNER_FILL, False, "Partenaire : plus le disque est grand, plus il est central"),
        (None, False, "Cercle pointillé : partenaire sous-connecté ou hors du réseau"),
    ]
    title = f"Partenaires à leur commune, selon leur centralité en {current.year}"
    png = render_png(areas, title, markers=markers, legend=legend)
    if not png:
        return
    marked = sum(1 for p in placed if p["under_connected"])
    section.sheets.append(partners_by_commune(communes, placed))
    section.charts.insert(
        0,
        Chart(
            "carte-partenaires",
            f"Carte des partenaires : {plural(len(placed), 'partenaire')} à leur commune, "
            f"dont {plural(marked, 'sous-connecté')}",
            png,
            sheet=PARTNERS_SHEET,
            table=PARTNERS_SHEET,
            alt="Carte des communes du territoire : chaque partenaire est un disque posé sur sa "
            "commune, d'autant plus grand qu'il est central dans le réseau ; les partenaires "
            "sous-connectés sont entourés d'un cercle pointillé.",
        ),
    )


PARTNERS_SHEET = "Carte des partenaires"


def partners_by_commune(
    communes: Sequence[Mapping[str, Any]], placed: list[dict[str, Any]]
) -> Sheet:
    """The map of partners as a table, for those who do not see it: each commune, its
    partners, how many are under-connected, and the most central (``placed`` comes most
    central first)."""
    by_commune: dict[int, list[dict[str, Any]]] = {}
    for partner in placed:
        by_commune.setdefault(partner["commune_id"], []).append(partner)
    rows = []
    for commune in communes:
        here = by_commune.get(commune["id"], [])
        if not here:
            central = "—"
        elif here[0]["centrality"]:
            central = f"{here[0]['name']} (centralité {here[0]['centrality']} sur 100)"
        else:
            central = "aucun n'est relié au réseau"
        marked = sum(1 for p in here if p["under_connected"])
        rows.append([commune["insee_code"], commune["name"], len(here), marked, central])
    rows.sort(key=lambda r: (-r[2], r[1]))
    return Sheet(
        PARTNERS_SHEET,
        "Partenaires par commune : le tableau de la carte",
        ["Code INSEE", "Commune", "Partenaires", "Sous-connectés", "Le plus central"],
        rows,
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
