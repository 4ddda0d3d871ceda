"""sign_in_throttle: password attempts counted atomically, per account and per address (#23).

The throttle counted failures in the audit log after checking the password: twelve parallel
wrong passwords were all checked. Each attempt now takes its turn on a row of this table first.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-05T12:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sign_in_throttle: password attempts per account and per address"


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
        class_name="SignInThrottle", tablename="sign_in_throttle", schema=None, columns=None
    )
    columns = [
        ("id", Serial, _params(primary_key=True)),
        ("key", Varchar, _params(length=64, default="", unique=True)),
        ("account", Varchar, _params(length=64, default=None, null=True, index=True)),
        ("failures", Integer, _params(default=0)),
        ("next_allowed_at", Timestamptz, _params(default=TimestamptzNow())),
        ("succeeded_at", Timestamptz, _params(default=None, null=True)),
        ("updated_at", Timestamptz, _params(default=TimestamptzNow())),
        ("version", Integer, _params(default=0)),
    ]
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name="SignInThrottle",
            tablename="sign_in_throttle",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
