"""Answers the mailbox reader does not attach by itself, and proposed new times (#19), from the
corpus samples appended to a real Dovecot: Apple Calendar's REPLY, Outlook's COUNTER and
« Déléguer », a Gmail answer to a forwarded invitation."""

from __future__ import annotations

import datetime as dt

import pytest

from maillage.actor import CLI
from maillage.errors import InvalidData
from maillage.mailing import review
from maillage.tables import InboundItem, InboundMessage, Invitation, Meeting
from tests.mailing.test_mailbox import (
    ORGANIZER,
    deliver,
    folder_count,
    invite,
    reader,
    responses,
)


async def test_apple_calendar_answer_is_recorded(body, imap_server):
    await invite(body, "marc")
    await deliver(
        imap_server,
        sample_for(body, "reply-apple", body.people["marc"]["email"]),
    )
    report = await reader(imap_server).fetch()
    assert report.outcomes == {"reponse": 1}, report
    assert (await responses(body))["marc.durand@mairie.example"] == ("acceptee", "agenda")


def sample_for(body, name: str, attendee: str, **values: object) -> bytes:  # type: ignore[no-untyped-def]
    from tests.mailing.mail_samples import sample

    return sample(
        name, uid=body.meeting["ical_uid"], attendee=attendee, organizer=ORGANIZER, **values
    )


async def test_an_outlook_counter_is_kept_never_applied(body, imap_server):
    await invite(body, "marc")
    await deliver(imap_server, sample_for(body, "counter-outlook", body.people["marc"]["email"]))
    report = await reader(imap_server).fetch()
    assert report.outcomes == {"contre_proposition": 1}, report
    [item] = await review.of_meeting(body.meeting["id"])
    assert item["kind"] == "contre_proposition"
    assert item["sender"] == "marc.durand@mairie.example" and item["invitee"] == "Marc Durand"
    # 14:00 Romance Standard Time on 8 January 2027 is 13:00 UTC.
    assert item["proposed_start"] == dt.datetime(2027, 1, 8, 13, 0, tzinfo=dt.UTC)
    assert item["proposed_end"] == dt.datetime(2027, 1, 8, 15, 0, tzinfo=dt.UTC)
    assert "après-midi" in item["comment"]
    meeting = await Meeting.select().where(Meeting.id == body.meeting["id"]).first()
    assert meeting["starts_at"] == body.meeting["starts_at"]  # not moved
    assert (await responses(body))["marc.durand@mairie.example"] == ("en_attente", None)
    assert await folder_count(imap_server, "maillage/traités") == 1
    with pytest.raises(InvalidData):
        await review.attach(CLI, item["id"], invitation_id=1)
    await review.ignore(CLI, item["id"])
    assert await review.of_meeting(body.meeting["id"]) == []


async def test_a_delegation_to_a_known_colleague_invites_them(body, imap_server):
    await invite(body, "helene")
    await deliver(
        imap_server,
        sample_for(
            body,
            "delegated-outlook",
            body.people["helene"]["email"],
            delegate=body.people["colleague"]["email"],
        ),
    )
    report = await reader(imap_server).fetch()
    assert report.outcomes == {"reponse": 1}, report
    assert await responses(body) == {
        "helene.lefevre@caf.example": ("declinee", "agenda"),
        "chloe.martin@caf.example": ("en_attente", None),
    }
    assert await review.of_meeting(body.meeting["id"]) == []


async def test_a_delegation_to_an_unknown_address_waits_for_the_coordinator(body, imap_server):
    await invite(body, "helene")
    await deliver(
        imap_server,
        sample_for(
            body,
            "delegated-outlook",
            body.people["helene"]["email"],
            delegate="remplacant@caf.example",
        ),
    )
    report = await reader(imap_server).fetch()
    assert report.outcomes == {"a_examiner": 1}, report
    [item] = await review.of_meeting(body.meeting["id"])
    assert item["kind"] == "a_rattacher" and item["sender"] == "remplacant@caf.example"
    assert item["on_behalf_of"] == "helene.lefevre@caf.example"
    assert await folder_count(imap_server, "maillage/à examiner") == 1
    # One click: the colleague is invited.
    done = await review.attach(CLI, item["id"], contact_id=body.people["colleague"]["id"])
    assert done["response"] == "en_attente"
    assert (await responses(body))["chloe.martin@caf.example"] == ("en_attente", None)


