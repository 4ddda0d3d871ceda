"""Reading the spreadsheets coordinators already have: CSV (any of the three encodings and
separators French tools produce) or XLSX, into lines of cells numbered as the person sees them.

Every refusal is an ``UnreadableFile`` with a French message that names the file and says what to
do; problems of a single line are left to the import, which reports them with line and column.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import csv
import datetime as dt
import io
import re
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

from maillage import french, offloop
from maillage.errors import ServiceError

MAX_IMPORT_BYTES = 20 * 1024 * 1024
"""20 Mo: far above a territory's partner list (10,000 lines of CSV weigh about 1.5 Mo)."""
MAX_COLUMNS = 200
MAX_LINES = 200_000
ENCODINGS = ("utf-8-sig", "utf-8", "cp1252")
ENCODING_LABELS = {"utf-8-sig": "UTF-8 avec BOM", "utf-8": "UTF-8", "cp1252": "Windows-1252"}
DELIMITERS = (";", ",", "\t")
DELIMITER_LABELS = {";": "point-virgule", ",": "virgule", "\t": "tabulation"}

_SIGNATURES = [
    (b"%PDF", "un document PDF"),
    (b"\x89PNG", "une image PNG"),
    (b"\xff\xd8\xff", "une image JPEG"),
    (b"GIF8", "une image GIF"),
    (b"\xd0\xcf\x11\xe0", "un ancien classeur Excel (.xls) ou document Word (.doc)"),
    (b"\x1f\x8b", "une archive compressée (gzip)"),
    (b"Rar!", "une archive RAR"),
    (b"7z\xbc\xaf", "une archive 7-Zip"),
]
# A UTF-8 sequence for an accented Latin letter: seen beside invalid bytes, the file mixes both.
_UTF8_ACCENT = re.compile(rb"[\xc2-\xc3][\x80-\xbf]")


class UnreadableFile(ServiceError):
    """The file as a whole cannot be imported; nothing was written."""

    status_code = 400


@dataclass
class Sheet:
    """The cells of a file, each line with the number a spreadsheet shows beside it."""

    lines: list[tuple[int, list[Any]]]
    encoding: str = ""
    delimiter: str = ""
    file_kind: str = "csv"
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.file_kind == "xlsx":
            return "classeur XLSX"
        return (
            f"CSV {ENCODING_LABELS.get(self.encoding, self.encoding)}, "
            f"séparateur {DELIMITER_LABELS.get(self.delimiter, self.delimiter)}"
        )


def read_table(data: bytes, filename: str) -> Sheet:
    """The lines of a CSV or XLSX file, whatever its name says it is."""
    if not data.strip():
        raise UnreadableFile(
            f"Le fichier {french.quoted(filename)} est vide : il n'y a rien à importer."
        )
    if len(data) > MAX_IMPORT_BYTES:
        raise UnreadableFile(
            f"Le fichier {french.quoted(filename)} pèse {len(data) / 1024 / 1024:.0f} Mo : la limite est de "
            f"{MAX_IMPORT_BYTES // 1024 // 1024} Mo. Découpez-le en plusieurs fichiers."
        )
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, filename)
    _refuse_binary(data, filename)
    text, encoding = decode(data, filename)
    return _read_csv(text, encoding, filename)


def _refuse_binary(data: bytes, filename: str) -> None:
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise UnreadableFile(
                f"Le fichier {french.quoted(filename)} n'est pas un tableau CSV ou XLSX : c'est {what}. "
                "Ouvrez-le dans son logiciel et enregistrez-le au format CSV ou XLSX."
            )
    if b"\x00" in data[:65536]:
        raise UnreadableFile(
            f"Le fichier {french.quoted(filename)} contient des données binaires (octets nuls) : ce n'est pas "
            "un fichier CSV. Enregistrez le tableau au format « CSV UTF-8 » ou XLSX."
        )


