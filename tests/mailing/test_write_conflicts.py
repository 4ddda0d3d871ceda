"""Invitations written, and messages queued, that PostgreSQL cancels because they crossed
another write (a deadlock, 40P01) wrote nothing: each is one write transaction, run again
once the other has committed (`db.retried_on_conflict`, #20). Before: 503 « réessayez »."""

from __future__ import annotations

from maillage.actor import CLI
from maillage.mailing import invitations
from maillage.tables import Invitation
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
