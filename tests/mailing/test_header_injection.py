"""No header maillage writes can carry an encoded line break (CVE-2024-6923 on Python 3.11.7).

An RFC 2047 encoded word holding ``=0A`` was decoded by the ``email`` package and written back
as a raw line break: a subject, a name or a merge field added ``Reply-To:`` to the message.
Every case is read back the way a mail server reads it: the header set is exactly the one built.
"""

from __future__ import annotations

import dataclasses
import email
from email import policy
from email.message import EmailMessage

import pytest

from maillage.actor import CLI
from maillage.mailing import invitations, messages, outbox, readback
from maillage.mailing.addresses import mailbox, sender_mailbox
from maillage.mailing.messages import Attachment, Envelope, Invitee
from maillage.mailing.outbox import serialise
from maillage.tables import Contact, Meeting, OutboxMessage, WorkingGroup
from tests.mailing.test_messages import ENVELOPE, MEETING
from tests.support import outbox_rows

EVIL = "=?utf-8?q?a=0AReply-To:_x@evil.example?="
EVIL_SUBJECT = "=?utf-8?q?Info=0AReply-To:_attacker@evil.example=0AX-Injected:_yes?="
MAILING_HEADERS = [
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "x-auto-response-suppress",
    "content-type",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "precedence",
]


def _headers(raw: bytes) -> list[str]:
    names = readback.top_header_names(raw)
    assert names is not None, raw[:400]
    return names


def _read(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def test_an_encoded_subject_stays_one_header():
    message = messages.mailing(
        EVIL_SUBJECT, "Bonjour", mailbox("helene@caf.example"), ENVELOPE, "https://m/u/1.x"
    )
    raw = serialise(message).encode()
    assert _headers(raw) == MAILING_HEADERS
    assert str(_read(raw)["Subject"]) == EVIL_SUBJECT  # shown as typed, never decoded


@pytest.mark.parametrize("side", ["sender", "recipient"])
def test_an_encoded_display_name_stays_one_header(side):
    recipient = mailbox("helene@caf.example", EVIL if side == "recipient" else "Hélène")
    sender = dataclasses.replace(sender_mailbox("ctg@val.example"), name=EVIL)
    envelope = Envelope(sender) if side == "sender" else ENVELOPE
    mailing = serialise(messages.mailing("Objet", "Texte", recipient, envelope, "https://m/u/1"))
    invitation = messages.MeetingMessages(MEETING, "invitation", envelope).build(
        Invitee(recipient, answer_url="https://m/r/1.x")
    )
    assert _headers(mailing.encode()) == MAILING_HEADERS
    assert _headers(invitation.raw) == [h.lower() for h in messages.PREBUILT_HEADERS]
    field = "From" if side == "sender" else "To"
    assert _read(invitation.raw)[field].addresses[0].display_name == EVIL


@pytest.mark.parametrize("kind", ["invitation", "modification", "annulation", "rappel"])
def test_an_encoded_meeting_title_or_body_name_stays_in_the_subject(kind):
    meeting = dataclasses.replace(MEETING, title=EVIL, group_name=EVIL_SUBJECT)
    built = messages.MeetingMessages(meeting, kind, ENVELOPE, days=1).build(
        Invitee(mailbox("helene@caf.example", EVIL))
    )
    assert _headers(built.raw) == [h.lower() for h in messages.PREBUILT_HEADERS]
    assert EVIL in str(_read(built.raw)["Subject"])


def test_minutes_with_encoded_titles_and_file_names_stay_what_was_built():
    meeting = dataclasses.replace(MEETING, title=EVIL, minutes=EVIL)
    message = messages.minutes(
        meeting,
        mailbox("helene@caf.example", EVIL),
        ENVELOPE,
        [Attachment(EVIL, b"%PDF-1.4", "application/pdf"), Attachment("é" + EVIL, b"x")],
    )
    raw = serialise(message).encode()
    readback.check_message(message, raw, "helene@caf.example")
    parsed = _read(raw)
    assert parsed["Reply-To"] is None
    names = [part.get_filename() for part in parsed.iter_attachments()]
    assert all("\n" not in name and "Reply-To: x" not in name for name in names)


def test_the_outbox_refuses_a_message_whose_headers_read_back_differently():
    """What Python 3.11.7's own folder does to a plain ``EmailMessage``: refused, not queued."""
    naive = EmailMessage()
    naive["Subject"] = EVIL_SUBJECT
    naive["To"] = "helene@caf.example"
    naive.set_content("Bonjour")
    with pytest.raises(readback.UnsafeHeaders) as refused:
        outbox._stored(outbox.Outgoing(naive, "helene@caf.example", "envoi_groupe"))
    assert "reply-to" in refused.value.errors[0].message


def test_a_prebuilt_message_with_an_extra_line_is_refused():
    built = messages.MeetingMessages(MEETING, "invitation", ENVELOPE).build(
        Invitee(mailbox("helene@caf.example"))
    )
    forged = built.raw.replace(b"\r\nDate:", b"\r\nBcc: x@evil.example\r\nDate:", 1)
    bare_lf = built.raw.replace(b"\r\nDate:", b"\nDate:", 1)
    for raw in (forged, bare_lf):
        with pytest.raises(readback.UnsafeHeaders):
            readback.check_prebuilt(raw, "helene@caf.example", messages.PREBUILT_HEADERS)


async def test_a_mailing_subject_holding_an_encoded_word_is_refused(coordinator, body):
    response = await coordinator.client.post(
        "/api/v1/mailings", json={"subject": EVIL_SUBJECT, "body": "Bonjour"}
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "subject"
    assert error["message"].startswith("Objet refusé : la suite « =? »")
    assert await OutboxMessage.count() == 0


async def test_a_first_name_holding_an_encoded_word_injects_nothing(coordinator, body):
    await Contact.update({Contact.first_name: EVIL}).where(
        Contact.id == body.people["helene"]["id"]
    )
    response = await coordinator.client.post(
        "/api/v1/mailings",
        json={"subject": "Bonjour {{ prenom }}", "body": "Bonjour {{ prenom }},\n\nÀ bientôt."},
    )
    assert response.status_code == 201, response.text
    rows = await outbox_rows("envoi_groupe")
    helene = next(row for row in rows if row["recipient"].startswith("helene"))
    raw = helene["raw_message"].encode()
    assert _headers(raw) == MAILING_HEADERS
    assert str(_read(raw)["Subject"]) == f"Bonjour {EVIL}"


async def test_minutes_of_a_body_with_an_encoded_name_inject_nothing(settings, body):
    await WorkingGroup.update({WorkingGroup.name: EVIL_SUBJECT}).where(
        WorkingGroup.id == body.group["id"]
    )
    await Meeting.update({Meeting.title: EVIL, Meeting.minutes: EVIL}).where(
        Meeting.id == body.meeting["id"]
    )
    await invitations.invite(CLI, body.meeting["id"], invitations.InviteRequest(group_members=True))
    files = [Attachment(EVIL, b"%PDF-1.4", "application/pdf")]
    await invitations.queue_minutes(CLI, settings, body.meeting["id"], "invites", files)
    rows = await outbox_rows("compte_rendu")
    assert rows
    for row in rows:
        parsed = _read(row["raw_message"].encode())
        assert parsed["Reply-To"] is None and parsed["X-Injected"] is None
        assert EVIL in str(parsed["Subject"])
