"""Invitations written and messages queued (a meeting's, a mass mailing's) that PostgreSQL
cancels because they crossed another write (a deadlock, 40P01) wrote nothing: each is one
write transaction, or a send's staging batch or release, run again once the other has
committed (`db.retried_on_conflict`, #20). Before: 503 « réessayez »."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from maillage.actor import CLI
from maillage.mailing import invitations, outbox
from maillage.tables import Invitation, OutboxMessage
from tests.crm.test_write_conflicts import crossed, postgres_only


@postgres_only
async def test_invitations_cancelled_by_a_deadlock_are_run_again(database: str, body):
    """Two people invited in one statement: its foreign key takes each person in turn.
    Another transaction holds the second, then asks for the first, which the invitations
    hold by then."""
    first, second = body.people["helene"]["id"], body.people["marc"]["id"]
    report = await crossed(
        database,
        f"SELECT id FROM contact WHERE id = {second}",
        f"SELECT id FROM contact WHERE id = {first}",
        lambda: invitations.invite(
            CLI, body.meeting["id"], invitations.InviteRequest((first, second))
        ),
    )
    assert isinstance(report, dict), report
    assert len(report["created"]) == 2
    invited = await Invitation.select(Invitation.contact).where(
        Invitation.meeting == body.meeting["id"]
    )
    assert sorted(row["contact"] for row in invited) == sorted([first, second])


def _news(address: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "coordination@maillage.example"
    message["To"] = address
    message["Subject"] = "Nouvelles du réseau"
    message["Message-ID"] = make_msgid(domain="maillage.example")
    message.set_content("Bonjour,\n")
    return message


@postgres_only
async def test_a_send_staged_across_a_deadlock_is_run_again(database: str, body):
    """A mass mailing's messages, staged in one batch: the outbox's foreign key takes each
    person in turn. Another transaction holds the second, then asks for the first. The batch
    is written again, and the send queues every message once."""
    people = [body.people["helene"], body.people["marc"]]
    items = [
        outbox.Outgoing(_news(p["email"]), p["email"], "envoi_groupe", p["id"]) for p in people
    ]
    recorded: list[list[int]] = []

    async def record(ids: list[int]) -> None:
        recorded.append(ids)

    ids = await crossed(
        database,
        f"SELECT id FROM contact WHERE id = {people[1]['id']}",
        f"SELECT id FROM contact WHERE id = {people[0]['id']}",
        lambda: outbox.enqueue_in_batches(items, record),
    )
    assert isinstance(ids, list) and len(ids) == 2, ids
    assert recorded == [ids]
    queued = await OutboxMessage.select(OutboxMessage.contact, OutboxMessage.status).where(
        OutboxMessage.kind == "envoi_groupe"
    )
    assert sorted((r["contact"], r["status"]) for r in queued) == sorted(
        (p["id"], "en_attente") for p in people
    )
