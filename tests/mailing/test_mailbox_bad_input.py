"""Bad input in the organiser's mailbox (#19), against a real Dovecot: a 30 MB message,
malformed MIME, a calendar part that is not iCalendar. Each is set aside with a French reason
(in the log and on /envois) or left in the inbox; the loop goes on and nothing is lost."""

from __future__ import annotations

import logging

from maillage.tables import InboundMessage
from tests.mailing.mail_samples import sample
from tests.mailing.test_mailbox import (
    ORGANIZER,
    deliver,
    folder_count,
    invite,
    reader,
    responses,
)
from tests.web.helpers import html_text

HUGE = (
    b"From: Marc Durand <marc.durand@mairie.example>\r\n"
    b"To: ctg@maillage.example\r\n"
    b"Subject: Photos du forum\r\n"
    b"Message-ID: <photos@mairie.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + (b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n" * 420_000)
    + b"--b--\r\n"
)
NOT_ICALENDAR = (
    b"From: Accueil <accueil@mairie.example>\r\n"
    b"To: ctg@maillage.example\r\n"
    b"Subject: Re: Invitation\r\n"
    b"Message-ID: <pas-ical@mairie.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n'
    b"--x\r\nContent-Type: text/plain\r\n\r\nVoir la piece jointe.\r\n"
    b"--x\r\nContent-Type: text/calendar; method=REPLY\r\n\r\n"
    b"Ceci n'est pas un agenda : BEGIN sans fin\r\n"
    b"--x--\r\n"
)
BROKEN_MIME = (
    b"From: =?utf-8?q?=E9t=E9?= <\r\n"
    b"Subject: =?bogus?x?zz?=\r\n"
    b"Message-ID: <casse@mairie.example>\r\n"
    b'Content-Type: multipart/mixed; boundary="jamais"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\n"
    b"--autre\r\n\x00\xff\xfe pas de fin\r\n"
)


async def test_bad_messages_are_set_aside_or_left_and_the_good_one_still_counts(
    body, imap_server, coordinator, caplog
):
    await invite(body, "marc")
    good = sample(
        "reply-outlook",
        uid=body.meeting["ical_uid"],
        attendee=body.people["marc"]["email"],
        organizer=ORGANIZER,
    )
    await deliver(imap_server, HUGE, NOT_ICALENDAR, BROKEN_MIME, good)

    with caplog.at_level(logging.INFO, logger="maillage.boite"):
        report = await reader(imap_server).fetch()

    assert report.unreachable is None and not report.errors
    assert report.outcomes == {"a_examiner": 2, "reponse": 1} and report.left == 1
    assert (await responses(body))["marc.durand@mairie.example"] == ("acceptee", "agenda")
    reasons = {row["message_key"]: row["reason"] for row in await InboundMessage.select()}
    assert reasons["<photos@mairie.example>"].startswith("Message trop volumineux (")
    assert "Mo) : non lu, à examiner." in reasons["<photos@mairie.example>"]
    assert reasons["<pas-ical@mairie.example>"].startswith(
        "Partie agenda (text/calendar) illisible : ce n'est pas un fichier iCalendar valable"
    )
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "Partie agenda (text/calendar) illisible" in logged
    assert "Message trop volumineux" in logged
    # Nothing lost: two set aside, one treated, the malformed one still in the inbox.
    assert await folder_count(imap_server, "maillage/à examiner") == 2
    assert await folder_count(imap_server, "maillage/traités") == 1
    assert await folder_count(imap_server, "INBOX") == 1

    page = html_text(await coordinator.client.get("/envois"))
    assert "Boîte de réception : messages mis de côté" in page
    assert "Partie agenda (text/calendar) illisible" in page
    assert "Message trop volumineux" in page
