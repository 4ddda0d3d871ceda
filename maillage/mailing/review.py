"""Calendar messages the mailbox reader shows on the meeting page rather than deciding (#19).

- « a_rattacher »: an answer from an address that is no invitee's (a forwarded invitation
  answered by a colleague) or a delegation (Outlook's « déléguer », PARTSTAT=DELEGATED) to a
  person it cannot name. It is attached by itself only when the address is that of exactly one
  known contact sharing an organisation with an invitee (or with the delegator); otherwise the
  coordinator attaches it in one click to an invitation or a contact (« Rattacher à … »), or
  ignores it. Attaching records the answer with the source « message_a_examiner ».
- « contre_proposition »: a COUNTER, a proposed new time; shown with the proposer and the time,
  never applied: moving the meeting stays the coordinator's decision.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from maillage.actor import Actor
from maillage.crm import audit
from maillage.crm.registry import SERVICES
from maillage.crm.resources import is_reference_gone, versioned
from maillage.db import is_sqlite, write_transaction
from maillage.errors import InvalidData, NotFound
from maillage.tables import Affiliation, Contact, InboundItem, Invitation
from maillage.vocabulary import PENDING

TO_ATTACH = "a_rattacher"
COUNTER = "contre_proposition"
OPEN = "ouvert"
ATTACHED = "rattache"
IGNORED = "ignore"
REVIEW_SOURCE = "message_a_examiner"


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite gives naive UTC
        return moment.replace(tzinfo=dt.UTC)
    return moment


async def contacts_with_address(address: str) -> list[int]:
    """The contacts whose address is exactly ``address`` (case aside)."""
    pattern = address.replace("%", "")
    match = Contact.email.like(pattern) if is_sqlite() else Contact.email.ilike(pattern)
    active = Contact.archived == False  # noqa: E712 - SQL expression
    rows = await Contact.select(Contact.id, Contact.email).where(match & active)
    return [row["id"] for row in rows if (row["email"] or "").strip().lower() == address]


async def organisations_of(contact_ids: list[int]) -> dict[int, set[int]]:
    if not contact_ids:
        return {}
    found: dict[int, set[int]] = {}
    for row in await Affiliation.select(Affiliation.contact, Affiliation.organisation).where(
        Affiliation.contact.is_in(contact_ids) & Affiliation.end_date.is_null()
    ):
        found.setdefault(row["contact"], set()).add(row["organisation"])
    return found


async def colleague(address: str, alongside: list[int]) -> int | None:
    """The one known contact with ``address`` who shares an organisation with one of the
    contacts ``alongside`` (the invitees, or the delegator); None when there is no such
    contact or more than one: never a guess."""
    if not address:
        return None
    candidates = await contacts_with_address(address)
    if len(candidates) != 1:
        return None
    affiliations = await organisations_of([*candidates, *alongside])
    theirs = affiliations.get(candidates[0], set())
    if theirs and any(theirs & affiliations.get(other, set()) for other in alongside):
        return candidates[0]
    return None


async def add(
    meeting_id: int,
    kind: str,
    *,
    sender: str,
    sender_name: str = "",
    response: str = PENDING,
    reason: str = "",
    comment: str = "",
    on_behalf_of: str = "",
    message_key: str = "",
    message_date: dt.datetime | None = None,
    proposed_start: dt.datetime | None = None,
    proposed_end: dt.datetime | None = None,
    invitation: int | None = None,
) -> int:
    rows = (
        await InboundItem.insert(
            InboundItem(
                meeting=meeting_id,
                kind=kind,
                sender=sender[:254],
                sender_name=sender_name[:200],
                response=response,
                reason=reason[:2000],
                comment=comment[:2000],
                on_behalf_of=on_behalf_of[:254],
                message_key=message_key[:255],
                message_date=message_date,
                proposed_start=proposed_start,
                proposed_end=proposed_end,
                invitation=invitation,
            )
        )
        .returning(InboundItem.id)
        .run()
    )
    item_id: int = rows[0]["id"]
    return item_id


async def of_meeting(meeting_id: int, everything: bool = False) -> list[dict[str, Any]]:
    """The meeting's open items (every item with ``everything``), oldest message first, each
    with the invitee it names when there is one."""
    invitee: Any = InboundItem.invitation.contact
    query = InboundItem.select(
        *InboundItem.all_columns(),
        invitee.first_name.as_alias("first_name"),
        invitee.last_name.as_alias("last_name"),
        invitee.id.as_alias("contact"),
    ).where(InboundItem.meeting == meeting_id)
    if not everything:
        query = query.where(InboundItem.status == OPEN)
    rows = await query.order_by(InboundItem.id)
    invitees = await Invitation.select(
        Invitation.id,
        Invitation.contact.first_name.as_alias("first_name"),
        Invitation.contact.last_name.as_alias("last_name"),
        Invitation.contact.email.as_alias("email"),
    ).where(Invitation.meeting == meeting_id)
    for row in rows:
        row["suggestions"] = _suggestions(row, invitees)
        for key in ("message_date", "proposed_start", "proposed_end", "created_at", "resolved_at"):
            row[key] = _utc(row[key])
        row["invitee"] = (
            f"{row['first_name']} {row['last_name']}".strip() if row["contact"] else None
        )
    return rows


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().lower()


def _suggestions(item: dict[str, Any], invitees: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The invitations a one-click « Rattacher à … » is offered for: the delegator's, or the
    invitees at the sender's mail domain (a colleague answering a forwarded invitation)."""
    if item["kind"] != TO_ATTACH:
        return []
    wanted = {_domain(item["sender"])} - {""}
    behalf = (item["on_behalf_of"] or "").lower()
    found = [
        {"invitation": row["id"], "name": f"{row['first_name']} {row['last_name']}".strip()}
        for row in invitees
        if (row["email"] or "").strip().lower() == behalf
        or (_domain(row["email"] or "") in wanted and item["response"] != PENDING)
    ]
    return found[:3]


