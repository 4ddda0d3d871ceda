"""data_change: a counter of writes per territory (#20), the memoised answers' key.

The data version summed up every content table (counts, highest ids, latest changes): its cost
grew with the instance (5 s on 24 départements). The counters are kept by triggers (migration
``2026-12-09T01:30:00``); reading the ones an answer depends on is one look-up by key.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, Integer, Serial
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-09T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "data_change: a counter of writes per territory"


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
    manager.add_table(class_name="DataChange", tablename="data_change", schema=None, columns=None)
    columns = [
        ("id", Serial, _params(primary_key=True)),
        ("territory", Integer, _params(default=0, unique=True)),
        ("counter", BigInt, _params(default=0)),
    ]
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name="DataChange",
            tablename="data_change",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
