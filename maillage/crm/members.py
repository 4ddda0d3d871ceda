"""Several people into a body at once (a search, an organisation, a function such as « élus
enfance-jeunesse »), and a titulaire paired with their suppléant: the body's page and any
other door go through here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import msgspec

from maillage.actor import Actor
from maillage.crm import lookups
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import MembershipIn
from maillage.db import write_transaction
from maillage.errors import InvalidData, ServiceError
from maillage.messages import translate_message
from maillage.tables import Contact, Membership

MEMBERSHIPS = SERVICES["memberships"]
MAX_AT_ONCE = 200  # a body of a département is large, not larger


@dataclass
class Enrolment:
    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # name, reason


async def add_members(actor: Actor, group_id: int, contact_ids: list[int], role: str) -> Enrolment:
    """Each person joins with ``role``, representing their primary organisation; those who
    already sit on the body are named, not added twice. One transaction: all or none."""
    await SERVICES["groups"].get(group_id)
    wanted = list(dict.fromkeys(contact_ids))[:MAX_AT_ONCE]
    names = await _names(wanted)
    sitting = await _current_members(group_id, wanted)
    report = Enrolment()
    written: list[dict[str, Any]] = []
    try:
        async with write_transaction():
            for contact_id in wanted:
                name = names.get(contact_id, f"n° {contact_id}")
                if contact_id in sitting:
                    report.already.append(name)
                    continue
                written.append(await _membership(group_id, contact_id, role))
                await MEMBERSHIPS.create(actor, _checked(written[-1]))
                report.added.append(name)
    except Exception as error:
        missing = await _gone(error, written)
        if missing is None:
            raise
        raise missing from error
    return report


async def _membership(group_id: int, contact_id: int, role: str) -> dict[str, Any]:
    """The person in the body with ``role``, representing their primary organisation."""
    organisations = await lookups.contact_organisations(contact_id)
    return {
        "contact": contact_id,
        "working_group": group_id,
        "role": role,
        "organisation": organisations[0]["id"] if organisations else None,
    }


async def _gone(error: Exception, written: list[dict[str, Any]]) -> InvalidData | None:
    """The error to answer: a person, body or organisation deleted while the enrolment was
    written (a merge, #20) failed it inside its transaction, where nothing can be read again;
    read once it is over, the record gone is named, « Contact n° 12 introuvable. », as for a
    single membership. None when the error is another."""
    for membership in reversed(written):  # the last one written failed
        missing = await MEMBERSHIPS.references_gone(error, membership, {})
        if missing is not None:
            return missing
    return None


def _checked(values: dict[str, Any]) -> MembershipIn:
    """Checked as the API checks it: a role that is not one of the body's is refused."""
    try:
        return msgspec.convert(values, MembershipIn)
    except msgspec.ValidationError as error:
        problem = translate_message(str(error), None)
        raise InvalidData.one(problem["field"], problem["message"]) from error


async def pair_substitute(
    actor: Actor, group_id: int, titulaire_id: int, substitute_id: int | None
) -> dict[str, Any]:
    """The suppléant who stands in for this titulaire (or none): the rules check both sit on
    this body with those roles."""
    membership = await MEMBERSHIPS.get(titulaire_id)
    if membership["working_group"] != group_id:
        raise ServiceError("Ce membre ne siège pas dans cette instance.")
    update = MEMBERSHIPS.spec.update(version=membership["version"], substitute=substitute_id)
    return await MEMBERSHIPS.update(actor, titulaire_id, update)


async def _names(contact_ids: list[int]) -> dict[int, str]:
    rows = await Contact.select(Contact.id, Contact.first_name, Contact.last_name).where(
        Contact.id.is_in(contact_ids or [0])
    )
    return {row["id"]: f"{row['first_name']} {row['last_name']}" for row in rows}


async def sitting(group_id: int, contact_ids: list[int]) -> set[int]:
    """Those of ``contact_ids`` who sit on the body today."""
    return await _current_members(group_id, contact_ids)


async def _current_members(group_id: int, contact_ids: list[int]) -> set[int]:
    today = dt.date.today()
    rows = await Membership.select(Membership.contact).where(
        (Membership.working_group == group_id)
        & Membership.contact.is_in(contact_ids or [0])
        & (Membership.end_date.is_null() | (Membership.end_date >= today))
    )
    return {row["contact"] for row in rows}
