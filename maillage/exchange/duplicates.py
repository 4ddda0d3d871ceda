"""Probable duplicates, with a score and the reasons, and the merge of two records into one.

Names compare without accents, case or articles (« Centre Social Les Tilleuls » and « centre
social des tilleuls » are the same name), then by rapidfuzz similarity. A shared e-mail alone
does not make a duplicate (accueil@mairie… is used by several people), and two organisations
with the same name in different communes (« École Jules Ferry ») are scored down.

A merge moves everything that points at the duplicate onto the record kept, fills the kept
record's empty fields from the duplicate, deletes the duplicate, and audits each step. It
refuses, with a message naming the records, what would break a unique constraint or lose a
fact: two different SIRETs, two different answers to the same invitation…
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from maillage import french
from maillage.actor import Actor
from maillage.crm import audit
from maillage.crm import scope as territory_scope
from maillage.crm.registry import SERVICES, scoped
from maillage.crm.resources import SHARED_WRITE
from maillage.crm.text import normalise, search_text
from maillage.db import is_sqlite, read_transaction, retried_on_conflict, write_transaction
from maillage.errors import Conflict, ConflictingRecord, Forbidden, InvalidData, NotFound
from maillage.tables import (
    ROW_ID_MAX,
    Action,
    ActionPartner,
    Affiliation,
    Contact,
    ContactAxis,
    Decision,
    DuplicateDismissal,
    FeedToken,
    InboundMessage,
    InteractionContact,
    InteractionOrganisation,
    Invitation,
    Membership,
    Organisation,
    OrganisationAxis,
    OutboxMessage,
    Partnership,
    User,
)

THRESHOLD = 60
NAME_SIMILARITY = 85
_ARTICLES = {"le", "la", "les", "l", "de", "des", "du", "d", "et", "a", "au", "aux"}


def name_key(name: str) -> str:
    """Lower case, no accents, no punctuation, no articles."""
    words = re.split(r"[^a-z0-9]+", normalise(name))
    return " ".join(w for w in words if w and w not in _ARTICLES)


@dataclass
class Pair:
    entity: str
    first: dict[str, Any]
    second: dict[str, Any]
    score: int
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.entity,
            "a": self.first,
            "b": self.second,
            "score": self.score,
            "raisons": self.reasons,
        }


def _candidate_pairs(keys: list[str], cutoff: int) -> dict[tuple[int, int], float]:
    """Index pairs whose names are similar, compared within blocks of the same first letter."""
    blocks: dict[str, list[int]] = {}
    for position, key in enumerate(keys):
        blocks.setdefault(key[:1], []).append(position)
    pairs: dict[tuple[int, int], float] = {}
    for members in blocks.values():
        if len(members) < 2:
            continue
        names = [keys[m] for m in members]
        matrix = process.cdist(
            names, names, scorer=fuzz.token_sort_ratio, score_cutoff=cutoff, workers=1
        )
        for i, j in zip(*matrix.nonzero(), strict=True):
            if i < j:
                pairs[(members[i], members[j])] = float(matrix[i, j])
    return pairs


def _same_value_pairs(rows: list[dict[str, Any]], column: str) -> set[tuple[int, int]]:
    by_value: dict[str, list[int]] = {}
    for position, row in enumerate(rows):
        value = row.get(column)
        if value:
            by_value.setdefault(str(value).lower(), []).append(position)
    found = set()
    for positions in by_value.values():
        if 1 < len(positions) <= 20:  # a mailbox shared by 200 people says nothing
            for a in range(len(positions)):
                for b in range(a + 1, len(positions)):
                    found.add((positions[a], positions[b]))
    return found


def first_names_agree(first: str, second: str) -> bool:
    """The same first name, or one that shortens the other (« J. » and « Jean », « Marie » and
    « Marie-Anne »). A surname alone does not make two people one: the name similarity of
    « Anne Pierre » and « André Pierre » is 87 %, well within typing errors, yet they are two."""
    a, b = name_key(first), name_key(second)
    if not a or not b or a == b:
        return True
    short, long = sorted((a, b), key=len)
    return long.startswith(short)


@dataclass(frozen=True)
class _Candidates:
    """The rows compared, by index: their name keys and the pairs alike by name, address and
    phone."""

    rows: list[dict[str, Any]]
    keys: list[str]
    similar: dict[tuple[int, int], float]
    emails: set[tuple[int, int]]
    phones: set[tuple[int, int]]

    @classmethod
    def of(cls, rows: list[dict[str, Any]], keys: list[str]) -> _Candidates:
        return cls(
            rows,
            keys,
            _candidate_pairs(keys, NAME_SIMILARITY),
            _same_value_pairs(rows, "email"),
            _same_value_pairs(rows, "phone"),
        )

    def pairs(self) -> set[tuple[int, int]]:
        return set(self.similar) | self.emails | self.phones

    def evidence(self, pair: tuple[int, int], same_name: str) -> tuple[float, list[str]]:
        """What people and organisations are compared on alike: the name (70 % of the score),
        the same address (+20) and the same phone (+10), with the French reasons shown to the
        person."""
        i, j = pair
        keys = self.keys
        similarity = self.similar.get(pair) or fuzz.token_sort_ratio(keys[i], keys[j])
        reasons = []
        if keys[i] == keys[j]:
            reasons.append(same_name)
        elif similarity >= NAME_SIMILARITY:
            reasons.append(f"noms très proches ({similarity:.0f} % de similarité)")
        score = similarity * 0.7
        if pair in self.emails:
            reasons.append(f"même adresse électronique ({self.rows[i]['email']})")
            score += 20
        if pair in self.phones:
            reasons.append("même numéro de téléphone")
            score += 10
        return score, reasons


async def find_contact_duplicates(threshold: int = THRESHOLD) -> list[Pair]:
    c = Contact
    async with read_transaction():
        rows = (
            await scoped(
                c.select(c.id, c.civility, c.first_name, c.last_name, c.email, c.phone),
                "contacts",
            )
            .where(c.archived == False)  # noqa: E712 - SQL expression
            .order_by(c.id)
            .run()
        )
    candidates = _Candidates.of(
        rows, [name_key(f"{r['last_name']} {r['first_name']}") for r in rows]
    )
    pairs = []
    for i, j in candidates.pairs():
        a, b = rows[i], rows[j]
        shared = (i, j) in candidates.emails or (i, j) in candidates.phones
        if not shared and not first_names_agree(a["first_name"], b["first_name"]):
            continue  # « Anne Pierre » and « André Pierre »: two people with one surname
        score, reasons = candidates.evidence(
            (i, j), "même nom et prénom (aux accents et majuscules près)"
        )
        if score >= threshold:
            pairs.append(Pair("contact", a, b, min(100, round(score)), reasons))
    return sorted(pairs, key=lambda p: (-p.score, p.first["id"], p.second["id"]))


async def find_organisation_duplicates(threshold: int = THRESHOLD) -> list[Pair]:
    o = Organisation
    async with read_transaction():
        rows = (
            await scoped(
                o.select(o.id, o.name, o.kind, o.siret, o.siren, o.email, o.phone, o.commune),
                "organisations",
            )
            .where(o.archived == False)  # noqa: E712 - SQL expression
            .order_by(o.id)
            .run()
        )
    candidates = _Candidates.of(rows, [name_key(r["name"]) for r in rows])
    sirens = _same_value_pairs(
        [{"siren": r["siren"] or (r["siret"] or "")[:9]} for r in rows], "siren"
    )
    pairs = []
    for i, j in candidates.pairs() | sirens:
        a, b = rows[i], rows[j]
        score, reasons = candidates.evidence(
            (i, j), "même nom (aux accents, majuscules et articles près)"
        )
        if (i, j) in sirens:
            reasons.append("même SIREN (même entité juridique)")
            score += 15
        if a["siret"] and b["siret"] and a["siret"] != b["siret"]:
            reasons.append("SIRET différents : deux établissements distincts ?")
            score -= 30
        if a["commune"] and b["commune"] and a["commune"] != b["commune"]:
            reasons.append("communes différentes")
            score -= 25
        if score >= threshold:
            pairs.append(Pair("organisation", a, b, min(100, round(score)), reasons))
    return sorted(pairs, key=lambda p: (-p.score, p.first["id"], p.second["id"]))


# ----- merging ------------------------------------------------------------------------------


async def _record(table: Any, record_id: int, label: str) -> dict[str, Any]:
    """A record to merge: out of the user's scope it does not exist (404), and a scoped user
    merges only records of their territories, never a shared one (403) (#20)."""
    resource = "contacts" if table is Contact else "organisations"
    row = await scoped(table.select(), resource).where(table.id == record_id).first().run()
    if row is None:
        raise NotFound(label, record_id)
    scope = territory_scope.current()
    if scope is not None and not scope.can_write(row["territory"], "coordinateur"):
        name = row.get("name") or f"{row.get('first_name')} {row.get('last_name')}"
        if row["territory"] is None:
            raise Forbidden(f"« {name} » est une fiche partagée : {SHARED_WRITE}.")
        raise Forbidden(f"Votre rôle sur le territoire de « {name} » ne permet pas de fusionner.")
    record: dict[str, Any] = row
    return record


def _fill(kept: dict[str, Any], other: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The duplicate's values for the fields the kept record leaves empty."""
    return {name: other[name] for name in names if not kept.get(name) and other.get(name)}


CONTACT_CHOICES = ("civility", "first_name", "last_name", "email", "phone", "commune")
ORGANISATION_CHOICES = ("name", "kind", "category", "address", "commune", "email", "phone",
                        "website")  # fmt: skip


def _chosen(
    other: dict[str, Any], prefer_other: set[str], allowed: tuple[str, ...]
) -> dict[str, Any]:
    """The removed record's values the coordinator chose to keep, field by field."""
    return {name: other[name] for name in allowed if name in prefer_other}


async def _lock_in_id_order(table: Any, rows: str, args: tuple[int, ...], remove_id: int) -> None:
    """On PostgreSQL, the rows of ``table`` that ``rows`` names (a condition, its ``{}``
    given ``args``) and the removed record, locked in the order of their ids: the others
    ``FOR NO KEY UPDATE`` (the lock of their rewrite), the removed record ``FOR UPDATE`` (the
    lock of its delete). A tie to the removed record written by another transaction only
    shares its key (``FOR KEY SHARE``, its foreign key), which ``FOR NO KEY UPDATE`` let
    through: committed after the merge had moved the ties it read, it stayed on the record
    deleted, and the delete failed on the foreign key (a 500, nothing merged) or emptied a
    nullable one (a membership lost the organisation it represents). Such a tie now waits for
    the merge, then is refused as a tie to a record that no longer exists, the answer it
    would get a moment later (#20). A tie written before holds the key: the lock waits for
    its commit, and the moves, which read after it, see it."""
    if is_sqlite():
        return  # one writer at a time
    name = table._meta.tablename

    def others(side: str) -> str:
        return (
            f"SELECT id FROM {name} WHERE ({rows}) AND id {side} {{}} ORDER BY id FOR NO KEY UPDATE"
        )

    await table.raw(others("<"), *args, remove_id).run()
    await table.raw(f"SELECT id FROM {name} WHERE id = {{}} FOR UPDATE", remove_id).run()
    await table.raw(others(">"), *args, remove_id).run()


async def _lock_contacts(keep_id: int, remove_id: int) -> None:
    """On PostgreSQL, both people locked first in the order of their ids (the removed one
    ``FOR UPDATE``, `_lock_in_id_order`): two merges of the same two people, each keeping
    another, each locked its kept person (the affiliations moved onto it) then waited for the
    other to delete its duplicate, « deadlock detected ». The second now waits, then reads the
    records as the first left them (#20)."""
    await _lock_in_id_order(Contact, "id = {}", (keep_id,), remove_id)


def _check_ids(label: str, *record_ids: int) -> None:
    """An id no record can have (past the database's integers) is a record that does not
    exist: found by the fuzzer, such an id reached the lock statement and PostgreSQL's
    driver refused it (a 500)."""
    for record_id in record_ids:
        if not 1 <= record_id <= ROW_ID_MAX:
            raise NotFound(label, record_id)


async def merge_contacts(
    actor: Actor, keep_id: int, remove_id: int, prefer_other: set[str] | None = None
) -> dict[str, Any]:
    _check_ids("Contact", keep_id, remove_id)
    if keep_id == remove_id:
        raise InvalidData.one("id", "Choisissez deux contacts différents.")
    async with write_transaction():
        await _lock_contacts(keep_id, remove_id)
        kept = await _record(Contact, keep_id, "Contact")
        other = await _record(Contact, remove_id, "Contact")
        await _refuse_contact_conflicts(kept, other)
        moved: dict[str, Any] = {}
        moved["rattachements"] = await _move_affiliations(keep_id, remove_id)
        moved["participations"] = await _move(
            Membership, Membership.contact, keep_id, remove_id, _same_membership
        )
        moved["invitations"] = await _move(
            Invitation, Invitation.contact, keep_id, remove_id, _same_invitation
        )
        moved["echanges"] = await _move_pairs(
            InteractionContact, "interaction", "contact", keep_id, remove_id
        )
        moved["axes"] = await _move_pairs(
            ContactAxis, "contact", "axis", keep_id, remove_id, owner_first=False
        )
        # Left on the duplicate, its delete would empty them (SET NULL): a decision carried by
        # nobody, a message read from the mailbox tied to nobody.
        moved["decisions"] = await _repoint(Decision.carrier_contact, keep_id, remove_id)
        await _repoint(InboundMessage.contact, keep_id, remove_id)
        await User.update({User.contact: keep_id}).where(User.contact == remove_id).run()
        await (
            OutboxMessage.update({OutboxMessage.contact: keep_id})
            .where(OutboxMessage.contact == remove_id)
            .run()
        )
        # A personal feed follows its person: left on the removed id, it would show the
        # meetings of whoever SQLite gives that id next.
        await (
            FeedToken.update({FeedToken.target_id: keep_id})
            .where((FeedToken.scope == "contact") & (FeedToken.target_id == remove_id))
            .run()
        )
        filled = _fill(kept, other, ("civility", "email", "phone", "commune", "consent_date"))
        filled.update(_chosen(other, prefer_other or set(), CONTACT_CHOICES))
        if "email" in filled and filled["email"] != kept.get("email"):
            # The unique address moves: the duplicate lets it go first.
            await Contact.update({Contact.email: None}).where(Contact.id == remove_id).run()
        if other["mailing_opt_out"] and not kept["mailing_opt_out"]:
            filled["mailing_opt_out"] = True  # an objection survives the merge
        if other["notes"]:
            filled["notes"] = "\n\n".join(n for n in (kept["notes"], other["notes"]) if n)
        await _write_filled(Contact, SERVICES["contacts"], kept, filled)
        await Contact.delete().where(Contact.id == remove_id).run()
        await territory_scope.settle_contacts([keep_id])
        await audit.record(
            actor,
            "merge",
            "contact",
            keep_id,
            {"fusionne": remove_id, "deplaces": moved, "complete": sorted(filled)},
        )
        await audit.record(
            actor, "delete", "contact", remove_id, {**audit.redact(other), "fusionne_dans": keep_id}
        )
    return await SERVICES["contacts"].get(keep_id)


async def _refuse_contact_conflicts(kept: dict[str, Any], other: dict[str, Any]) -> None:
    both = [kept["id"], other["id"]]
    rows = (
        await Invitation.select(
            Invitation.meeting,
            Invitation.contact,
            Invitation.response,
            Invitation.attendance,
            Invitation.meeting.title,
        )
        .where(Invitation.contact.is_in(both))
        .run()
    )
    by_meeting: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_meeting.setdefault(row["meeting"], []).append(row)
    for meeting, pair in by_meeting.items():
        if len(pair) == 2 and (pair[0]["response"], pair[0]["attendance"]) != (
            pair[1]["response"],
            pair[1]["attendance"],
        ):
            raise Conflict(
                f"Fusion impossible : les deux contacts sont invités à la réunion « {pair[0]['meeting.title']} » "
                "avec des réponses ou présences différentes. Corrigez l'une des deux invitations, "
                "puis relancez la fusion.",
                ConflictingRecord("meeting", meeting, pair[0]["meeting.title"]),
            )
    rows = await Membership.select().where(Membership.contact.is_in(both)).run()
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = (row["working_group"], row["role"], row["start_date"])
        if key in seen and not _same_membership(seen[key], row):
            raise Conflict(
                f"Fusion impossible : les deux contacts ont la même participation (instance n° {key[0]}, "
                f"rôle « {key[1]} », depuis le {french.short_date(key[2])}) avec des fins ou organisations "
                "différentes. Harmonisez-les, puis relancez la fusion.",
                ConflictingRecord("membership", row["id"]),
            )
        seen[key] = row


def _same_membership(a: dict[str, Any], b: dict[str, Any]) -> bool:
    fields = ("working_group", "role", "start_date", "end_date", "organisation")
    return all(a[f] == b[f] for f in fields)


def _same_invitation(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(a["meeting"] == b["meeting"])


async def _move(table: Any, column: Any, keep_id: int, remove_id: int, same: Any) -> int:
    """Point ``column`` at the kept record; a row that repeats one the kept record has is
    dropped (its twin holds the same fact — conflicting twins were refused before)."""
    kept_rows = await table.select().where(column == keep_id).run()
    moved = 0
    for row in await table.select().where(column == remove_id).run():
        twin = next((k for k in kept_rows if same(k, row)), None)
        if twin is not None:
            await _repoint_dependents(table, row["id"], twin["id"])
            await table.delete().where(table.id == row["id"]).run()
            continue
        await table.update({column: keep_id}).where(table.id == row["id"]).run()
        moved += 1
    return moved


async def _repoint(column: Any, keep_id: int, remove_id: int) -> int:
    """Point ``column`` (a reference in no unique pair) at the kept record: rows moved."""
    table = column._meta.table
    rows = await table.update({column: keep_id}).where(column == remove_id).returning(table.id)
    return len(rows)


async def _repoint_dependents(table: Any, old_id: int, new_id: int) -> None:
    if table is Membership:
        await (
            Membership.update({Membership.substitute: new_id})
            .where(Membership.substitute == old_id)
            .run()
        )
    if table is Invitation:
        await (
            Invitation.update({Invitation.replaces: new_id})
            .where(Invitation.replaces == old_id)
            .run()
        )
        await (
            OutboxMessage.update({OutboxMessage.invitation: new_id})
            .where(OutboxMessage.invitation == old_id)
            .run()
        )


async def _move_affiliations(keep_id: int, remove_id: int) -> int:
    """Every affiliation moves; the kept contact's primary one stays the only primary."""
    kept_primary = (
        await Affiliation.exists()
        .where((Affiliation.contact == keep_id) & (Affiliation.is_primary == True))  # noqa: E712
        .run()
    )
    if kept_primary:
        await (
            Affiliation.update({Affiliation.is_primary: False})
            .where(Affiliation.contact == remove_id)
            .run()
        )
    rows = (
        await Affiliation.update({Affiliation.contact: keep_id})
        .where(Affiliation.contact == remove_id)
        .returning(Affiliation.id)
        .run()
    )
    return len(rows)


async def _move_pairs(
    table: Any, owner: str, target: str, keep_id: int, remove_id: int, owner_first: bool = True
) -> int:
    """Link rows (unique pairs): move those the kept record lacks, drop the others."""
    column = table._meta.get_column_by_name(target if owner_first else owner)
    other = table._meta.get_column_by_name(owner if owner_first else target)
    have = {r[other._meta.name] for r in await table.select(other).where(column == keep_id).run()}
    moved = 0
    for row in await table.select().where(column == remove_id).run():
        if row[other._meta.name] in have:
            await table.delete().where(table.id == row["id"]).run()
        else:
            await table.update({column: keep_id}).where(table.id == row["id"]).run()
            moved += 1
    return moved


async def _write_filled(
    table: Any, service: Any, kept: dict[str, Any], filled: dict[str, Any]
) -> None:
    merged = {**kept, **filled}
    values: dict[Any, Any] = {table._meta.get_column_by_name(k): v for k, v in filled.items()}
    values[table.version] = kept["version"] + 1
    values[table.updated_at] = dt.datetime.now(dt.UTC)
    values[table.search] = search_text(*(merged.get(name) for name in service.spec.search_fields))[
        : table.search.length
    ]
    await table.update(values).where(table.id == kept["id"]).run()


# The organisations a merge rewrites or whose ties' triggers it fires: the two records, the
# other side of the duplicate's partnerships (the trigger locks both organisations), and the
# children of both (given the kept parent, then their département settled).
_MERGED_ORGANISATIONS = (
    "id = {} "
    "OR id IN (SELECT partner FROM partnership WHERE organisation = {}) "
    "OR id IN (SELECT organisation FROM partnership WHERE partner = {}) "
    "OR parent IN ({}, {})"
)


async def _lock_organisations(keep_id: int, remove_id: int) -> None:
    """On PostgreSQL, the organisations the merge will lock, locked first in the order of
    their ids (the order of `territory_scope.settle_departements` and of a partnership's
    trigger). Moving the duplicate's people locked the kept record, then its partnerships
    their partners: two merges whose records were partners of each other each held their kept
    record and waited for the other's, « deadlock detected ». The second now waits for the
    first (#20). Taken before the records are read: a merge that waited reads them as the
    first left them. The removed record ``FOR UPDATE``: `_lock_in_id_order`."""
    ids = (keep_id, remove_id, remove_id, keep_id, remove_id)
    await _lock_in_id_order(Organisation, _MERGED_ORGANISATIONS, ids, remove_id)


async def merge_organisations(
    actor: Actor, keep_id: int, remove_id: int, prefer_other: set[str] | None = None
) -> dict[str, Any]:
    _check_ids("Organisation", keep_id, remove_id)
    if keep_id == remove_id:
        raise InvalidData.one("id", "Choisissez deux organisations différentes.")
    async with write_transaction():
        await _lock_organisations(keep_id, remove_id)
        kept = await _record(Organisation, keep_id, "Organisation")
        other = await _record(Organisation, remove_id, "Organisation")
        await _refuse_organisation_conflicts(kept, other)
        moved: dict[str, Any] = {}
        moved["rattachements"] = len(
            await Affiliation.update({Affiliation.organisation: keep_id})
            .where(Affiliation.organisation == remove_id)
            .returning(Affiliation.id)
            .run()
        )
        await (
            Membership.update({Membership.organisation: keep_id})
            .where(Membership.organisation == remove_id)
            .run()
        )
        moved["partenariats"] = 0
        for column in (
            Partnership.organisation,
            Partnership.partner,
            Partnership.delegated_service,
        ):
            rows = (
                await Partnership.update({column: keep_id})
                .where(column == remove_id)
                .returning(Partnership.id)
                .run()
            )
            moved["partenariats"] += len(rows)
        await (
            Organisation.update({Organisation.parent: keep_id})
            .where(Organisation.parent == remove_id)
            .run()
        )
        await Action.update({Action.pilot: keep_id}).where(Action.pilot == remove_id).run()
        moved["decisions"] = await _repoint(Decision.carrier_organisation, keep_id, remove_id)
        moved["fiches_action"] = await _move_pairs(
            ActionPartner, "action", "organisation", keep_id, remove_id
        )
        moved["echanges"] = await _move_pairs(
            InteractionOrganisation, "interaction", "organisation", keep_id, remove_id
        )
        moved["axes"] = await _move_pairs(
            OrganisationAxis, "organisation", "axis", keep_id, remove_id, owner_first=False
        )
        filled = _fill(
            kept,
            other,
            (
                "category",
                "siren",
                "rna",
                "uai",
                "address",
                "commune",
                "email",
                "phone",
                "website",
                "parent",
            ),
        )
        filled.update(_chosen(other, prefer_other or set(), ORGANISATION_CHOICES))
        if other["siret"] and not kept["siret"]:
            # The duplicate goes first: the unique SIRET cannot be held by both for a moment.
            await (
                Organisation.update({Organisation.siret: None})
                .where(Organisation.id == remove_id)
                .run()
            )
            filled["siret"] = other["siret"]
        if filled.get("parent") == keep_id:
            del filled["parent"]
        if other["notes"]:
            filled["notes"] = "\n\n".join(n for n in (kept["notes"], other["notes"]) if n)
        # A commune taken from the duplicate places the organisation again, as an edit of its
        # commune does (#20); a scoped user never sends it out of the territories they write.
        placed = {**kept, **filled}
        await territory_scope.place_organisation(placed, kept)
        scope = territory_scope.current()
        if placed["territory"] != kept["territory"] and (
            scope is None or scope.can_write(placed["territory"], "coordinateur")
        ):
            filled["territory"] = placed["territory"]
        await _write_filled(Organisation, SERVICES["organisations"], kept, filled)
        await Organisation.delete().where(Organisation.id == remove_id).run()
        await territory_scope.settle_departements(organisations=[keep_id])
        await territory_scope.settle_contacts(
            await territory_scope.contacts_tied_to(organisations=[keep_id])
        )
        await audit.record(
            actor,
            "merge",
            "organisation",
            keep_id,
            {"fusionne": remove_id, "deplaces": moved, "complete": sorted(filled)},
        )
        await audit.record(
            actor,
            "delete",
            "organisation",
            remove_id,
            {**audit.redact(other), "fusionne_dans": keep_id},
        )
    return await SERVICES["organisations"].get(keep_id)


async def _refuse_organisation_conflicts(kept: dict[str, Any], other: dict[str, Any]) -> None:
    def refuse(reason: str) -> None:
        raise Conflict(
            f"Fusion impossible de « {other['name']} » (n° {other['id']}) dans « {kept['name']} » "
            f"(n° {kept['id']}) : {reason}",
            ConflictingRecord("organisation", other["id"], other["name"]),
        )

    if kept["siret"] and other["siret"] and kept["siret"] != other["siret"]:
        refuse(
            f"leurs SIRET diffèrent ({kept['siret']} et {other['siret']}) : ce sont deux établissements distincts, le SIRET est unique."
        )
    if kept["siren"] and other["siren"] and kept["siren"] != other["siren"]:
        refuse(f"leurs SIREN diffèrent ({kept['siren']} et {other['siren']}).")
    between = (
        await Partnership.exists()
        .where(
            ((Partnership.organisation == kept["id"]) & (Partnership.partner == other["id"]))
            | ((Partnership.organisation == other["id"]) & (Partnership.partner == kept["id"]))
        )
        .run()
    )
    if between:
        refuse(
            "un partenariat les relie : il deviendrait un partenariat d'une organisation avec elle-même. Supprimez-le d'abord."
        )
    if other["parent"] == kept["id"] or kept["parent"] == other["id"]:
        refuse("l'une est l'organisation parente de l'autre. Retirez ce lien d'abord.")


async def merge(
    actor: Actor, entity: str, keep_id: int, remove_id: int, prefer_other: set[str] | None = None
) -> dict[str, Any]:
    """Fold ``remove_id`` into ``keep_id``; ``prefer_other`` names the fields whose value is
    taken from the removed record (the side-by-side choice), the others keep the kept one's
    (filled from the removed one where empty)."""
    merged = {"contacts": merge_contacts, "organisations": merge_organisations}.get(entity)
    if merged is None:
        raise InvalidData.one("type", "Fusion possible pour « contacts » ou « organisations ».")
    # One write transaction, run again whole when PostgreSQL cancels it for crossing
    # another write (a deadlock): it wrote nothing, and reads everything again (#20).
    return await retried_on_conflict(lambda: merged(actor, keep_id, remove_id, prefer_other))


async def find_duplicates(entity: str, threshold: int = THRESHOLD) -> list[Pair]:
    """Probable duplicates, less the pairs a coordinator said are two records."""
    if entity == "contacts":
        pairs = await find_contact_duplicates(threshold)
    elif entity == "organisations":
        pairs = await find_organisation_duplicates(threshold)
    else:
        pairs = None
    if pairs is not None:
        dismissed = await _dismissed(entity)
        return [p for p in pairs if _key(p.first["id"], p.second["id"]) not in dismissed]
    raise InvalidData.one(
        "type", "Doublons cherchés parmi les « contacts » ou les « organisations »."
    )


async def linked_counts(entity: str, record_id: int) -> dict[str, int]:
    """What hangs on a record and would follow it into the kept one, for the comparison: the
    same ties the merge moves (`merge_contacts`, `merge_organisations`). Plural nouns that lose
    their last letter in the singular (the page's « 1 décision »; the page knows « fiche
    action »)."""
    if entity == "contacts":
        return {
            "rattachements": await Affiliation.count().where(Affiliation.contact == record_id),
            "participations": await Membership.count().where(Membership.contact == record_id),
            "invitations": await Invitation.count().where(Invitation.contact == record_id),
            "échanges": await InteractionContact.count().where(
                InteractionContact.contact == record_id
            ),
            "décisions": await Decision.count().where(Decision.carrier_contact == record_id),
            "messages": await InboundMessage.count().where(InboundMessage.contact == record_id),
        }
    return {
        "contacts": await Affiliation.count().where(Affiliation.organisation == record_id),
        "partenariats": await Partnership.count().where(
            (Partnership.organisation == record_id) | (Partnership.partner == record_id)
        ),
        "représentations": await Membership.count().where(Membership.organisation == record_id),
        "échanges": await InteractionOrganisation.count().where(
            InteractionOrganisation.organisation == record_id
        ),
        "fiches action": await Action.count().where(  # piloted or partnered, each once
            (Action.pilot == record_id)
            | Action.id.is_in(
                ActionPartner.select(ActionPartner.action).where(
                    ActionPartner.organisation == record_id
                )
            )
        ),
        "décisions": await Decision.count().where(Decision.carrier_organisation == record_id),
    }


def _key(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


async def _dismissed(entity: str) -> set[tuple[int, int]]:
    """The pairs said not to be duplicates, of the records the user sees (#20): another
    territory's pairs are neither read nor sent back."""
    where: Any = DuplicateDismissal.entity == entity
    if territory_scope.current() is not None:
        table = Contact if entity == "contacts" else Organisation
        seen = scoped(table.select(table.id), entity)
        where = where & DuplicateDismissal.first.is_in(seen)
        where = where & DuplicateDismissal.second.is_in(seen)
    rows = await DuplicateDismissal.select(
        DuplicateDismissal.first, DuplicateDismissal.second
    ).where(where)
    return {(row["first"], row["second"]) for row in rows}


async def dismiss(actor: Actor, entity: str, a: int, b: int) -> None:
    """« Ce ne sont pas des doublons »: the pair is remembered and never offered again."""
    if entity not in ("contacts", "organisations"):
        raise InvalidData.one("type", "Doublons : « contacts » ou « organisations ».")
    if a == b:
        raise InvalidData.one("id", "Choisissez deux fiches différentes.")
    first, second = _key(a, b)
    table, label = (Contact, "Contact") if entity == "contacts" else (Organisation, "Organisation")
    async with write_transaction():
        await _record(table, first, label)
        await _record(table, second, label)
        known = await DuplicateDismissal.exists().where(
            (DuplicateDismissal.entity == entity)
            & (DuplicateDismissal.first == first)
            & (DuplicateDismissal.second == second)
        )
        if not known:
            await DuplicateDismissal.insert(
                DuplicateDismissal(entity=entity, first=first, second=second)
            )
            await audit.record(
                actor, "dismiss", entity.removesuffix("s"), first, {"pas_doublon_de": second}
            )
