"""Hostile XLSX files (#23): each one is refused with 400 and a French « classeur illisible »,
never a 500, whichever way it arrives (API or page). The files are built here, from a real
workbook whose parts are replaced."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from openpyxl import Workbook

from maillage import offloop
from maillage.actor import IMPORT
from maillage.exchange import reading
from maillage.exchange.imports import run_import
from maillage.exchange.reading import UnreadableFile

SHEET = "xl/worksheets/sheet1.xml"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
HEADER_ROW = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>Nom</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>Prénom</t></is></c></row>'
)


def workbook_bytes(parts: dict[str, bytes] | None = None, level: int = 6) -> bytes:
    """A real two-line workbook, with some of its parts replaced."""
    book = Workbook()
    book.active.append(["Nom", "Prénom"])
    book.active.append(["Lefèvre", "Hélène"])
    plain = io.BytesIO()
    book.save(plain)
    parts = parts or {}
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(plain.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as target,
    ):
        for item in source.infolist():
            target.writestr(item.filename, parts.get(item.filename, source.read(item.filename)))
    return out.getvalue()


def sheet_xml(rows: str, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
        f"<worksheet {NS}><sheetData>{HEADER_ROW}{rows}</sheetData></worksheet>"
    ).encode()


def _cell(column: int, row: int, text: str) -> str:
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f'<c r="{letters}{row}" t="inlineStr"><is><t>{text}</t></is></c>'


XXE = sheet_xml(
    '<row r="2"><c r="A2" t="inlineStr"><is><t>&e;</t></is></c></row>',
    '<!DOCTYPE worksheet [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
)
# Past the head that the archive check reads: defusedxml, under openpyxl, refuses it.
FAR_XXE = sheet_xml(
    '<row r="2"><c r="A2" t="inlineStr"><is><t>&e;</t></is></c></row>',
    "<!--" + " " * 10_000 + '--><!DOCTYPE worksheet [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
)
LAUGHS = sheet_xml(
    '<row r="2"><c r="A2" t="inlineStr"><is><t>&l9;</t></is></c></row>',
    "<!DOCTYPE worksheet [<!ENTITY l0 'ha'>"
    + "".join(f"<!ENTITY l{n} '{f'&l{n - 1};' * 10}'>" for n in range(1, 10))
    + "]>",
)
WIDE_ROW = sheet_xml(
    '<row r="2">'
    + _cell(1, 2, "Lefèvre")
    + _cell(2, 2, "Hélène")
    + '</row><row r="3">'
    + "".join(_cell(column, 3, "x") for column in range(1, 16_385))
    + "</row>"
)
# 40 Mo of blanks inside the sheet: a few dozen kilobytes once compressed.
BOMB = sheet_xml(" " * 40_000_000)
# Styles, parsed whole by openpyxl when the workbook opens: the same check applies.
STYLES_BOMB = (
    b'<?xml version="1.0"?><styleSheet ' + NS.encode() + b">" + b" " * 40_000_000 + b"</styleSheet>"
)

HOSTILE = {
    "xxe": {SHEET: XXE},
    "xxe-loin": {SHEET: FAR_XXE},
    "billion-laughs": {SHEET: LAUGHS},
    "16384-colonnes": {SHEET: WIDE_ROW},
    "bombe-zip": {SHEET: BOMB},
    "bombe-styles": {"xl/styles.xml": STYLES_BOMB},
}


@pytest.fixture(scope="module")
def hostile_files() -> dict[str, bytes]:
    return {name: workbook_bytes(parts, level=9) for name, parts in HOSTILE.items()}


def test_the_plain_workbook_is_read(database):
    sheet = reading.read_table(workbook_bytes(), "ok.xlsx")
    assert [cells for _, cells in sheet.lines] == [["Nom", "Prénom"], ["Lefèvre", "Hélène"]]


def test_openpyxl_parses_with_defusedxml():
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML is True


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_each_hostile_workbook_is_refused_in_french(database, hostile_files, name):
    with pytest.raises(UnreadableFile) as refused:
        await run_import(IMPORT, hostile_files[name], f"{name}.xlsx")
    assert refused.value.message.startswith(f"Classeur illisible : « {name}.xlsx »")
    assert "passwd" not in refused.value.message


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_the_api_answers_400_not_500(coordinator, hostile_files, name):
    files = {"file": (f"{name}.xlsx", hostile_files[name], "application/octet-stream")}
    response = await coordinator.client.post("/api/v1/imports", files=files)
    assert response.status_code == 400, response.text
    assert "Classeur illisible" in response.text


async def test_the_import_page_answers_400_not_500(app, coordinator, hostile_files):
    from tests.web.helpers import Browser, open_browser, sign_in

    async with await open_browser(app) as client:
        browser = Browser(client)
        assert (await sign_in(browser, coordinator.email)).status_code == 303
        await client.get("/imports")
        response = await client.post(
            "/imports",
            data={"type": "contacts", "_csrf_token": client.cookies["maillage_csrf"]},
            files={"fichier": ("xxe.xlsx", hostile_files["xxe"], "application/octet-stream")},
        )
    assert response.status_code == 400, response.text
    assert "Classeur illisible" in response.text


def test_reading_stops_at_its_time_limit(monkeypatch):
    """A sheet slow to parse is abandoned at the deadline, not read to its end."""
    rows = "".join(
        f'<row r="{n}">{_cell(1, n, "Nom")}{_cell(2, n, "Prénom")}</row>' for n in range(2, 20_000)
    )
    data = workbook_bytes({SHEET: sheet_xml(rows)})
    monkeypatch.setattr(reading, "XLSX_TIME_LIMIT", 0.05)
    checked: list[int] = []
    real_check = reading._check_line

    def counted(number: int, *args: Any) -> None:
        checked.append(number)
        real_check(number, *args)

    monkeypatch.setattr(reading, "_check_line", counted)
    with pytest.raises(UnreadableFile) as refused:
        reading.read_table(data, "lent.xlsx")
    assert "trop long à lire" in refused.value.message
    # Abandoned on the way, whatever the machine's speed: not every line was read.
    assert checked and checked[-1] < 20_000 - 1


async def test_parsing_runs_off_the_event_loop(database, monkeypatch):
    """The sheet is read on a worker thread: the loop keeps serving meanwhile."""
    import threading

    seen: list[str] = []
    original = reading.read_table

    def spy(data: bytes, filename: str):
        seen.append(threading.current_thread().name)
        return original(data, filename)

    monkeypatch.setattr(reading, "read_table", spy)
    # Without heavy-work processes (the command line): on a thread of this process.
    monkeypatch.setattr(offloop, "processes", lambda: 0)
    await run_import(IMPORT, workbook_bytes(), "ok.xlsx")
    assert seen and seen[0] != threading.main_thread().name


async def test_parsing_runs_in_a_worker_process_when_there_are_some(database):
    """With heavy-work processes, the serving process does not parse at all (#16)."""
    before = offloop._config
    offloop.configure(1)
    try:
        count = offloop.dispatched["read_table"]
        with pytest.raises(UnreadableFile) as refused:
            await reading.read_table_off_loop(hostile_workbook("16384-colonnes"), "large.xlsx")
        assert "a plus de 200 cellules à la ligne" in refused.value.message
        assert offloop.dispatched["read_table"] == count + 1
    finally:
        await offloop.shutdown()
        offloop.configure(*before)


def hostile_workbook(name: str) -> bytes:
    return workbook_bytes(HOSTILE[name], level=9)


def test_a_wide_line_is_refused_without_reading_the_rest_of_the_sheet(monkeypatch):
    """Without ``<dimension>``, openpyxl parsed the whole sheet to look for one before the
    first line was read: the refusal at line 3 cost seconds of CPU for a 100-line sheet (#16).
    Counted, not timed: the bytes of the sheet inflated before the refusal."""
    wide = "".join(_cell(column, 0, "x") for column in range(1, 16_385))
    rows = "".join(f'<row r="{n}">{wide.replace("0<", f"{n}<")}</row>' for n in range(3, 60))
    data = workbook_bytes({SHEET: sheet_xml(rows)}, level=9)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        size = archive.getinfo(SHEET).file_size
        assert b"<dimension" not in archive.read(SHEET)
    inflated: dict[str, int] = {}
    original = zipfile.ZipExtFile.read

    def counted(self, n=-1):
        chunk = original(self, n)
        inflated[self.name] = inflated.get(self.name, 0) + len(chunk)
        return chunk

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counted)
    with pytest.raises(UnreadableFile) as refused:
        reading.read_table(data, "large.xlsx")
    assert refused.value.message.startswith("Classeur illisible : « large.xlsx » a plus de 200")
    assert "à la ligne 3" in refused.value.message
    # The archive check reads each part's head (4 Kio); the lines, two of 57 wide ones.
    assert 0 < inflated[SHEET] < size // 10, (inflated[SHEET], size)


def test_a_declared_dimension_is_still_read():
    """The size a sheet declares is kept: openpyxl pads the lines to it as before."""
    from openpyxl import load_workbook

    data = workbook_bytes()
    plain = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    ours = reading._load_workbook(io.BytesIO(data)).worksheets[0]
    assert (ours.min_row, ours.max_row, ours.min_column, ours.max_column) == (1, 2, 1, 2)
    assert (plain.max_row, plain.max_column) == (ours.max_row, ours.max_column)
