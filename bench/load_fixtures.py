"""bench/load.py's look-ups in the database of the tree under load (run by bench/load.py in a
process of its own, with that tree on ``PYTHONPATH`` and ``MAILLAGE_DATABASE_URL`` set).

    python bench/load_fixtures.py links      # JSON: feed tokens, answer tokens, organisations
    python bench/load_fixtures.py answered   # stdin: JSON list of answer tokens; prints how
                                             # many of their invitations hold an answer

It runs against this tree and against an older one (``bench/load.py --tree``), whose tables
lived in ``maillage.crm``: the side by side runs the same driver on both.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from typing import Any

CANCELLED = "annulee"  # maillage.vocabulary.CANCELLED, spelt out: older trees lack the module


def _tables() -> tuple[Any, Any, Any, Any]:
    try:
        from maillage.actor import CLI
        from maillage.tables import Invitation, Organisation, WorkingGroup
    except ImportError:  # before the tables left maillage.crm
        from maillage.crm.actor import CLI  # type: ignore[no-redef]
        from maillage.crm.tables import (  # type: ignore[no-redef]
            Invitation,
            Organisation,
            WorkingGroup,
        )
    return CLI, Invitation, Organisation, WorkingGroup


async def links() -> dict[str, list[Any]]:
    from maillage.calendar import feeds
    from maillage.mailing import tokens

    cli, invitation, organisation, group = _tables()
    groups = await group.select(group.id).limit(10)
    feed_tokens = [(await feeds.create_token(cli, "group", g["id"]))[0] for g in groups]
    feed_tokens.append((await feeds.create_token(cli, "territory", None))[0])
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    # A cancelled meeting's link answers 200 with « réunion annulée » and records nothing:
    # the demo, drawn around today, cancels some meetings to come.
    invitations = await invitation.select(invitation.id, invitation.token_nonce).where(
        (invitation.meeting.starts_at > soon) & (invitation.meeting.status != CANCELLED)
    )
    secret = os.environ["MAILLAGE_SECRET_KEY"]
    answers = [tokens.answer_token(secret, i["id"], i["token_nonce"]) for i in invitations]
    organisations = [o["id"] for o in await organisation.select(organisation.id).limit(200)]
    return {"feed_tokens": feed_tokens, "answer_tokens": answers, "organisations": organisations}


async def answered(answer_tokens: list[str]) -> int:
    _, invitation, _, _ = _tables()
    ids = [int(token.split(".")[0]) for token in answer_tokens]
    if not ids:
        return 0
    count: int = await invitation.count().where(
        invitation.id.is_in(ids) & invitation.answered_at.is_not_null()
    )
    return count


async def main(command: str) -> None:
    from maillage import db

    await db.connect(os.environ["MAILLAGE_DATABASE_URL"])
    await db.start_pool()
    try:
        if command == "links":
            print(json.dumps(await links()))
        else:
            print(await answered(json.load(sys.stdin)))
    finally:
        await db.close_pool()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
