"""What the API, the pages and the command line share: the report as JSON-ready data, the
downloadable files, and the action plan of a year."""

from __future__ import annotations

import datetime as dt
from typing import Any

from maillage.actor import Actor
from maillage.crm import audit
from maillage.crm.caches import Memo
from maillage.crm.childcare import DUTY_LABELS
from maillage.crm.versions import data_version
from maillage.db import read_transaction, write_transaction
from maillage.errors import InvalidData
from maillage.offloop import in_process, off_loop
from maillage.reports.actions import actions_in_scope, indicator_rows, runs_during
from maillage.reports.annual import build_annual_report
from maillage.reports.collect import ReportRows, load_actions
from maillage.reports.coverage import CommuneCoverage, Coverage, coverage_csv, diagnostic
from maillage.reports.files import render
from maillage.reports.model import Report
from maillage.reports.pack import build_pack
from maillage.reports.render_docx import render_pack_docx
from maillage.reports.render_html import render_html, render_pack_html
from maillage.reports.render_xlsx import render_diagnostic_xlsx
from maillage.reports.scope import FIRST_YEAR, resolve_scope
from maillage.vocabulary import ACTION_STATUSES, COMMUNE_INDICATORS

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


# Identical requests (same parameters, same data version) get the bytes computed the first time.
memo = Memo()


async def annual(
    year: int,
    territory: int | None,
    today: dt.date,
    extension: str,
    downloads: tuple[tuple[str, str], ...] = (),
) -> Any:
    """The bilan in one format, computed in a heavy-work process and memoised: ``json`` (the
    data of ``report_as_data``), ``docx``, ``xlsx``, ``html`` (bytes), or ``page`` (the title,
    the territory and the HTML fragment of /bilan, with its ``downloads`` links)."""
    version = await data_version()
    key = ("annual", year, territory, today, extension, downloads, version)
    return await memo.get(
        key, lambda: in_process(annual_job, year, territory, today, extension, downloads)
    )


async def annual_job(
    year: int,
    territory: int | None,
    today: dt.date,
    extension: str,
    downloads: tuple[tuple[str, str], ...] = (),
) -> Any:
    """Read, assemble and render the bilan (in a worker process: see ``offloop``)."""
    charts = extension in ("docx", "html", "page")
    report = await build_annual_report(year, territory, today, with_charts=charts)
    if extension == "json":
        return report_as_data(report)
    if extension == "page":
        html = render_html(
            report,
            f"bilan-{year}.xlsx",
            standalone=False,
            downloads=list(downloads),
            fragment=True,
        )
        return report.title, report.territory, html
    return render(report, extension)


def render_pack(report: Report, extension: str) -> bytes:
    if extension == "docx":
        return render_pack_docx(report)
    return render_pack_html(report).encode("utf-8")


async def pack_download(
    actor: Actor,
    meeting_id: int,
    extension: str,
    today: dt.date,
    links: tuple[tuple[str, str], ...] = (),
) -> tuple[Any, str]:
    """The pack as a file (standalone HTML: its CSS inlined) and the file's name, or with
    ``page`` the HTML of the page to print (with its ``links``). Computed in a heavy-work
    process and memoised by the data version (the counters of what the user may read; the
    journal is not counted, so journaling an export leaves it); the export is journaled every
    time."""
    if extension != "page":  # the page is not a format a person asks for
        check_format(extension, PACK_FORMATS)
    version = await data_version()
    key = ("pack", meeting_id, extension, today, links, version)
    content, stem, people = await memo.get(
        key, lambda: in_process(pack_job, meeting_id, extension, today, links)
    )
    async with write_transaction():
        await audit.record(
            actor,
            "export",
            "meeting",
            meeting_id,
            {
                "document": "dossier de séance",
                "format": "html" if extension == "page" else extension,
                "personnes": people,
            },
        )
    return content, f"{stem}.{extension}"


async def pack_job(
    meeting_id: int, extension: str, today: dt.date, links: tuple[tuple[str, str], ...] = ()
) -> tuple[Any, str, int]:
    """Read, assemble and render a meeting's pack (in a worker process: see ``offloop``)."""
    pack = await build_pack(meeting_id, today)
    if extension == "page":
        content: Any = render_pack_html(pack.report, standalone=False, links=list(links))
    else:
        content = render_pack(pack.report, extension)
    return content, pack.stem, pack.people


def coverage_as_data(coverage: Coverage) -> dict[str, Any]:
    return {
        "indicators": [
            {"code": code, "label": COMMUNE_INDICATORS.get(code, code)}
            for code in coverage.indicator_codes
        ],
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
            | (_commune_details(c) if coverage.details else {})
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


def _commune_details(commune: CommuneCoverage) -> dict[str, Any]:
    """The petite enfance duty, what is recorded of it and the latest indicators (#18)."""
    recorded = commune.childcare or {}
    return {
        "childcare": {
            "duty": commune.duty,
            "duty_label": DUTY_LABELS.get(commune.duty or "", "Aucune obligation liée à la taille"),
            "schema_exists": recorded.get("schema_exists"),
            "relais_exists": recorded.get("relais_exists"),
        },
        "indicators": {
            code: {
                "value": figure["value"],
                "measured_on": figure["measured_on"],
                "source": figure["source"],
            }
            for code, figure in commune.indicators.items()
        },
        "coverage_rate": commune.coverage_rate,
    }


async def diagnostic_download(
    territory: int | None, kinds: tuple[str, ...], extension: str, kinds_label: str
) -> tuple[bytes, str]:
    """The diagnostic as a CSV or XLSX file, read and written in a heavy-work process (#16):
    the serving process gets the bytes."""
    content, name = await in_process(
        diagnostic_download_job, territory, kinds, extension, kinds_label
    )
    return content, name


async def diagnostic_download_job(
    territory: int | None, kinds: tuple[str, ...], extension: str, kinds_label: str
) -> tuple[bytes, str]:
    coverage = await diagnostic(territory, kinds, details=True)
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
