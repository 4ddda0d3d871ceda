"""iTIP REPLY ingestion: a calendar client's answer (METHOD:REPLY), as a ``.ics`` file or as the
whole forwarded message, updates the same invitation record as an answer link."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from typing import Any

from maillage.actor import Actor
from maillage.calendar.events import Reply, ReplyError, parse_reply
from maillage.crm import audit
from maillage.crm.resources import versioned
from maillage.db import write_transaction
from maillage.errors import InvalidData
from maillage.mailing import invitations, review
from maillage.tables import Invitation, Meeting
from maillage.vocabulary import PENDING

MAX_CALENDARS = 20


def calendars_in(data: bytes) -> list[bytes]:
    """The iCalendar objects of a ``.ics`` file or of a message (its text/calendar parts)."""
    if data.lstrip().upper().startswith(b"BEGIN:VCALENDAR"):
        return [data]
    message = BytesParser(policy=policy.default).parsebytes(data)
    found: list[bytes] = []
    for part in message.walk():
        filename = (part.get_filename() or "").lower()
        if part.get_content_type() in ("text/calendar", "application/ics") or filename.endswith(
            ".ics"
        ):
            payload = part.get_payload(decode=True)
            # bytes for a leaf part; None for a multipart one (a calendar is never one).
            if isinstance(payload, bytes) and payload and payload not in found:
                found.append(payload)
    return found[:MAX_CALENDARS]


@dataclass(frozen=True)
class Origin:
    """The message an answer came in (the mailbox reader's), for the items to review."""

    message_key: str = ""
    date: dt.datetime | None = None


async def ingest(actor: Actor, data: bytes, origin: Origin | None = None) -> dict[str, Any]:
    origin = origin or Origin()
    calendars = calendars_in(data)
    if not calendars:
        raise InvalidData.one("fichier", "Aucune réponse d'agenda (text/calendar) dans ce fichier.")
    results = []
    seen = set()
    for calendar in calendars:
        try:
            reply = parse_reply(calendar, ("REPLY", "COUNTER"))
        except ReplyError as error:
            results.append({"status": "ignoree", "reason": str(error)})
            continue
        # Gmail and Thunderbird send the answer twice (inline and as invite.ics), with other
        # bytes: one answer, recorded once.
        answer = (reply.method, reply.uid, reply.attendee_email, reply.partstat, reply.sequence)
        if answer in seen:
            continue
        seen.add(answer)
        results.append(await _apply(actor, reply, origin))
    return {"replies": results, "recorded": sum(r["status"] == "enregistree" for r in results)}


async def _apply(actor: Actor, reply: Reply, origin: Origin) -> dict[str, Any]:
    base = {"uid": reply.uid, "attendee": reply.attendee_email, "response": reply.response}
    meeting = (
        await Meeting.select(Meeting.id, Meeting.ical_sequence)
        .where(Meeting.ical_uid == reply.uid)
        .first()
    )
    if meeting is None:
        return {**base, "status": "ignoree", "reason": "Réunion inconnue (UID introuvable)."}
    if reply.method == "COUNTER":
        return await _counter(reply, origin, meeting["id"], base)
    if reply.partstat == "DELEGATED":
        return await _delegated(actor, reply, origin, meeting["id"], base)
    if reply.response == PENDING:
        return {
            **base,
            "status": "ignoree",
            "reason": "La réponse ne dit ni oui, ni non, ni peut-être.",
        }
    invitations = [
        row
        for row in await Invitation.select(
            Invitation.id,
            Invitation.response,
            Invitation.answered_at,
            Invitation.response_source,
            Invitation.contact.email.as_alias("email"),
        ).where(Invitation.meeting == meeting["id"])
        if (row["email"] or "").strip().lower() == reply.attendee_email
    ]
    if not invitations:
        return await _other_address(actor, reply, origin, meeting["id"], base)
    # The later of a link answer and a calendar answer wins: the calendar's is dated by its
    # DTSTAMP (when the person clicked), not by when the mailbox was read.
    later = [row for row in invitations if _answered_later(row, reply)]
    if later and len(later) == len(invitations):
        return {
            **base,
            "status": "ignoree",
            "reason": "Une réponse plus récente est déjà enregistrée "
            f"({_source_label(later[0]['response_source'])}).",
        }
    invitations = [row for row in invitations if row not in later]
    outdated = reply.sequence < (meeting["ical_sequence"] or 0)
    source = "agenda_ancien" if outdated else "agenda"
    moment = dt.datetime.now(dt.UTC)
    async with write_transaction():
        for row in invitations:
            await (
                Invitation.update(
                    {
                        Invitation.response: reply.response,
                        Invitation.answered_at: moment,
                        Invitation.response_source: source,
                        **versioned(Invitation, moment),
                    }
                )
                .where(Invitation.id == row["id"])
                .run()
            )
            await audit.record(
                actor,
                "answer",
                "invitation",
                row["id"],
                {"response": [row["response"], reply.response], "source": "iTIP REPLY"},
            )
    result = {
        **base,
        "status": "enregistree",
        "invitations": [row["id"] for row in invitations],
        "meeting": meeting["id"],
    }
    if outdated:
        result["reason"] = (
            f"Réponse à la version n° {reply.sequence} de l'invitation, la réunion en est à la "
            f"version n° {meeting['ical_sequence']} : enregistrée comme telle, à confirmer."
        )
    return result


async def _invitees(meeting_id: int) -> list[dict[str, Any]]:
    return await Invitation.select(
        Invitation.id,
        Invitation.contact,
        Invitation.response,
        Invitation.contact.email.as_alias("email"),
    ).where(Invitation.meeting == meeting_id)


def _name(reply: Reply, address: str = "") -> str:
    return reply.attendee_name or address or reply.attendee_email


async def _other_address(
    actor: Actor, reply: Reply, origin: Origin, meeting_id: int, base: dict[str, Any]
) -> dict[str, Any]:
    """A REPLY from an address that is no invitee's (a forwarded invitation answered by a
    colleague): the one known contact of an invitee's organisation is invited and answers;
    anything less certain waits on the meeting page."""
    invitees = await _invitees(meeting_id)
    alongside = [row["contact"] for row in invitees]
    if reply.delegated_from:  # a delegate's own answer: the delegator's organisation
        alongside = [
            row["contact"]
            for row in invitees
            if (row["email"] or "").strip().lower() == reply.delegated_from
        ] or alongside
    contact = await review.colleague(reply.attendee_email, alongside)
    if contact is not None:
        await _invite_and_answer(actor, meeting_id, contact, reply)
        return {**base, "status": "enregistree", "meeting": meeting_id, "colleague": contact}
    reason = (
        f"Réponse de « {reply.attendee_email} », adresse d'aucun invité"
        + (f" (au nom de « {reply.delegated_from} »)" if reply.delegated_from else "")
        + " : à rattacher sur la page de la réunion."
    )
    await review.add(
        meeting_id,
        review.TO_ATTACH,
        sender=reply.attendee_email,
        sender_name=reply.attendee_name,
        response=reply.response,
        reason=reason,
        comment=reply.comment,
        on_behalf_of=reply.delegated_from,
        message_key=origin.message_key,
        message_date=reply.stamp or origin.date,
    )
    return {**base, "status": "a_rattacher", "meeting": meeting_id, "reason": reason}


async def _delegated(
    actor: Actor, reply: Reply, origin: Origin, meeting_id: int, base: dict[str, Any]
) -> dict[str, Any]:
    """PARTSTAT=DELEGATED (RFC 5546 § 4.2.5): the invitee will not come and names who comes
    instead. The delegate is invited when they are the one known contact of the delegator's
    organisation with that address; otherwise the delegation waits on the meeting page."""
    invitees = await _invitees(meeting_id)
    delegator = [
        row for row in invitees if (row["email"] or "").strip().lower() == reply.attendee_email
    ]
    delegate = reply.delegated_to
    contact = (
        await review.colleague(delegate, [row["contact"] for row in delegator])
        if delegator
        else None
    )
    already = any((row["email"] or "").strip().lower() == delegate for row in invitees)
    for row in delegator:  # the delegator will not come: their own answer, by their address
        await _answer(actor, row, "declinee", f"iTIP REPLY (délègue à {delegate or '?'})")
    if contact is not None or already:
        if contact is not None and not already:
            await invitations.invite(actor, meeting_id, invitations.InviteRequest((contact,)))
        return {
            **base,
            "response": PENDING,
            "status": "enregistree",
            "meeting": meeting_id,
            "delegated_to": delegate,
        }
    who = delegate or "une personne non nommée"
    reason = (
        f"« {reply.attendee_email} » délègue sa participation à « {who} », "
        "qu'aucun contact connu de son organisation ne porte : à rattacher sur la page de la "
        "réunion."
    )
    await review.add(
        meeting_id,
        review.TO_ATTACH,
        sender=delegate or reply.attendee_email,
        sender_name="",
        response=PENDING,
        reason=reason,
        comment=reply.comment,
        on_behalf_of=reply.attendee_email,
        message_key=origin.message_key,
        message_date=reply.stamp or origin.date,
        invitation=delegator[0]["id"] if delegator else None,
    )
    return {
        **base,
        "response": PENDING,
        "status": "a_rattacher",
        "meeting": meeting_id,
        "reason": reason,
    }


async def _counter(
    reply: Reply, origin: Origin, meeting_id: int, base: dict[str, Any]
) -> dict[str, Any]:
    """A proposed new time: kept for the coordinator, never applied."""
    invitees = await _invitees(meeting_id)
    invitation = next(
        (
            row["id"]
            for row in invitees
            if (row["email"] or "").strip().lower() == reply.attendee_email
        ),
        None,
    )
    if reply.proposed_start is None:
        return {**base, "status": "ignoree", "reason": "Contre-proposition sans date de début."}
    await review.add(
        meeting_id,
        review.COUNTER,
        sender=reply.attendee_email,
        sender_name=reply.attendee_name,
        reason="Nouvel horaire proposé.",
        comment=reply.comment,
        message_key=origin.message_key,
        message_date=reply.stamp or origin.date,
        proposed_start=reply.proposed_start,
        proposed_end=reply.proposed_end,
        invitation=invitation,
    )
    return {
        **base,
        "status": "contre_proposition",
        "meeting": meeting_id,
        "proposed_start": reply.proposed_start,
    }


async def _invite_and_answer(actor: Actor, meeting_id: int, contact: int, reply: Reply) -> None:
    await invitations.invite(actor, meeting_id, invitations.InviteRequest((contact,)))
    row = (
        await Invitation.select(Invitation.id, Invitation.response)
        .where((Invitation.meeting == meeting_id) & (Invitation.contact == contact))
        .first()
    )
    if row is None or reply.response == PENDING:
        return
    await _answer(actor, row, reply.response, "iTIP REPLY (collègue)")


async def _answer(actor: Actor, row: dict[str, Any], response: str, source: str) -> None:
    moment = dt.datetime.now(dt.UTC)
    async with write_transaction():
        await (
            Invitation.update(
                {
                    Invitation.response: response,
                    Invitation.answered_at: moment,
                    Invitation.response_source: "agenda",
                    **versioned(Invitation, moment),
                }
            )
            .where(Invitation.id == row["id"])
            .run()
        )
        await audit.record(
            actor,
            "answer",
            "invitation",
            row["id"],
            {"response": [row["response"], response], "source": source},
        )


def _answered_later(row: dict[str, Any], reply: Any) -> bool:
    answered = row["answered_at"]
    if answered is None or reply.stamp is None:
        return False
    if answered.tzinfo is None:  # SQLite gives naive UTC
        answered = answered.replace(tzinfo=dt.UTC)
    return bool(answered > reply.stamp)


def _source_label(code: str | None) -> str:
    return {"lien": "par le lien de l'invitation", "agenda": "par son agenda"}.get(
        code or "", "par son agenda"
    )
