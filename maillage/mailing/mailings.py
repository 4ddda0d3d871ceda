"""Mass mailings: one message to a filtered set of partners, with merge fields.

Filters combine (all must hold): an axis of the CTG (the contact's own axes or those of an
organisation they belong to), a kind of organisation, a body (its current members), a commune
(the contact's, or their organisation's). Contacts who opted out are never sent a mailing;
contacts without a usable address are listed, never silently dropped.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from maillage.actor import Actor
from maillage.crm import audit, reach
from maillage.crm.registry import scoped
from maillage.crm.resources import versioned
from maillage.crm.text import find_control_character
from maillage.db import french_order, read_transaction, write_transaction
from maillage.errors import Conflict, FieldError, InvalidData, NotFound
from maillage.mailing import merge, messages, outbox, tokens
from maillage.mailing.addresses import (
    InvalidAddress,
    Mailbox,
    check_not_bounced,
    mailbox,
    one_line,
    sender_mailbox,
)
from maillage.mailing.invitations import person_name
from maillage.mailing.messages import Envelope
from maillage.offloop import in_process
from maillage.settings import Settings
from maillage.tables import (
    Affiliation,
    Contact,
    ContactAxis,
    Membership,
    OrganisationAxis,
    WorkingGroup,
)

MERGE_FIELDS = {
    "civilite": "Mme ou M.",
    "prenom": "prénom",
    "nom": "nom de famille",
    "organisation": "organisation principale",
    "fonction": "fonction dans cette organisation",
}
MAX_SUBJECT = 300


@dataclass(frozen=True)
class Filters:
    axis: int | None = None
    kind: str | None = None
    group: int | None = None
    commune: int | None = None


def _current(row: dict[str, Any], today: dt.date) -> bool:
    return row.get("end_date") is None or row["end_date"] >= today


async def _matching_contacts(filters: Filters) -> set[int] | None:
    """Contact ids allowed by the filters; None when no filter is set (everyone)."""
    today = dt.date.today()
    sets: list[set[int]] = []
    affiliations = await Affiliation.select(
        Affiliation.contact,
        Affiliation.organisation,
        Affiliation.end_date,
        Affiliation.organisation.kind.as_alias("kind"),
        Affiliation.organisation.commune.as_alias("commune"),
    )
    affiliations = [row for row in affiliations if _current(row, today)]
    if filters.axis is not None:
        direct = {
            r["contact"]
            for r in await ContactAxis.select(ContactAxis.contact).where(
                ContactAxis.axis == filters.axis
            )
        }
        organisations = {
            r["organisation"]
            for r in await OrganisationAxis.select(OrganisationAxis.organisation).where(
                OrganisationAxis.axis == filters.axis
            )
        }
        sets.append(
            direct | {r["contact"] for r in affiliations if r["organisation"] in organisations}
        )
    if filters.kind is not None:
        sets.append({r["contact"] for r in affiliations if r["kind"] == filters.kind})
    if filters.group is not None:
        # A body of another territory does not exist for a user limited to theirs (#20).
        visible = await scoped(WorkingGroup.select(WorkingGroup.id), "groups").where(
            WorkingGroup.id == filters.group
        )
        if not visible:
            raise NotFound("Instance", filters.group)
        members = await Membership.select(Membership.contact, Membership.end_date).where(
            Membership.working_group == filters.group
        )
        sets.append({r["contact"] for r in members if _current(r, today)})
    if filters.commune is not None:
        own = {
            r["id"]
            for r in await Contact.select(Contact.id).where(Contact.commune == filters.commune)
        }
        sets.append(own | {r["contact"] for r in affiliations if r["commune"] == filters.commune})
    territories = reach.writable_territories()  # a mailing is a coordinator's work
    if territories is not None:
        sets.append(await _of_territories(territories))
    if not sets:
        return None
    return set.intersection(*sets)


async def _of_territories(territories: list[int]) -> set[int]:
    """The people a user limited to ``territories`` may write to (#20): those of their
    communes, those working in an organisation of their communes, the members of their bodies
    (shared institutions' people included when they sit there)."""
    communes = reach.communes_of(territories)
    groups = sorted(await reach.group_ids(territories))
    own = await Contact.select(Contact.id).where(Contact.commune.is_in(communes))
    working = await Affiliation.select(Affiliation.contact).where(
        Affiliation.organisation.commune.is_in(communes)
    )
    members = await Membership.select(Membership.contact).where(
        Membership.working_group.is_in(groups or [0])
    )
    return (
        {r["id"] for r in own} | {r["contact"] for r in working} | {r["contact"] for r in members}
    )


async def audience(filters: Filters) -> dict[str, list[dict[str, Any]]]:
    async with read_transaction():
        allowed = await _matching_contacts(filters)
        query = Contact.select(
            Contact.id,
            Contact.civility,
            Contact.first_name,
            Contact.last_name,
            Contact.email,
            Contact.mailing_opt_out,
            Contact.link_nonce,
            Contact.email_bounced_at,
            Contact.email_bounce_reason,
        ).where(Contact.archived == False)  # noqa: E712 - SQL expression
        if allowed is not None:
            query = query.where(Contact.id.is_in(list(allowed) or [0]))
        contacts = await query.order_by(french_order(Contact.last_name)).order_by(
            french_order(Contact.first_name)
        )
        primary = await _primary_affiliations([c["id"] for c in contacts])
    result: dict[str, list[dict[str, Any]]] = {
        "recipients": [],
        "without_email": [],
        "invalid": [],
        "opted_out": [],
    }
    for contact in contacts:
        entry = {"contact": contact["id"], "name": person_name(contact), "email": contact["email"]}
        if contact["mailing_opt_out"]:
            result["opted_out"].append(entry)
            continue
        if not contact["email"]:
            result["without_email"].append(entry)
            continue
        try:
            check_not_bounced(contact)
            entry["email"] = mailbox(contact["email"]).address
        except InvalidAddress as error:
            result["invalid"].append({**entry, "reason": str(error)})
            continue
        organisation, function = primary.get(contact["id"], ("", ""))
        entry["link_nonce"] = contact["link_nonce"]
        entry["fields"] = {
            "civilite": contact["civility"],
            "prenom": contact["first_name"],
            "nom": contact["last_name"],
            "organisation": organisation,
            "fonction": function,
        }
        result["recipients"].append(entry)
    return result


async def _primary_affiliations(contact_ids: list[int]) -> dict[int, tuple[str, str]]:
    if not contact_ids:
        return {}
    today = dt.date.today()
    rows = (
        await Affiliation.select(
            Affiliation.contact,
            Affiliation.function,
            Affiliation.is_primary,
            Affiliation.end_date,
            Affiliation.organisation.name.as_alias("organisation"),
        )
        .where(Affiliation.contact.is_in(contact_ids))
        .order_by(Affiliation.id)
    )
    best: dict[int, tuple[bool, str, str]] = {}
    for row in rows:
        if not _current(row, today):
            continue
        known = best.get(row["contact"])
        if known is None or (row["is_primary"] and not known[0]):
            best[row["contact"]] = (row["is_primary"], row["organisation"], row["function"])
    return {contact: (name, function) for contact, (_, name, function) in best.items()}


def check_template(template: str, field_name: str) -> None:
    """Refuse, in French and saying where, a template that is not plain text with merge fields
    (``merge``), or that names a field that does not exist."""
    merge.parse(template, field_name, MERGE_FIELDS)


def render(template: str, fields: dict[str, str], field_name: str) -> str:
    return merge.render(merge.parse(template, field_name, MERGE_FIELDS), fields)


def _check_templates(subject: str, body: str) -> None:
    errors = []
    if not subject.strip():
        errors.append(FieldError("subject", "Objet obligatoire."))
    if not body.strip():
        errors.append(FieldError("body", "Texte du message obligatoire."))
    if len(subject) > MAX_SUBJECT:
        errors.append(FieldError("subject", f"Objet trop long : {MAX_SUBJECT} caractères au plus."))
    # PostgreSQL refuses NUL in text and a header cannot hold a line break: refused on both
    # engines alike, with the position, rather than a server error on one of them.
    for name, text, multiline in (("subject", subject, False), ("body", body, True)):
        position = find_control_character(text, multiline)
        if position is not None:
            errors.append(
                FieldError(name, f"Caractère de contrôle interdit (position {position + 1}).")
            )
    if "=?" in subject:
        errors.append(
            FieldError(
                "subject",
                "Objet refusé : la suite « =? » ouvre un texte codé d'en-tête de courriel ; "
                "retirez-la ou séparez ses deux signes.",
            )
        )
    if errors:
        raise InvalidData(errors)
    check_template(subject, "subject")
    check_template(body, "body")


def unsubscribe_url(settings: Settings, contact_id: int, nonce: str) -> str:
    token = tokens.unsubscribe_token(settings.secret_key, contact_id, nonce)
    return f"{settings.base_url}/u/{token}"


def _plain_text(message: EmailMessage) -> str:
    text = message.get_body(("plain",))
    assert text is not None  # a mailing always has its text part
    content: str = text.get_content()
    return content


def _build(
    settings: Settings, entry: dict[str, Any], subject: str, body: str, envelope: Envelope
) -> EmailMessage:
    return messages.mailing(
        render(subject, entry["fields"], "subject"),
        render(body, entry["fields"], "body"),
        mailbox(entry["email"], entry["name"]),
        envelope,
        unsubscribe_url(settings, entry["contact"], entry["link_nonce"]),
    )


def _summary(people: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "recipients": len(people["recipients"]),
        "without_email": people["without_email"],
        "invalid": people["invalid"],
        "opted_out": people["opted_out"],
    }


class AudienceChanged(Conflict):
    """The person confirmed a number of recipients that no longer holds (an opt-out, a new
    member since the preview): nothing was queued; ``preview`` is the audience as it is now."""

    def __init__(self, preview: dict[str, Any]) -> None:
        super().__init__(
            "La liste des destinataires a changé depuis l'aperçu "
            f"({preview['recipients']} aujourd'hui) : vérifiez-la avant de confirmer l'envoi."
        )
        self.preview = preview


def _preview(
    settings: Settings, people: dict[str, list[dict[str, Any]]], subject: str, body: str
) -> dict[str, Any]:
    sample = None
    if people["recipients"]:
        first = people["recipients"][0]
        message = _build(
            settings, first, subject, body, Envelope(sender_mailbox(settings.mail_from))
        )
        sample = {
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "text": _plain_text(message),
        }
    return {
        **_summary(people),
        "addresses": [p["email"] for p in people["recipients"]],
        "sample": sample,
    }


async def preview(settings: Settings, filters: Filters, subject: str, body: str) -> dict[str, Any]:
    """The audience and the first recipient's message, computed in a heavy-work process
    (``offloop.in_process``): checking every address of a département's 14,000 contacts held
    the loop for seconds (#16)."""
    _check_templates(subject, body)
    result: dict[str, Any] = await in_process(preview_job, settings, filters, subject, body)
    return result


async def preview_job(
    settings: Settings, filters: Filters, subject: str, body: str
) -> dict[str, Any]:
    return _preview(settings, await audience(filters), subject, body)


async def send(
    actor: Actor,
    settings: Settings,
    filters: Filters,
    subject: str,
    body: str,
    expected_count: int | None = None,
) -> dict[str, Any]:
    """Queue one message per recipient. With ``expected_count`` (the number the person saw
    and confirmed), a different audience raises ``AudienceChanged`` from the same pass that
    would have sent, so the check costs no second look-up.

    The whole send runs in a heavy-work process (``send_job``): the audience, the messages and
    their writing to the outbox. This process gets the summary back, never the messages: a
    département's 11,625 messages (39 MB) coming back to be unpickled and written from here
    held its loop up to 1.8 s (#16)."""
    _check_templates(subject, body)
    result: dict[str, Any] = await in_process(
        send_job, actor, settings, filters, subject, body, expected_count
    )
    # Queued by another process: this process's sender was not woken by the commit.
    outbox.nudge()
    return result


async def send_job(
    actor: Actor,
    settings: Settings,
    filters: Filters,
    subject: str,
    body: str,
    expected_count: int | None,
) -> dict[str, Any]:
    """The audience, every recipient's message rendered, serialised and read back, and queued
    in batches (in a heavy-work process: a département's mailing is seconds of CPU, #16);
    raises ``AudienceChanged`` or ``InvalidData`` as ``send`` says."""
    people = await audience(filters)
    if expected_count is not None and len(people["recipients"]) != expected_count:
        raise AudienceChanged(_preview(settings, people, subject, body))
    if not people["recipients"]:
        raise InvalidData.one("filters", "Aucun destinataire joignable avec ces filtres.")

    async def record(ids: list[int]) -> None:
        await audit.record(
            actor,
            "send",
            "mailing",
            None,
            {"subject": subject, "queued": len(ids), "filters": filters.__dict__},
        )

    # In batches, the write turn released between two (#16): two sends to a département's
    # 12,000 partners at once kept each other (and every other writer) waiting past the turn's
    # 30 s, and one ended in « database is locked ». The messages are built batch by batch.
    ids = await outbox.enqueue_in_batches(
        _messages(settings, people["recipients"], subject, body), record
    )
    return {**_summary(people), "queued": len(ids)}


def _messages(
    settings: Settings, recipients: list[dict[str, Any]], subject: str, body: str
) -> Iterator[outbox.Outgoing]:
    """Each recipient's message, built when the outbox asks for it."""
    builder = messages.MailingMessages(Envelope(sender_mailbox(settings.mail_from)))
    subject_template = merge.parse(subject, "subject", MERGE_FIELDS)
    body_template = merge.parse(body, "body", MERGE_FIELDS)
    for entry in recipients:
        # Read back here, outside the write transaction the batch is written in.
        yield outbox.checked(
            outbox.Outgoing(
                builder.build(
                    merge.render(subject_template, entry["fields"]),
                    merge.render(body_template, entry["fields"]),
                    # The address was checked with the audience: not once more per message.
                    Mailbox(entry["email"], one_line(entry["name"])),
                    unsubscribe_url(settings, entry["contact"], entry["link_nonce"]),
                ),
                entry["email"],
                "envoi_groupe",
                entry["contact"],
            )
        )


async def unsubscribe(settings: Settings, token: str, actor: Actor) -> str | None:
    """Opt the contact out of mass mailings; returns their name, or None for a bad link."""
    contact = await contact_for_unsubscribe(settings, token)
    if contact is None:
        return None
    contact_id = contact["id"]
    if not contact["mailing_opt_out"]:
        async with write_transaction():
            await (
                Contact.update({Contact.mailing_opt_out: True, **versioned(Contact)})
                .where(Contact.id == contact_id)
                .run()
            )
            await audit.record(
                actor, "update", "contact", contact_id, {"mailing_opt_out": [False, True]}
            )
    return person_name(contact)


async def contact_for_unsubscribe(settings: Settings, token: str) -> dict[str, Any] | None:
    """The contact an unsubscribe link names, or None: malformed, tampered, older than
    ``tokens.UNSUBSCRIBE_DAYS``, or revoked (an erasure revokes them too)."""
    contact_id = tokens.unsubscribe_contact(token)
    if contact_id is None:
        return None
    contact = (
        await Contact.select(
            Contact.id,
            Contact.first_name,
            Contact.last_name,
            Contact.mailing_opt_out,
            Contact.link_nonce,
        )
        .where(Contact.id == contact_id)
        .first()
    )
    if contact is None or not tokens.verify_unsubscribe(
        settings.secret_key, token, contact["link_nonce"]
    ):
        return None
    return contact


async def revoke_unsubscribe_links(actor: Actor, contact_id: int) -> None:
    """Every unsubscribe link already sent to the person stops working (a forwarded mailing,
    a link shared by mistake); the next mailing carries a new one."""
    async with write_transaction():
        if not await Contact.exists().where(Contact.id == contact_id):
            raise NotFound("Contact", contact_id)
        await Contact.update({Contact.link_nonce: secrets.token_urlsafe(16)}).where(
            Contact.id == contact_id
        )
        await audit.record(actor, "revoke", "unsubscribe_links", contact_id, {})
