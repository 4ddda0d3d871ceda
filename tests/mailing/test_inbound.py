"""Each message of the corpus (tests/mailing/samples) is understood as what it is (#19)."""

from __future__ import annotations

import pytest

from maillage.calendar.events import parse_reply
from maillage.mailing import inbound
from tests.mailing.mail_samples import NAMES, sample

FILLED = {
    "uid": "reunion-42@maillage.example",
    "sequence": 2,
    "attendee": "marc.durand@mairie.example",
    "organizer": "ctg@maillage.example",
    "recipient": "marc.durand@mairie.example",
    "message_id": "<invitation-42@maillage.example>",
}


@pytest.mark.parametrize(
    ("name", "partstat"),
    [
        ("reply-outlook", "ACCEPTED"),
        ("reply-gmail", "DECLINED"),
        ("reply-thunderbird", "TENTATIVE"),
    ],
)
def test_calendar_answers_are_read_from_each_client(name, partstat):
    incoming = inbound.parse(sample(name, **FILLED))
    assert incoming.kind == inbound.REPLY
    replies = {parse_reply(data) for data in incoming.calendars}
    assert {(r.uid, r.attendee_email, r.partstat, r.sequence) for r in replies} == {
        (FILLED["uid"], FILLED["attendee"], partstat, 2)
    }


@pytest.mark.parametrize(
    ("name", "status", "words"),
    [
        ("bounce-postfix", "5.1.1", "User unknown in virtual mailbox table"),
        ("bounce-exim", "5.1.1", "550 5.1.1 Unknown user"),
        ("bounce-exchange", "5.1.10", "RESOLVER.ADR.RecipientNotFound"),
        ("bounce-postfix-delayed", "4.4.1", "Connection timed out"),
    ],
)
def test_bounces_name_the_address_the_status_and_the_returned_message(name, status, words):
    incoming = inbound.parse(sample(name, **FILLED))
    assert incoming.kind == inbound.BOUNCE
    assert incoming.original_message_id == FILLED["message_id"]
    [failure] = incoming.failures
    assert (failure.recipient, failure.status) == (FILLED["recipient"], status)
    assert words in failure.diagnostic and "\n" not in failure.diagnostic
    assert failure.permanent == status.startswith("5")


@pytest.mark.parametrize("name", ["autoreply-outlook", "autoreply-vacation"])
def test_automatic_replies_are_recognised(name):
    assert inbound.parse(sample(name, **FILLED)).kind == inbound.AUTOMATIC


def test_an_ordinary_message_is_left_alone():
    assert inbound.parse(sample("other", **FILLED)).kind == inbound.OTHER


@pytest.mark.parametrize(
    ("name", "method", "partstat", "extra"),
    [
        ("reply-apple", "REPLY", "ACCEPTED", {}),
        ("counter-outlook", "COUNTER", "TENTATIVE", {}),
        ("delegated-outlook", "REPLY", "DELEGATED", {"delegate": "chloe.martin@caf.example"}),
        ("reply-gmail-forwarded", "REPLY", "ACCEPTED", {"person": "Chloé Martin"}),
    ],
)
def test_apple_counter_delegation_and_forwarded_answers_are_read(name, method, partstat, extra):
    incoming = inbound.parse(sample(name, **FILLED, **extra))
    assert incoming.kind == inbound.REPLY
    replies = {parse_reply(data, ("REPLY", "COUNTER")) for data in incoming.calendars}
    assert {(r.method, r.uid, r.attendee_email, r.partstat) for r in replies} == {
        (method, FILLED["uid"], FILLED["attendee"], partstat)
    }
    [reply] = replies
    if partstat == "DELEGATED":
        assert reply.delegated_to == "chloe.martin@caf.example"
    if method == "COUNTER":
        assert reply.proposed_start is not None and reply.proposed_start.hour == 13
    assert incoming.date is not None


def test_every_sample_is_covered():
    assert len(NAMES) == 14


def test_a_message_without_message_id_gets_a_digest_of_its_bytes():
    raw = b"From: a@b.example\r\nSubject: sans identifiant\r\n\r\nbonjour\r\n"
    key = inbound.parse(raw).key
    assert key.startswith("sha256:") and key == inbound.parse(raw).key


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff garbage",
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\n"
        b"Content-Type: message/delivery-status\r\n\r\nnot fields at all\r\n--x--\r\n",
    ],
)
def test_malformed_messages_are_not_understood_rather_than_crashing(raw):
    assert inbound.parse(raw).kind == inbound.OTHER


def test_a_calendar_part_that_is_not_icalendar_is_set_aside_not_left():
    raw = b"Content-Type: text/calendar; method=REPLY\r\n\r\nBEGIN:VCALENDAR\r\nnot ical\r\n"
    assert inbound.parse(raw).kind == inbound.UNREADABLE
