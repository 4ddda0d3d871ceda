"""Municipal elections turnover: end a commune's elected mandates and list the seats to fill.

After each municipal election (the last one: March 2026) the élus of a commune change. One
operation ends, at the given date, every elected mandate held in the commune's own
organisations (mairie, CCAS…: kind ``collectivite`` in that commune) and the memberships those
élus held on behalf of them. History stays: rows are ended, never deleted. New mandates are then
added as usual.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from maillage.actor import Actor
from maillage.crm import audit
from maillage.crm.registry import SERVICES, scoped
from maillage.crm.resources import versioned
from maillage.db import write_transaction
from maillage.errors import InvalidData
from maillage.tables import Affiliation, Membership, Organisation
from maillage.vocabulary import COLLECTIVITY


def _still_running(table: Any, day: dt.date) -> Any:
    return table.end_date.is_null() | (table.end_date > day)


async def _commune_organisations(commune_id: int) -> list[int]:
    rows = (
        # A scoped user ends the mandates of their territories' town halls only (#20).
        await scoped(Organisation.select(Organisation.id), "organisations")
        .where((Organisation.commune == commune_id) & (Organisation.kind == COLLECTIVITY))
        .run()
    )
    return [row["id"] for row in rows]


async def plan_turnover(commune_id: int, day: dt.date) -> dict[str, Any]:
    """What ``apply_turnover`` would end, without writing anything."""
    commune = await SERVICES["communes"].get(commune_id)
    organisations = await _commune_organisations(commune_id)
    if not organisations:
        return {"commune": commune, "date": day, "mandates": [], "seats_to_fill": []}
    mandates = (
        await Affiliation.select(
            Affiliation.id,
            Affiliation.contact,
            Affiliation.contact.first_name,
            Affiliation.contact.last_name,
            Affiliation.organisation,
            Affiliation.organisation.name,
            Affiliation.function,
            Affiliation.start_date,
        )
        .where(
            Affiliation.organisation.is_in(organisations)
            & (Affiliation.elected_mandate == True)  # noqa: E712
            & (Affiliation.start_date.is_null() | (Affiliation.start_date < day))
            & _still_running(Affiliation, day)
        )
        .run()
    )
    elected = sorted({m["contact"] for m in mandates})
    seats = []
    if elected:
        seats = (
            await Membership.select(
                Membership.id,
                Membership.working_group,
                Membership.working_group.name,
                Membership.role,
                Membership.contact,
                Membership.contact.first_name,
                Membership.contact.last_name,
                Membership.organisation,
                Membership.organisation.name,
            )
            .where(
                Membership.contact.is_in(elected)
                & Membership.organisation.is_in(organisations)
                & (Membership.start_date < day)
                & _still_running(Membership, day)
            )
            .order_by(Membership.working_group.name)
            .run()
        )
    return {"commune": commune, "date": day, "mandates": mandates, "seats_to_fill": seats}


async def apply_turnover(actor: Actor, commune_id: int, day: dt.date) -> dict[str, Any]:
    if day > dt.date.today() + dt.timedelta(days=366):
        raise InvalidData.one("date", "Date d'élection trop lointaine : vérifiez l'année.")
    plan = await plan_turnover(commune_id, day)
    mandate_ids = [m["id"] for m in plan["mandates"]]
    seat_ids = [s["id"] for s in plan["seats_to_fill"]]
    async with write_transaction():
        for table, ids in ((Affiliation, mandate_ids), (Membership, seat_ids)):
            if ids:
                await (
                    table.update({table.end_date: day, **versioned(table)})
                    .where(table.id.is_in(ids))
                    .run()
                )
        await audit.record(
            actor,
            "elections",
            "commune",
            commune_id,
            {"date": day, "ended_mandates": mandate_ids, "ended_memberships": seat_ids},
        )
    return plan
