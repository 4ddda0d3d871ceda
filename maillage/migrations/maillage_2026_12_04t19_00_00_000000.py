"""The bytes of outbox messages in a table of their own (issue #5).

SQLite rewrites a whole row at each update: with the message beside its status, claiming a
message and recording its acceptance wrote its 10 kB twice more. The new table is created here;
the next migration moves the bytes into it and drops the old column (Piccolo creates tables after
running a migration's raw steps, so the copy cannot be in the same migration).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial, Text
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-04T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox_content: the bytes of each outbox message"


class OutboxMessage(Table, tablename="outbox_message", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False)


def _params(**overrides):
    return {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **overrides,
    }


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)
    manager.add_table(
        class_name="OutboxContent", tablename="outbox_content", schema=None, columns=None
    )
    columns = [
        ("id", Serial, _params(primary_key=True)),
        (
            "message",
            ForeignKey,
            _params(
                references=OutboxMessage,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                target_column=None,
                unique=True,
            ),
        ),
        ("content", Text, _params(default="")),
    ]
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name="OutboxContent",
            tablename="outbox_content",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
