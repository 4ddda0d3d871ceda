"""A sender in its own process, for the crash test: ``python -m tests.mailing.sender_process
DATABASE_URL SMTP_URL``. Slow on purpose (rate limit, short lease) so the test can kill it in
the middle of a batch."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys

from maillage import db
from maillage.mailing.sender import Sender, SenderConfig
from maillage.mailing.transports import SmtpBackend, parse_smtp_url

# Long enough that a batch of 10 at 20 messages a second per connection (0.5 s) finishes within
# its lease even on a saturated machine: a lease running out while the live sender still sends
# would let its other connection take the batch again, a duplicate the crash test cannot tell
# from one caused by the kill.
LEASE_SECONDS = 4


async def main(database_url: str, smtp_url: str) -> None:
    await db.connect(database_url)
    await db.start_pool()
    config = SenderConfig(
        envelope_from="ctg@maillage.example",
        connections=2,
        rate=40.0,
        batch_size=10,
        lease=dt.timedelta(seconds=LEASE_SECONDS),
        record_every=5,
    )
    await Sender(SmtpBackend(parse_smtp_url(smtp_url)), config).drain()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
