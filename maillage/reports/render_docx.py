"""The bilan as a Word document the coordinator finishes in a word processor (python-docx).

A French administration's document: A4, French spelling and hyphenation (the language is set
on the document's defaults, not only in its properties), Arial — present on every Windows
machine, with Liberation Sans as its metric twin in LibreOffice — and table columns as wide as
their content needs, a table too wide for the page set on a landscape page of its own.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import TYPE_CHECKING

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from maillage.reports.cells import display, is_numeric
from maillage.reports.charts import map_png
from maillage.reports.model import Report, Section, Sheet

if TYPE_CHECKING:
    from docx.document import Document as WordDocument
    from docx.section import Section as WordSection
    from docx.table import _Cell, _Row

CHART_WIDTH = Cm(16)
A4 = (Cm(21), Cm(29.7))
MARGIN = Cm(2)
FONT = "Arial"
LANGUAGE = "fr-FR"
# Width of one character of Arial in a table cell, in centimetres (average letter at 9.5 and
# 8 points, with the cell's own padding added once per column).
CHAR_CM = {False: 0.19, True: 0.16}
CELL_PADDING_CM = 0.4


def render_docx(report: Report, workbook_name: str) -> bytes:
    document = _new_document(report)
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
    return _saved(document)


def render_pack_docx(report: Report) -> bytes:
    """The pack of a meeting (« dossier de séance »): every table shown, no workbook."""
    document = _new_document(report)
    for line in report.context:
        document.add_paragraph(line)
    for number, section in enumerate(report.sections, start=1):
        _section(document, f"{number}. {section.title}", section, "")
    return _saved(document)


def _new_document(report: Report) -> WordDocument:
    document = Document()
    _set_defaults(document)
    properties = document.core_properties
    now = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
    properties.title = report.title
    properties.subject = report.subtitle
    properties.language = LANGUAGE
    # The blank template says « python-docx », 2013: the document is the territory's, of today.
    properties.author = properties.last_modified_by = "maillage"
    properties.created = properties.modified = now
    properties.revision = 1
    document.add_heading(report.title, level=0)
    document.add_paragraph(report.subtitle).runs[0].bold = True
    return document


def _saved(document: WordDocument) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _set_defaults(document: WordDocument) -> None:
    style = document.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(10.5)
    _french_defaults(document)
    for section in document.sections:
        _portrait(section)


def _french_defaults(document: WordDocument) -> None:
    """Every style inherits the document defaults: their language and font are set there
    (the blank template says en-US and Calibri/Cambria themes)."""
    defaults = document.styles.element.find(qn("w:docDefaults"))
    properties = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    language = properties.find(qn("w:lang"))
    if language is None:
        language = OxmlElement("w:lang")
        properties.append(language)
    for attribute in ("w:val", "w:eastAsia", "w:bidi"):
        language.set(qn(attribute), LANGUAGE)
    fonts = properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        properties.insert(0, fonts)
    for attribute in list(fonts.attrib):
        if attribute.endswith("Theme"):
            del fonts.attrib[attribute]
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), FONT)
    for name in ("Heading 1", "Heading 2", "Title", "Caption"):
        document.styles[name].font.name = FONT


def _portrait(section: WordSection) -> None:
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = A4
    section.left_margin = section.right_margin = MARGIN
    section.top_margin = section.bottom_margin = MARGIN


def _landscape(section: WordSection) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_height, section.page_width = A4
    section.left_margin = section.right_margin = MARGIN
    section.top_margin = section.bottom_margin = MARGIN


def _usable_cm(landscape: bool) -> float:
    margin: float = MARGIN.cm  # an unannotated property of python-docx
    return (29.7 if landscape else 21) - 2 * margin


def _missing_data(document: WordDocument, report: Report) -> None:
    document.add_heading("Points d'attention avant envoi", level=1)
    if not report.warnings:
        document.add_paragraph("Aucune donnée manquante repérée.")
        return
    document.add_paragraph(
        "Ces données manquent ou sont incomplètes ; elles affaiblissent le bilan :"
    )
    for warning in report.warnings:
        document.add_paragraph(warning.message, style="List Bullet")


def _section(document: WordDocument, heading: str, section: Section, workbook_name: str) -> None:
    document.add_heading(heading, level=1)
    for paragraph in section.paragraphs:
        document.add_paragraph(paragraph)
    for title, sentences, when_empty in section.lists:
        if title:
            document.add_heading(title, level=2)
        # A list without a heading is the agenda: its items are numbered.
        style = "List Bullet" if title else "List Number"
        for sentence in sentences:
            document.add_paragraph(sentence, style=style)
        if not sentences and when_empty:
            document.add_paragraph(when_empty)
    if section.svg:  # a map (the pack's territory, #22): drawn again as a PNG
        document.add_picture(io.BytesIO(map_png(section.svg)), width=CHART_WIDTH)
        document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        document.add_paragraph(f"{section.svg_title}.").style = document.styles["Caption"]
    for chart in section.charts:
        document.add_picture(io.BytesIO(chart.png), width=CHART_WIDTH)
        document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        caption = document.add_paragraph(
            f"{chart.title} — données : feuille « {chart.sheet} » de {workbook_name}."
        )
        caption.style = document.styles["Caption"]
        beside = section.chart_table(chart)
        if beside is not None:
            _table(document, beside)
    for sheet in section.loose_sheets():
        if sheet.shown:
            _table(document, sheet)
        else:
            lines = f"{len(sheet.rows)} ligne" + ("s" if len(sheet.rows) > 1 else "")
            document.add_paragraph(
                f"{sheet.title} : {lines}, dans la feuille « {sheet.key} » de {workbook_name}."
            )


def _table(document: WordDocument, sheet: Sheet) -> None:
    if not sheet.rows:
        document.add_heading(sheet.title, level=2)
        document.add_paragraph("Aucune ligne.")
        return
    small = len(sheet.columns) > 6
    texts = [[display(value, column) for value, column in zip(row, sheet.columns, strict=True)]
             for row in sheet.rows]  # fmt: skip
    widths = column_widths(sheet.columns, texts, small, _usable_cm(False))
    landscape = widths is None
    if landscape:
        document.add_section(WD_SECTION.NEW_PAGE)
        _landscape(document.sections[-1])
        widths = column_widths(sheet.columns, texts, small, _usable_cm(True), squeeze=True)
    document.add_heading(sheet.title, level=2)
    table = document.add_table(rows=1, cols=len(sheet.columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for cell, column in zip(table.rows[0].cells, sheet.columns, strict=True):
        cell.text = column
        _format_cell(cell, bold=True, small=small)
    _repeat_header(table.rows[0])
    for row, shown in zip(sheet.rows, texts, strict=True):
        cells = table.add_row().cells
        for cell, value, text in zip(cells, row, shown, strict=True):
            cell.text = text
            _format_cell(cell, small=small, right=is_numeric(value))
    assert widths is not None
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)
    if sheet.note:
        document.add_paragraph(sheet.note).runs[0].italic = True
    if landscape:
        document.add_section(WD_SECTION.NEW_PAGE)
        _portrait(document.sections[-1])


def column_widths(
    columns: list[str], rows: list[list[str]], small: bool, usable: float, squeeze: bool = False
) -> list[float] | None:
    """Each column as wide as its longest word needs (so no word breaks inside a cell), the
    room left shared by how much text each column holds; None when the words alone do not fit
    (the table then goes on a landscape page), unless ``squeeze``."""
    char = CHAR_CM[small]
    longest_word = []
    volume = []
    for index, header in enumerate(columns):
        values = [header] + [row[index] for row in rows]
        words = [word for value in values for word in value.split()] or [""]
        longest_word.append(max(len(word) for word in words) * char + CELL_PADDING_CM)
        volume.append(max(len(value) for value in values) * char + CELL_PADDING_CM)
    needed = sum(longest_word)
    if needed > usable and not squeeze:
        return None
    if needed >= usable:
        return [round(width * usable / needed, 2) for width in longest_word]
    room = usable - needed
    extra = [max(v - w, 0) for v, w in zip(volume, longest_word, strict=True)]
    wanted = sum(extra)
    if wanted <= room:
        return [round(w + e, 2) for w, e in zip(longest_word, extra, strict=True)]
    return [round(w + e * room / wanted, 2) for w, e in zip(longest_word, extra, strict=True)]


def _repeat_header(row: _Row) -> None:
    """The header row is printed again at the top of every page the table runs onto."""
    properties = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def _format_cell(cell: _Cell, bold: bool = False, small: bool = False, right: bool = False) -> None:
    for paragraph in cell.paragraphs:
        if right:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        for run in paragraph.runs:
            run.bold = bold
            run.font.size = Pt(8 if small else 9.5)
