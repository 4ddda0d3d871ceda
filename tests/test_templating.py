"""One Jinja environment factory: pages, emails, reports, drawing and RGPD documents share the
French filters and escape HTML, never plain text (#17)."""

from __future__ import annotations

import datetime as dt

import pytest
from jinja2 import UndefinedError

from maillage import templating
from maillage.exchange import rgpd
from maillage.graph import drawing
from maillage.mailing import messages
from maillage.reports import render_html
from maillage.web import app

WINTER = dt.datetime(2026, 12, 8, 13, 0, tzinfo=dt.UTC)  # 14 h 00 in Paris


def _environments():
    return {
        "pages": app._template_engine().engine,
        "emails": messages.TEMPLATES,
        "reports": render_html.environment(),
        "drawing": drawing._environment,
        "rgpd": rgpd._ACCESS_PAGE.environment,
    }


@pytest.mark.parametrize("name", ["pages", "emails", "reports", "drawing", "rgpd"])
def test_every_environment_writes_french_the_same_way(name):
    env = _environments()[name]
    text = env.from_string(
        "{{ who | of }} ; {{ when | datetime_fr('full') }} ; {{ n | plural('réunion') }} ; "
        "{{ big | number }}"
    ).render(who="Hélène", when=WINTER, n=3, big=12000)
    assert text == "d&#39;Hélène ; mardi 8 décembre 2026 à 14 h 00 ; 3 réunions ; 12\u202f000"


@pytest.mark.parametrize("name", ["pages", "emails", "reports", "drawing", "rgpd"])
def test_every_environment_escapes_html_and_refuses_unknown_names(name):
    env = _environments()[name]
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    with pytest.raises(UndefinedError):
        env.from_string("{{ missing.attribute }}").render()


def test_plain_text_email_parts_are_not_escaped(tmp_path):
    (tmp_path / "part.txt").write_text("{{ name }}", encoding="utf-8")
    (tmp_path / "part.html").write_text("{{ name }}", encoding="utf-8")
    env = templating.environment(tmp_path)
    assert env.get_template("part.txt").render(name="Léa & Zoé") == "Léa & Zoé"
    assert env.get_template("part.html").render(name="Léa & Zoé") == "Léa &amp; Zoé"
