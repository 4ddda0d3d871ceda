"""The migration that rewrites the mandates' register keys (2026-12-07T07:00, #18) updates a
few hundred rows a statement, not one: its result on a few thousand mandates is exactly what
``rekey.new_keys`` asks for, every row, on both engines."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib

import pytest

from maillage.opendata import registers, rekey
from maillage.tables import Affiliation, Contact, Organisation

SECRET = "clé de l'instance de test, assez longue"
MIGRATION = importlib.import_module("maillage.migrations.maillage_2026_12_07t07_00_00_000000")


def _old(first: str, last: str) -> str:
    return hashlib.sha256(f"{last.upper()}|{first}".encode()).hexdigest()[:12]


@pytest.mark.slow
async def test_thousands_of_mandates_are_rekeyed_in_batches_as_row_by_row(database):
    assert MIGRATION.BATCH < 1000  # several statements below
    town_hall = Organisation(name="Mairie de Batchville", kind="collectivite", search="x")
    await town_hall.save()
    people = [
        Contact(first_name=f"Prénom{n}", last_name=f"Nom{n}", search="x") for n in range(1100)
    ]
    await Contact.insert(*people)
    contacts = await Contact.select(Contact.id, Contact.first_name, Contact.last_name).order_by(
        Contact.id
    )
    mandates = []
    for number, contact in enumerate(contacts):
        digest = _old(contact["first_name"], contact["last_name"])
        commune = f"{73000 + number % 300:05d}"
        keys = [f"cm:{commune}:MAI:{digest}", f"epci:247300015:CC:{digest}"]
        if number % 10 == 0:
            # an adjointe become maire: two old keys that meet in one new key
            keys.append(f"cm:{commune}:ADJ:{digest}")
        if number % 25 == 0:
            keys.append(f"an:73-{number % 4 + 1}:{digest}")
        for key in keys:
            ended = dt.date(2026, 3, 15) if ":ADJ:" in key else None
            mandates.append(
                Affiliation(
                    contact=contact["id"],
                    organisation=town_hall.id,
                    elected_mandate=True,
                    source_ref=key,
                    end_date=ended,
                )
            )
    # already in the new form: left alone
    mandates += [
        Affiliation(
            contact=contacts[n]["id"], organisation=town_hall.id, source_ref=f"cm:74001:{n:016x}"
        )
        for n in range(40)
    ]
    for start in range(0, len(mandates), 500):
        await Affiliation.insert(*mandates[start : start + 500])
    rows = await Affiliation.select(
        Affiliation.id,
        Affiliation.source_ref,
        Affiliation.end_date,
        Affiliation.contact.first_name.as_alias("first_name"),
        Affiliation.contact.last_name.as_alias("last_name"),
    )
    assert len(rows) > 2000
    before = {row["id"]: row["source_ref"] for row in rows}
    wanted = rekey.new_keys(rows, registers.mandate_key(SECRET))
    assert len(wanted) == len(rows) - 40
    assert sum(1 for ref in wanted.values() if "~" in ref) == 110  # the ended adjointes

    assert await MIGRATION.rekey_mandates(SECRET) == len(wanted)

    after = {row["id"]: row["source_ref"] for row in await Affiliation.select()}
    assert after == {**before, **wanted}
