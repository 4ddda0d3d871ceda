"""The mailbox reader against a real Dovecot (#19): answers, bounces and automatic replies
appended as a client would deliver them are recorded once and moved, never deleted."""

from __future__ import annotations

import datetime as dt
import email
from email import policy

import pytest
from icalendar import Calendar

from maillage.actor import CLI
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import MeetingIn
from maillage.mailing import invitations, mailings
from maillage.mailing.imap import open_session, parse_imap_url
from maillage.mailing.mailbox import MailboxReader
from maillage.tables import AuditEvent, Contact, InboundMessage, Invitation, OutboxMessage
from tests.mailing.conftest import file_sender, settle, smtp_sender
from tests.mailing.imap_server import ImapServer
from tests.mailing.mail_samples import sample

ORGANIZER = "ctg@maillage.example"


async def deliver(server: ImapServer, *messages: bytes) -> None:
    session = await open_session(parse_imap_url(server.url()))
    try:
        for raw in messages:
            await session.append(raw)
    finally:
        await session.close()


async def deliver_outlook_acceptance(body, imap_server: ImapServer, who: str = "marc") -> None:  # type: ignore[no-untyped-def]
    """``who`` accepts the body's meeting from Outlook: the answer lands in the mailbox."""
    await deliver(
        imap_server,
        sample(
            "reply-outlook",
            uid=body.meeting["ical_uid"],
            attendee=body.people[who]["email"],
            organizer=ORGANIZER,
        ),
    )


async def folder_count(server: ImapServer, folder: str) -> int:
    session = await open_session(parse_imap_url(server.url(folder)))
    try:
        return len(await session.sizes())
    finally:
        await session.close()


def reader(server: ImapServer) -> MailboxReader:
    return MailboxReader(parse_imap_url(server.url()))


async def invite(body, *keys: str) -> None:  # type: ignore[no-untyped-def]
    ids = tuple(body.people[key]["id"] for key in keys)
    await invitations.invite(CLI, body.meeting["id"], invitations.InviteRequest(ids))


async def responses(body) -> dict[str, tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    rows = await Invitation.select(
        Invitation.contact.email.as_alias("email"),
        Invitation.response,
        Invitation.response_source,
    ).where(Invitation.meeting == body.meeting["id"])
    return {row["email"]: (row["response"], row["response_source"]) for row in rows}


async def test_answers_from_outlook_gmail_and_thunderbird_are_recorded(body, imap_server):
    await invite(body, "marc", "helene", "sub")
    people = body.people
    uid = body.meeting["ical_uid"]
    await deliver(
        imap_server,
        sample("reply-outlook", uid=uid, attendee=people["marc"]["email"], organizer=ORGANIZER),
        sample("reply-gmail", uid=uid, attendee=people["helene"]["email"], organizer=ORGANIZER),
        sample("reply-thunderbird", uid=uid, attendee=people["sub"]["email"], organizer=ORGANIZER),
        sample("other", attendee=people["marc"]["email"], organizer=ORGANIZER),
        sample(
            "autoreply-vacation", attendee="x@y.example", organizer=ORGANIZER, message_id="<a@b>"
        ),
    )

    report = await reader(imap_server).fetch()

    assert report.unreachable is None and not report.errors
    assert report.outcomes == {"reponse": 3, "reponse_auto": 1} and report.left == 1
    assert await responses(body) == {
        "marc.durand@mairie.example": ("acceptee", "agenda"),
        "helene.lefevre@caf.example": ("declinee", "agenda"),
        "samir.benali@caf.example": ("incertaine", "agenda"),
    }
    # Gmail and Thunderbird carry the answer twice (inline and invite.ics): recorded once.
    answers = await AuditEvent.count().where(
        (AuditEvent.entity == "invitation") & (AuditEvent.action == "answer")
    )
    assert answers == 3
    assert await folder_count(imap_server, "maillage/traités") == 4
    assert await folder_count(imap_server, "INBOX") == 1  # the ordinary message, untouched


async def test_an_answer_for_an_unknown_meeting_goes_to_review(body, imap_server):
    await deliver(
        imap_server,
        sample(
            "reply-outlook", uid="inconnu@ailleurs", attendee="x@y.example", organizer=ORGANIZER
        ),
    )
    report = await reader(imap_server).fetch()
    assert report.outcomes == {"a_examiner": 1}
    row = await InboundMessage.select().first()
    assert row["reason"] == "Réunion inconnue (UID introuvable)."
    assert await folder_count(imap_server, "maillage/à examiner") == 1


async def test_a_hard_bounce_marks_the_address_and_later_sendings_skip_it(
    body, imap_server, tmp_path, settings
):
    await invite(body, "marc")
    await invitations.queue(CLI, settings, body.meeting["id"])
    await settle(file_sender(tmp_path))
    sent = await OutboxMessage.select().where(OutboxMessage.contact == body.people["marc"]["id"])
    address = body.people["marc"]["email"]
    await deliver(
        imap_server,
        sample(
            "bounce-postfix",
            organizer=ORGANIZER,
            recipient=address,
            message_id=sent[0]["message_id"],
        ),
        sample(
            "bounce-postfix-delayed", organizer=ORGANIZER, recipient=address, message_id="<x@y>"
        ),
    )

    report = await reader(imap_server).fetch()

    assert report.outcomes == {"echec_definitif": 1, "echec_temporaire": 1}
    contact = await SERVICES["contacts"].get(body.people["marc"]["id"])
    assert contact["email_bounced_at"] is not None
    assert "User unknown in virtual mailbox table" in contact["email_bounce_reason"]
    outbox_row = await OutboxMessage.select().where(OutboxMessage.id == sent[0]["id"]).first()
    assert outbox_row["status"] == "echec"
    assert outbox_row["last_error"].startswith("Retour du serveur destinataire : 550 5.1.1")

    # The next meeting: Marc is invited, but his invitation is not sent, and the reports say why.
    start = body.meeting["starts_at"] + dt.timedelta(days=7)
    later = await SERVICES["meetings"].create(
        CLI,
        MeetingIn(
            working_group=body.group["id"],
            title="Suite du bilan",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=1),
        ),
    )
    invited = await invitations.invite(
        CLI, later["id"], invitations.InviteRequest((body.people["marc"]["id"],))
    )
    assert invited["problems"][0]["reason"].startswith("adresse en échec depuis le ")
    queued = await invitations.queue(CLI, settings, later["id"])
    [problem] = queued["problems"]
    assert problem["name"] == "Marc Durand" and queued["queued"] == 0
    assert problem["reason"].startswith("adresse en échec depuis le ")
    assert "User unknown" in problem["reason"]
    people = await mailings.audience(mailings.Filters())
    assert "Marc Durand" in [p["name"] for p in people["invalid"]]

    # A new address clears the failure.
    await SERVICES["contacts"].update(
        CLI,
        contact["id"],
        SERVICES["contacts"].spec.update(
            version=contact["version"], email="marc.durand@ardoise.example"
        ),
    )
    changed = await SERVICES["contacts"].get(contact["id"])
    assert changed["email_bounced_at"] is None and changed["email_bounce_reason"] is None


