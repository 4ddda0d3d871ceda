"""Reading uploaded .ics files: every fault said in French, all at once, before any write."""

from __future__ import annotations

import datetime as dt

import pytest

from maillage.calendar.ics_import import MAX_IMPORT_EVENTS, IcsImportError, parse_ics
from tests.calendar.calendar_helpers import ics, paris, vevent


def test_it_reads_events_in_paris_time():
    parsed = parse_ics(ics(vevent(DESCRIPTION="Ordre du jour\\n1. Bilan")))
    (event,) = parsed.events
    assert event.uid == "reunion-1@ailleurs"
    assert event.title == "Commission petite enfance"
    assert event.starts_at == paris(2027, 1, 12, 14)
    assert event.ends_at == paris(2027, 1, 12, 16)
    assert event.location == "Mairie d'Ardoise"
    assert event.agenda == "Ordre du jour\n1. Bilan"
    assert event.status == "planifiee"


def test_utc_and_floating_times_are_read_right():
    parsed = parse_ics(
        ics(
            vevent(
                "a@x",
                **{"DTSTART;TZID=Europe/Paris": None, "DTEND;TZID=Europe/Paris": None},
                DTSTART="20270112T130000Z",
                DURATION="PT90M",
            ),
            vevent(
                "b@x",
                **{"DTSTART;TZID=Europe/Paris": None, "DTEND;TZID=Europe/Paris": None},
                DTSTART="20270112T140000",
            ),
        )
    )
    first, second = parsed.events
    assert first.starts_at == paris(2027, 1, 12, 14)
    assert first.ends_at - first.starts_at == dt.timedelta(minutes=90)
    assert second.starts_at == paris(2027, 1, 12, 14)  # floating: read as Paris time
    assert second.ends_at - second.starts_at == dt.timedelta(hours=1)


def test_cancelled_and_tentative_events_keep_their_status():
    parsed = parse_ics(ics(vevent("a@x", STATUS="CANCELLED"), vevent("b@x", STATUS="TENTATIVE")))
    assert [e.status for e in parsed.events] == ["annulee", "brouillon"]


def test_all_day_events_are_skipped_and_said_so():
    all_day = vevent(
        "jour@x",
        SUMMARY="Fermeture",
        **{
            "DTSTART;TZID=Europe/Paris": None,
            "DTEND;TZID=Europe/Paris": None,
            "DTSTART;VALUE=DATE": "20270112",
        },
    )
    parsed = parse_ics(ics(all_day, vevent()))
    assert len(parsed.events) == 1
    assert parsed.skipped == [
        "Événement n° 1 (« Fermeture ») : journée entière, ignoré (une réunion a une heure de début)."
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", "n'est pas un calendrier iCalendar"),
        ("<html><body>Connexion requise</body></html>", "n'est pas un calendrier iCalendar"),
        ("Nom;Date\nCOPIL;08/12/2026\n", "n'est pas un calendrier iCalendar"),
        (ics(vevent())[:-40], "tronqué"),
        (
            "BEGIN:VCALENDAR\r\nnot a content line\r\nEND:VCALENDAR\r\n",
            "illisible : la ligne « not a content line » n'a pas la forme NOM:valeur.",
        ),
    ],
)
def test_files_that_are_not_calendars_are_refused_in_french(data, message):
    with pytest.raises(IcsImportError) as error:
        parse_ics(data)
    assert message in error.value.message


def test_every_faulty_event_is_listed_and_none_is_kept():
    data = ics(
        vevent(None, SUMMARY="Sans identifiant"),
        vevent(
            "tz@x",
            **{"DTSTART;TZID=Europe/Paris": None, "DTSTART;TZID=Mars/Olympus": "20270112T140000"},
        ),
        vevent("ok@x"),
        vevent("rec@x", RRULE="FREQ=WEEKLY"),
        vevent("ok@x"),
        vevent("end@x", **{"DTEND;TZID=Europe/Paris": "20270112T120000"}),
    )
    with pytest.raises(IcsImportError) as error:
        parse_ics(data)
    problems = error.value.problems
    assert len(problems) == 5
    assert "pas d'identifiant UID" in problems[0]
    assert "fuseau horaire inconnu « Mars/Olympus »" in problems[1]
    assert "récurrent non pris en charge" in problems[2]
    assert "présent deux fois" in problems[3]
    assert "la fin doit être postérieure au début" in problems[4]
    assert "rien n'a été importé" in error.value.message


def test_a_file_with_10000_events_is_refused_with_the_limit_stated():
    small = "BEGIN:VEVENT\r\nUID:r{n}@x\r\nDTSTAMP:20261101T090000Z\r\nDTSTART:20270112T130000Z\r\nEND:VEVENT"
    data = ics(*(small.format(n=n) for n in range(10_000)))
    with pytest.raises(IcsImportError) as error:
        parse_ics(data)
    assert f"l'import en accepte {MAX_IMPORT_EVENTS}" in error.value.message
    assert "10000 événements" in error.value.message


def test_text_is_kept_on_one_line_where_a_meeting_needs_it():
    parsed = parse_ics(
        ics(vevent(SUMMARY="Bilan\\, suite\\nEND:VEVENT \U0001f389", LOCATION="A\\; B"))
    )
    (event,) = parsed.events
    assert event.title == "Bilan, suite END:VEVENT 🎉"
    assert event.location == "A; B"
