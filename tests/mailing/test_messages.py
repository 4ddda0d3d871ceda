"""The pure builders: iMIP structure, French wording, headers that cannot be injected."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import email
from email import policy
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ical.calendar_stream import IcsCalendarStream

from maillage.mailing import messages
from maillage.mailing.addresses import InvalidAddress, mailbox, sender_mailbox
from maillage.mailing.messages import Envelope, Invitee, MeetingInfo
from maillage.mailing.outbox import serialise

PARIS = ZoneInfo("Europe/Paris")
MEETING = MeetingInfo(
    id=7,
    uid="copil-7@maillage",
    sequence=0,
    title="Bilan 2026",
    starts_at=dt.datetime(2026, 12, 8, 14, 0, tzinfo=PARIS),
    ends_at=dt.datetime(2026, 12, 8, 16, 0, tzinfo=PARIS),
    group_name="COPIL",
    group_kind="copil",
    location="Salle du conseil",
    video_url="https://visio.example/copil",
    agenda="1. Bilan\n2. <Perspectives> & suites",
)
ENVELOPE = Envelope(sender_mailbox("CTG du Val <ctg@val.example>"))


def _whole_text_qp(text: str) -> bytes:
    """The reference: the whole text quoted-printable encoded at once, CRLF line breaks."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
    return binascii.b2a_qp(lines.encode("utf-8"), istext=True)


def invitee(name: str = "Hélène Lefèvre", address: str = "helene@caf.example") -> Invitee:
    return Invitee(mailbox(address, name), role="titulaire", answer_url="https://m.example/r/1.x")


def reparse(message) -> email.message.EmailMessage:  # type: ignore[no-untyped-def]
    return email.message_from_bytes(serialise(message).encode(), policy=policy.default)


def calendar_parts(message) -> list:  # type: ignore[no-untyped-def, type-arg]
    return [
        part
        for part in message.walk()
        if part.get_content_type() in ("text/calendar", "application/ics")
    ]


def test_it_builds_the_imip_structure():
    message = reparse(messages.invitation(MEETING, invitee(), ENVELOPE))
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in alternative.iter_parts()]
    assert kinds == ["text/plain", "text/html", "text/calendar"]
    calendar = list(alternative.iter_parts())[2]
    assert calendar.get_param("method") == "REQUEST"
    assert calendar.get_content_charset() == "utf-8"
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_filename() == "invitation.ics"


def test_the_method_is_the_same_in_content_type_and_file():
    message = reparse(messages.invitation(MEETING, invitee(), ENVELOPE))
    for part in calendar_parts(message):
        text = part.get_payload(decode=True).decode()
        parsed = IcsCalendarStream.calendar_from_ics(text)
        assert parsed.method == "REQUEST"
    cancel = reparse(messages.cancellation(MEETING, invitee(), ENVELOPE))
    part = calendar_parts(cancel)[0]
    assert part.get_param("method") == "CANCEL"
    parsed = IcsCalendarStream.calendar_from_ics(part.get_payload(decode=True).decode())
    assert parsed.method == "CANCEL"
    assert str(getattr(parsed.events[0].status, "value", parsed.events[0].status)) == "CANCELLED"


def test_the_calendar_names_organizer_and_only_this_attendee():
    message = reparse(messages.invitation(MEETING, invitee(), ENVELOPE))
    text = calendar_parts(message)[0].get_payload(decode=True).decode()
    event = IcsCalendarStream.calendar_from_ics(text).events[0]
    assert event.uid == "copil-7@maillage"
    assert event.sequence == 0
    assert event.organizer.uri.lower() == "mailto:ctg@val.example"
    assert len(event.attendees) == 1
    attendee = event.attendees[0]
    assert attendee.uri.lower() == "mailto:helene@caf.example"
    assert attendee.common_name == "Hélène Lefèvre"
    assert str(getattr(attendee.role, "value", attendee.role)) == "REQ-PARTICIPANT"
    assert str(getattr(attendee.status, "value", attendee.status)) == "NEEDS-ACTION"
    assert attendee.rsvp is True
    assert event.dtstart == dt.datetime(2026, 12, 8, 14, 0, tzinfo=PARIS)


