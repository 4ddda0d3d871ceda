"""contact.link_nonce: the unsubscribe links of one person can be revoked (issue #23).

An unsubscribe link was an HMAC of the contact's id alone: it never expired and nothing but a
new secret key could kill it. Links now sign the contact's ``link_nonce`` and their day of
issue; changing the nonce (a coordinator's revocation, an erasure) kills every link of that
person. Existing rows get an empty nonce.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-05T09:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "contact.link_nonce for revocable unsubscribe links"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="maillage", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Contact",
        tablename="contact",
        column_name="link_nonce",
        db_column_name="link_nonce",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 64,
            "default": "",
            "null": False,
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
