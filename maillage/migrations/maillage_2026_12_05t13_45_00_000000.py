"""duplicate_dismissal: pairs a coordinator said are not duplicates, never offered again (#21)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-05T13:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "duplicate_dismissal: pairs that are not duplicates"


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
        class_name="DuplicateDismissal", tablename="duplicate_dismissal", schema=None, columns=None
    )
    columns = [
        ("id", Serial, _params(primary_key=True)),
        ("entity", Varchar, _params(length=20, default="")),
        ("first", Integer, _params(default=0, index=True)),
        ("second", Integer, _params(default=0)),
        ("created_at", Timestamptz, _params(default=TimestamptzNow())),
    ]
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name="DuplicateDismissal",
            tablename="duplicate_dismissal",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
