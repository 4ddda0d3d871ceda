"""The mailbox reader (#19): inbound_message, a contact's undeliverable address, the source of
an answer.

- ``inbound_message``: one row per message the reader acted on, by Message-ID, written in the
  same transaction as what it did, so a message fetched again after a crash is only moved;
- ``contact.email_bounced_at`` and ``contact.email_bounce_reason``: a permanent delivery failure
  and the receiving server's words, cleared when the address changes;
- ``invitation.response_source``: « lien » or « agenda » (an iTIP REPLY).

Only new tables and nullable columns: ``ADD COLUMN`` works on both engines.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-06T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "inbound_message, contact.email_bounced_at/email_bounce_reason, invitation.response_source"


class Contact(Table, tablename="contact"):
    id = Serial(primary_key=True)


class OutboxMessage(Table, tablename="outbox_message"):
    id = Serial(primary_key=True)


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


def _reference(table):
    return _params(
        references=table,
        on_delete=OnDelete.set_null,
        on_update=OnUpdate.cascade,
        target_column=None,
        null=True,
        default=None,
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)
    manager.add_table(
        class_name="InboundMessage", tablename="inbound_message", schema=None, columns=None
    )
    columns = [
        ("id", Serial, _params(primary_key=True)),
        ("message_key", Varchar, _params(length=255, default="", unique=True)),
        ("outcome", Varchar, _params(length=20, default="")),
        ("reason", Text, _params(default="")),
        ("sender", Varchar, _params(length=254, default="")),
        ("subject", Varchar, _params(length=500, default="")),
        ("folder", Varchar, _params(length=200, default="")),
        ("received_at", Timestamptz, _params(default=TimestamptzNow())),
        ("moved_at", Timestamptz, _params(default=None, null=True)),
        ("contact", ForeignKey, {**_reference(Contact), "index": True}),
        ("outbox_message", ForeignKey, _reference(OutboxMessage)),
    ]
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name="InboundMessage",
            tablename="inbound_message",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    for table_class, tablename, name, column_class, params in [
        ("Contact", "contact", "email_bounced_at", Timestamptz, _params(default=None, null=True)),
        (
            "Contact",
            "contact",
            "email_bounce_reason",
            Varchar,
            _params(length=500, default=None, null=True),
        ),
        (
            "Invitation",
            "invitation",
            "response_source",
            Varchar,
            _params(length=20, default=None, null=True),
        ),
    ]:
        manager.add_column(
            table_class_name=table_class,
            tablename=tablename,
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
