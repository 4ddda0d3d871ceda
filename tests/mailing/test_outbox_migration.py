"""The migration that moves the outbox's bytes into their own table keeps every message."""

from __future__ import annotations

import contextlib
import io
import sqlite3

import pytest
from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager

from maillage import db
from maillage.mailing import outbox
from maillage.mailing.messages import Prebuilt
from maillage.tables import OutboxContent

BEFORE = "2026-11-30T09:30:00:000000"
PLAIN = Prebuilt(b"To: marc@tilleuls.example\r\n\r\nBonjour\r\n", "<3@m>", "Bonjour", ("To",))
MOVED = ["2026-12-04T19:00:00:000000", "2026-12-04T19:00:01:000000", "2026-12-04T19:00:02:000000"]
LATER = [
    "2026-12-04T22:40:00:000000",  # outbox_content uncompressed (PostgreSQL only)
    "2026-12-05T09:30:00:000000",  # contact.link_nonce (#23)
    "2026-12-05T12:30:00:000000",  # search columns refolded (#21)
    "2026-12-05T12:45:00:000000",  # sign_in_throttle (#23)
    "2026-12-05T13:45:00:000000",  # duplicate_dismissal (#21)
    "2026-12-05T16:00:00:000000",  # list order indexes in French order (#16)
    "2026-12-05T16:50:00:000000",  # decision (#22)
    "2026-12-05T18:00:00:000000",  # source, source_ref, commune_outline (#18)
    "2026-12-05T18:00:01:000000",  # unique source_ref (#18)
    "2026-12-06T10:00:00:000000",  # inbound_message, contact bounces, answer source (#19)
    "2026-12-06T12:30:00:000000",  # inhabitant_registration (#22)
    "2026-12-06T12:30:01:000000",  # consultation_question and _answer (#22)
    "2026-12-06T13:00:00:000000",  # action.evaluations (#22)
    "2026-12-06T14:00:00:000000",  # user_territory, territory of actions and exchanges (#20)
    "2026-12-07T01:00:00:000000",  # territory of organisations and contacts (#20)
    "2026-12-07T03:00:00:000000",  # row-level security functions (#20)
    "2026-12-07T04:00:00:000000",  # inhabitants' notices, consultation per theme (#22)
    "2026-12-07T05:00:00:000000",  # inbound_item, invitation.absent_until (#19)
    "2026-12-07T06:00:00:000000",  # commune_childcare, commune_indicator (#18)
    "2026-12-07T07:00:00:000000",  # mandates' register keys without a hash of the name (#18)
    "2026-12-07T09:00:00:000000",  # territory copied onto meetings, invitations… (#20)
    "2026-12-08T01:00:00:000000",  # partners under row-level security (#20)
    "2026-12-09T01:00:00:000000",  # data_change (#20)
    "2026-12-09T01:30:00:000000",  # data_change counted by triggers (#20)
    "2026-12-09T03:00:00:000000",  # partial index of bounced contacts (#20)
    "2026-12-09T07:00:00:000000",  # data_change counters moved on at commit (#20)
    "2026-12-10T01:00:00:000000",  # departement of territories and partners (#20)
    "2026-12-10T01:30:00:000000",  # departement filled, its functions (#20)
    "2026-12-10T02:00:00:000000",  # pg_trgm for the search columns (#20)
    "2026-12-10T02:30:00:000000",  # meeting.ends_at index (#20)
    "2026-12-10T04:00:00:000000",  # organisation and contact by territory and archived (#16)
    "2026-12-10T05:00:00:000000",  # départements copied onto affiliations, partnerships (#20)
    "2026-12-10T06:00:00:000000",  # invitation by meeting, attendance and contact (#16)
    "2026-12-10T06:30:00:000000",  # partners' départements written only where they change (#20)
    "2026-12-10T09:30:00:000000",  # ties by their parents' territories, départements (#20)
    "2026-12-10T12:00:00:000000",  # invitation by contact, attendance and meeting (#16)
    "2026-12-10T13:00:00:000000",  # copies read their parents locked; settled in id order (#20)
    "2026-12-10T14:00:00:000000",  # no index by archived alone, PostgreSQL (#20)
    "2026-12-10T15:00:00:000000",  # ties lock their organisations first, in id order (#20)
    "2026-12-10T15:30:00:000000",  # a commune without territory: its INSEE département (#20)
    "2026-12-10T17:00:00:000000",  # the partners' count indexes carry what the policies read (#20)
    "2026-12-10T17:30:00:000000",  # and (archived, territory) carries the département (#20)
    "2026-12-10T18:00:00:000000",  # invitations carry their visibility key (#20)
    "2026-12-10T18:30:00:000000",  # the ties carry their visibility keys (#20)
    "2026-12-10T19:00:00:000000",  # organisations and contacts carry their key (#20)
]


@pytest.mark.parametrize("library", [None, (3, 34, 1)], ids=["sqlite", "sqlite-3.34"])
async def test_queued_messages_keep_their_bytes_across_the_migration(
    tmp_path, monkeypatch, library
):
    if library is not None:  # before DROP COLUMN: the old column stays, emptied
        monkeypatch.setattr(sqlite3, "sqlite_version_info", library)
    session_engine = db.current_engine()
    try:
        await db.connect(f"sqlite:///{tmp_path / 'avant.db'}")
        with contextlib.redirect_stdout(io.StringIO()):
            await ForwardsMigrationManager(app_name="maillage", migration_id=BEFORE).run()
        for number in (1, 2):
            await db.current_engine().run_ddl(
                "INSERT INTO outbox_message (recipient, subject, message_id, raw_message) "
                f"VALUES ('helene@caf.example', 'Invitation', '<{number}@m>', "
                f"'To: Hélène Lefèvre\r\n\r\nmessage {number}\r\n')"
            )

        assert await db.migrate() == MOVED + LATER

        rows = await OutboxContent.select(
            OutboxContent.message.message_id.as_alias("message_id"), OutboxContent.content
        ).order_by(OutboxContent.message)
        assert rows == [
            {"message_id": f"<{n}@m>", "content": f"To: Hélène Lefèvre\r\n\r\nmessage {n}\r\n"}
            for n in (1, 2)
        ]
        if library is None:
            columns = await db.current_engine().run_ddl("PRAGMA table_info(outbox_message)")
            assert "raw_message" not in {column["name"] for column in columns}
        else:
            left = await db.current_engine().run_ddl("SELECT raw_message FROM outbox_message")
            assert [row["raw_message"] for row in left] == ["", ""]
        # The outbox works on the migrated table.
        await outbox.enqueue([outbox.Outgoing(PLAIN, "marc@tilleuls.example", "envoi_groupe")])
        assert len(await OutboxContent.select()) == 3
    finally:
        db.bind(session_engine)


async def test_postgresql_stores_the_outbox_bytes_uncompressed(database):
    from maillage.db import is_sqlite
    from maillage.tables import OutboxContent

    if is_sqlite():
        pytest.skip("SQLite ne compresse pas les valeurs.")
    rows = await OutboxContent.raw(
        "SELECT attstorage::text AS attstorage FROM pg_attribute "
        "WHERE attrelid = 'outbox_content'::regclass AND attname = 'content'"
    )
    assert rows == [{"attstorage": "e"}]  # EXTERNAL: out of line, never compressed