def test_the_body_speaks_french_with_three_answer_links():
    message = reparse(messages.invitation(MEETING, invitee(), ENVELOPE))
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "mardi 8 décembre 2026 de 14 h 00 à 16 h 00" in text
    assert "Salle du conseil" in text and "https://visio.example/copil" in text
    assert "1. Bilan" in text
    for label, key in [
        ("Je participe", "oui"),
        ("Je ne participe pas", "non"),
        ("Peut-être", "peut-etre"),
    ]:
        assert f"{label} : https://m.example/r/1.x?reponse={key}" in text
        assert f"https://m.example/r/1.x?reponse={key}" in html
    # The HTML is auto-escaped: the agenda cannot inject markup.
    assert "&lt;Perspectives&gt; &amp; suites" in html
    assert "<Perspectives>" not in html
    assert (
        str(message["Subject"])
        == "Invitation : COPIL CTG — Bilan 2026, mardi 8 décembre 2026 à 14 h 00"
    )


def test_an_update_says_modification_with_the_new_sequence():
    moved = MeetingInfo(**{**MEETING.__dict__, "sequence": 2})
    message = reparse(messages.invitation(moved, invitee(), ENVELOPE, update=True))
    assert str(message["Subject"]).startswith("Modification : ")
    text = calendar_parts(message)[0].get_payload(decode=True).decode()
    assert IcsCalendarStream.calendar_from_ics(text).events[0].sequence == 2


def test_it_encodes_non_ascii_names_rfc2047():
    raw = serialise(messages.invitation(MEETING, invitee(), ENVELOPE))
    header = raw.split("\r\n\r\n", 1)[0]
    assert "Hélène" not in header  # 7-bit on the wire
    assert "=?utf-8?" in header
    message = email.message_from_bytes(raw.encode(), policy=policy.default)
    assert message["To"].addresses[0].display_name == "Hélène Lefèvre"
    assert message["From"].addresses[0].display_name == "CTG du Val"


@pytest.mark.parametrize(
    "evil", ["Hélène\r\nBcc: victim@evil.example", "Hélène\nBcc: victim@evil.example", "A\rB"]
)
def test_line_breaks_in_names_never_add_a_header(evil):
    raw = serialise(messages.invitation(MEETING, invitee(name=evil), ENVELOPE))
    message = email.message_from_bytes(raw.encode(), policy=policy.default)
    assert message["Bcc"] is None
    assert len(message["To"].addresses) == 1
    assert message["To"].addresses[0].addr_spec == "helene@caf.example"


def test_line_breaks_in_titles_never_add_a_header():
    evil = MeetingInfo(**{**MEETING.__dict__, "title": "Bilan\r\nBcc: victim@evil.example"})
    message = reparse(messages.invitation(evil, invitee(), ENVELOPE))
    assert message["Bcc"] is None
    assert "victim@evil.example" in str(message["Subject"])


@pytest.mark.parametrize(
    "address",
    ["", None, "pas-une-adresse", "a@b@c.fr", "x@y.fr\r\nBcc: z@evil.example", "hélène@caf.fr"],
)
def test_it_refuses_invalid_addresses(address):
    with pytest.raises(InvalidAddress):
        mailbox(address, "Quelqu'un")


def test_each_message_has_its_own_message_id():
    first = messages.invitation(MEETING, invitee(), ENVELOPE)
    second = messages.invitation(MEETING, invitee(), ENVELOPE)
    assert first["Message-ID"] != second["Message-ID"]
    assert str(first["Message-ID"]).endswith("@val.example>")


def test_a_mailing_carries_one_click_unsubscribe():
    message = reparse(
        messages.mailing(
            "Journée des partenaires",
            "Bonjour Hélène,\n\nVenez nombreux.",
            mailbox("helene@caf.example", "Hélène Lefèvre"),
            ENVELOPE,
            "https://m.example/u/3.abc",
        )
    )
    assert message["List-Unsubscribe"] == "<https://m.example/u/3.abc>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "<envois.val.example>"
    assert "https://m.example/u/3.abc" in message.get_body(("plain",)).get_content()
    assert not calendar_parts(message)


