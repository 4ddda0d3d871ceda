"""Public meetings take registrations from inhabitants (#22).

``meeting`` gains ``registration_open``, ``capacity`` and ``retention_days`` (plain
``ALTER TABLE … ADD COLUMN``, which both engines accept); ``inhabitant_registration`` holds the
registrations, apart from partners' contacts, deleted with their meeting or after its retention.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    Boolean,
    ForeignKey,
    Integer,
    Serial,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-06T12:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "inhabitant_registration and the registration settings of public meetings"


class Meeting(Table, tablename="meeting", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name=None,
        secret=False,
    )


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


MEETING_COLUMNS = [
    ("registration_open", Boolean, _params(default=False)),
    ("capacity", Integer, _params(default=None, null=True)),
    ("retention_days", Integer, _params(default=365)),
]
REGISTRATION_COLUMNS = [
    ("id", Serial, _params(primary_key=True)),
    ("version", Integer, _params(default=1)),
    ("created_at", Timestamptz, _params(default=TimestamptzNow())),
    ("updated_at", Timestamptz, _params(default=TimestamptzNow())),
    (
        "meeting",
        ForeignKey,
        _params(
            references=Meeting,
            on_delete=OnDelete.cascade,
            on_update=OnUpdate.cascade,
            target_column=None,
            index=True,
        ),
    ),
    ("name", Varchar, _params(length=100, default="")),
    ("commune", Varchar, _params(length=100, default="")),
    ("email", Varchar, _params(length=254, default=None, null=True)),
    ("consent_text", Varchar, _params(length=40, default="")),
    ("consent_at", Timestamptz, _params(default=TimestamptzNow())),
    ("status", Varchar, _params(length=20, default="inscrit", index=True)),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)
    for name, column_class, params in MEETING_COLUMNS:
        manager.add_column(
            table_class_name="Meeting",
            tablename="meeting",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    manager.add_table(
        class_name="InhabitantRegistration",
        tablename="inhabitant_registration",
        schema=None,
        columns=None,
    )
    for name, column_class, params in REGISTRATION_COLUMNS:
        manager.add_column(
            table_class_name="InhabitantRegistration",
            tablename="inhabitant_registration",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
