"""The bilan as a printable HTML page: one Jinja template (auto-escaped) for the file written by
the command line (CSS inlined, charts as data URIs: it opens from a USB stick) and for the page
served by the application (CSS from /static)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from jinja2 import Environment

from maillage import templating
from maillage.reports.cells import display, is_numeric
from maillage.reports.model import Report

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def _cell_class(value: Any, column: str, sheet: str) -> str:
    classes = []
    if is_numeric(value):
        classes.append("num")
    if (
        sheet == "Couverture"
        and value == 0
        and column not in ("Population", "Axes sans partenaire")
    ):
        classes.append("gap")
    return " ".join(classes)


def environment() -> Environment:
    env = templating.environment(WEB_DIR / "templates")
    env.filters["b64"] = lambda data: base64.b64encode(data).decode("ascii")
    env.globals.update(display=display, cell_class=_cell_class)
    return env


def render_html(
    report: Report,
    workbook_name: str,
    standalone: bool = True,
    downloads: list[tuple[str, str]] | None = None,
    fragment: bool = False,
) -> str:
    css = (WEB_DIR / "static" / "reports.css").read_text(encoding="utf-8") if standalone else None
    template = environment().get_template("reports/bilan.html")
    return template.render(
        report=report,
        workbook_name=workbook_name,
        inline_css=css,
        downloads=downloads or [],
        fragment=fragment,
    )


def render_pack_html(
    report: Report,
    standalone: bool = True,
    links: list[tuple[str, str]] | None = None,
) -> str:
    """The pack of a meeting as one printable A4 document: CSS inlined when ``standalone``
    (the file opens from anywhere), linked from /static when the application serves it."""
    css = (WEB_DIR / "static" / "reports.css").read_text(encoding="utf-8") if standalone else None
    template = environment().get_template("reports/dossier.html")
    return template.render(report=report, inline_css=css, links=links or [], fragment=False)
