"""The three files of the bilan, as the command line writes them and the API serves them."""

from __future__ import annotations

from pathlib import Path

from maillage.reports.model import Report
from maillage.reports.render_docx import render_docx
from maillage.reports.render_html import render_html
from maillage.reports.render_xlsx import render_xlsx

MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html",
    "csv": "text/csv",
}


def file_name(year: int, extension: str) -> str:
    return f"bilan-{year}.{extension}"


def render(report: Report, extension: str) -> bytes:
    workbook = file_name(report.year, "xlsx")
    if extension == "docx":
        return render_docx(report, workbook)
    if extension == "xlsx":
        return render_xlsx(report)
    return render_html(report, workbook).encode("utf-8")


def write_annual(report: Report, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for extension in ("docx", "xlsx", "html"):
        path = directory / file_name(report.year, extension)
        path.write_bytes(render(report, extension))
        written.append(path)
    return written