def test_minutes_carry_their_attachments():
    with_minutes = MeetingInfo(**{**MEETING.__dict__, "minutes": "Décisions : on continue."})
    message = reparse(
        messages.minutes(
            with_minutes,
            mailbox("helene@caf.example", "Hélène Lefèvre"),
            ENVELOPE,
            [messages.Attachment("compte-rendu.pdf", b"%PDF-1.4 ...", "application/pdf")],
        )
    )
    assert (
        str(message["Subject"]) == "Compte rendu : COPIL CTG — Bilan 2026 du mardi 8 décembre 2026"
    )
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["compte-rendu.pdf"]
    assert attachments[0].get_content() == b"%PDF-1.4 ..."


# ----- one meeting, many recipients: the fast path gives what the slow one gave ---------------

NAMES = [
    "Hélène Lefèvre",
    "",
    'Dupont, "Jean" <jd>',
    "Zoé \\ Ä^ ; : , « élue »",
    "Marie-Thérèse de La Roche-Guyon-Saint-Étienne-du-Mont Épouse Vandenbroucke",
    "Ölçü " * 30,
    "=?utf-8?q?Faux?= nom",
    "A" * 90,
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["invitation", "modification", "annulation", "rappel"])
def test_a_prebuilt_message_is_what_the_email_package_reads_and_writes_back(name, kind):
    builder = messages.MeetingMessages(MEETING, kind, ENVELOPE, days=1)
    built = builder.build(invitee(name=name))
    assert built.raw.isascii()
    assert b"\n" not in built.raw.replace(b"\r\n", b"")  # CRLF only
    assert all(len(line) <= 998 for line in built.raw.split(b"\r\n"))
    assert serialise(built.email()).encode() == built.raw
    message = email.message_from_bytes(built.raw, policy=policy.default)
    assert not message.defects
    assert str(message["Message-ID"]) == built.message_id
    assert str(message["Subject"]) == built.subject
    assert message["To"].addresses[0].addr_spec == "helene@caf.example"
    header = built.raw.split(b"\r\nSubject:")[0].split(b"\r\nTo:")[1]
    assert all(len(line) <= 78 for line in header.split(b"\r\n"))
    name = invitee(name=name).mailbox.name
    if len(name) <= 40:
        assert message["To"].addresses[0].display_name == name
    else:
        # Several encoded words: RFC 2047 joins them without a space (the ``email`` package's
        # address parser puts one in, real mail clients do not).
        decoded = str(make_header(decode_header(header.decode())))
        assert decoded == f"{name} <helene@caf.example>"


def _shapes_of(name: str) -> tuple[Invitee, ...]:
    """One invitee per shape of body: a titulaire with links, a link to escape, no links."""
    return (
        invitee(name=name),
        Invitee(mailbox("a@b.example", name), answer_url="https://m.example/r/2.y&z=<3>"),
        Invitee(mailbox("a@b.example", name), role="membre", answer_url=None),
    )


@pytest.mark.parametrize("name", NAMES)
def test_bodies_encoded_per_recipient_equal_a_full_render_encoded(name):
    builder = messages.MeetingMessages(MEETING, "invitation", ENVELOPE)
    for person in _shapes_of(name):
        context = {
            "meeting": MEETING,
            "summary": MEETING.summary,
            "name": person.mailbox.name,
            "organizer": ENVELOPE.organizer,
            "update": False,
            "links": person.links(),
            "answers": messages.ANSWERS,
            "can_delegate": person.can_delegate,
        }
        expected = tuple(
            messages.TEMPLATES.get_template(f"invitation.{ext}").render(context)
            for ext in ("txt", "html")
        )
        # Quoted-printable is reversible: equal encodings are equal texts.
        assert builder.bodies.encode(person) == tuple(map(_whole_text_qp, expected))


@pytest.mark.parametrize("name", NAMES)
def test_the_calendar_filled_per_attendee_equals_the_whole_serialisation(name):
    from maillage.calendar.events import (
        cancellation_calendar,
        cancellation_template,
        invitation_calendar,
        invitation_template,
        serialize,
    )

    event = MEETING.event(ENVELOPE.organizer)
    stamp = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)
    attendee = invitee(name=name).attendee()
    assert invitation_template(event, stamp).fill(attendee) == serialize(
        invitation_calendar(event, attendee, stamp)
    )
    assert cancellation_template(event, stamp).fill(attendee) == serialize(
        cancellation_calendar(event, [attendee], stamp)
    )