async def test_exim_and_exchange_bounces_mark_the_contact(body, imap_server):
    await deliver(
        imap_server,
        sample(
            "bounce-exim",
            organizer=ORGANIZER,
            recipient=body.people["marc"]["email"],
            message_id="<1@m>",
        ),
        sample(
            "bounce-exchange",
            organizer=ORGANIZER,
            recipient=body.people["helene"]["email"].upper(),
            message_id="<2@m>",
        ),
    )
    report = await reader(imap_server).fetch()
    assert report.outcomes == {"echec_definitif": 2}
    rows = await Contact.select(Contact.first_name, Contact.email_bounce_reason).where(
        Contact.email_bounced_at.is_not_null()
    )
    reasons = {row["first_name"]: row["email_bounce_reason"] for row in rows}
    assert "550 5.1.1 Unknown user" in reasons["Marc"]
    assert "RESOLVER.ADR.RecipientNotFound" in reasons["Hélène"]


@pytest.mark.slow
async def test_processing_twice_records_once_even_after_a_crash_before_moving(
    body, imap_server, monkeypatch
):
    await invite(body, "marc")
    await deliver_outlook_acceptance(body, imap_server)
    from maillage.mailing.imap import ImapSession

    real_move = ImapSession.move

    async def crash(self, uid, path):  # type: ignore[no-untyped-def]
        raise RuntimeError("arrêt brutal entre l'enregistrement et le rangement")

    monkeypatch.setattr(ImapSession, "move", crash)
    first = await reader(imap_server).fetch()
    assert first.outcomes == {"reponse": 1} and first.errors
    assert await folder_count(imap_server, "INBOX") == 1

    monkeypatch.setattr(ImapSession, "move", real_move)
    second = await reader(imap_server).fetch()  # a new process: nothing in memory
    assert second.outcomes == {} and second.moved_again == 1
    third = await reader(imap_server).fetch()
    assert third.outcomes == {} and third.moved_again == 0

    assert await InboundMessage.count() == 1
    answers = await AuditEvent.count().where(
        (AuditEvent.entity == "invitation") & (AuditEvent.action == "answer")
    )
    assert answers == 1
    row = await InboundMessage.select().first()
    assert row["moved_at"] is not None and row["folder"] == "maillage/traités"
    assert await folder_count(imap_server, "maillage/traités") == 1


async def test_an_invitation_sent_over_smtp_is_answered_from_outlook_end_to_end(
    body, imap_server, smtp_server, settings
):
    """aiosmtpd receives the iMIP REQUEST; the REPLY is built from it as Outlook builds it,
    delivered into Dovecot, fetched: the answer is on the invitation, the mail in « traités »."""
    await invite(body, "marc")
    await invitations.queue(CLI, settings, body.meeting["id"])
    await settle(smtp_sender(smtp_server))
    [received] = smtp_server.handler.received
    message = email.message_from_bytes(received.content, policy=policy.default)
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    event = Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
    attendee = str(event["ATTENDEE"]).removeprefix("mailto:")
    organizer = str(event["ORGANIZER"]).removeprefix("mailto:")
    await deliver(
        imap_server,
        sample(
            "reply-outlook",
            uid=str(event["UID"]),
            sequence=int(event.get("SEQUENCE", 0)),
            attendee=attendee,
            organizer=organizer,
        ),
    )

    report = await reader(imap_server).fetch()

    assert report.outcomes == {"reponse": 1}
    row = await Invitation.select().where(Invitation.contact == body.people["marc"]["id"]).first()
    assert row["response"] == "acceptee" and row["response_source"] == "agenda"
    assert row["answered_at"] > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    assert await folder_count(imap_server, "maillage/traités") == 1
    assert await folder_count(imap_server, "INBOX") == 0


async def test_an_unreachable_mailbox_is_reported_in_french():
    from tests.mailing.conftest import free_port

    config = parse_imap_url(f"imap://ctg:x@127.0.0.1:{free_port()}/INBOX?timeout=2")
    report = await MailboxReader(config).fetch()
    assert report.unreachable is not None
    assert report.unreachable.startswith("Serveur IMAP 127.0.0.1:")
