"""The migration that moves the outbox's bytes into their own table keeps every message."""

from __future__ import annotations

import contextlib
import io

from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager

from maillage import db
from maillage.crm.tables import OutboxContent

BEFORE = "2026-11-30T09:30:00:000000"
MOVED = ["2026-12-04T19:00:00:000000", "2026-12-04T19:00:01:000000", "2026-12-04T19:00:02:000000"]


async def test_queued_messages_keep_their_bytes_across_the_migration(tmp_path):
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

        assert await db.migrate() == MOVED

        rows = await OutboxContent.select(
            OutboxContent.message.message_id.as_alias("message_id"), OutboxContent.content
        ).order_by(OutboxContent.message)
        assert rows == [
            {"message_id": f"<{n}@m>", "content": f"To: Hélène Lefèvre\r\n\r\nmessage {n}\r\n"}
            for n in (1, 2)
        ]
        columns = await db.current_engine().run_ddl("PRAGMA table_info(outbox_message)")
        assert "raw_message" not in {column["name"] for column in columns}
    finally:
        db.bind(session_engine)