def decode(data: bytes, filename: str) -> tuple[str, str]:
    """UTF-8 (with or without BOM), else Windows-1252; a file mixing both is refused."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as error:
            raise _mixed(data, error, filename) from error
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        if _UTF8_ACCENT.search(data):
            raise _mixed(data, error, filename) from error
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as error:  # the five bytes cp1252 leaves undefined
        line = data.count(b"\n", 0, error.start) + 1
        raise UnreadableFile(
            f"Le fichier {french.quoted(filename)} n'est ni en UTF-8 ni en Windows-1252 (octet illisible "
            f"ligne {line}) : enregistrez-le au format « CSV UTF-8 »."
        ) from error


def _mixed(data: bytes, error: UnicodeDecodeError, filename: str) -> UnreadableFile:
    line = data.count(b"\n", 0, error.start) + 1
    return UnreadableFile(
        f"Le fichier {french.quoted(filename)} mélange deux encodages (UTF-8 et Windows-1252) : la ligne "
        f"{line} n'est pas en UTF-8 alors que d'autres le sont. Ouvrez-le dans un tableur et "
        "enregistrez-le à nouveau au format « CSV UTF-8 »."
    )


def detect_delimiter(text: str) -> str:
    """The separator that splits the first lines into the most, and the same number of, cells."""
    sample = [line for line in text.splitlines()[:20] if line.strip()]
    best, best_score = ";", (0, 0)
    for delimiter in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(sample, delimiter=delimiter)]
        except csv.Error:  # a cell past the csv module's limit: the reading says where
            continue
        if not counts or counts[0] < 2:
            continue
        steady = sum(1 for n in counts if n == counts[0])
        score = (steady, counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(text: str, encoding: str, filename: str) -> Sheet:
    delimiter = detect_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    lines: list[tuple[int, list[Any]]] = []
    start = 1
    try:
        for cells in reader:
            if len(lines) >= MAX_LINES:
                raise UnreadableFile(
                    f"Le fichier {french.quoted(filename)} dépasse {french.number(MAX_LINES)} lignes : "
                    "découpez-le."
                )
            if any(cell.strip() for cell in cells):
                lines.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as error:
        # The csv module's words are English; the one problem it reports besides quoting is
        # a cell longer than its limit.
        problem = (
            f"{cell_too_long()} (un guillemet resté ouvert ?)"
            if "field limit" in str(error)
            else "vérifiez les guillemets de cette ligne"
        )
        raise UnreadableFile(
            f"Le fichier {french.quoted(filename)} est mal formé ligne {reader.line_num} : {problem}."
        ) from error
    return Sheet(lines, encoding=encoding, delimiter=delimiter)


def cell_too_long() -> str:
    """The csv module's one error besides quoting, which it words in English."""
    return f"une cellule dépasse {french.number(csv.field_size_limit())} caractères"


# A workbook is a ZIP archive that openpyxl inflates whole or part by part: a 1 Mo file can hold
# a 900 Mo sheet. Its directory gives each part's real size (zipfile stops reading at the
# declared size), so these checks run before any XML is parsed.
XLSX_MAX_PARTS = 500
XLSX_MAX_PART_BYTES = 100 * 1024 * 1024
XLSX_MAX_TOTAL_BYTES = 200 * 1024 * 1024
# Spreadsheet XML compresses 5 to 30 times; a part inflating more than this is padding.
XLSX_MAX_RATIO = 200
XLSX_RATIO_FROM_BYTES = 1024 * 1024
XLSX_TIME_LIMIT = 60.0
"""Seconds of parsing after which a workbook is abandoned (a real one takes a few)."""
XLSX_ADVICE = "ouvrez-le dans votre tableur et enregistrez-le à nouveau au format XLSX ou CSV."
# Parsing is CPU-bound: two files at a time per process (one per core), the others wait.
_reading_threads = concurrent.futures.ThreadPoolExecutor(
    max_workers=2, thread_name_prefix="lecture-tableur"
)


async def read_table_off_loop(data: bytes, filename: str) -> Sheet:
    """``read_table`` in a heavy-work process (``offloop.in_process``): a big or hostile file
    never stalls other requests. On a thread of the serving process, parsing held its
    interpreter lock: two imports of the issue's sheet of 100 rows × 16,384 cells (refused,
    7 s of CPU each on a busy host) pushed the p99 of ``/healthz`` past 4 s (#16). Without
    worker processes (the command line), it runs on a thread here."""
    if offloop.processes() > 0:
        sheet: Sheet = await offloop.in_process(read_table, data, filename)
        return sheet
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_reading_threads, read_table, data, filename)


def _unreadable_workbook(filename: str, reason: str) -> UnreadableFile:
    return UnreadableFile(
        f"Classeur illisible : {french.quoted(filename)} {reason} ; {XLSX_ADVICE}"
    )


