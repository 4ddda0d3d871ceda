"""Plain messages queued straight into the outbox, for the sender's tests."""

from __future__ import annotations

from maillage.db import write_transaction
from maillage.mailing import messages, outbox
from maillage.mailing.addresses import mailbox, sender_mailbox
from maillage.mailing.messages import Envelope
from maillage.tables import OutboxMessage


def address(number: int) -> str:
    return f"partenaire{number:04d}@commune.example"


async def queue_plain(count: int) -> list[str]:
    """``count`` mailings to distinct partners; returns their Message-IDs in order."""
    envelope = Envelope(sender_mailbox("CTG <ctg@maillage.example>"))
    items = [
        outbox.Outgoing(
            messages.mailing(
                f"Lettre du réseau n° {number}",
                "Bonjour,\n\nVoici les nouvelles du réseau.",
                mailbox(address(number), f"Partenaire {number}"),
                envelope,
                f"http://testserver/u/{number}.x",
            ),
            address(number),
            "envoi_groupe",
        )
        for number in range(count)
    ]
    async with write_transaction():
        await outbox.enqueue(items)
    return [str(item.message["Message-ID"]) for item in items]


async def statuses() -> dict[str, dict]:  # type: ignore[type-arg]
    rows = await OutboxMessage.select(
        OutboxMessage.message_id,
        OutboxMessage.status,
        OutboxMessage.attempts,
        OutboxMessage.last_error,
        OutboxMessage.recipient,
    )
    return {row["message_id"]: row for row in rows}
