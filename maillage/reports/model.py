"""The report model every renderer reads: key figures, tables and charts, all plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sheet:
    """A table: shown in the DOCX/HTML when ``shown``, always written to the XLSX.

    ``key`` names the XLSX sheet (31 characters at most, no « / »), ``title`` is the caption.
    """

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    shown: bool = True
    note: str = ""


@dataclass
class Chart:
    key: str
    title: str
    png: bytes
    sheet: str  # the XLSX sheet holding the rows behind it
    alt: str = ""
    # The key of a sheet of the section shown right after the chart, as its table for
    # screen readers (a map's), instead of with the section's other tables.
    table: str = ""


@dataclass
class Section:
    key: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    # Headed lists of sentences, after the paragraphs: (heading, sentences, said when empty).
    lists: list[tuple[str, list[str], str]] = field(default_factory=list)
    sheets: list[Sheet] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)  # machine-readable (API, tests)
    svg: str = ""  # a map drawn by ``maillage.geo``, inline in the HTML (the DOCX has its PNG)
    svg_title: str = ""

    def chart_table(self, chart: Chart) -> Sheet | None:
        return next((s for s in self.sheets if chart.table and s.key == chart.table), None)

    def loose_sheets(self) -> list[Sheet]:
        """The sheets not shown beside a chart."""
        beside = {chart.table for chart in self.charts if chart.table}
        return [sheet for sheet in self.sheets if sheet.key not in beside]


@dataclass
class MissingData:
    """A piece of missing data that weakens the report, with what to do about it."""

    topic: str
    message: str
    count: int = 1


@dataclass
class Report:
    title: str
    subtitle: str
    year: int
    territory: str
    generated_on: str
    context: list[str]
    warnings: list[MissingData]
    sections: list[Section]

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    def all_sheets(self) -> list[Sheet]:
        return [sheet for section in self.sections for sheet in section.sheets]