def test_folding_matches_icalendar():
    import random

    from icalendar.parser.string import _foldline

    from maillage.calendar.events import fold

    pick = random.Random(5)
    for _ in range(2000):
        line = "".join(pick.choice('ab\\^;:,"é€😀 ') for _ in range(pick.randint(0, 250)))
        assert fold(line) == _foldline(line).encode()


def test_each_prebuilt_message_is_unique_and_names_only_its_recipient():
    builder = messages.MeetingMessages(MEETING, "invitation", ENVELOPE)
    first = builder.build(invitee("Hélène Lefèvre", "helene@caf.example"))
    second = builder.build(invitee("Paul Martin", "paul@mairie.example"))
    assert first.message_id != second.message_id
    assert b"paul@mairie.example" not in first.raw and b"helene@caf.example" not in second.raw


@given(st.binary(max_size=400))
def test_base64_lines_are_those_of_the_email_package(content):
    encoded = messages._base64_lines(content)
    assert encoded == base64.encodebytes(content).replace(b"\n", b"\r\n")


@given(st.text(alphabet=" \t=.aé€\r\nZ", max_size=300))
def test_quoted_printable_line_by_line_equals_the_whole_text(text):
    # A body always holds a line break (without one, ``b2a_qp`` would end soft breaks in LF).
    text += "\n"
    lines = messages._crlf_lines(text)
    encoded = b"".join(
        messages._encoded_line(line, last=index == len(lines) - 1)
        for index, line in enumerate(lines)
    )
    assert encoded == _whole_text_qp(text)


@given(st.integers(min_value=60, max_value=90), st.sampled_from([" ", "\t", "=", "é", "a"]))
def test_quoted_printable_line_by_line_around_the_76_character_limit(length, last):
    text = "x" * length + last + "\nsuite " + "y" * length + last
    # (ends without a line break: the end of the data leaves less room than a line break)
    lines = messages._crlf_lines(text)
    encoded = b"".join(
        messages._encoded_line(line, last=index == len(lines) - 1)
        for index, line in enumerate(lines)
    )
    assert encoded == _whole_text_qp(text)


_SUBJECT_WORDS = st.lists(
    st.text(alphabet="abcdeéèàôœ—«»😀,:-'2026", min_size=1, max_size=14),
    min_size=1,
    max_size=30,
).map(" ".join)