async def _open_item(item_id: int, meeting_id: int | None = None) -> dict[str, Any]:
    row = await InboundItem.select().where(InboundItem.id == item_id).first()
    if row is None or (meeting_id is not None and row["meeting"] != meeting_id):
        raise NotFound("Message à examiner", item_id)
    if row["status"] != OPEN:
        raise InvalidData.one("item", "Ce message a déjà été traité.")
    return row


async def attach(
    actor: Actor,
    item_id: int,
    *,
    invitation_id: int | None = None,
    contact_id: int | None = None,
    meeting_id: int | None = None,
) -> dict[str, Any]:
    """Attach the answer to one of the meeting's invitations, or to a contact (invited then).
    The answer is recorded with the source « message_a_examiner »; a delegation only invites."""
    from maillage.mailing import invitations  # the invitation service imports this module's users

    item = await _open_item(item_id, meeting_id)
    if item["kind"] != TO_ATTACH:
        raise InvalidData.one("item", "Une contre-proposition ne se rattache pas : ignorez-la.")
    if (invitation_id is None) == (contact_id is None):
        raise InvalidData.one("invitation", "Choisissez une invitation ou un contact.")
    try:
        return await _attached(actor, item, invitation_id, contact_id)
    except Exception as error:
        if contact_id is not None and is_reference_gone(error):
            # Inside this transaction, the invitation service could not read again.
            await invitations.refuse_unknown([contact_id])
        raise


async def _attached(
    actor: Actor, item: dict[str, Any], invitation_id: int | None, contact_id: int | None
) -> dict[str, Any]:
    """The answer of ``item`` on the invitation, or on the contact's, invited then."""
    from maillage.mailing import invitations  # the invitation service imports this module's users

    meeting = item["meeting"]
    moment = dt.datetime.now(dt.UTC)
    async with write_transaction():
        if contact_id is not None:
            made = await invitations.invite(
                actor, meeting, invitations.InviteRequest((contact_id,))
            )
            row = (
                await Invitation.select(Invitation.id)
                .where((Invitation.meeting == meeting) & (Invitation.contact == contact_id))
                .first()
            )
            if row is None:  # archived: refused by the invitation service
                reason = made["problems"][0]["reason"] if made["problems"] else "non invité"
                raise InvalidData.one("contact", f"Ce contact ne peut pas être invité : {reason}.")
            invitation_id = row["id"]
        invitation = (
            await Invitation.select(Invitation.id, Invitation.response, Invitation.meeting)
            .where(Invitation.id == invitation_id)
            .first()
        )
        if invitation is None or invitation["meeting"] != meeting:
            raise InvalidData.one("invitation", "Cette invitation n'est pas de cette réunion.")
        if item["response"] != PENDING:
            await (
                Invitation.update(
                    {
                        Invitation.response: item["response"],
                        Invitation.answered_at: item["message_date"] or moment,
                        Invitation.response_source: REVIEW_SOURCE,
                        **versioned(Invitation, moment),
                    }
                )
                .where(Invitation.id == invitation_id)
                .run()
            )
            await audit.record(
                actor,
                "answer",
                "invitation",
                invitation_id,
                {
                    "response": [invitation["response"], item["response"]],
                    "source": f"message à examiner de {item['sender']}",
                },
            )
        await _close(actor, item, ATTACHED, moment, invitation_id)
    return {"item": item["id"], "invitation": invitation_id, "response": item["response"]}


async def ignore(actor: Actor, item_id: int, meeting_id: int | None = None) -> None:
    item = await _open_item(item_id, meeting_id)
    async with write_transaction():
        await _close(actor, item, IGNORED, dt.datetime.now(dt.UTC), item["invitation"])


async def _close(
    actor: Actor, item: dict[str, Any], status: str, moment: dt.datetime, invitation: int | None
) -> None:
    await (
        InboundItem.update(
            {
                InboundItem.status: status,
                InboundItem.resolved_at: moment,
                InboundItem.resolved_by: actor.name[:254],
                InboundItem.invitation: invitation,
            }
        )
        .where(InboundItem.id == item["id"])
        .run()
    )
    await audit.record(
        actor, status, "meeting", item["meeting"], {"message": [item["sender"], status]}
    )


async def checked_meeting(meeting_id: int, write: bool = False) -> dict[str, Any]:
    """The meeting as the request's scope sees it (404 out of it, #20); with ``write``, 403
    unless the user may change it."""
    service = SERVICES["meetings"]
    meeting = await service.get(meeting_id)
    if write:
        await service._check_writable(meeting)
    return meeting
