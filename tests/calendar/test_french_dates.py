"""One French date formatter: pages, reports, emails and feeds write dates the same way."""

from __future__ import annotations

import datetime as dt

from maillage import french

WINTER = dt.datetime(2026, 12, 8, 13, 0, tzinfo=dt.UTC)  # 14 h 00 in Paris
SUMMER = dt.datetime(2026, 7, 1, 7, 5, tzinfo=dt.UTC)  # 9 h 05 in Paris


def test_it_writes_every_style_in_french():
    day = dt.date(2026, 12, 8)
    assert french.format_date(day) == "mardi 8 décembre 2026"
    assert french.format_date(day, "long") == "8 décembre 2026"
    assert french.format_date(day, "abbreviated") == "8 déc. 2026"
    assert french.format_date(day, "short") == "08/12/2026"
    assert french.format_moment(WINTER) == "mardi 8 décembre 2026 à 14 h 00"
    assert french.format_moment(SUMMER) == "mercredi 1er juillet 2026 à 9 h 05"


def test_pages_use_the_shared_formatter():
    assert french.datetime_fr(WINTER, "full") == french.format_moment(WINTER)
    assert french.datetime_fr(WINTER) == "8 déc. 2026 à 14 h 00"
    assert french.date_fr(SUMMER) == "1er juillet 2026"
    assert french.date_fr(SUMMER.date(), "full") == "mercredi 1er juillet 2026"
    assert french.date_fr(dt.date(2027, 1, 31), "short") == "31/01/2027"
    assert french.time_fr(SUMMER) == "9 h 05"
    assert french.date_fr(None) == french.datetime_fr(None) == ""


def test_reports_use_the_shared_formatter():
    assert french.long_date(dt.date(2027, 1, 1)) == "vendredi 1er janvier 2027"
    assert french.short_date(dt.date(2027, 1, 1)) == "01/01/2027"
    assert french.short_date(None) == "—"