def _header_lines(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


@given(_SUBJECT_WORDS)
def test_a_mailing_subject_arrives_word_for_word(subject):
    """The ``email`` package's own folder drops the space between two encoded words it splits
    a line between (« ordre du jourdétaillé »)."""
    message = messages.mailing(
        subject, "Bonjour", mailbox("helene@caf.example"), ENVELOPE, "https://m.example/u/3.abc"
    )
    raw = serialise(message).encode()
    assert str(email.message_from_bytes(raw, policy=policy.default)["Subject"]) == subject
    assert all(len(line) <= (76 if b"=?" in line else 78) for line in _header_lines(raw))


@given(_SUBJECT_WORDS)
def test_an_invitation_subject_arrives_word_for_word(title):
    meeting = dataclasses.replace(MEETING, title=title)
    built = messages.MeetingMessages(meeting, "invitation", ENVELOPE)
    raw = built.build(invitee()).raw
    assert str(email.message_from_bytes(raw, policy=policy.default)["Subject"]) == built.subject
    assert title in built.subject
    assert all(len(line) <= (76 if b"=?" in line else 78) for line in _header_lines(raw))


def test_the_demo_subject_that_lost_a_space():
    subject = "COTECH CTG — décembre 2026 : ordre du jour détaillé, vendredi 11 décembre 2026"
    message = messages.mailing(
        subject, "Bonjour", mailbox("helene@caf.example"), ENVELOPE, "https://m.example/u/3.abc"
    )
    assert str(reparse(message)["Subject"]) == subject


def _unfolded(raw: bytes, field: str) -> str:
    lines = raw.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")
    start = next(n for n, line in enumerate(lines) if line.startswith(f"{field}:"))
    end = next(n for n in range(start + 1, len(lines) + 1) if not lines[n].startswith(" "))
    return "".join(lines[start:end])[len(field) + 1 :].strip()


def _display_name(raw: bytes, field: str) -> str:
    """The display name of a one-mailbox header, decoded as RFC 2047 says: adjacent encoded
    words joined without a space (the ``email`` package's address parser puts one in)."""
    value = _unfolded(raw, field)
    display = value.rpartition(" <")[0]
    if "=?" in display:
        return str(make_header(decode_header(display)))
    return email.utils.parseaddr(value)[0]


@given(st.text(alphabet="abcdeéàœ—«»😀,:;\"'\\<>()@. -", min_size=1, max_size=120))
def test_names_in_from_and_to_arrive_intact(name):
    recipient = mailbox("helene@caf.example", name)
    organizer = dataclasses.replace(sender_mailbox("ctg@val.example"), name=recipient.name)
    envelope = Envelope(organizer)
    sent = serialise(
        messages.mailing("Objet", "Bonjour", recipient, envelope, "https://m.example/u/3.abc")
    ).encode()
    built = messages.MeetingMessages(MEETING, "invitation", envelope)
    invitation = built.build(Invitee(recipient, role="membre", answer_url=None)).raw
    for raw in (sent, invitation):
        assert _display_name(raw, "From") == envelope.organizer.name
        assert _display_name(raw, "To") == recipient.name
        assert all(len(line) <= 78 for line in _header_lines(raw))
        assert all(len(line) <= 76 for line in _header_lines(raw) if b"=?" in line)


def _without_boundary(part: email.message.EmailMessage) -> list[tuple[str, str]]:
    return [
        (name, value if name != "Content-Type" else value.split(";")[0])
        for name, value in part.items()
        if name not in ("Message-ID", "Date")
    ]


MAILING_TEXTS = [
    "Bonjour Hélène,\n\nVenez nombreux.",
    "Ligne <b>grasse</b> & « guillemets »\r\nfin\n\n\n" + "é" * 200,
    "Ordre du jour. " * 40 + "\n  espaces en fin  \n\tTab\n.\nFrom le début\n",
    "=?utf-8?q?pas=20un=20mot?= et =3D\n" + "x" * 80,
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("text", MAILING_TEXTS)
@pytest.mark.parametrize(
    "link", ["https://m.example/u/3.abc", "https://m.example/" + "chemin-très-long/" * 6 + "u/3"]
)
def test_a_prebuilt_mailing_reads_as_the_email_package_builds_it(name, text, link):
    """The bytes ``MailingMessages`` writes (#16) read back as ``mailing``'s message: the same
    headers in the same order, the same parts and texts; only the Message-ID, the boundary and
    where quoted-printable breaks a long line may differ."""
    subject = f"Journée des partenaires — {name}"[:300]
    recipient = mailbox("helene@caf.example", name)
    built = messages.MailingMessages(ENVELOPE).build(subject, text, recipient, link)
    assert built.raw.isascii()
    assert b"\n" not in built.raw.replace(b"\r\n", b"")  # CRLF only
    assert all(len(line) <= 998 for line in built.raw.split(b"\r\n"))
    read = email.message_from_bytes(built.raw, policy=policy.default)
    reference = reparse(messages.mailing(subject, text, recipient, ENVELOPE, link))
    assert not read.defects
    assert str(read["Message-ID"]) == built.message_id
    assert str(read["Subject"]) == built.subject == str(reference["Subject"])
    assert read["Date"] == reference["Date"]
    assert [n for n, _ in read.items()] == list(messages.MAILING_HEADERS)
    assert _without_boundary(read) == _without_boundary(reference)
    ours, theirs = list(read.walk())[1:], list(reference.walk())[1:]
    assert [p.get_content_type() for p in ours] == ["text/plain", "text/html"]
    for mine, expected in zip(ours, theirs, strict=True):
        assert mine.items() == expected.items()
        assert mine.get_content() == expected.get_content()
        # Quoted-printable as the meeting messages' fast path writes it (``binascii``'s soft
        # line breaks, which may differ from the ``email`` package's by a character).
        assert mine.get_payload().encode() == _whole_text_qp(expected.get_content())
