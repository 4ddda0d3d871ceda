"""A small territory built through the registry's services, shared by the exchange tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from maillage.actor import CLI
from maillage.crm.registry import SERVICES
from maillage.exchange.exports import start_export
from maillage.exchange.sources import ExportFilters

CAF_SIRET = "39825979600017"


async def make(resource: str, **values: Any) -> dict[str, Any]:
    service = SERVICES[resource]
    return await service.create(CLI, service.spec.input(**values))


@pytest.fixture
async def world(database) -> dict[str, Any]:
    territory = await make("territories", name="CC du Val d'Ardoise", ctg_end=dt.date(2027, 12, 31))
    ardoise = await make("communes", insee_code="35901", name="Ardoise", territory=territory["id"])
    caf = await make(
        "organisations", name="Caf d'Ille-et-Vilaine", kind="institution", siret=CAF_SIRET, axes=[1]
    )
    tilleuls = await make(
        "organisations",
        name="Centre social Les Tilleuls",
        kind="association",
        commune=ardoise["id"],
    )
    helene = await make(
        "contacts",
        civility="Mme",
        first_name="Hélène",
        last_name="Lefèvre",
        email="helene@caf.example",
        phone="02 99 12 34 56",
        commune=ardoise["id"],
        axes=[1, 2],
    )
    marc = await make(
        "contacts",
        civility="M.",
        first_name="Marc",
        last_name='=HYPERLINK("http://evil")',
        email="marc@tilleuls.example",
    )
    opted_out = await make("contacts", first_name="Paul", last_name="Refus", mailing_opt_out=True)
    await make(
        "affiliations",
        contact=helene["id"],
        organisation=caf["id"],
        function="Conseillère",
        is_primary=True,
    )
    await make(
        "affiliations", contact=marc["id"], organisation=tilleuls["id"], function="@directeur"
    )
    await make(
        "affiliations", contact=helene["id"], organisation=tilleuls["id"], function="Bénévole"
    )
    copil = await make("groups", name="COPIL CTG", kind="copil", axes=[1])
    await make(
        "memberships",
        contact=helene["id"],
        working_group=copil["id"],
        role="titulaire",
        start_date=dt.date(2026, 1, 1),
    )
    meeting = await make(
        "meetings",
        working_group=copil["id"],
        title="COPIL de lancement",
        starts_at=dt.datetime(2026, 12, 8, 13, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 12, 8, 15, 0, tzinfo=dt.UTC),
    )
    await make(
        "invitations",
        meeting=meeting["id"],
        contact=helene["id"],
        response="acceptee",
        attendance="present",
    )
    return {
        "territory": territory,
        "commune": ardoise,
        "caf": caf,
        "tilleuls": tilleuls,
        "helene": helene,
        "marc": marc,
        "opted_out": opted_out,
        "copil": copil,
        "meeting": meeting,
    }


async def export_bytes(entity: str, fmt: str, preset: str | None = None, **filters: Any) -> bytes:
    export = start_export(CLI, entity, fmt, ExportFilters(**filters), preset, "http://testserver")
    return b"".join([chunk async for chunk in export.chunks])
