"""File formats of the exports, written incrementally from pages of rows.

- CSV for French Excel: UTF-8 with BOM (Excel guesses Windows-1252 without it), ``;`` (the
  French list separator), CRLF, dates ``dd/mm/yyyy``;
- XLSX with openpyxl's write-only mode (rows go to a temporary file, not to memory);
- vCard 4.0 (RFC 6350) for address books.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import os
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from maillage.exchange.cells import (
    FORMULA_TRIGGERS,
    NEUTRALISER,
    TRIGGER_CHARACTERS,
    french_date,
    french_datetime,
    paris_datetime,
    print_setup,
    yes_no,
)
from maillage.exchange.sources import Column

BOM = "\ufeff"
Pages = AsyncIterator[list[list[Any]]]


class RowCounter:
    def __init__(self) -> None:
        self.rows = 0


# ----- CSV ----------------------------------------------------------------------------------


_CSV_DATES: dict[str, Callable[[Any], str]] = {"date": french_date, "datetime": french_datetime}


async def csv_chunks(
    columns: list[Column], pages: Pages, counter: RowCounter
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([c.header for c in columns])
    yield (BOM + buffer.getvalue()).encode("utf-8")
    # csv writes None as "" and numbers as digits itself; only text (formula neutralisation),
    # booleans and dates need us. Rows are ours to change in place (100,000 rows: no copies).
    texts = [i for i, c in enumerate(columns) if c.kind == "text"]
    booleans = [i for i, c in enumerate(columns) if c.kind == "bool"]
    dates = [(i, _CSV_DATES[c.kind]) for i, c in enumerate(columns) if c.kind in _CSV_DATES]
    async for page in pages:
        buffer.seek(0)
        buffer.truncate()
        for i in texts:
            _neutralise_column(page, i)
        for i in booleans:
            for row in page:
                row[i] = "Oui" if row[i] else "Non"
        for i, cell in dates:
            for row in page:
                if row[i] is not None:
                    row[i] = cell(row[i])
        writer.writerows(page)
        counter.rows += len(page)
        yield buffer.getvalue().encode("utf-8")


# A line start followed by a character that makes a spreadsheet run the cell.
_TRIGGER_AFTER_NEWLINE = re.compile("\n[" + re.escape("".join(FORMULA_TRIGGERS)) + "]")


def _neutralise_column(page: list[list[Any]], i: int) -> None:
    """Neutralise column ``i`` of a page. Almost no value needs it: one search over the joined
    column tells (a value holding a line break followed by a trigger only costs a closer look),
    instead of a test per cell in Python."""
    try:
        joined = "\n" + "\n".join([value for row in page if (value := row[i])])
    except TypeError:  # a value that is not text: look at each one
        joined = "\n="
    if _TRIGGER_AFTER_NEWLINE.search(joined) is None:
        return
    for row in page:
        value = row[i]
        if value and isinstance(value, str) and value[0] in TRIGGER_CHARACTERS:
            row[i] = NEUTRALISER + value


# ----- XLSX ---------------------------------------------------------------------------------


def xlsx_text(sheet: Any, text: str) -> Any:
    """Text stays text: a value a spreadsheet could run goes in a cell typed as a string and
    marked « quotePrefix » (Excel's own guard: shown as typed, no visible apostrophe, and it
    stays text when the cell is edited); openpyxl would store « =… » as a formula otherwise."""
    if not text.startswith(FORMULA_TRIGGERS):
        return text
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


BOLD = Font(bold=True)
FORMATS = {"date": "DD/MM/YYYY", "datetime": "DD/MM/YYYY HH:MM"}


def _start_sheet(workbook: Workbook, title: str, columns: list[Column]) -> Any:
    sheet = workbook.create_sheet(title=title[:31])
    # Write-only sheets write their header XML at the first row: set views and widths first.
    sheet.freeze_panes = "A2"
    print_setup(sheet)
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = BOLD
        header.append(cell)
    sheet.append(header)
    return sheet


def _xlsx_value(sheet: Any, kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "text":
        return xlsx_text(sheet, str(value)) if value != "" else None
    if kind == "bool":
        return yes_no(value)
    if kind in FORMATS:
        if kind == "datetime":
            local = paris_datetime(value)
            value = local.replace(tzinfo=None) if local else None
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = FORMATS[kind]
        return cell
    return value


def _append_page(sheet: Any, kinds: list[str], page: list[list[Any]]) -> None:
    for row in page:
        sheet.append([_xlsx_value(sheet, k, v) for k, v in zip(kinds, row, strict=True)])


async def write_xlsx(
    path: str, sheets: list[tuple[str, list[Column], Pages]], counter: RowCounter
) -> None:
    """Write every sheet to ``path``; rows go through openpyxl in a worker thread."""
    workbook = Workbook(write_only=True)
    for title, columns, pages in sheets:
        sheet = _start_sheet(workbook, title, columns)
        kinds = [c.kind for c in columns]
        rows = 0
        async for page in pages:
            await asyncio.to_thread(_append_page, sheet, kinds, page)
            rows += len(page)
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{rows + 1}"
        counter.rows += rows
    await asyncio.to_thread(workbook.save, path)


async def xlsx_chunks(
    sheets: list[tuple[str, list[Column], Pages]], counter: RowCounter
) -> AsyncIterator[bytes]:
    """The workbook, built in a temporary file and then streamed."""
    handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="maillage-export-")
    os.close(handle)
    try:
        await write_xlsx(path, sheets, counter)
        with open(path, "rb") as file:
            while chunk := file.read(256 * 1024):
                yield chunk
    finally:
        os.unlink(path)


# ----- vCard 4.0 ----------------------------------------------------------------------------


def vcard_escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """RFC 6350 §3.2: lines of at most 75 octets, never cutting a UTF-8 character."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line + "\r\n"
    parts: list[str] = []
    current: list[str] = []
    size, limit = 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, 74  # continuation lines start with a space
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts) + "\r\n"


