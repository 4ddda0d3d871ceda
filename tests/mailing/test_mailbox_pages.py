"""What the mailbox reader recorded shows on the pages and in the API (#19)."""

from __future__ import annotations

import datetime as dt

from maillage.actor import CLI
from maillage.mailing import invitations, replies
from maillage.tables import Contact
from tests.mailing.mail_samples import sample

REASON = "550 5.1.1 <marc.durand@mairie.example>: Recipient address rejected: User unknown"


async def test_the_contact_shows_its_undeliverable_address_on_the_page_and_in_the_api(
    coordinator, body
):
    marc = body.people["marc"]["id"]
    await Contact.update(
        {
            Contact.email_bounced_at: dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC),
            Contact.email_bounce_reason: REASON,
        }
    ).where(Contact.id == marc)

    page = await coordinator.client.get(f"/contacts/{marc}")
    assert page.status_code == 200
    assert "Adresse en échec depuis le 7 décembre 2026 : 550 5.1.1 &lt;marc.durand" in page.text

    api = await coordinator.client.get(f"/api/v1/contacts/{marc}")
    assert api.json()["email_bounce_reason"] == REASON
    assert api.json()["email_bounced_at"].startswith("2026-12-07T09:30:00")
    other = await coordinator.client.get(f"/api/v1/contacts/{body.people['helene']['id']}")
    assert other.json()["email_bounced_at"] is None


async def test_the_meeting_page_says_an_answer_came_from_the_calendar(coordinator, body):
    await invitations.invite(
        CLI, body.meeting["id"], invitations.InviteRequest((body.people["marc"]["id"],))
    )
    raw = sample(
        "reply-thunderbird",
        uid=body.meeting["ical_uid"],
        attendee=body.people["marc"]["email"],
        organizer="ctg@maillage.example",
    )
    assert (await replies.ingest(CLI, raw))["recorded"] == 1
    page = await coordinator.client.get(f"/reunions/{body.meeting['id']}")
    assert page.status_code == 200
    assert "par son agenda, " in page.text
