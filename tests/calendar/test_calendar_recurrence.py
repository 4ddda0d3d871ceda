"""A body's rule turned into meetings: DST-proof, and extensions respect what was changed."""

from __future__ import annotations

import datetime as dt

import pytest

from maillage.calendar.recurrence import RecurrenceError, parse_rule, plan
from tests.calendar.calendar_helpers import paris

QUARTERLY = "FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=1TU"
NOW = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
TWO_HOURS = dt.timedelta(hours=2)


def test_first_tuesday_of_each_quarter_at_14h_across_dst():
    occurrences = plan(
        parse_rule(QUARTERLY), dt.date(2027, 12, 31), TWO_HOURS, [], NOW, paris(2027, 1, 5, 14)
    )
    assert [o.starts_at for o in occurrences] == [
        paris(2027, 1, 5, 14),
        paris(2027, 4, 6, 14),
        paris(2027, 7, 6, 14),
        paris(2027, 10, 5, 14),
    ]
    assert [o.starts_at.utcoffset() for o in occurrences] == [
        dt.timedelta(hours=h)
        for h in (1, 2, 2, 2)  # summer time lasts until 31 October
    ]
    assert all(o.ends_at - o.starts_at == TWO_HOURS for o in occurrences)


def test_weekly_meetings_keep_14h_over_the_last_sunday_of_march_and_october():
    rule = parse_rule("DTSTART;TZID=Europe/Paris:20270323T140000\nRRULE:FREQ=WEEKLY;BYDAY=TU")
    spring = plan(rule, dt.date(2027, 4, 6), TWO_HOURS, [], NOW)
    assert [(o.starts_at.hour, o.recurrence_id.hour) for o in spring] == [
        (14, 13),  # 23 March, CET
        (14, 12),  # 30 March, CEST (the change was on Sunday 28)
        (14, 12),
    ]
    rule = parse_rule("DTSTART;TZID=Europe/Paris:20271026T140000\nRRULE:FREQ=WEEKLY;BYDAY=TU")
    autumn = plan(rule, dt.date(2027, 11, 2), TWO_HOURS, [], NOW)
    assert [(o.starts_at.hour, o.recurrence_id.hour) for o in autumn] == [(14, 12), (14, 13)]


def test_extending_the_horizon_only_adds_later_occurrences():
    rule = parse_rule(QUARTERLY)
    first = plan(rule, dt.date(2027, 6, 30), TWO_HOURS, [], NOW, paris(2027, 1, 5, 14))
    assert len(first) == 2
    # The coordinator deleted the April one and moved January: only their ids remain known.
    existing = [first[0].recurrence_id]
    later = plan(rule, dt.date(2027, 12, 31), TWO_HOURS, existing, NOW)
    assert [o.starts_at.date() for o in later] == [
        dt.date(2027, 4, 6),
        dt.date(2027, 7, 6),
        dt.date(2027, 10, 5),
    ]
    existing = [o.recurrence_id for o in first]
    later = plan(rule, dt.date(2027, 12, 31), TWO_HOURS, existing, NOW)
    assert [o.starts_at.date() for o in later] == [dt.date(2027, 7, 6), dt.date(2027, 10, 5)]


def test_past_occurrences_are_not_created():
    rule = parse_rule(QUARTERLY)
    occurrences = plan(rule, dt.date(2027, 5, 1), TWO_HOURS, [], NOW, paris(2026, 1, 6, 14))
    assert [o.starts_at.date() for o in occurrences] == [dt.date(2027, 1, 5), dt.date(2027, 4, 6)]


def test_a_first_date_outside_the_rule_is_refused_in_french():
    with pytest.raises(RecurrenceError, match="ne suit pas la règle"):
        plan(
            parse_rule(QUARTERLY), dt.date(2027, 12, 31), TWO_HOURS, [], NOW, paris(2027, 1, 8, 14)
        )


def test_without_any_first_date_it_asks_for_one():
    with pytest.raises(RecurrenceError, match="première réunion"):
        plan(parse_rule(QUARTERLY), dt.date(2027, 12, 31), TWO_HOURS, [], NOW)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "absente"),
        ("FREQ=HOURLY", "au plus une fois par jour"),
        ("FREQ=WEEKLY;BYDAY=XX", "invalide"),
        ("tous les mardis", "non reconnue"),
        ("DTSTART;TZID=America/New_York:20270105T140000\nRRULE:FREQ=WEEKLY", "Europe/Paris"),
    ],
)
def test_bad_rules_get_a_french_message(text, message):
    with pytest.raises(RecurrenceError, match=message):
        parse_rule(text)


def test_the_number_of_occurrences_is_bounded():
    rule = parse_rule("FREQ=DAILY")
    with pytest.raises(RecurrenceError, match="plus de 200 réunions"):
        plan(rule, dt.date(2028, 12, 31), TWO_HOURS, [], NOW, paris(2027, 1, 1, 9))