_POSTCODE = re.compile(r"\b(\d{5})\b")


def postal_address(text: str) -> tuple[str, str, str] | None:
    """« 12 rue de la Mairie, 35520 Melesse » as street, postcode and locality (the
    organisation's address is one free text: the street comes first, the town after a comma or
    a postcode)."""
    text = " ".join(text.split())
    if not text:
        return None
    street, _, rest = text.partition(",")
    found = _POSTCODE.search(rest) or _POSTCODE.search(street)
    postcode = found.group(1) if found else ""
    if found and not rest:  # « 12 rue de la Mairie 35520 Melesse »: no comma
        street, rest = text[: found.start()].strip(), text[found.end() :]
    locality = _POSTCODE.sub("", rest).strip(" ,")
    return street.strip(), postcode, locality


def vcard(person: dict[str, Any], affiliation: dict[str, Any], extra: dict[str, str]) -> str:
    """One contact as a vCard 4.0 (RFC 6350)."""
    first, last = person["first_name"], person["last_name"]
    lines = [
        "BEGIN:VCARD",
        "VERSION:4.0",
        f"UID:urn:uuid:{extra['uid']}",
        "KIND:individual",
        f"FN:{vcard_escape(f'{first} {last}')}",
        f"N:{vcard_escape(last)};{vcard_escape(first)};;{vcard_escape(person['civility'] or '')};",
    ]
    if affiliation.get("organisation.name"):
        lines.append(f"ORG:{vcard_escape(affiliation['organisation.name'])}")
    if affiliation.get("function"):
        lines.append(f"TITLE:{vcard_escape(affiliation['function'])}")
    if person.get("email"):
        lines.append(f"EMAIL;TYPE=work:{person['email']}")
    if person.get("phone"):
        lines.append(f'TEL;VALUE=uri;TYPE="work,voice":tel:{person["phone"]}')
    work_address = postal_address(affiliation.get("organisation.address") or "")
    if work_address is not None:
        street, postcode, locality = work_address
        locality = locality or extra.get("commune") or ""
        lines.append(
            f"ADR;TYPE=work:;;{vcard_escape(street)};{vcard_escape(locality)};;{postcode};France"
        )
    elif extra.get("commune"):
        lines.append(f"ADR;TYPE=work:;;;{vcard_escape(extra['commune'])};;;France")
    if extra.get("axes"):
        lines.append("CATEGORIES:" + ",".join(vcard_escape(a) for a in extra["axes"]))
    lines.append(f"REV:{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}")
    lines.append("END:VCARD")
    return "".join(fold(line) for line in lines)


def contact_uid(base_url: str, contact_id: int) -> str:
    """Stable per instance and contact: re-importing the file updates the same cards."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base_url}/contacts/{contact_id}"))