def check_xlsx_archive(data: bytes, filename: str) -> None:
    """Refuse, from the ZIP directory alone, an archive that would inflate beyond reason or
    whose XML declares a document type (the door to external entities and entity bombs)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
            _check_sizes(parts, filename)
            for part in parts:
                if part.filename.endswith((".xml", ".rels")) and _declares_doctype(archive, part):
                    raise _unreadable_workbook(
                        filename,
                        f"déclare un type de document dans « {part.filename} », ce qu'aucun "
                        "tableur n'écrit (entités externes refusées)",
                    )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError) as error:
        raise _unreadable_workbook(filename, "n'est pas une archive ZIP valide") from error


def _check_sizes(parts: list[zipfile.ZipInfo], filename: str) -> None:
    if len(parts) > XLSX_MAX_PARTS:
        raise _unreadable_workbook(filename, f"contient {len(parts)} parties")
    total = 0
    for part in parts:
        total += part.file_size
        too_big = part.file_size > XLSX_MAX_PART_BYTES or total > XLSX_MAX_TOTAL_BYTES
        inflated = part.file_size > XLSX_RATIO_FROM_BYTES and part.file_size > XLSX_MAX_RATIO * max(
            part.compress_size, 1
        )
        if too_big or inflated:
            size = french.number(part.file_size // (1024 * 1024))
            raise _unreadable_workbook(
                filename,
                f"se décompresserait en {size} Mo pour « {part.filename} » (fichier piégé ?)",
            )


def _declares_doctype(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> bool:
    """A DOCTYPE can only stand in the prolog, before the root element: the head suffices."""
    with archive.open(part) as stream:
        head = stream.read(4096)
    for encoding in ("utf-16", "utf-8") if head[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8",):
        text = head.decode(encoding, errors="ignore")
        if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
            return True
    return False


def _read_xlsx(data: bytes, filename: str) -> Sheet:
    check_xlsx_archive(data, filename)
    try:
        return _parse_xlsx(data, filename)
    except UnreadableFile:
        raise
    except Exception as error:
        # openpyxl on untrusted XML raises anything: defusedxml refusals, syntax errors,
        # missing parts, odd values. All get one answer.
        raise _unreadable_workbook(filename, "n'est pas un classeur XLSX lisible") from error


def _sheet_size(source: Any) -> tuple[int, int, int, int] | None:
    """The boundaries the sheet declares in ``<dimension>``, read from the XML's head only.

    openpyxl looks for them when it opens each sheet, on the *end* of ``<sheetData>`` when
    there is no ``<dimension>`` (many files have none): it parsed the whole sheet before the
    first line was read, 6 to 9 s of CPU for the issue's 100 lines of 16,384 cells, refused
    at line 2 anyway (#16). Here the search stops at the *start* of ``<sheetData>``."""
    from openpyxl.worksheet._reader import DATA_TAG, DIMENSION_TAG
    from openpyxl.worksheet.dimensions import SheetDimension
    from openpyxl.xml.functions import iterparse

    for _event, element in iterparse(source, events=("start",)):
        if element.tag == DATA_TAG:
            return None
        if element.tag == DIMENSION_TAG:
            boundaries: tuple[int, int, int, int] = SheetDimension.from_tree(element).boundaries
            return boundaries
    return None


def _load_workbook(stream: io.BytesIO) -> Any:
    """``openpyxl.load_workbook(stream, read_only=True, data_only=True)``, whose sheets find
    their size without parsing their lines (``_sheet_size``); chart sheets are left out (they
    hold no cells)."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class Worksheet(ReadOnlyWorksheet):  # type: ignore[misc]
        def _get_size(self) -> None:
            with self._get_source() as source:
                size = _sheet_size(source)
            if size is not None:
                self._min_column, self._min_row, self._max_column, self._max_row = size

    class Reader(ExcelReader):  # type: ignore[misc]
        def read_worksheets(self) -> None:
            for sheet, rel in self.parser.find_sheets():
                if rel.target not in self.valid_files or "chartsheet" in rel.Type:
                    continue
                worksheet = Worksheet(self.wb, sheet.name, rel.target, self.shared_strings)
                worksheet.sheet_state = sheet.state
                self.wb._sheets.append(worksheet)

    reader = Reader(stream, read_only=True, data_only=True)
    reader.read()
    return reader.wb


def _parse_xlsx(data: bytes, filename: str) -> Sheet:
    deadline = time.monotonic() + XLSX_TIME_LIMIT
    book = _load_workbook(io.BytesIO(data))
    try:
        sheet = book.worksheets[0]
        lines: list[tuple[int, list[Any]]] = []
        # One column past the limit is read, to see a line that goes beyond it; the declared
        # dimension would otherwise pad every line to 16,384 cells.
        rows = sheet.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True)
        for number, row in enumerate(rows, start=1):
            _check_line(number, row, deadline, filename)
            cells = [_xlsx_cell(value) for value in row]
            while cells and cells[-1] == "":
                cells.pop()
            if any(cell != "" for cell in cells):
                lines.append((number, cells))
        notes = []
        if len(book.worksheets) > 1:
            notes.append(f"Seule la première feuille (« {sheet.title} ») a été lue.")
    finally:
        book.close()
    return Sheet(lines, file_kind="xlsx", notes=notes)


def _check_line(number: int, row: tuple[Any, ...], deadline: float, filename: str) -> None:
    """Every line, not only the header: bounded count, width and reading time."""
    if number > MAX_LINES:
        raise UnreadableFile(
            f"Le classeur {french.quoted(filename)} dépasse {french.number(MAX_LINES)} lignes : découpez-le."
        )
    if len(row) > MAX_COLUMNS and row[MAX_COLUMNS] is not None:
        raise _unreadable_workbook(
            filename, f"a plus de {MAX_COLUMNS} cellules à la ligne {french.number(number)}"
        )
    if time.monotonic() > deadline:
        raise _unreadable_workbook(
            filename, f"est trop long à lire (plus de {XLSX_TIME_LIMIT:.0f} secondes)"
        )


def _xlsx_cell(value: Any) -> Any:
    """Dates stay dates; whole numbers lose Excel's « .0 »; everything else becomes text."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date | bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
