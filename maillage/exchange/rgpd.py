"""Data-protection rights (RGPD): access, erasure, the article-14 notice, retention, register.

- ``subject_access``: everything held about one person, as JSON and as a readable French page;
- ``anonymise``: erasure that keeps aggregate attendance (the invitations stay, without a
  name) and scrubs the person from every place their data was copied to: audit entries, the
  outbox (rows and ``.eml`` files) and the exports kept in ``<data dir>/exports``;
- ``information_notice``: what a public body owes people whose data it did not collect from
  them (article 14), as a template for a mailing;
- ``retention_check``: contacts without activity since a delay after the end of the CTG;
- ``processing_register``: a draft entry of the *registre des traitements* (article 30).
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import re
import secrets
from pathlib import Path
from typing import Any

from piccolo.columns import Column
from piccolo.custom_types import Combinable

from maillage import french, templating
from maillage.actor import Actor
from maillage.crm import audit, caches
from maillage.crm.registry import SERVICES, scoped
from maillage.crm.resources import versioned
from maillage.crm.text import search_text
from maillage.db import compact, is_sqlite, read_transaction, write_transaction
from maillage.errors import NotFound
from maillage.exchange import erasure, labels
from maillage.exchange.cells import phone_for_people
from maillage.exchange.erasure import SCRUBBED
from maillage.exchange.reading import decode, detect_delimiter
from maillage.french import plural
from maillage.tables import (
    Affiliation,
    AuditEvent,
    Contact,
    ContactAxis,
    Decision,
    FeedToken,
    InboundItem,
    InboundMessage,
    Interaction,
    InteractionContact,
    Invitation,
    Membership,
    OutboxContent,
    OutboxMessage,
    Territory,
)
from maillage.vocabulary import DECISION_STATUSES

DEFAULT_RETENTION_MONTHS = 24


def json_ready(value: Any) -> Any:
    """``value`` with its dates and times as ISO text, through dicts and lists: the form the
    RGPD answers take, in the export file and in the API alike (#17)."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    return value


# ----- right of access ----------------------------------------------------------------------


async def subject_access(contact_id: int) -> dict[str, Any]:
    """Everything maillage holds about one person (right of access, article 15); a scoped
    user gets what their territories and the shared records hold (#20)."""
    async with read_transaction():
        person = await SERVICES["contacts"].get(contact_id)
        a = Affiliation
        affiliations = await scoped(a.select(a.organisation.name, a.function, a.elected_mandate, a.start_date, a.end_date, a.is_primary), "affiliations").where(a.contact == contact_id).run()  # fmt: skip
        m = Membership
        memberships = await scoped(m.select(m.working_group.name, m.role, m.organisation.name, m.start_date, m.end_date), "memberships").where(m.contact == contact_id).run()  # fmt: skip
        i = Invitation
        invitations = await scoped(i.select(i.meeting.title, i.meeting.starts_at, i.response, i.attendance, i.sent_at, i.answered_at), "invitations").where(i.contact == contact_id).run()  # fmt: skip
        links = InteractionContact.select(InteractionContact.interaction).where(
            InteractionContact.contact == contact_id
        )
        interactions = await scoped(Interaction.select(Interaction.occurred_on, Interaction.kind, Interaction.summary), "interactions").where(Interaction.id.is_in(links)).run()  # fmt: skip
        events = await AuditEvent.select(AuditEvent.occurred_at, AuditEvent.actor, AuditEvent.action, AuditEvent.changes).where((AuditEvent.entity == "contact") & (AuditEvent.entity_id == contact_id)).order_by(AuditEvent.id).output(load_json=True).run()  # fmt: skip
        messages = await OutboxMessage.select(OutboxMessage.created_at, OutboxMessage.subject, OutboxMessage.status).where(OutboxMessage.contact == contact_id).run()  # fmt: skip
        d = Decision
        decisions = await scoped(d.select(d.summary, d.working_group.name, d.due_on, d.status), "decisions").where(d.carrier_contact == contact_id).order_by(d.id).run()  # fmt: skip
    export: dict[str, Any] = json_ready(
        {
            "genere_le": dt.datetime.now(dt.UTC),
            "personne": person,
            "rattachements": affiliations,
            "participations": memberships,
            "invitations": invitations,
            "echanges": interactions,
            "decisions_portees": decisions,
            "messages": messages,
            "historique": events,
        }
    )
    return export


_ACCESS_PAGE = templating.environment().from_string(
    """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Vos données — {{ p.first_name }} {{ p.last_name }}</title>
<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em;text-align:left}</style></head>
<body>
<h1>Données personnelles vous concernant</h1>
<p>Document établi le {{ generated }} en réponse à votre demande d'accès (article 15 du RGPD).</p>
<h2>Identité et coordonnées</h2>
<table>
<tr><th>Civilité</th><td>{{ p.civility }}</td></tr>
<tr><th>Nom</th><td>{{ p.last_name }}</td></tr>
<tr><th>Prénom</th><td>{{ p.first_name }}</td></tr>
<tr><th>Adresse électronique</th><td>{{ p.email or "—" }}</td></tr>
<tr><th>Téléphone</th><td>{{ phone or "—" }}</td></tr>
<tr><th>Base légale</th><td>{{ basis }}</td></tr>
<tr><th>Opposition aux envois groupés</th><td>{{ "Oui" if p.mailing_opt_out else "Non" }}</td></tr>
<tr><th>Notes</th><td>{{ p.notes or "—" }}</td></tr>
</table>
<h2>Organisations</h2>
<ul>{% for a in d.rattachements %}<li>{{ a["organisation.name"] }}{% if a.function %} — {{ a.function }}{% endif %}</li>{% else %}<li>Aucune</li>{% endfor %}</ul>
<h2>Instances</h2>
<ul>{% for m in d.participations %}<li>{{ m["working_group.name"] }} ({{ roles.get(m.role, m.role) }}, depuis le {{ m.start_date }})</li>{% else %}<li>Aucune</li>{% endfor %}</ul>
<h2>Invitations aux réunions</h2>
<ul>{% for i in d.invitations %}<li>{{ i["meeting.title"] }} ({{ i["meeting.starts_at"][:10] }}) : {{ responses.get(i.response, i.response) }}{% if i.attendance %}, {{ attendance.get(i.attendance) }}{% endif %}</li>{% else %}<li>Aucune</li>{% endfor %}</ul>
<h2>Échanges notés</h2>
<ul>{% for e in d.echanges %}<li>{{ e.occurred_on }} ({{ e.kind }}) : {{ e.summary }}</li>{% else %}<li>Aucun</li>{% endfor %}</ul>
<h2>Décisions dont vous êtes porteur ou porteuse</h2>
<ul>{% for e in d.decisions_portees %}<li>{{ e.summary }} ({{ e["working_group.name"] }}{% if e.due_on %}, échéance {{ e.due_on }}{% endif %}) : {{ decision_statuses.get(e.status, e.status) }}</li>{% else %}<li>Aucune</li>{% endfor %}</ul>
<h2>Messages envoyés</h2>
<ul>{% for m in d.messages %}<li>{{ m.created_at[:10] }} : {{ m.subject }}</li>{% else %}<li>Aucun</li>{% endfor %}</ul>
<h2>Historique des modifications</h2>
<ul>{% for e in d.historique %}<li>{{ e.occurred_at[:16] }} — {{ e.action }} par {{ e.actor }}</li>{% endfor %}</ul>
<p>Vous pouvez demander la rectification ou l'effacement de ces données, ou vous opposer à leur
traitement, en répondant à ce document.</p>
</body></html>
"""
)


def subject_access_html(data: dict[str, Any]) -> str:
    person = data["personne"]
    return _ACCESS_PAGE.render(
        p=person,
        d=data,
        phone=phone_for_people(person.get("phone")),
        basis=labels.LEGAL_BASES.get(person["legal_basis"], person["legal_basis"]),
        generated=french.format_date(dt.date.today(), "short"),
        roles=labels.ROLES,
        responses=labels.RESPONSES,
        attendance=labels.ATTENDANCE,
        decision_statuses=DECISION_STATUSES,
    )


# ----- right to erasure ---------------------------------------------------------------------


async def anonymise(actor: Actor, contact_id: int, data_dir: Path) -> dict[str, Any]:
    """Erase a person (article 17): returns how many copies were scrubbed, by place, and the
    backups that still hold them (``sauvegardes``: file, date, expiry)."""
    started = dt.datetime.now(dt.UTC)
    async with write_transaction():
        if not await Contact.exists().where(Contact.id == contact_id):
            raise NotFound("Contact", contact_id)
        person = await erasure.Person.gather(contact_id)
        who = erasure.Identifiers(person)
        counts: dict[str, Any] = {
            "journal": await erasure.scrub_audit(who),
            "messages": await _scrub_outbox(person, who),
        }
        # Before the scrub of every table, which would blank the address the items are found by.
        await _erase_items(person)
        tables = await erasure.scrub_tables(who)
        counts["echanges"] = tables.get(Interaction._meta.tablename, 0)
        counts["tables"] = sum(tables.values())
        await _erase_contact(contact_id, person)
        counts["liens_agenda"] = await _revoke_feeds(person)
        await audit.record(
            actor, "anonymise", "contact", contact_id, {"effacement": "article 17 du RGPD"}
        )
    caches.forget_all()
    counts["fichiers_eml"] = await asyncio.to_thread(
        erasure.scrub_eml_files, data_dir / "outbox", who
    )
    counts["exports"] = await asyncio.to_thread(_scrub_exports, data_dir / "exports", who)
    await compact()
    held = erasure.backups_holding(data_dir / "sauvegardes", erasure.BACKUP_RETENTION_DAYS, started)
    counts["sauvegardes"] = [backup.as_dict() for backup in held]
    return counts


async def _erase_inbound(contact_id: int) -> None:
    """The mailbox reader's records of this person's messages (#19) keep only their outcome:
    sender, subject and reason name them. The Message-ID stays, so a message still in the
    mailbox is not acted on again."""
    row = await Contact.select(Contact.email).where(Contact.id == contact_id).first()
    email = ((row or {}).get("email") or "").strip().replace("%", "")
    condition: Any = InboundMessage.contact == contact_id
    if email:
        pattern = f"%{email}%"
        sender = (
            InboundMessage.sender.like(pattern)
            if is_sqlite()
            else InboundMessage.sender.ilike(pattern)
        )
        condition = condition | sender
    await (
        InboundMessage.update(
            {InboundMessage.sender: "", InboundMessage.subject: "", InboundMessage.reason: ""}
        )
        .where(condition)
        .run()
    )


async def _erase_items(person: erasure.Person) -> None:
    """The messages to review and counter-proposals this person sent (#19): their address,
    name and words go; what was decided stays."""
    emails = {email.strip().lower() for email in person.emails}
    if not emails:
        return
    items = [
        row["id"]
        for row in await InboundItem.select(InboundItem.id, InboundItem.sender)
        if row["sender"].strip().lower() in emails
    ]
    if items:
        await (
            InboundItem.update(
                {
                    InboundItem.sender: "",
                    InboundItem.sender_name: "",
                    InboundItem.comment: "",
                    InboundItem.reason: "",
                }
            )
            .where(InboundItem.id.is_in(items))
            .run()
        )


async def _erase_contact(contact_id: int, person: erasure.Person) -> None:
    await _erase_inbound(contact_id)
    erased: dict[Column | str, Any] = {
        Contact.civility: "",
        Contact.first_name: "Anonyme",
        Contact.last_name: f"n° {contact_id}",
        Contact.email: None,
        Contact.phone: None,
        Contact.commune: None,
        Contact.notes: "",
        Contact.consent_date: None,
        # The server's words about a failed address quote the address.
        Contact.email_bounced_at: None,
        Contact.email_bounce_reason: None,
        Contact.mailing_opt_out: True,
        Contact.archived: True,
        Contact.search: search_text("Anonyme", f"n° {contact_id}"),
        # Unsubscribe links signed with the old nonce stop working.
        Contact.link_nonce: secrets.token_urlsafe(16),
        **versioned(Contact),
    }
    await Contact.update(erased).where(Contact.id == contact_id).run()
    # The function (« directrice du centre social X ») identifies too; the link stays counted.
    await (
        Affiliation.update({Affiliation.function: ""})
        .where(Affiliation.contact == contact_id)
        .run()
    )
    # Attendance stays for the figures; the answer links stop working.
    for row in await Invitation.select(Invitation.id).where(Invitation.contact == contact_id).run():
        await (
            Invitation.update({Invitation.token_nonce: secrets.token_urlsafe(16)})
            .where(Invitation.id == row["id"])
            .run()
        )
    await ContactAxis.delete().where(ContactAxis.contact == contact_id).run()


async def _revoke_feeds(person: erasure.Person) -> int:
    """« Mes réunions » links of the person's cards stop answering: the card's, and those a
    merged duplicate had (the journal tells which, its id may now name someone else)."""
    created = await AuditEvent.select(AuditEvent.id, AuditEvent.entity_id, AuditEvent.changes).where((AuditEvent.entity == "feed_token") & (AuditEvent.action == "create")).output(load_json=True).run()  # fmt: skip
    ids = {
        event["entity_id"]
        for event in created
        if (event["changes"] or {}).get("scope") == "contact"
        and person.owns("contact", (event["changes"] or {}).get("target_id"), event["id"])
    }
    live: Any = (FeedToken.scope == "contact") & (FeedToken.target_id == person.contact_id)
    if ids:
        live = live | FeedToken.id.is_in(sorted(ids))
    live = live & FeedToken.revoked_at.is_null()
    rows = await FeedToken.select(FeedToken.id).where(live).run()
    if rows:
        await FeedToken.update({FeedToken.revoked_at: dt.datetime.now(dt.UTC)}).where(live).run()
    return len(rows)


async def _scrub_outbox(person: erasure.Person, who: erasure.Identifiers) -> int:
    """Messages addressed to the person keep only that they existed (a queued one is
    cancelled); any other message is read decoded and rewritten without them."""
    o = OutboxMessage
    # A merge moved the duplicate's messages to the card kept: its id may name someone else.
    where: Combinable = o.contact == person.contact_id
    if person.emails:
        where = where | o.recipient.is_in(sorted(person.emails))
    own = await o.select(o.id, o.subject, o.message_id, o.status).where(where).run()
    for row in own:
        subject = who.scrub(row["subject"])
        status = "annule" if row["status"] in ("en_attente", "echec") else row["status"]
        await o.update({o.recipient: SCRUBBED, o.subject: subject, o.status: status, o.last_error: ""}).where(o.id == row["id"]).run()  # fmt: skip
        content = erasure.tombstone(subject, row["message_id"])
        await OutboxContent.update({OutboxContent.content: content}).where(OutboxContent.message == row["id"]).run()  # fmt: skip
    return len(own) + await _scrub_other_messages({row["id"] for row in own}, who)


async def _scrub_other_messages(skip: set[int], who: erasure.Identifiers) -> int:
    count, last = 0, 0
    while True:
        page = await OutboxContent.select(OutboxContent.message, OutboxContent.content).where(OutboxContent.message > last).order_by(OutboxContent.message).limit(200).run()  # fmt: skip
        if not page:
            return count
        # Decoding MIME is CPU work: off the event loop, a page at a time.
        rows = [row for row in page if row["message"] not in skip]
        for message, text in await asyncio.to_thread(_scrubbed_messages, rows, who):
            await OutboxContent.update({OutboxContent.content: text}).where(OutboxContent.message == message).run()  # fmt: skip
            count += 1
        last = page[-1]["message"]


def _scrubbed_messages(
    rows: list[dict[str, Any]], who: erasure.Identifiers
) -> list[tuple[int, str]]:
    changed = []
    for row in rows:
        scrubbed = erasure.scrub_mime(row["content"].encode("ascii", "surrogateescape"), who)
        if scrubbed is not None:
            # Every part is re-encoded (quoted-printable, base64): the message stays 7-bit.
            changed.append((row["message"], scrubbed.decode("ascii")))
    return changed


def _scrub_text_files(folder: Path, who: erasure.Identifiers, globs: tuple[str, ...]) -> int:
    count = 0
    if not folder.is_dir():
        return 0
    for pattern in globs:
        for path in folder.rglob(pattern):
            text = path.read_bytes().decode("utf-8", errors="surrogateescape")
            if who.found_in(text):
                scrubbed = _scrub_vcards(text, who) if path.suffix == ".vcf" else who.scrub(text)
                path.write_bytes(scrubbed.encode("utf-8", errors="surrogateescape"))
                count += 1
    return count


_VCARD = re.compile(r"BEGIN:VCARD.*?END:VCARD", re.DOTALL | re.IGNORECASE)


def _scrub_vcards(text: str, who: erasure.Identifiers) -> str:
    """The person's own cards also lose their function (``TITLE``), which names them too."""

    def card(match: re.Match[str]) -> str:
        block = match[0]
        if not who.found_in(block):
            return block
        for function in who.person.functions:
            block = block.replace(_vcard_escaped(function), erasure.SCRUBBED)
        return who.scrub(block)

    return _VCARD.sub(card, text)


def _vcard_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")


def _scrub_exports(folder: Path, who: erasure.Identifiers) -> int:
    """Exports kept on the server: the person's rows lose every personal cell."""
    if not folder.is_dir():
        return 0
    count = _scrub_text_files(folder, who, ("*.vcf", "*.json", "*.html", "*.txt"))
    for path in folder.rglob("*.csv"):
        count += _scrub_csv(path, who)
    for path in folder.rglob("*.xlsx"):
        count += _scrub_xlsx(path, who)
    return count


def _scrub_csv(path: Path, who: erasure.Identifiers) -> int:
    data = path.read_bytes()
    text, encoding = decode(data, path.name)
    delimiter = detect_delimiter(text)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not any(who.row_is_theirs(row) for row in rows):
        return 0
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows(who.scrub_row(row) if who.row_is_theirs(row) else row for row in rows)
    path.write_bytes(out.getvalue().encode(encoding))
    return 1


def _scrub_xlsx(path: Path, who: erasure.Identifiers) -> int:
    from openpyxl import load_workbook

    book = load_workbook(path)
    changed = False
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            values = [cell.value for cell in row]
            if who.row_is_theirs([str(v) for v in values if v is not None]):
                for cell, new in zip(row, who.scrub_row(values), strict=True):
                    if new != cell.value:
                        cell.value = new
                        changed = True
    if changed:
        book.save(path)
    return int(changed)


# ----- article 14 notice, retention, register -----------------------------------------------


async def _territory() -> dict[str, Any] | None:
    return await Territory.select().order_by(Territory.ctg_end, ascending=False).first().run()


async def information_notice(mail_from: str) -> str:
    """The notice owed to people whose data was collected indirectly (RGPD article 14).

    ``{civilite}``, ``{prenom}`` and ``{nom}`` are left for the mailing to fill in."""
    territory = await _territory()
    name = territory["name"] if territory else "[nom de la collectivité]"
    return f"""Objet : information sur le traitement de vos coordonnées

Bonjour {{civilite}} {{prenom}} {{nom}},

{name} anime, avec la Caisse d'allocations familiales, la Convention territoriale globale
(CTG) du territoire. Pour réunir les partenaires de cette convention, nous avons enregistré
vos coordonnées professionnelles dans notre annuaire des partenaires.

Ces données ne nous ont pas été transmises par vous : elles proviennent de votre structure,
de documents publics ou d'échanges avec nos partenaires (article 14 du règlement général
sur la protection des données, RGPD).

- Responsable du traitement : {name}.
- Finalité : organiser la gouvernance de la CTG (invitations aux comités et commissions,
  comptes rendus, suivi du plan d'action) et la coopération entre partenaires.
- Base légale : l'exécution d'une mission d'intérêt public (article 6-1-e du RGPD).
- Données : civilité, nom, prénom, fonction, organisation, coordonnées professionnelles,
  instances auxquelles vous participez, réponses aux invitations et présence aux réunions.
- Destinataires : les agents chargés de la CTG et, pour le bilan et le suivi de la
  convention, la Caisse d'allocations familiales.
- Durée de conservation : la durée de la CTG, puis {DEFAULT_RETENTION_MONTHS} mois sans activité après
  son terme ; les chiffres de participation sont ensuite conservés sous forme anonyme.

Vous pouvez accéder à vos données, les faire rectifier ou effacer, demander la limitation
de leur traitement ou vous y opposer, et vous opposer à tout moment à nos envois groupés,
en écrivant à {mail_from}. Vous pouvez aussi adresser une réclamation à la CNIL
(www.cnil.fr).

Bien cordialement,
La coordination de la CTG — {name}
"""


async def retention_check(
    months: int = DEFAULT_RETENTION_MONTHS, today: dt.date | None = None
) -> dict[str, Any]:
    """Contacts with no activity for ``months``, once the CTG ended at least ``months`` ago."""
    today = today or dt.date.today()
    territory = await _territory()
    ctg_end = territory["ctg_end"] if territory else None
    result: dict[str, Any] = {"fin_ctg": ctg_end, "delai_mois": months, "contacts": []}
    if ctg_end is None:
        result["message"] = "Date de fin de CTG inconnue : renseignez-la sur le territoire."
        return result
    limit = _months_before(today, months)
    if ctg_end > limit:
        result["message"] = f"La CTG n'est pas terminée depuis {months} mois : rien à revoir."
        return result
    last = await _last_activity(today)
    people = scoped(Contact.select(Contact.id, Contact.first_name, Contact.last_name, Contact.updated_at), "contacts")  # fmt: skip
    for contact in await people.where(Contact.first_name != "Anonyme").run():
        seen = max(d for d in (contact["updated_at"].date(), last.get(contact["id"])) if d)
        if seen < limit:
            result["contacts"].append(
                {
                    "id": contact["id"],
                    "nom": f"{contact['first_name']} {contact['last_name']}",
                    "derniere_activite": seen,
                }
            )
    result["message"] = (
        f"{plural(len(result['contacts']), 'contact')} sans activité depuis le {french.short_date(limit)} : "
        "à anonymiser, ou à justifier."
    )
    return result


def _months_before(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, min(day.day, 28))


async def _last_activity(today: dt.date) -> dict[int, dt.date]:
    last: dict[int, dt.date] = {}

    def seen(contact: int, day: dt.date | None) -> None:
        if day and (contact not in last or day > last[contact]):
            last[contact] = day

    for row in await Invitation.select(Invitation.contact, Invitation.meeting.starts_at).run():
        seen(row["contact"], row["meeting.starts_at"].date())
    for row in await Membership.select(
        Membership.contact, Membership.start_date, Membership.end_date
    ).run():
        # A membership still running is activity today.
        seen(row["contact"], row["end_date"] or today)
    for row in await InteractionContact.select(
        InteractionContact.contact, InteractionContact.interaction.occurred_on
    ).run():
        seen(row["contact"], row["interaction.occurred_on"])
    return last


# The second processing: inhabitants registering to public meetings (#22), kept apart.
INHABITANTS_REGISTER_ENTRY = """# Registre des traitements — fiche « Inscriptions des habitants aux réunions publiques » (projet)

## Responsable du traitement
{name} (même responsable et même délégation à la protection des données que la fiche
précédente).

## Finalités
Organiser les réunions publiques et ateliers de concertation de la CTG : compter les places,
tenir une liste d'attente, confirmer l'inscription par courriel avec l'événement à ajouter à
son agenda, prévenir par courriel en cas d'annulation, rappeler la réunion deux jours avant
(seulement aux personnes inscrites avec le texte d'accord qui le prévoit), compter les
présents le jour même.

## Base légale
Consentement (article 6-1-a du RGPD) : la case d'accord du formulaire ; la version du texte
accepté et le moment de l'accord sont enregistrés avec chaque inscription.

## Catégories de personnes
Habitants qui s'inscrivent eux-mêmes sur la page publique « /participer/… » (sans compte).

## Catégories de données
Nom ou pseudonyme, commune de résidence, adresse électronique facultative, version du texte
de consentement et date de l'accord, statut (inscrit, liste d'attente, annulé). Rien d'autre :
ni téléphone, ni adresse postale, ni traceur. Ces données sont tenues à part de l'annuaire des
partenaires et n'y sont jamais versées.

## Destinataires
Agents habilités de {name} (lecture : la liste ; coordination : annuler, donner une place).

## Transferts hors Union européenne
Aucun.

## Durées de conservation
Effacement automatique après la durée fixée pour chaque réunion (365 jours après la réunion
par défaut), par le service lui-même et par « maillage inhabitants purge » ; le journal ne
garde que le nombre d'inscriptions effacées, sans donnée personnelle.

## Mesures de sécurité
Page publique limitée aux réunions publiques ouvertes, jeton anti-falsification (CSRF),
limite de débit par adresse, champ piège et délai minimal de saisie signé (aucun captcha
tiers, aucun cookie de suivi) ; mêmes comptes, rôles et journal que la fiche précédente.

## Droits des personnes
Accès, rectification, effacement et retrait du consentement sur simple demande à
l'organisateur (en répondant au courriel de confirmation) ; réclamation auprès de la CNIL.
"""


async def processing_register(months: int = DEFAULT_RETENTION_MONTHS) -> str:
    """A draft entry of the register of processing activities (RGPD article 30)."""
    territory = await _territory()
    name = territory["name"] if territory else "[nom de la collectivité]"
    return f"""# Registre des traitements — fiche « Réseau partenarial de la CTG » (projet)

Fiche générée par maillage le {french.short_date(dt.date.today())} : à relire et compléter par le
délégué à la protection des données.

## Responsable du traitement
{name}, par son exécutif. Délégué ou déléguée à la protection des données : [à compléter].

## Finalités
- Animer la gouvernance de la Convention territoriale globale (CTG) signée avec la Caf :
  comités de pilotage et techniques, commissions, groupes de travail.
- Inviter les partenaires aux réunions, suivre les réponses et la présence.
- Tenir l'annuaire des partenaires et le suivi du plan d'action ; produire le bilan annuel.
- Analyser le réseau partenarial (partenaires isolés, dépendances à une personne).

## Base légale
Mission d'intérêt public (article 6-1-e du RGPD) ; consentement (article 6-1-a) pour les
habitants qui demandent à être tenus informés (champ « base légale » de chaque contact).

## Catégories de personnes
Professionnels et bénévoles des structures partenaires, élus, agents des institutions,
habitants participant aux instances.

## Catégories de données
- Identité : civilité, nom, prénom.
- Vie professionnelle : organisation, fonction, mandat électif, instances et rôles.
- Coordonnées : adresse électronique, téléphone, commune.
- Participation : invitations, réponses, présence aux réunions ; échanges notés.
- Gestion : base légale, date du consentement, opposition aux envois groupés, notes.
- Journal des modifications (qui a modifié quoi, quand) ; comptes des utilisateurs.
Aucune donnée sensible (article 9) ne doit être saisie dans les notes.

## Destinataires
Agents habilités de {name} (rôles administrateur, coordination, lecture) ; la Caf, pour
les listes de contacts (« Export Caf ») et le bilan annuel. Chaque export est journalisé.

## Transferts hors Union européenne
Aucun.

## Durées de conservation
Durée de la CTG, puis {months} mois sans activité après son terme (contrôle :
« maillage rgpd retention ») ; ensuite anonymisation (« maillage rgpd anonymise »), les
chiffres de participation restant conservés sous forme agrégée.

## Sources des données
Collecte auprès des personnes et, indirectement, auprès des structures partenaires et de
documents publics : information prévue à l'article 14 (« maillage rgpd notice »).

## Mesures de sécurité
Comptes nominatifs et rôles, mots de passe hachés (Argon2), jetons d'accès révocables,
journal d'audit de chaque écriture et de chaque export, sauvegardes, hébergement
[à compléter], neutralisation des formules dans les exports tableur.

## Droits des personnes
Accès (« maillage rgpd export »), rectification, effacement (« maillage rgpd anonymise »),
opposition aux envois groupés (champ dédié), limitation ; réclamation auprès de la CNIL.

{INHABITANTS_REGISTER_ENTRY.format(name=name)}"""


def as_json(data: dict[str, Any]) -> str:
    return json.dumps(json_ready(data), ensure_ascii=False, indent=2)
