"""Provenance of what the public registers write, and the communes' outlines (#18).

``source`` (« Répertoire national des élus, octobre 2026 ») on territories, communes,
organisations, contacts and affiliations, so that a coordinator tells what a register wrote from
what people typed; ``source_ref`` (the register's key of a town hall, an EPCI or a mandate) on
organisations and affiliations, so that a refresh finds what it wrote before. Existing rows get
an empty source and no key. ``commune_outline`` holds each commune's outline (WKB, hex) for the
maps. The unique indexes on ``source_ref`` come in the next migration (Piccolo runs raw steps
before it adds columns).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial, Text, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-05T18:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "source and source_ref of register records, commune_outline"


class Commune(Table, tablename="commune", schema=None):
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


SOURCE = ("source", Varchar, _params(length=200, default=""))
SOURCE_REF = ("source_ref", Varchar, _params(length=200, default=None, null=True))

COLUMNS = [
    ("Territory", "territory", [SOURCE]),
    ("Commune", "commune", [SOURCE]),
    ("Organisation", "organisation", [SOURCE, SOURCE_REF]),
    ("Contact", "contact", [SOURCE]),
    ("Affiliation", "affiliation", [SOURCE, SOURCE_REF]),
    (
        "CommuneOutline",
        "commune_outline",
        [
            ("id", Serial, _params(primary_key=True)),
            (
                "commune",
                ForeignKey,
                _params(
                    references=Commune,
                    on_delete=OnDelete.cascade,
                    on_update=OnUpdate.cascade,
                    target_column=None,
                    unique=True,
                ),
            ),
            ("wkb", Text, _params(default="")),
            SOURCE,
        ],
    ),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)
    manager.add_table(
        class_name="CommuneOutline", tablename="commune_outline", schema=None, columns=None
    )
    for class_name, tablename, columns in COLUMNS:
        for name, column_class, params in columns:
            manager.add_column(
                table_class_name=class_name,
                tablename=tablename,
                column_name=name,
                db_column_name=name,
                column_class_name=column_class.__name__,
                column_class=column_class,
                params=params,
                schema=None,
            )
    return manager
