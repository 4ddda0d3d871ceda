"""Shared partners by département (#20): ``departement`` on territories, organisations, contacts.

A scoped user sees the shared organisations and contacts of the départements of their
territories and those of no département, no longer every shared record of the instance
(`maillage.departements` has the rule). The columns are derived: filled by migration
``2026-12-10T01:30:00`` (Piccolo runs a migration's raw statements before its new columns),
then kept by `maillage.crm.scope` wherever it places records.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-10T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "shared partners by département: departement on territory, organisation, contact"

TABLES = [("Territory", "territory"), ("Organisation", "organisation"), ("Contact", "contact")]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)
    for class_name, tablename in TABLES:
        manager.add_column(
            table_class_name=class_name,
            tablename=tablename,
            column_name="departement",
            db_column_name="departement",
            column_class_name="Varchar",
            column_class=Varchar,
            params={
                "length": 3,
                "default": None,
                "null": True,
                "primary_key": False,
                "unique": False,
                "index": False,
                "index_method": IndexMethod.btree,
                "choices": None,
                "db_column_name": None,
                "secret": False,
            },
            schema=None,
        )
    return manager
