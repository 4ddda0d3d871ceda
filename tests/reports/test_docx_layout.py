"""The bilan DOCX as a French administration expects it (#21): A4, French language on every
style, Arial, the territory's properties, and columns as wide as their words need."""

from __future__ import annotations

import datetime as dt

from docx import Document
from docx.oxml.ns import qn
from docx.shared import Cm

from maillage.reports.annual import build_annual_report
from maillage.reports.files import write_annual
from maillage.reports.render_docx import CELL_PADDING_CM, CHAR_CM, column_widths
from tests.reports.world import TODAY


async def test_the_document_is_a4_french_and_dated_today(world, tmp_path):
    report = await build_annual_report(2026, None, TODAY)
    document = Document(write_annual(report, tmp_path)[0])
    for section in document.sections:
        sizes = sorted([round(section.page_width.cm, 1), round(section.page_height.cm, 1)])
        assert sizes == [21.0, 29.7]
    defaults = document.styles.element.find(qn("w:docDefaults"))
    lang = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr")).find(qn("w:lang"))
    assert lang.get(qn("w:val")) == "fr-FR"
    assert "en-US" not in document.styles.element.xml
    assert document.styles["Normal"].font.name == "Arial"
    properties = document.core_properties
    assert properties.author == "maillage" and properties.language == "fr-FR"
    assert properties.created.date() >= dt.date(2026, 1, 1)


async def test_no_word_is_broken_inside_a_cell(world, tmp_path):
    report = await build_annual_report(2026, None, TODAY)
    document = Document(write_annual(report, tmp_path)[0])
    assert document.tables
    for table in document.tables:
        small = len(table.columns) > 6
        widths = [column.width.cm for column in table.columns]
        assert len(set(round(w, 2) for w in widths)) > 1 or len(widths) == 1
        for index, column in enumerate(table.columns):
            words = [w for cell in column.cells for w in cell.text.split()] or [""]
            needed = max(len(w) for w in words) * CHAR_CM[small] + CELL_PADDING_CM
            assert widths[index] + 0.01 >= needed * 0.999 or sum(widths) >= 25.6, (
                column.cells[0].text, widths[index], needed)  # fmt: skip


def test_a_table_too_wide_goes_landscape():
    columns = [f"Commission thématique {n}" for n in range(12)]
    rows = [["Présents"] * 12]
    assert column_widths(columns, rows, True, 17.0) is None
    squeezed = column_widths(columns, rows, True, 25.7, squeeze=True)
    assert squeezed is not None and round(sum(squeezed), 1) <= 25.7
    narrow = column_widths(["Axe", "Partenaires"], [["Enfance", "12"]], False, 17.0)
    assert narrow is not None and sum(narrow) <= 17.0 and narrow[0] >= 7 * CHAR_CM[False]
    assert Cm(narrow[1]).cm > 0
