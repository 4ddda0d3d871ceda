"""XLSX read back with openpyxl, vCards read back with a vCard parser."""

from __future__ import annotations

import datetime as dt
import io

import vobject
from openpyxl import load_workbook

from tests.exchange.conftest import export_bytes


async def test_xlsx_has_typed_cells_bold_frozen_header_and_filter(world):
    book = load_workbook(io.BytesIO(await export_bytes("memberships", "xlsx")))
    sheet = book["Participations"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:J2"
    assert sheet["A1"].font.bold
    assert sheet["I2"].value == dt.datetime(2026, 1, 1)
    assert sheet["I2"].number_format == "DD/MM/YYYY"
    assert sheet.column_dimensions["A"].width > 10


async def test_xlsx_keeps_formulas_as_text_without_a_visible_guard(world):
    """(#21) In XLSX a text cell is never run: « =HYPERLINK(…) » is stored as text and shown
    as typed, without the apostrophe CSV needs."""
    book = load_workbook(io.BytesIO(await export_bytes("contacts", "xlsx")))
    sheet = book.active
    cells = {cell.value: cell for row in sheet.iter_rows() for cell in row}
    assert cells['=HYPERLINK("http://evil")'].data_type == "s"
    assert cells['=HYPERLINK("http://evil")'].quotePrefix and cells["@directeur"].quotePrefix
    assert "@directeur" in cells
    assert not [v for v in cells if isinstance(v, str) and v.startswith("'")]
    formulas = [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []


async def test_xlsx_prints_landscape_on_the_page_width_with_its_header(world):
    book = load_workbook(io.BytesIO(await export_bytes("contacts", "xlsx")))
    sheet = book.active
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1"


async def test_annuaire_has_one_sheet_per_entity(world):
    book = load_workbook(io.BytesIO(await export_bytes("annuaire", "xlsx")))
    assert book.sheetnames == ["Organisations", "Contacts", "Participations", "Réunions"]
    assert book["Organisations"].max_row == 3


async def test_vcards_read_back_with_a_parser(world):
    data = (await export_bytes("contacts", "vcf")).decode("utf-8")
    cards = list(vobject.readComponents(data))
    assert len(cards) == 2  # Paul objected to mailings
    helene = next(c for c in cards if c.n.value.given == "Hélène")
    assert helene.version.value == "4.0"
    assert helene.fn.value == "Hélène Lefèvre"
    assert helene.n.value.family == "Lefèvre"
    assert helene.email.value == "helene@caf.example"
    assert helene.tel.value == "tel:+33299123456"
    assert helene.org.value == ["Caf d'Ille-et-Vilaine"]
    assert helene.title.value == "Conseillère"


def test_long_lines_are_folded_without_cutting_characters():
    from maillage.exchange.writers import fold

    folded = fold("NOTE:" + "é" * 100)
    lines = folded.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    assert "".join(line.removeprefix(" ") for line in lines) == "NOTE:" + "é" * 100


async def test_vcards_carry_the_organisations_street_and_postcode(world):
    """(#21) The work address is the organisation's: street, postcode, town."""
    from maillage.tables import Organisation

    await Organisation.update({Organisation.address: "Cours des Alliés, 35024 Rennes"}).where(
        Organisation.name == "Caf d'Ille-et-Vilaine"
    )
    data = (await export_bytes("contacts", "vcf")).decode("utf-8")
    helene = next(c for c in vobject.readComponents(data) if c.n.value.given == "Hélène")
    address = helene.adr.value
    assert (address.street, address.code, address.city) == ("Cours des Alliés", "35024", "Rennes")
    assert address.country == "France"


def test_a_free_text_address_is_read_as_street_postcode_and_town():
    from maillage.exchange.writers import postal_address

    assert postal_address("12 rue de la Mairie, 35520 Melesse") == (
        "12 rue de la Mairie", "35520", "Melesse")  # fmt: skip
    assert postal_address("12 rue de la Mairie 35520 Melesse") == (
        "12 rue de la Mairie", "35520", "Melesse")  # fmt: skip
    assert postal_address("3 place du Marché, Montgerval") == (
        "3 place du Marché", "", "Montgerval")  # fmt: skip
    assert postal_address("  ") is None
