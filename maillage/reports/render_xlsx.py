"""The rows behind every figure of the bilan, and the diagnostic matrix, as XLSX workbooks."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from maillage.exchange.cells import FORMULA_TRIGGERS, print_setup
from maillage.reports.cells import is_ratio_column
from maillage.reports.coverage import Coverage
from maillage.reports.model import Report, Sheet

BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDDDDD")
GAP_FILL = PatternFill("solid", fgColor="F4B183")  # zones blanches
MAX_WIDTH = 60


def render_xlsx(report: Report) -> bytes:
    workbook = Workbook()
    readme = workbook.active
    readme.title = "Lisez-moi"
    _readme(readme, report)
    missing = workbook.create_sheet("Points d'attention")
    _write(
        missing,
        ["Sujet", "Constat", "Nombre"],
        [[w.topic, w.message, w.count] for w in report.warnings],
    )
    for sheet in report.all_sheets():
        worksheet = workbook.create_sheet(_sheet_name(sheet.key))
        _write(worksheet, sheet.columns, sheet.rows)
        if sheet.key == "Couverture":
            _highlight_gaps(
                worksheet, sheet.rows, first_axis_column=4, axis_count=len(sheet.columns) - 4
            )
    return _bytes(workbook)


def _append(worksheet: Worksheet, row: Iterable[Any]) -> None:
    """openpyxl stores a text starting with « = » as a formula: names typed by partners
    (« =cmd|' /C calc'!A0 ») are kept as text cells, shown as typed and never run."""
    worksheet.append(list(row))
    for cell in worksheet[worksheet.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS):
            cell.data_type = "s"
            cell.quotePrefix = True


def _readme(worksheet: Worksheet, report: Report) -> None:
    _append(worksheet, [report.title])
    worksheet["A1"].font = Font(bold=True, size=14)
    _append(worksheet, [report.subtitle])
    for line in report.context:
        _append(worksheet, [line])
    worksheet.append([])
    worksheet.append(["Feuille", "Contenu", "Lignes"])
    for cell in worksheet[worksheet.max_row]:
        cell.font = BOLD
    for sheet in report.all_sheets():
        worksheet.append([_sheet_name(sheet.key), sheet.title, len(sheet.rows)])
    worksheet.column_dimensions["A"].width = 28
    worksheet.column_dimensions["B"].width = 70


def _sheet_name(key: str) -> str:
    return key.replace("/", "-")[:31]


def _write(worksheet: Worksheet, columns: list[str], rows: Iterable[list[Any]]) -> None:
    _append(worksheet, columns)
    for cell in worksheet[1]:
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = [len(c) for c in columns]
    for row in rows:
        _append(worksheet, row)
        for index, value in enumerate(row):
            widths[index] = max(widths[index], len(str(value or "")))
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        worksheet.column_dimensions[letter].width = min(max(widths[index - 1] + 2, 8), MAX_WIDTH)
        if is_ratio_column(column):
            for (cell,) in worksheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = "0 %"
    worksheet.freeze_panes = "A2"
    print_setup(worksheet)
    if worksheet.max_row > 1:
        worksheet.auto_filter.ref = worksheet.dimensions


def _highlight_gaps(
    worksheet: Worksheet, rows: list[list[Any]], first_axis_column: int, axis_count: int
) -> None:
    """Colour the zeros of the axis columns (the last column, which counts gaps, is not one)."""
    for row_index, row in enumerate(rows, start=2):
        for offset in range(axis_count):
            if row[first_axis_column - 1 + offset] == 0:
                worksheet.cell(row=row_index, column=first_axis_column + offset).fill = GAP_FILL


def _bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def diagnostic_sheets(coverage: Coverage) -> list[Sheet]:
    columns, rows = coverage.matrix_rows()
    by_axis = coverage.by_axis()
    details, extra = coverage.detail_rows()
    communes = (
        [
            Sheet(
                "Petite enfance",
                "Petite enfance et indicateurs par commune",
                columns[:3] + details,
                [row[:3] + more for row, more in zip(rows, extra, strict=True)],
            )
        ]
        if details
        else []
    )
    return [
        Sheet("Matrice", "Partenaires par commune et par axe", columns, rows),
        Sheet(
            "Par axe",
            "Couverture par axe",
            [
                "Axe",
                "Partenaires",
                "Communes couvertes",
                "Communes",
                "Population couverte",
                "Population en zone blanche",
                "Part de la population couverte",
            ],
            [
                [
                    a.name,
                    a.partners,
                    a.communes_covered,
                    a.communes_total,
                    a.population_covered,
                    a.population_uncovered,
                    a.population_share,
                ]
                for a in by_axis
            ],
        ),
        Sheet(
            "Zones blanches",
            "Zones blanches, les plus peuplées d'abord",
            ["Code INSEE", "Commune", "Population", "Axe sans partenaire"],
            [
                [g["insee_code"], g["commune_name"], g["population"], g["axis_name"]]
                for g in coverage.gaps()
            ],
        ),
        *communes,
    ]


def render_diagnostic_xlsx(coverage: Coverage, kinds_label: str) -> bytes:
    workbook = Workbook()
    first = True
    for sheet in diagnostic_sheets(coverage):
        worksheet = workbook.active if first else workbook.create_sheet()
        first = False
        worksheet.title = sheet.key
        _write(worksheet, sheet.columns, sheet.rows)
        if sheet.key == "Matrice":
            _highlight_gaps(worksheet, sheet.rows, 4, len(sheet.columns) - 4)
        for row in worksheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, dt.date):
                    cell.number_format = "DD/MM/YYYY"
    info = workbook.create_sheet("Lisez-moi", 0)
    info.append([f"Diagnostic territorial — {coverage.territory}"])
    info["A1"].font = Font(bold=True, size=14)
    info.append([f"Partenaires comptés : {kinds_label}."])
    info.append(["Zone blanche : commune sans aucun partenaire sur l'axe (cases colorées)."])
    info.column_dimensions["A"].width = 90
    return _bytes(workbook)
