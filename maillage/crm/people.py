"""A person added where the coordinator meets them: from an organisation's page, the contact
and their affiliation (function, primary or not) written together or not at all."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from maillage.actor import Actor
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import AffiliationIn, ContactIn
from maillage.db import write_transaction
from maillage.errors import InvalidData
from maillage.messages import translate_message


class Affiliated(msgspec.Struct, kw_only=True):
    """What the person does at the organisation."""

    function: Annotated[str, msgspec.Meta(max_length=200)] = ""
    elected_mandate: bool = False
    is_primary: bool = True


async def add_contact_to_organisation(
    actor: Actor, organisation_id: int, person: ContactIn, role: Affiliated
) -> dict[str, Any]:
    """Create the contact and attach them to the organisation in one transaction: a refused
    affiliation (unknown organisation, second primary…) leaves no contact behind."""
    await SERVICES["organisations"].get(organisation_id)
    try:
        async with write_transaction():
            contact = await SERVICES["contacts"].create(actor, person)
            await SERVICES["affiliations"].create(
                actor, _affiliation(contact["id"], organisation_id, role)
            )
    except Exception:
        # Merged away while the affiliation waited for it (#20): « Organisation n° …
        # introuvable. », the answer of a moment later, read once the transaction is over.
        await SERVICES["organisations"].get(organisation_id)
        raise
    return contact


def _affiliation(contact_id: int, organisation_id: int, role: Affiliated) -> AffiliationIn:
    """Checked as the API checks it (lengths, types): a struct built by hand is not."""
    values = {"contact": contact_id, "organisation": organisation_id, **msgspec.to_builtins(role)}
    try:
        return msgspec.convert(values, AffiliationIn)
    except msgspec.ValidationError as error:
        problem = translate_message(str(error), None)
        raise InvalidData.one(problem["field"], problem["message"]) from error
