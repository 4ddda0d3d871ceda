"""The one Jinja environment factory: pages, emails, the annual report, the network drawing and
the RGPD access document share its settings and its French filters (#17).

Every environment escapes HTML (and XML or SVG) templates and templates built from a string,
never the plain-text ones (the text part of an email); an undefined name is an error rather than
an empty string, so that a misspelt variable fails a test instead of a sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from maillage import french

# The French wording every template may use: `{{ name | of }}`, `{{ starts_at | datetime_fr }}`,
# `{{ count | plural("réunion") }}`, `{{ ratio | percent }}`.
FRENCH_FILTERS: dict[str, Callable[..., Any]] = {
    "of": french.of,
    "date_fr": french.date_fr,
    "time_fr": french.time_fr,
    "datetime_fr": french.datetime_fr,
    "moment": french.format_moment,
    "span": french.format_span,
    "day": lambda moment: french.format_date(french.in_paris(moment).date()),
    "number": french.number,
    "percent": french.percent,
    "euros": french.euros,
    "plural": french.plural,
    "quoted": french.quoted,
}


def environment(*folders: Path, keep_trailing_newline: bool = False) -> Environment:
    """An environment reading templates from ``folders`` (none: templates from strings only)."""
    env = Environment(
        loader=FileSystemLoader(folders) if folders else None,
        autoescape=select_autoescape(("html", "xml", "svg"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=keep_trailing_newline,
    )
    env.filters.update(FRENCH_FILTERS)
    return env
