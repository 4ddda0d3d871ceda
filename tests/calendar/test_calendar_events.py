"""Events and calendars as every client must read them: checked with the strict ``ical`` parser."""

from __future__ import annotations

import datetime as dt

import pytest
from icalendar import Calendar, Event, vCalAddress

from maillage.calendar.events import (
    Attendee,
    ReplyError,
    build_calendar,
    cancellation_calendar,
    invitation_calendar,
    parse_reply,
    serialize,
)
from maillage.calendar.vtimezone import paris_vtimezone
from maillage.french import format_moment
from tests.calendar.calendar_helpers import meeting, paris, strict


def test_it_writes_every_property_of_a_meeting():
    data = serialize(build_calendar([meeting()], name="COPIL"))
    event = strict(data).events[0]
    assert event.uid == "3f2a@maillage"
    assert event.sequence == 0
    assert event.summary == "COPIL CTG — Bilan 2026"
    assert event.location == "Salle du conseil, 2 rue de la Mairie"
    assert event.dtstart == paris(2026, 12, 8, 14, 0)
    assert str(event.dtstart.tzinfo) == "Europe/Paris"
    assert event.dtend == paris(2026, 12, 8, 16, 0)
    assert event.status.value == "CONFIRMED"
    assert event.url == "http://testserver/meetings/7"
    assert event.organizer.uri == "mailto:ctg@maillage.example"
    assert event.organizer.common_name == "Coordination CTG"
    assert event.categories == ["Comité de pilotage", "Petite enfance", "Jeunesse"]
    assert "mardi 8 décembre 2026 de 14 h 00 à 16 h 00" in event.description
    assert "1. Bilan\n2. Perspectives" in event.description
    assert "Visioconférence : https://visio.example/copil" in event.description
    assert "Fiche de la réunion : http://testserver/meetings/7" in event.description
    assert b"DTSTART;TZID=Europe/Paris:20261208T140000" in data


def test_it_emits_one_compact_rule_based_vtimezone():
    data = serialize(build_calendar([meeting(), meeting(uid="autre@maillage")]))
    assert data.count(b"BEGIN:VTIMEZONE") == 1
    assert b"RDATE" not in data
    assert b"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in data
    assert b"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in data
    (zone,) = strict(data).timezones
    assert zone.tz_id == "Europe/Paris"
    assert len(zone.standard) == len(zone.daylight) == 1


@pytest.mark.parametrize("year", [2026, 2027, 2031, 2037])
def test_the_vtimezone_rules_agree_with_the_tz_database(year):
    from zoneinfo import ZoneInfo

    reference = ZoneInfo("Europe/Paris")
    rules = paris_vtimezone().to_tz(lookup_tzid=False)
    last_march = max(
        dt.date(year, 3, d) for d in range(25, 32) if dt.date(year, 3, d).weekday() == 6
    )
    last_october = max(
        dt.date(year, 10, d) for d in range(25, 32) if dt.date(year, 10, d).weekday() == 6
    )
    for day in (last_march, last_october, dt.date(year, 1, 15), dt.date(year, 7, 15)):
        for hour in (0, 1, 4, 12, 23):
            moment = dt.datetime.combine(day, dt.time(hour))
            assert (
                moment.replace(tzinfo=rules).utcoffset()
                == moment.replace(tzinfo=reference).utcoffset()
            ), moment


def test_meetings_on_both_dst_sundays_keep_their_local_time():
    march = meeting(uid="mars@m", starts_at=paris(2026, 3, 29, 14), ends_at=paris(2026, 3, 29, 16))
    october = meeting(
        uid="oct@m", starts_at=paris(2026, 10, 25, 14), ends_at=paris(2026, 10, 25, 16)
    )
    events = {e.uid: e for e in strict(serialize(build_calendar([march, october]))).events}
    assert events["mars@m"].dtstart.astimezone(dt.UTC).hour == 12  # CEST, UTC+2
    assert events["oct@m"].dtstart.astimezone(dt.UTC).hour == 13  # CET, UTC+1
    assert events["mars@m"].dtstart.hour == events["oct@m"].dtstart.hour == 14


def test_a_meeting_across_the_spring_change_lasts_its_real_duration():
    overnight = meeting(starts_at=paris(2026, 3, 29, 1, 0), ends_at=paris(2026, 3, 29, 4, 0))
    event = strict(serialize(build_calendar([overnight]))).events[0]
    # Same-zone subtraction in Python is wall-clock: compare instants.
    assert event.dtend.astimezone(dt.UTC) - event.dtstart.astimezone(dt.UTC) == dt.timedelta(
        hours=2
    )


def test_a_cancelled_meeting_says_so_and_frees_the_slot():
    data = serialize(build_calendar([meeting(status="annulee", sequence=3)]))
    event = strict(data).events[0]
    assert event.status.value == "CANCELLED"
    assert event.sequence == 3
    assert event.summary.startswith("Annulée — ")
    assert b"TRANSP:TRANSPARENT" in data


def test_a_draft_is_tentative():
    event = strict(serialize(build_calendar([meeting(status="brouillon")]))).events[0]
    assert event.status.value == "TENTATIVE"


HOSTILE = (
    "Bilan; budget, suite\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:pirate\r\nSUMMARY:pirate 🎉 "
    + "très long " * 40
)


