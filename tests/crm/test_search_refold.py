"""Rows stored before #21 hold « œ » and « ’ » in their search column; the migration spells
them out as the search now folds what is typed."""

from __future__ import annotations

import importlib

from maillage.crm.text import search_text
from maillage.db import current_engine
from maillage.tables import Contact

MIGRATION = importlib.import_module("maillage.migrations.maillage_2026_12_05t12_30_00_000000")


async def test_the_migration_refolds_old_search_values(database):
    await Contact.insert(
        Contact(first_name="Jeanne", last_name="Lœuillet", search="jeanne lœuillet"),
        Contact(first_name="Rémi", last_name="L’Hôte", search="remi l’hote"),
        Contact(first_name="Paul", last_name="Durand", search="paul durand"),
    )
    await current_engine().run_ddl(MIGRATION._refold_sql("contact"))
    rows = await Contact.select(Contact.last_name, Contact.search).order_by(Contact.id)
    assert [row["search"] for row in rows] == [
        search_text("Jeanne", "Lœuillet"),
        search_text("Rémi", "L’Hôte"),
        "paul durand",
    ]
    assert rows[0]["search"] == "jeanne loeuillet" and rows[1]["search"] == "remi l'hote"
