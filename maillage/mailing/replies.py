"""iTIP REPLY ingestion: a calendar client's answer (METHOD:REPLY), as a ``.ics`` file or as the
whole forwarded message, updates the same invitation record as an answer link."""

from __future__ import annotations

import datetime as dt
from email import policy
from email.parser import BytesParser
from typing import Any

from maillage.actor import Actor
from maillage.calendar.events import ReplyError, parse_reply
from maillage.crm import audit
from maillage.crm.resources import versioned
from maillage.db import write_transaction
from maillage.errors import InvalidData
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


async def ingest(actor: Actor, data: bytes) -> dict[str, Any]:
    calendars = calendars_in(data)
    if not calendars:
        raise InvalidData.one("fichier", "Aucune réponse d'agenda (text/calendar) dans ce fichier.")
    results = []
    seen = set()
    for calendar in calendars:
        try:
            reply = parse_reply(calendar)
        except ReplyError as error:
            results.append({"status": "ignoree", "reason": str(error)})
            continue
        # Gmail and Thunderbird send the answer twice (inline and as invite.ics), with other
        # bytes: one answer, recorded once.
        answer = (reply.uid, reply.attendee_email, reply.partstat, reply.sequence)
        if answer in seen:
            continue
        seen.add(answer)
        results.append(await _apply(actor, reply))
    return {"replies": results, "recorded": sum(r["status"] == "enregistree" for r in results)}


async def _apply(actor: Actor, reply: Any) -> dict[str, Any]:
    base = {"uid": reply.uid, "attendee": reply.attendee_email, "response": reply.response}
    meeting = (
        await Meeting.select(Meeting.id, Meeting.ical_sequence)
        .where(Meeting.ical_uid == reply.uid)
        .first()
    )
    if meeting is None:
        return {**base, "status": "ignoree", "reason": "Réunion inconnue (UID introuvable)."}
    if reply.response == PENDING:
        return {
            **base,
            "status": "ignoree",
            "reason": "La réponse ne dit ni oui, ni non, ni peut-être.",
        }
    invitations = [
        row
        for row in await Invitation.select(
            Invitation.id, Invitation.response, Invitation.contact.email.as_alias("email")
        ).where(Invitation.meeting == meeting["id"])
        if (row["email"] or "").strip().lower() == reply.attendee_email
    ]
    if not invitations:
        return {
            **base,
            "status": "ignoree",
            "reason": f"Aucune invitation à cette réunion pour « {reply.attendee_email} ».",
        }
    moment = dt.datetime.now(dt.UTC)
    async with write_transaction():
        for row in invitations:
            await (
                Invitation.update(
                    {
                        Invitation.response: reply.response,
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
                {"response": [row["response"], reply.response], "source": "iTIP REPLY"},
            )
    return {
        **base,
        "status": "enregistree",
        "invitations": [row["id"] for row in invitations],
        "meeting": meeting["id"],
    }