def test_hostile_text_cannot_inject_a_property_or_a_component():
    hostile = meeting(
        title=HOSTILE,
        location="Salle A; B, C\nLOCATION:ailleurs",
        agenda=HOSTILE,
        organizer_name='Coordination "CTG"\r\nATTENDEE:mailto:pirate@x',
        attendees=(Attendee("helene@caf.example", 'Hélène; "la" Dupont\nX-INJ:1'),),
    )
    data = serialize(build_calendar([hostile], method="REQUEST"))
    calendar = strict(data)
    assert len(calendar.events) == 1
    event = calendar.events[0]
    assert event.uid == "3f2a@maillage"
    # A CRLF inside text is written as one escaped line break (\\n).
    assert event.summary == "COPIL CTG — " + HOSTILE.replace("\r\n", "\n")
    assert event.location == "Salle A; B, C\nLOCATION:ailleurs"
    assert HOSTILE.replace("\r\n", "\n").strip() in event.description
    assert len(event.attendees) == 1
    assert event.attendees[0].common_name == 'Hélène; "la" Dupont X-INJ:1'
    assert event.organizer.common_name == 'Coordination "CTG" ATTENDEE:mailto:pirate@x'
    lines = data.split(b"\r\n")
    assert [line for line in lines if line.startswith(b"BEGIN:")] == [
        b"BEGIN:VCALENDAR",
        b"BEGIN:VTIMEZONE",
        b"BEGIN:DAYLIGHT",
        b"BEGIN:STANDARD",
        b"BEGIN:VEVENT",
    ]
    assert not any(
        line.startswith((b"UID:pirate", b"LOCATION:ailleurs", b"X-INJ")) for line in lines
    )
    assert all(len(line) <= 75 for line in lines)  # folded at 75 octets


def test_axes_with_commas_stay_one_category():
    data = serialize(build_calendar([meeting(axes=("Logement, habitat",))]))
    assert strict(data).events[0].categories == ["Comité de pilotage", "Logement / habitat"]


def test_a_feed_tells_clients_to_refresh_hourly():
    data = serialize(build_calendar([meeting()], name="COPIL"))
    calendar = strict(data)
    assert calendar.refresh_interval == dt.timedelta(hours=1)
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in data
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in data
    assert calendar.method is None


def test_a_feed_is_the_same_bytes_for_the_same_data():
    first = serialize(build_calendar([meeting()], name="COPIL"))
    second = serialize(build_calendar([meeting()], name="COPIL"))
    assert first == second
    assert b"DTSTAMP:20261102T093000Z" in first


def test_it_builds_a_request_for_one_attendee():
    attendee = Attendee("helene@caf.example", "Hélène Lefèvre", role="OPT-PARTICIPANT")
    stamp = dt.datetime(2026, 11, 29, 10, tzinfo=dt.UTC)
    data = serialize(invitation_calendar(meeting(attendees=(attendee,)), attendee, stamp))
    calendar = strict(data)
    assert calendar.method == "REQUEST"
    (invited,) = calendar.events[0].attendees
    assert invited.uri == "mailto:helene@caf.example"
    assert invited.common_name == "Hélène Lefèvre"
    assert invited.role == "OPT-PARTICIPANT"
    assert invited.status == "NEEDS-ACTION"
    assert invited.rsvp is True
    assert calendar.events[0].dtstamp == stamp
    assert calendar.events[0].organizer.uri == "mailto:ctg@maillage.example"


def test_a_request_needs_an_organizer():
    with pytest.raises(ValueError):
        invitation_calendar(meeting(organizer_email=None), Attendee("a@b.example"))


def test_it_builds_a_cancel_message():
    data = serialize(
        cancellation_calendar(meeting(sequence=4), [Attendee("helene@caf.example", "Hélène")])
    )
    calendar = strict(data)
    assert calendar.method == "CANCEL"
    assert calendar.events[0].status.value == "CANCELLED"
    assert calendar.events[0].sequence == 4
    assert calendar.events[0].attendees[0].uri == "mailto:helene@caf.example"


def _client_reply(partstat: str, method: str = "REPLY") -> bytes:
    """What Thunderbird or Outlook sends back (built here with icalendar, not our code)."""
    calendar = Calendar()
    calendar.add("prodid", "-//Client//FR")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", "3f2a@maillage")
    event.add("dtstamp", dt.datetime(2026, 11, 30, tzinfo=dt.UTC))
    event.add("sequence", 2)
    attendee = vCalAddress("mailto:Helene@Caf.example")
    attendee.params["PARTSTAT"] = partstat
    event.add("attendee", attendee)
    calendar.add_component(event)
    return calendar.to_ical()


@pytest.mark.parametrize(
    ("partstat", "response"),
    [("ACCEPTED", "acceptee"), ("DECLINED", "declinee"), ("TENTATIVE", "incertaine")],
)
def test_it_reads_a_reply(partstat, response):
    reply = parse_reply(_client_reply(partstat))
    assert reply.uid == "3f2a@maillage"
    assert reply.attendee_email == "helene@caf.example"
    assert reply.partstat == partstat
    assert reply.response == response
    assert reply.sequence == 2


@pytest.mark.parametrize(
    "data", [b"not a calendar", _client_reply("ACCEPTED", method="REQUEST"), b""]
)
def test_it_refuses_what_is_not_a_reply(data):
    with pytest.raises(ReplyError) as error:
        parse_reply(data)
    assert "réponse" in str(error.value)


def test_dates_are_said_in_french():
    assert format_moment(paris(2026, 12, 8, 14, 0)) == "mardi 8 décembre 2026 à 14 h 00"
    assert format_moment(dt.datetime(2026, 12, 1, 8, 5, tzinfo=dt.UTC)) == (
        "mardi 1er décembre 2026 à 9 h 05"
    )
