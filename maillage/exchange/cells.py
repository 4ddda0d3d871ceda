"""How one value is written into a cell a person opens in a spreadsheet, and read back.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (tab and
carriage return are used to smuggle one past naive checks). In CSV, every such text is prefixed
with an apostrophe, the usual neutralisation, and the import strips that apostrophe again so
that an export read back gives the same record. In XLSX a cell stored as text is never run:
it is written as text, with no visible apostrophe (``xlsx_text``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
TRIGGER_CHARACTERS = frozenset(FORMULA_TRIGGERS)
NEUTRALISER = "'"
PARIS = ZoneInfo("Europe/Paris")


def neutralise(text: str) -> str:
    """A text that a spreadsheet cannot run as a formula."""
    if text and text.startswith(FORMULA_TRIGGERS):
        return NEUTRALISER + text
    return text


def print_setup(sheet: Any) -> None:
    """A sheet that prints as a table should: A4 landscape, every column on the page width, the
    header row on every page (the Caf export printed as 54 portrait pages of two columns)."""
    from openpyxl.worksheet.properties import PageSetupProperties

    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = 9  # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages down as the rows need
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_title_rows = "1:1"


def unneutralise(text: str) -> str:
    """The value before ``neutralise`` (an apostrophe followed by a trigger is ours)."""
    if len(text) > 1 and text[0] == NEUTRALISER and text[1] in "=+-@\t\r":
        return text[1:]
    return text


def french_date(value: dt.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def paris_datetime(value: dt.datetime | None) -> dt.datetime | None:
    """Meetings are stored in UTC; people read Paris time."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(PARIS)


def french_datetime(value: dt.datetime | None) -> str:
    local = paris_datetime(value)
    return local.strftime("%d/%m/%Y %H:%M") if local else ""


def yes_no(value: bool | None) -> str:
    return "Oui" if value else "Non"


def phone_for_people(e164: str | None) -> str:
    """« +33299123456 » as « 02 99 12 34 56 »; fast path for French numbers (100,000 rows)."""
    if not e164:
        return ""
    if len(e164) == 12 and e164.startswith("+33") and e164[3:].isdigit():
        return f"0{e164[3]} {e164[4:6]} {e164[6:8]} {e164[8:10]} {e164[10:]}"
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def as_text(value: Any) -> str:
    """A cell of a CSV file: French dates, Oui/Non, neutralised text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, dt.datetime):
        return french_datetime(value)
    if isinstance(value, dt.date):
        return french_date(value)
    if isinstance(value, int | float):
        return str(value)
    return neutralise(str(value))
