"""What the API, the pages and the command line share: the report as JSON-ready data, the
downloadable files, and the action plan of a year."""

from __future__ import annotations

import datetime as dt
from typing import Any

from maillage.actor import Actor
from maillage.crm import audit
from maillage.db import read_transaction, write_transaction
from maillage.errors import InvalidData
from maillage.offloop import off_loop
from maillage.reports.actions import actions_in_scope, indicator_rows, runs_during
from maillage.reports.collect import ReportRows, load_actions
from maillage.reports.coverage import Coverage, coverage_csv, diagnostic
from maillage.reports.files import file_name, render
from maillage.reports.model import Report
from maillage.reports.pack import Pack, build_pack
from maillage.reports.render_docx import render_pack_docx
from maillage.reports.render_html import render_pack_html
from maillage.reports.render_xlsx import render_diagnostic_xlsx
from maillage.reports.scope import FIRST_YEAR, resolve_scope
from maillage.vocabulary import ACTION_STATUSES

ANNUAL_FORMATS = ("json", "docx", "xlsx", "html")
DIAGNOSTIC_FORMATS = ("json", "csv", "xlsx")
PACK_FORMATS = ("docx", "html")
PLAN_HORIZON = 10  # targets may be set for the years the CTG still runs


def check_format(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidData.one(
            "format", f"Format « {value} » inconnu : choisissez {', '.join(allowed)}."
        )
    return value


def report_as_data(report: Report) -> dict[str, Any]:
    return {
        "title": report.title,
        "year": report.year,
        "territory": report.territory,
        "generated_on": report.generated_on,
        "context": report.context,
        "missing_data": [
            {"topic": w.topic, "message": w.message, "count": w.count} for w in report.warnings
        ],
        "sections": [
            {
                "key": s.key,
                "title": s.title,
                "paragraphs": s.paragraphs,
                "figures": s.figures,
                "tables": [
                    {"key": t.key, "title": t.title, "columns": t.columns, "rows": t.rows}
                    for t in s.sheets
                ],
            }
            for s in report.sections
        ],
    }


async def annual_download(report: Report, extension: str) -> tuple[bytes, str]:
    return await off_loop(render, report, extension), file_name(report.year, extension)


def render_pack(report: Report, extension: str) -> bytes:
    if extension == "docx":
        return render_pack_docx(report)
    return render_pack_html(report).encode("utf-8")


async def _journaled_pack(actor: Actor, meeting_id: int, extension: str, today: dt.date) -> Pack:
    """The pack of a meeting; its export is journaled (it names the people who carry the
    body's decisions), whatever the door: API, page or command line."""
    check_format(extension, PACK_FORMATS)
    pack = await build_pack(meeting_id, today)
    async with write_transaction():
        await audit.record(
            actor,
            "export",
            "meeting",
            meeting_id,
            {"document": "dossier de séance", "format": extension, "personnes": pack.people},
        )
    return pack


async def pack_download(
    actor: Actor, meeting_id: int, extension: str, today: dt.date
) -> tuple[bytes, str]:
    """The pack as a file (standalone HTML: its CSS inlined) and the file's name."""
    pack = await _journaled_pack(actor, meeting_id, extension, today)
    content = await off_loop(render_pack, pack.report, extension)
    return content, f"{pack.stem}.{extension}"


async def pack_report(actor: Actor, meeting_id: int, today: dt.date) -> Report:
    """The pack for the page that shows it (to print), journaled as an HTML export."""
    return (await _journaled_pack(actor, meeting_id, "html", today)).report


def coverage_as_data(coverage: Coverage) -> dict[str, Any]:
    return {
        "territory": coverage.territory,
        "kinds": list(coverage.kinds),
        "axes": [{"id": a["id"], "name": a["name"]} for a in coverage.axes],
        "communes": [
            {
                "id": c.id,
                "insee_code": c.insee_code,
                "name": c.name,
                "population": c.population,
                "partners_by_axis": {str(axis): n for axis, n in c.counts.items()},
                "gaps": c.gaps,
            }
            for c in coverage.communes
        ],
        "by_axis": [
            {
                "axis": a.id,
                "name": a.name,
                "partners": a.partners,
                "communes_covered": a.communes_covered,
                "communes": a.communes_total,
                "population_covered": a.population_covered,
                "population_uncovered": a.population_uncovered,
                "population_share": a.population_share,
            }
            for a in coverage.by_axis()
        ],
        "gaps": coverage.gaps(),
    }


async def diagnostic_download(
    territory: int | None, kinds: tuple[str, ...], extension: str, kinds_label: str
) -> tuple[bytes, str]:
    coverage = await diagnostic(territory, kinds)
    if extension == "csv":
        return coverage_csv(coverage).encode("utf-8"), "diagnostic-territorial.csv"
    content = await off_loop(render_diagnostic_xlsx, coverage, kinds_label)
    return content, "diagnostic-territorial.xlsx"


async def action_plan(year: int, territory: int | None, today: dt.date) -> dict[str, Any]:
    """The fiches action with their indicators for ``year`` and the year before."""
    if not FIRST_YEAR <= year <= today.year + PLAN_HORIZON:
        raise InvalidData.one(
            "year", f"Année {year} hors plage : de {FIRST_YEAR} à {today.year + PLAN_HORIZON}."
        )
    async with read_transaction():
        scope = await resolve_scope(territory)
        rows = ReportRows(scope=scope, year=year, actions=await load_actions())
    items = []
    for action in actions_in_scope(rows):
        items.append(
            {
                "id": action["id"],
                "title": action["title"],
                "axis": action["axis.name"],
                "status": action["status"],
                "status_label": ACTION_STATUSES.get(action["status"], action["status"]),
                "pilot": action["pilot.name"],
                "partners": action["partners"],
                "working_group": action["working_group.name"],
                "runs_during_year": runs_during(action, year),
                "indicators": indicator_rows(action, year),
            }
        )
    return {"year": year, "territory": scope.name, "items": items}
