"""Invitations: who is invited to a meeting, and which messages each invitee is due.

``invite`` records invitations (named contacts, or a whole body's current members);
``queue`` writes to the outbox what each invitee has not received yet: the invitation
(METHOD:REQUEST), an update when the meeting's SEQUENCE rose since (« Modification : »), or the
cancellation (METHOD:CANCEL). ``Invitation.sent_sequence`` remembers the SEQUENCE last queued, so
calling ``queue`` twice never queues a message twice.

Messages are built outside the write transactions (building is CPU work; SQLite holds one writer
at a time), then written a hundred at a time, each transaction re-checking ``sent_sequence``: two
coordinators pressing « Envoyer » together queue each message once, and the sender takes the
first hundred while the next are built.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from maillage import french
from maillage.actor import Actor
from maillage.crm import audit, decisions, reach
from maillage.crm.registry import scoped
from maillage.crm.resources import is_reference_gone
from maillage.db import (
    driver_fetch,
    placeholders,
    read_transaction,
    retried_on_conflict,
    write_transaction,
)
from maillage.errors import FieldError, InvalidData, NotFound
from maillage.mailing import messages, notices, outbox, tokens
from maillage.mailing.addresses import (
    InvalidAddress,
    Mailbox,
    check_not_bounced,
    mailbox,
    sender_mailbox,
)
from maillage.mailing.messages import Envelope, Invitee, MeetingInfo
from maillage.settings import Settings
from maillage.tables import AuditEvent, Contact, Invitation, Meeting, Membership
from maillage.vocabulary import CANCELLED, DRAFT, EXCUSED, HELD, PENDING, PRESENT, SUBSTITUTE


def person_name(row: dict[str, Any], prefix: str = "") -> str:
    return f"{row[prefix + 'first_name']} {row[prefix + 'last_name']}".strip()


def unreachable(row: dict[str, Any], error: InvalidAddress) -> dict[str, Any]:
    """An invitee whose address cannot be written to, as the reports list them."""
    return {
        "invitation": row["id"],
        "contact": row["contact"],
        "name": person_name(row),
        "reason": str(error),
    }


async def load_meeting(meeting_id: int) -> MeetingInfo:
    """The meeting, if the request's user sees it (#20: another territory's is not found)."""
    row = (
        await scoped(
            Meeting.select(
                *Meeting.all_columns(),
                Meeting.working_group.name.as_alias("group_name"),
                Meeting.working_group.kind.as_alias("group_kind"),
                Meeting.working_group.territory.as_alias("group_territory"),
            ),
            "meetings",
        )
        .where(Meeting.id == meeting_id)
        .first()
    )
    if row is None:
        raise NotFound("Réunion", meeting_id)
    reach.check_writable(row["group_territory"])  # invitations are a coordinator's work
    return MeetingInfo.of_row(row)


async def group_of(meeting_id: int) -> int:
    row = await (
        scoped(Meeting.select(Meeting.working_group), "meetings")
        .where(Meeting.id == meeting_id)
        .first()
    )
    if row is None:
        raise NotFound("Réunion", meeting_id)
    group: int = row["working_group"]
    return group


async def current_roles(group_id: int, contact_ids: list[int] | None = None) -> dict[int, str]:
    """Contact → role in the body today (the first role wins for a person holding two)."""
    today = dt.date.today()
    query = Membership.select(Membership.contact, Membership.role, Membership.end_date).where(
        Membership.working_group == group_id
    )
    if contact_ids is not None:
        query = query.where(Membership.contact.is_in(contact_ids or [0]))
    roles: dict[int, str] = {}
    for row in await query.order_by(Membership.id).run():
        if row["end_date"] is None or row["end_date"] >= today:
            roles.setdefault(row["contact"], row["role"])
    return roles


# ----- inviting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InviteRequest:
    contacts: tuple[int, ...] = ()
    group_members: bool = False
    include_substitutes: bool = False


async def invite(actor: Actor, meeting_id: int, request: InviteRequest) -> dict[str, Any]:
    meeting = await load_meeting(meeting_id)
    if meeting.status in (CANCELLED, HELD):
        raise InvalidData.one(
            "meeting",
            "Cette réunion est annulée ou déjà tenue : on ne peut plus y inviter personne.",
        )
    group_id = await group_of(meeting_id)
    wanted = list(dict.fromkeys(request.contacts))
    if request.group_members:
        roles = await current_roles(group_id)
        wanted += [
            contact
            for contact, role in roles.items()
            if contact not in wanted and (role != SUBSTITUTE or request.include_substitutes)
        ]
    if not wanted:
        raise InvalidData.one(
            "contacts",
            "Personne à inviter : nommez des contacts ou invitez les membres de l'instance.",
        )
    contacts = {
        row["id"]: row
        for row in await Contact.select(
            Contact.id,
            Contact.first_name,
            Contact.last_name,
            Contact.email,
            Contact.archived,
            Contact.email_bounced_at,
            Contact.email_bounce_reason,
        ).where(Contact.id.is_in(wanted))
    }
    _refuse_missing(wanted, set(contacts))
    try:
        # One write transaction, run again whole when PostgreSQL cancels it for crossing
        # another write (a deadlock on the people's keys): it wrote nothing (#20).
        return await retried_on_conflict(
            lambda: _write_invitations(actor, meeting_id, wanted, contacts)
        )
    except Exception as error:
        if is_reference_gone(error):
            await refuse_unknown(wanted)
        raise


async def refuse_unknown(wanted: list[int]) -> None:
    """« Contact introuvable : n° 12 » for the people of ``wanted`` who do not exist, read
    again once an invitation failed on its foreign key: a person merged into another
    meanwhile (#20), whose invitation waited for the merge. Named as one unknown from the
    start."""
    found = await Contact.select(Contact.id).where(Contact.id.is_in(wanted))
    _refuse_missing(wanted, {row["id"] for row in found})


def _refuse_missing(wanted: list[int], found: set[int]) -> None:
    missing = [contact_id for contact_id in wanted if contact_id not in found]
    if missing:
        raise InvalidData.one(
            "contacts",
            ("Contacts introuvables : " if len(missing) > 1 else "Contact introuvable : ")
            + ", ".join(f"n° {i}" for i in missing),
        )


async def _write_invitations(
    actor: Actor, meeting_id: int, wanted: list[int], contacts: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """The invitations of ``wanted`` not invited yet, in one transaction: the report."""
    report: dict[str, Any] = {"created": [], "already_invited": [], "problems": []}
    async with write_transaction():
        existing = {
            row["contact"]
            for row in await Invitation.select(Invitation.contact).where(
                (Invitation.meeting == meeting_id) & Invitation.contact.is_in(wanted)
            )
        }
        rows = []
        for contact_id in wanted:
            contact = contacts[contact_id]
            entry = {"contact": contact_id, "name": person_name(contact)}
            if contact["archived"]:
                report["problems"].append({**entry, "reason": "contact archivé : non invité"})
            elif contact_id in existing:
                report["already_invited"].append(entry)
            else:
                rows.append(
                    Invitation(
                        meeting=meeting_id,
                        contact=contact_id,
                        token_nonce=secrets.token_urlsafe(16),
                    )
                )
                if not contact["email"]:
                    report["problems"].append(
                        {
                            **entry,
                            "reason": "pas d'adresse électronique : invitation à transmettre autrement",
                        }
                    )
                else:
                    try:
                        check_not_bounced(contact)
                    except InvalidAddress as error:
                        reason = f"{error} ; invitation à transmettre autrement"
                        report["problems"].append({**entry, "reason": reason})
        created = await _insert_invitations(actor, rows)
        report["created"] = [
            {
                "invitation": invitation_id,
                "contact": contact_id,
                "name": person_name(contacts[contact_id]),
            }
            for invitation_id, contact_id in created
        ]
    return report


async def _insert_invitations(actor: Actor, rows: list[Invitation]) -> list[tuple[int, int]]:
    if not rows:
        return []
    inserted = await Invitation.insert(*rows).returning(Invitation.id, Invitation.contact).run()
    await AuditEvent.insert(
        *(
            AuditEvent(
                user=actor.user_id,
                actor=actor.name,
                action="create",
                entity="invitation",
                entity_id=row["id"],
                changes=audit.redact({"contact": row["contact"], "response": PENDING}),
            )
            for row in inserted
        )
    ).run()
    return [(row["id"], row["contact"]) for row in inserted]


# ----- queuing --------------------------------------------------------------------------------

INVITATION_COLUMNS = (
    Invitation.id,
    Invitation.token_nonce,
    Invitation.sent_sequence,
    Invitation.response,
    Invitation.contact,
    Invitation.contact.first_name.as_alias("first_name"),
    Invitation.contact.last_name.as_alias("last_name"),
    Invitation.contact.email.as_alias("email"),
    Invitation.contact.email_bounced_at.as_alias("email_bounced_at"),
    Invitation.contact.email_bounce_reason.as_alias("email_bounce_reason"),
)


def answer_url(settings: Settings, invitation_id: int, nonce: str) -> str:
    return f"{settings.base_url}/r/{tokens.answer_token(settings.secret_key, invitation_id, nonce)}"


def build_invitee(settings: Settings, row: dict[str, Any], role: str) -> Invitee:
    """``InvalidAddress`` for an address missing, malformed or refused for good by its server."""
    check_not_bounced(row)
    return Invitee(
        mailbox=mailbox(row["email"], person_name(row)),
        role=role,
        answer_url=answer_url(settings, row["id"], row["token_nonce"]),
        can_delegate=role == "titulaire",
    )


def due_kind(meeting: MeetingInfo, sent_sequence: int | None) -> str | None:
    """What this invitee is owed for the meeting as it stands."""
    if meeting.status == CANCELLED:
        return (
            "annulation" if sent_sequence is not None and sent_sequence < meeting.sequence else None
        )
    if sent_sequence is None:
        return "invitation"
    if sent_sequence < meeting.sequence:
        return "modification"
    return None


def _check_sendable(meeting: MeetingInfo) -> None:
    if meeting.status == DRAFT:
        raise InvalidData.one(
            "status",
            "La réunion est en brouillon : passez-la « planifiée » avant d'envoyer les invitations.",
        )
    if meeting.status != CANCELLED and meeting.ends_at <= dt.datetime.now(dt.UTC):
        raise InvalidData.one("ends_at", "La réunion est passée : les invitations ne partent plus.")


QUEUE_CHUNK = 100
"""Messages written per transaction: the sender running in the process sends the first ones
while the next are being built, so a network of 1,000 sees its first invitation at once."""


def _changes_matter(meeting: MeetingInfo) -> bool:
    """An update reaches invitees of a meeting still to come; a cancellation too, while the
    meeting has not ended (a calendar needs no news of a meeting already past)."""
    return meeting.status != "brouillon" and meeting.ends_at > dt.datetime.now(dt.UTC)


async def queue_changes(actor: Actor, settings: Settings, meeting_id: int) -> dict[str, Any]:
    """After a meeting was edited, moved, cancelled or restored: the update or the cancellation
    to those who already received it, at once (the README promises it, whatever the caller:
    page, API or command line). First invitations still wait for « Envoyer », after the
    preview. Never refuses: a past or draft meeting just owes nobody anything. A cancelled
    public meeting's registered inhabitants are told too (``inhabitants`` counts them, #22)."""
    async with read_transaction():
        meeting = await load_meeting(meeting_id)
    if not _changes_matter(meeting):
        return {
            "meeting": meeting_id,
            "queued": 0,
            **dict.fromkeys(KINDS, 0),
            "inhabitants": 0,
            "problems": [],
        }
    report = await queue(actor, settings, meeting_id, updates_only=True)
    return {**report, "inhabitants": await notices.tell_cancellation(settings, meeting)}


KINDS = ("invitation", "modification", "annulation")


async def queue(
    actor: Actor,
    settings: Settings,
    meeting_id: int,
    updates_only: bool = False,
    attachments: Sequence[messages.Attachment] = (),
) -> dict[str, Any]:
    """Queue every message the invitees of the meeting are due; report who cannot be reached.
    ``updates_only``: only to those who already received an earlier version. ``attachments``
    (the pack, when the coordinator joins it, #22) go with the invitations and the updates,
    never with a cancellation."""
    check_attachments(list(attachments))
    meeting, due, roles = await _due(meeting_id, updates_only)
    envelope = Envelope(sender_mailbox(settings.mail_from))
    # Each kind of message is rendered once for the meeting, then filled in per invitee.
    builders: dict[str, messages.MeetingMessages] = {}
    counts = dict.fromkeys(KINDS, 0)
    problems: list[dict[str, Any]] = []
    for start in range(0, len(due), QUEUE_CHUNK):
        built = _build_chunk(
            settings,
            meeting,
            envelope,
            builders,
            roles,
            due[start : start + QUEUE_CHUNK],
            problems,
            attachments,
        )
        for item in await retried_on_conflict(functools.partial(_write_due, meeting, built)):
            counts[item.kind] += 1
    queued = sum(counts.values())
    # An edit that owed nobody anything is no sending: the journal keeps the edit only.
    if queued or not updates_only:
        async with write_transaction():
            changes: dict[str, Any] = {"queued": queued, "sequence": meeting.sequence}
            if attachments:
                changes["attachments"] = [item.filename for item in attachments]
            await audit.record(actor, "send", "meeting", meeting_id, changes)
    return {"meeting": meeting_id, "queued": queued, **counts, "problems": problems}


async def _due(
    meeting_id: int, updates_only: bool = False
) -> tuple[MeetingInfo, list[dict[str, Any]], dict[int, str]]:
    """The meeting, the invitations owed a message (in invitation order) and their roles."""
    async with read_transaction():
        meeting = await load_meeting(meeting_id)
        _check_sendable(meeting)
        rows = (
            await Invitation.select(*INVITATION_COLUMNS)
            .where(Invitation.meeting == meeting_id)
            .order_by(Invitation.id)
        )
        roles = await current_roles(await group_of(meeting_id), [row["contact"] for row in rows])
    due = [
        row
        for row in rows
        if due_kind(meeting, row["sent_sequence"]) is not None
        and not (updates_only and row["sent_sequence"] is None)
    ]
    return meeting, due, roles


PERSONAL_LINK = "[lien personnel de réponse]"


@dataclass(frozen=True)
class Sample:
    """One message as its recipient will read it."""

    kind: str
    to: str
    subject: str
    text: str


def _without_link(text: str, link: str | None) -> str:
    return text.replace(link, PERSONAL_LINK) if link else text


async def preview(settings: Settings, meeting_id: int) -> dict[str, Any]:
    """What « Envoyer » would queue now, without writing anything: how many messages of each
    kind, one message of each kind as its first recipient will read it, and who cannot be
    reached. Refuses what ``queue`` refuses (a draft, a past meeting)."""
    meeting, due, roles = await _due(meeting_id)
    envelope = Envelope(sender_mailbox(settings.mail_from))
    counts = dict.fromkeys(KINDS, 0)
    samples: dict[str, Sample] = {}
    problems: list[dict[str, Any]] = []
    recipients: list[dict[str, Any]] = []
    for row in due:
        kind = due_kind(meeting, row["sent_sequence"])
        assert kind is not None
        try:
            invitee = build_invitee(settings, row, roles.get(row["contact"], "membre"))
        except InvalidAddress as error:
            problems.append(unreachable(row, error))
            continue
        counts[kind] += 1
        recipients.append({"contact": row["contact"], "name": person_name(row), "kind": kind})
        if kind not in samples:
            built = messages.MeetingMessages(meeting, kind, envelope).build(invitee).email()
            body = built.get_body(("plain",))
            samples[kind] = Sample(
                kind=kind,
                to=str(built["To"]),
                subject=str(built["Subject"]),
                # The answer links are the invitee's keys: the preview shows where they go,
                # not a link that would answer in their name.
                text=_without_link(body.get_content() if body else "", invitee.answer_url),
            )
    return {
        "meeting": meeting_id,
        "queued": sum(counts.values()),
        **counts,
        "samples": list(samples.values()),
        "recipients": recipients,
        "problems": problems,
    }


def _build_chunk(
    settings: Settings,
    meeting: MeetingInfo,
    envelope: Envelope,
    builders: dict[str, messages.MeetingMessages],
    roles: dict[int, str],
    rows: list[dict[str, Any]],
    problems: list[dict[str, Any]],
    attachments: Sequence[messages.Attachment] = (),
) -> dict[int, outbox.Outgoing]:
    """The messages of ``rows``, by invitation; an unusable address goes to ``problems``."""
    built: dict[int, outbox.Outgoing] = {}
    for row in rows:
        kind = due_kind(meeting, row["sent_sequence"])
        assert kind is not None
        try:
            invitee = build_invitee(settings, row, roles.get(row["contact"], "membre"))
        except InvalidAddress as error:
            problems.append(unreachable(row, error))
            continue
        if kind not in builders:
            files = attachments if kind != "annulation" else ()
            builders[kind] = messages.MeetingMessages(meeting, kind, envelope, attachments=files)
        built[row["id"]] = outbox.Outgoing(
            builders[kind].build(invitee), invitee.mailbox.address, kind, row["contact"], row["id"]
        )
    return built


async def _write_due(
    meeting: MeetingInfo, built: dict[int, outbox.Outgoing]
) -> list[outbox.Outgoing]:
    """Write the messages still due, in one transaction whose first statement marks the
    invitations still owed the same kind of message and says which: two coordinators pressing
    « Envoyer » together queue each message once (on PostgreSQL the second waits for the first's
    row locks, then finds them no longer due)."""
    if not built:
        return []
    by_kind: dict[str, list[int]] = {}
    for invitation_id, item in built.items():
        by_kind.setdefault(item.kind, []).append(invitation_id)
    conditions, args = [], [meeting.sequence]
    for kind, ids in by_kind.items():
        # « invitation »: never sent; « modification » and « annulation »: sent at a lower SEQUENCE.
        owed = "sent_sequence IS NULL" if kind == "invitation" else "sent_sequence < ?"
        conditions.append(f"(id IN ({placeholders(len(ids))}) AND {owed})")
        args += [*ids] if kind == "invitation" else [*ids, meeting.sequence]
    sql = (
        "UPDATE invitation SET sent_sequence = ?, version = version + 1 "
        f"WHERE {' OR '.join(conditions)} RETURNING id"
    )
    async with write_transaction() as transaction:
        marked = await driver_fetch(transaction.connection, sql, args)
        still_due = [built[row["id"]] for row in sorted(marked, key=lambda row: row["id"])]
        await outbox.enqueue(still_due)
    return still_due


async def queue_one(settings: Settings, meeting: MeetingInfo, invitation_id: int) -> bool:
    """Queue the invitation of a single invitee (a named replacement); inside a transaction."""
    row = await Invitation.select(*INVITATION_COLUMNS).where(Invitation.id == invitation_id).first()
    if row is None:
        raise NotFound("Invitation", invitation_id)
    roles = await current_roles(await group_of(meeting.id), [row["contact"]])
    try:
        invitee = build_invitee(settings, row, roles.get(row["contact"], "membre"))
    except InvalidAddress:
        return False
    envelope = Envelope(sender_mailbox(settings.mail_from))
    message = messages.MeetingMessages(meeting, "invitation", envelope).build(invitee)
    await outbox.enqueue(
        [outbox.Outgoing(message, invitee.mailbox.address, "invitation", row["contact"], row["id"])]
    )
    await (
        Invitation.update({Invitation.sent_sequence: meeting.sequence})
        .where(Invitation.id == invitation_id)
        .run()
    )
    return True


# ----- minutes --------------------------------------------------------------------------------

# Limits of the minutes' attachments, shared by the API and the page: each copy of the message
# carries every file, and mail servers commonly refuse messages above 10 to 25 MB.
MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 1_500_000
MAX_ATTACHMENT_LABEL = "1,5 Mo"


def check_attachments(attachments: list[messages.Attachment]) -> None:
    """Refuse too many files or a file too heavy, naming each, whatever the caller checked."""
    if len(attachments) > MAX_ATTACHMENTS:
        raise InvalidData.one(
            "attachments", f"{len(attachments)} fichiers : {MAX_ATTACHMENTS} au plus."
        )
    errors = [
        FieldError(
            f"attachments[{position}]",
            f"« {item.filename} » est trop lourd ({MAX_ATTACHMENT_LABEL} au plus par fichier).",
        )
        for position, item in enumerate(attachments)
        if len(item.content) > MAX_ATTACHMENT_BYTES
    ]
    if errors:
        raise InvalidData(errors)


async def queue_minutes(
    actor: Actor,
    settings: Settings,
    meeting_id: int,
    audience: str,
    attachments: list[messages.Attachment],
) -> dict[str, Any]:
    """The minutes to every invitee (``invites``) or to those present or excused
    (``presents_excuses``), with the attachments."""
    check_attachments(attachments)
    meeting = await load_meeting(meeting_id)
    if not meeting.minutes.strip() and not attachments:
        raise InvalidData.one(
            "minutes", "Rédigez le compte rendu ou joignez-le avant de l'envoyer."
        )
    query = Invitation.select(*INVITATION_COLUMNS, Invitation.attendance).where(
        Invitation.meeting == meeting_id
    )
    if audience == "presents_excuses":
        query = query.where(Invitation.attendance.is_in([PRESENT, EXCUSED]))
    rows = await query.order_by(Invitation.id)
    releve = [
        messages.DecisionLine(
            d["summary"],
            d["carrier"],
            french.format_date(d["due_on"], "long") if d["due_on"] else "",
        )
        for d in await decisions.of_meeting(meeting_id, dt.date.today())
    ]
    envelope = Envelope(sender_mailbox(settings.mail_from))
    items, problems = [], []
    for row in rows:
        try:
            check_not_bounced(row)
            recipient: Mailbox = mailbox(row["email"], person_name(row))
        except InvalidAddress as error:
            problems.append(unreachable(row, error))
            continue
        message = messages.minutes(meeting, recipient, envelope, attachments, releve)
        items.append(
            outbox.Outgoing(message, recipient.address, "compte_rendu", row["contact"], row["id"])
        )
    async with write_transaction():
        await outbox.enqueue(items)
        await audit.record(
            actor,
            "send_minutes",
            "meeting",
            meeting_id,
            {"queued": len(items), "audience": audience},
        )
    return {"meeting": meeting_id, "queued": len(items), "problems": problems}
