"""The bilan as a Word document the coordinator finishes in a word processor (python-docx)."""

from __future__ import annotations

import io

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt

from maillage.reports.cells import display, is_numeric
from maillage.reports.model import Report, Section, Sheet

CHART_WIDTH = Cm(16)


def render_docx(report: Report, workbook_name: str) -> bytes:
    document = Document()
    _set_defaults(document)
    document.core_properties.title = report.title
    document.core_properties.language = "fr-FR"
    document.add_heading(report.title, level=0)
    document.add_paragraph(report.subtitle).runs[0].bold = True
    for line in report.context:
        document.add_paragraph(line)
    _missing_data(document, report)
    for number, section in enumerate(report.sections, start=1):
        _section(document, f"{number}. {section.title}", section, workbook_name)
    closing = document.add_paragraph(
        f"Les lignes derrière chaque chiffre, tableau et graphique figurent dans le classeur "
        f"« {workbook_name} », une feuille par tableau."
    )
    closing.runs[0].italic = True
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _set_defaults(document) -> None:
    style = document.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(10.5)
    for section in document.sections:
        section.left_margin = section.right_margin = Cm(2)


def _missing_data(document, report: Report) -> None:
    document.add_heading("Points d'attention avant envoi", level=1)
    if not report.warnings:
        document.add_paragraph("Aucune donnée manquante repérée.")
        return
    document.add_paragraph(
        "Ces données manquent ou sont incomplètes ; elles affaiblissent le bilan :"
    )
    for warning in report.warnings:
        document.add_paragraph(warning.message, style="List Bullet")


def _section(document, heading: str, section: Section, workbook_name: str) -> None:
    document.add_heading(heading, level=1)
    for paragraph in section.paragraphs:
        document.add_paragraph(paragraph)
    for chart in section.charts:
        document.add_picture(io.BytesIO(chart.png), width=CHART_WIDTH)
        document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        caption = document.add_paragraph(
            f"{chart.title} — données : feuille « {chart.sheet} » de {workbook_name}."
        )
        caption.style = document.styles["Caption"]
    for sheet in section.sheets:
        if sheet.shown:
            _table(document, sheet)
        else:
            document.add_paragraph(
                f"{sheet.title} : {len(sheet.rows)} ligne(s), dans la feuille « {sheet.key} » "
                f"de {workbook_name}."
            )


def _table(document, sheet: Sheet) -> None:
    document.add_heading(sheet.title, level=2)
    if not sheet.rows:
        document.add_paragraph("Aucune ligne.")
        return
    table = document.add_table(rows=1, cols=len(sheet.columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    small = len(sheet.columns) > 6
    for cell, column in zip(table.rows[0].cells, sheet.columns, strict=True):
        cell.text = column
        _format_cell(cell, bold=True, small=small)
    for row in sheet.rows:
        cells = table.add_row().cells
        for cell, value, column in zip(cells, row, sheet.columns, strict=True):
            cell.text = display(value, column)
            _format_cell(cell, small=small, right=is_numeric(value))
    if sheet.note:
        document.add_paragraph(sheet.note).runs[0].italic = True


def _format_cell(cell, bold: bool = False, small: bool = False, right: bool = False) -> None:
    for paragraph in cell.paragraphs:
        if right:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        for run in paragraph.runs:
            run.bold = bold
            run.font.size = Pt(8 if small else 9.5)
