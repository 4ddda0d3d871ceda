"""The communes offered by the list pages' filter, in French order (#16: sorted in Python on
SQLite, by the database's collation on PostgreSQL)."""

from __future__ import annotations

from maillage.crm import lookups
from maillage.tables import Commune

NAMES = ["Zèbre", "Œuilly", "Eaux", "école-sur-Mer", "Oeuf", "Ébène", "Mouazé", "Mézière", "Abbé"]


async def test_communes_come_in_french_order(database):
    await Commune.insert(
        *[Commune(insee_code=f"35{n:03}", name=name) for n, name in enumerate(NAMES, start=1)]
    )
    rows = await lookups.communes()
    assert [row["name"] for row in rows] == [
        "Abbé", "Eaux", "Ébène", "école-sur-Mer", "Mézière", "Mouazé", "Oeuf", "Œuilly", "Zèbre",
    ]  # fmt: skip
    assert {row["id"] for row in rows} == {row["id"] for row in await Commune.select(Commune.id)}
