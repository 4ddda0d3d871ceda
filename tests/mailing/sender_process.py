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


async def main(database_url: str, smtp_url: str) -> None:
    await db.connect(database_url)
    await db.start_pool()
    config = SenderConfig(
        envelope_from="ctg@maillage.example",
        connections=2,
        rate=40.0,
        batch_size=10,
        lease=dt.timedelta(seconds=1),
        record_every=5,
    )
    await Sender(SmtpBackend(parse_smtp_url(smtp_url)), config).drain()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
