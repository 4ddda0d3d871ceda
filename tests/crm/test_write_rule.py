"""The write rule is the generic service's public API (#17): every update outside
``ResourceService.update`` moves the version on and stamps ``updated_at``, and a write over a
stale version writes nothing."""

from __future__ import annotations

import datetime as dt

from maillage.crm.registry import SERVICES
from maillage.crm.resources import versioned
from maillage.tables import Organisation


async def _organisation() -> dict:
    row = Organisation(name="Centre social des Tilleuls", kind="association", search="")
    await Organisation.insert(row).run()
    return await Organisation.select().where(Organisation.id == row.id).first()


async def test_versioned_moves_the_version_on_and_stamps_the_time(database):
    before = await _organisation()
    moment = dt.datetime(2026, 12, 8, 13, 0, tzinfo=dt.UTC)
    await (
        Organisation.update({Organisation.notes: "vu", **versioned(Organisation, moment)})
        .where(Organisation.id == before["id"])
        .run()
    )
    after = await Organisation.select().where(Organisation.id == before["id"]).first()
    assert after["version"] == before["version"] + 1
    assert after["updated_at"].replace(tzinfo=dt.UTC) == moment.replace(tzinfo=dt.UTC)


async def test_a_write_over_a_stale_version_writes_nothing(database):
    service = SERVICES["organisations"]
    row = await _organisation()
    stale = row["version"]
    assert await service.write_versioned(row["id"], stale, {"name": "Tilleuls"}, {**row})
    assert not await service.write_versioned(row["id"], stale, {"name": "Autre"}, {**row})
    after = await service.get(row["id"])
    assert (after["name"], after["version"]) == ("Tilleuls", stale + 1)
    assert after["name"] != "Autre"