async def test_a_forwarded_invitation_answered_by_a_known_colleague(body, imap_server):
    await invite(body, "helene")
    await deliver(
        imap_server,
        sample_for(
            body,
            "reply-gmail-forwarded",
            body.people["colleague"]["email"],
            person="Chloé Martin",
        ),
    )
    report = await reader(imap_server).fetch()
    assert report.outcomes == {"reponse": 1}, report
    assert (await responses(body))["chloe.martin@caf.example"] == ("acceptee", "agenda")
    assert (await responses(body))["helene.lefevre@caf.example"] == ("en_attente", None)


async def test_a_forwarded_answer_from_an_unknown_address_is_attached_in_one_click(
    body, imap_server
):
    await invite(body, "helene", "marc")
    await deliver(
        imap_server,
        sample_for(body, "reply-gmail-forwarded", "h.lefevre.perso@gmail.example", person="H L"),
        # Marc's colleague at the mairie is no contact: never attached by guess.
        sample_for(body, "reply-gmail-forwarded", "accueil@mairie.example", person="Accueil"),
    )
    report = await reader(imap_server).fetch()
    assert report.outcomes == {"a_examiner": 2}, report
    assert await responses(body) == {
        "helene.lefevre@caf.example": ("en_attente", None),
        "marc.durand@mairie.example": ("en_attente", None),
    }
    first, second = await review.of_meeting(body.meeting["id"])
    assert first["sender"] == "h.lefevre.perso@gmail.example" and first["response"] == "acceptee"
    assert first["message_date"] == dt.datetime(2026, 12, 7, 11, 3, 27, tzinfo=dt.UTC)
    helene = (
        await Invitation.select(Invitation.id)
        .where(Invitation.contact == body.people["helene"]["id"])
        .first()
    )
    await review.attach(CLI, first["id"], invitation_id=helene["id"])
    assert (await responses(body))["helene.lefevre@caf.example"] == (
        "acceptee",
        "message_a_examiner",
    )
    await review.ignore(CLI, second["id"])
    assert await review.of_meeting(body.meeting["id"]) == []
    statuses = {row["sender"]: row["status"] for row in await InboundItem.select()}
    assert statuses == {
        "h.lefevre.perso@gmail.example": "rattache",
        "accueil@mairie.example": "ignore",
    }
    with pytest.raises(InvalidData):  # already done
        await review.ignore(CLI, first["id"])
    assert await InboundMessage.count() == 2


async def test_an_out_of_office_reply_notes_the_return_date_on_the_invitation(body, imap_server):
    await invite(body, "marc")
    await deliver(
        imap_server,
        sample_for(body, "autoreply-outlook", body.people["marc"]["email"], message_id="<i@m>"),
    )
    report = await reader(imap_server).fetch()
    assert report.outcomes == {"reponse_auto": 1}, report
    row = (
        await Invitation.select(Invitation.absent_until, Invitation.response)
        .where(Invitation.contact == body.people["marc"]["id"])
        .first()
    )
    # « Je suis absent jusqu'au 4 janvier », sent on 7 December 2026.
    assert row == {"absent_until": dt.date(2027, 1, 4), "response": "en_attente"}
    message = await InboundMessage.select().first()
    assert "absent jusqu'au 4 janvier 2027" in message["reason"]


async def test_erasing_a_person_erases_the_messages_to_review_they_sent(body, tmp_path):
    from maillage.exchange import rgpd
    from maillage.mailing import replies
    from tests.mailing.mail_samples import sample

    await invite(body, "marc")
    raw = sample(
        "counter-outlook",
        uid=body.meeting["ical_uid"],
        attendee=body.people["marc"]["email"],
        organizer=ORGANIZER,
    )
    await replies.ingest(CLI, raw)
    await rgpd.anonymise(CLI, body.people["marc"]["id"], tmp_path)
    [item] = await InboundItem.select(
        InboundItem.sender, InboundItem.sender_name, InboundItem.comment
    )
    assert item == {"sender": "", "sender_name": "", "comment": ""}
