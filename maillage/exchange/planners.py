"""Line-by-line planning of each kind of import, against an index of what the database holds.

Matching, so that importing the same file twice updates instead of duplicating:
- organisation: SIRET, then e-mail, then normalised name (accents, case and spaces ignored);
- contact: e-mail when the name agrees too (accueil@mairie… is shared by several people), then
  normalised name within the line's organisation, then — for a line with neither e-mail nor
  organisation — normalised name alone when a single contact bears it;
- commune: INSEE code; working group: normalised name; membership: contact, group and role.

An import fills and corrects, it never erases: an empty cell leaves the field as it is, axes are
added, never removed, and a mailing opt-out is never lifted by a file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from maillage.crm import scope as territory_scope
from maillage.crm.registry import SERVICES, scoped
from maillage.crm.resources import territory_of
from maillage.crm.text import normalise
from maillage.exchange import labels, values
from maillage.exchange.mapping import ColumnMap
from maillage.exchange.plan import (
    LineOutcome,
    Operation,
    Problem,
    Ref,
    changes_between,
    check_values,
    identity,
    today,
)
from maillage.exchange.values import BadValue
from maillage.french import quoted
from maillage.tables import (
    Affiliation,
    Axis,
    Commune,
    CommuneIndicator,
    Contact,
    ContactAxis,
    GroupAxis,
    GroupCommune,
    Membership,
    Organisation,
    OrganisationAxis,
    Territory,
    WorkingGroup,
)
from maillage.vocabulary import COLLECTIVITY, COMMUNE_INDICATORS, MEMBER


def _multi(index: dict[str, list[Ref]], key: str | None, ref: Ref) -> None:
    if key:
        bucket = index.setdefault(key, [])
        if ref not in bucket:
            bucket.append(ref)


def _links(rows: list[dict[str, Any]], owner: str, target: str) -> dict[int, set[int]]:
    result: dict[int, set[int]] = {}
    for row in rows:
        result.setdefault(row[owner], set()).add(row[target])
    return result


def person_key(first: str, last: str) -> str:
    return normalise(f"{first} {last}")


@dataclass
class Index:
    """What the database holds, kept up to date with what earlier lines plan."""

    organisations_by_siret: dict[str, Ref] = field(default_factory=dict)
    organisations_by_email: dict[str, list[Ref]] = field(default_factory=dict)
    organisations_by_name: dict[str, list[Ref]] = field(default_factory=dict)
    contacts_by_email: dict[str, list[Ref]] = field(default_factory=dict)
    contacts_by_name: dict[str, list[Ref]] = field(default_factory=dict)
    # (contact ref, organisation ref) → affiliation ref
    affiliations: dict[tuple[int, int], Ref] = field(default_factory=dict)
    contact_organisations: dict[int, list[Ref]] = field(default_factory=dict)
    has_primary: set[int] = field(default_factory=set)
    axes: dict[str, int] = field(default_factory=dict)
    axis_names: dict[int, str] = field(default_factory=dict)
    communes_by_code: dict[str, Ref] = field(default_factory=dict)
    communes_by_name: dict[str, list[int]] = field(default_factory=dict)
    territories: dict[str, int] = field(default_factory=dict)
    groups_by_name: dict[str, list[Ref]] = field(default_factory=dict)
    memberships: dict[tuple[int | None, int | None, str], list[Ref]] = field(default_factory=dict)
    refs: dict[tuple[str, int], Ref] = field(default_factory=dict)
    # (commune id, indicator code, date) → stored or planned value (#18)
    indicators: dict[tuple[int, str, Any], Ref] = field(default_factory=dict)

    @classmethod
    async def load(cls, kind: str) -> Index:
        index = cls()
        await index._load_references()
        if kind in ("contacts", "organisations", "memberships"):
            await index._load_organisations()
        if kind in ("contacts", "memberships"):
            await index._load_contacts()
        if kind in ("groups", "memberships"):
            await index._load_groups()
        if kind == "memberships":
            await index._load_memberships()
        if kind == "indicateurs":
            for row in await CommuneIndicator.select().run():
                key = (row["commune"], row["code"], row["measured_on"])
                index.indicators[key] = index.ref("commune_indicator", row)
        return index

    def ref(self, entity: str, row: dict[str, Any]) -> Ref:
        ref = Ref(entity, row, id=row["id"])
        self.refs[(entity, row["id"])] = ref
        return ref

    async def _load_references(self) -> None:
        for row in await Axis.select(Axis.id, Axis.code, Axis.name).run():
            self.axes[normalise(row["name"])] = row["id"]
            self.axes[normalise(row["code"])] = row["id"]
            self.axis_names[row["id"]] = row["name"]
        for row in await Commune.select().run():
            self.register_commune(self.ref("commune", row))
        for row in await Territory.select(Territory.id, Territory.name, Territory.siren).run():
            self.territories[normalise(row["name"])] = row["id"]
            if row["siren"]:
                self.territories[row["siren"]] = row["id"]

    def register_commune(self, ref: Ref) -> None:
        self.communes_by_code[ref.values["insee_code"]] = ref
        if ref.id is not None:
            bucket = self.communes_by_name.setdefault(normalise(ref.values["name"]), [])
            bucket.append(ref.id)

    async def _load_organisations(self) -> None:
        axes = _links(await OrganisationAxis.select().run(), "organisation", "axis")
        for row in await scoped(Organisation.select(), "organisations").run():
            row["axes"] = sorted(axes.get(row["id"], ()))
            self.register_organisation(self.ref("organisation", row))

    def register_organisation(self, ref: Ref) -> None:
        if ref.values.get("siret"):
            self.organisations_by_siret[ref.values["siret"]] = ref
        if ref.values.get("email"):
            _multi(self.organisations_by_email, ref.values["email"].lower(), ref)
        _multi(self.organisations_by_name, normalise(ref.values["name"]), ref)

    async def _load_contacts(self) -> None:
        axes = _links(await ContactAxis.select().run(), "contact", "axis")
        for row in await scoped(Contact.select(), "contacts").run():
            row["axes"] = sorted(axes.get(row["id"], ()))
            self.register_contact(self.ref("contact", row))
        for row in await scoped(Affiliation.select(), "affiliations").run():
            contact = self.refs[("contact", row["contact"])]
            organisation = self.refs[("organisation", row["organisation"])]
            self.register_affiliation(contact, organisation, self.ref("affiliation", row))

    def register_contact(self, ref: Ref) -> None:
        if ref.values.get("email"):
            _multi(self.contacts_by_email, ref.values["email"].lower(), ref)
        key = person_key(ref.values["first_name"], ref.values["last_name"])
        _multi(self.contacts_by_name, key, ref)

    def register_affiliation(self, contact: Ref, organisation: Ref, ref: Ref) -> None:
        self.affiliations[(id(contact), id(organisation))] = ref
        self.contact_organisations.setdefault(id(contact), []).append(organisation)
        if ref.values.get("is_primary"):
            self.has_primary.add(id(contact))

    async def _load_groups(self) -> None:
        axes = _links(await GroupAxis.select().run(), "working_group", "axis")
        communes = _links(await GroupCommune.select().run(), "working_group", "commune")
        for row in await scoped(WorkingGroup.select(), "groups").run():
            row["axes"] = sorted(axes.get(row["id"], ()))
            row["communes"] = sorted(communes.get(row["id"], ()))
            _multi(self.groups_by_name, normalise(row["name"]), self.ref("working_group", row))

    async def _load_memberships(self) -> None:
        for row in await scoped(Membership.select(), "memberships").run():
            key = (row["contact"], row["working_group"], row["role"])
            self.memberships.setdefault(key, []).append(self.ref("membership", row))


class Line:
    """The cells of one line, read through the column map, with problems noted as they come."""

    def __init__(self, number: int, cells: list[Any], columns: ColumnMap) -> None:
        self.number = number
        self.cells = cells
        self.columns = columns
        self.outcome = LineOutcome(number)

    def raw(self, name: str) -> Any:
        index = self.columns.fields.get(name)
        if index is None or index >= len(self.cells):
            return None
        return self.cells[index]

    def text(self, name: str) -> str:
        return values.text(self.raw(name))

    def has(self, name: str) -> bool:
        return self.text(name) != ""

    def parsed(self, name: str, parser: Callable[[Any], Any]) -> Any:
        """The parsed cell, or None when empty or wrong (the problem is noted)."""
        if not self.has(name):
            return None
        try:
            return parser(self.raw(name))
        except BadValue as error:
            self.problem(name, str(error))
            return None

    def later(self, action: Callable[[], None]) -> None:
        """Run ``action`` only if the whole line is accepted (a rejected line leaves no trace)."""
        self.outcome.on_success.append(action)

    def problem(self, name: str | None, message: str) -> None:
        column = self.columns.column_label(name) if name else None
        self.outcome.problems.append(Problem(self.number, column, message))

    def warning(self, name: str | None, message: str) -> None:
        column = self.columns.column_label(name) if name else None
        self.outcome.warnings.append(Problem(self.number, column, message))

    def field_errors(self, errors: list[Any], rename: dict[str, str] | None = None) -> None:
        for error in errors:
            name = (rename or {}).get(error.field, error.field)
            if name in self.columns.fields:
                self.problem(name, error.message)
            else:
                self.problem(None, f"{error.field} : {error.message}")


class Planner:
    """Plans the lines of one kind of import; subclasses say how a line becomes operations."""

    kind = ""

    def __init__(self, index: Index, columns: ColumnMap) -> None:
        self.index = index
        self.columns = columns

    def survey(self, lines: list[Line]) -> None:
        """Look at the whole file before planning its lines (what repeats from line to line)."""

    async def plan_line(self, line: Line) -> None:
        raise NotImplementedError

    # ----- shared helpers ------------------------------------------------------------------

    async def commune(self, line: Line, create: bool = True) -> Ref | None:
        """The line's commune: by INSEE code, else by a name only one commune bears. A code
        the base does not know, given with the commune's name, creates the commune (one
        import of a sheet of town halls sets their communes up too)."""
        code = line.text("commune_code")
        if code:
            code = code.zfill(5) if code.isdigit() else code.upper()
            ref = self.index.communes_by_code.get(code)
            if ref is not None:
                return ref
            name = line.text("commune")
            if create and name:
                return await self._new_commune(line, code, name)
            line.warning(
                "commune_code",
                f"aucune commune de code INSEE {quoted(code)} : commune laissée vide "
                "(donnez aussi le nom de la commune pour la créer)",
            )
            return None
        name = line.text("commune")
        if not name:
            return None
        ids = self.index.communes_by_name.get(normalise(name), [])
        if len(ids) == 1:
            return self.index.refs[("commune", ids[0])]
        if not ids:
            line.warning(
                "commune",
                f"commune {quoted(name)} inconnue : laissée vide (donnez son code INSEE pour la créer)",
            )
        else:
            line.warning(
                "commune", f"plusieurs communes s'appellent {quoted(name)} : donnez le code INSEE"
            )
        return None

    async def _new_commune(self, line: Line, code: str, name: str) -> Ref | None:
        wanted = {"insee_code": code, "name": name}
        rename = {"insee_code": "commune_code", "name": "commune"}
        ref = await self.upsert(line, "communes", None, wanted, f"{quoted(name)} ({code})", rename)
        if ref is not None:
            line.later(lambda: self.index.register_commune(ref))
        return ref

    def axis_ids(self, line: Line, name: str = "axes") -> list[int]:
        found = []
        for word in values.split_list(line.raw(name)):
            axis = self.index.axes.get(normalise(word))
            if axis is None:
                known = ", ".join(quoted(n) for n in self.index.axis_names.values())
                line.warning(name, f"axe inconnu {quoted(word)} ignoré (axes : {known})")
            elif axis not in found:
                found.append(axis)
        return found

    async def _writable(self, line: Line, service: Any, ref: Ref, label: str) -> bool:
        """A scoped user's import updates only the records they may write (#20): a shared
        record, or one where their role is « lecteur », refuses the line, naming the record."""
        scope = territory_scope.current()
        rule = service.spec.territorial
        if scope is None or rule is None:
            return True
        territory = await territory_of(rule, ref.values.get(rule.field))
        if scope.can_write(territory, service.spec.write_role):
            return True
        what = f"{service.spec.label} {label}"
        if territory is None:
            line.problem(
                None,
                f"{what} : fiche partagée entre les territoires, que seule l'équipe qui héberge "
                "maillage modifie ; retirez cette ligne ou laissez ses colonnes telles quelles.",
            )
        else:
            line.problem(None, f"{what} : votre rôle sur son territoire ne permet pas de modifier.")
        return False

    async def upsert(
        self,
        line: Line,
        resource: str,
        ref: Ref | None,
        wanted: dict[str, Any],
        label: str,
        rename: dict[str, str] | None = None,
        links: dict[str, list[int]] | None = None,
        rules: bool = True,
    ) -> Ref | None:
        """Plan the creation of a record, or the update of ``ref`` with the fields that differ.

        Returns the record, or None when the line breaks a rule (noted as a problem)."""
        service = SERVICES[resource]
        entity = service.spec.entity
        before = len(line.outcome.problems)
        links = links or {}
        if ref is None:
            candidate = dict(wanted)
            errors = await check_values(service, candidate, None, rules)
            line.field_errors(errors, rename)
            if len(line.outcome.problems) > before:
                return None
            candidate.update(links)
            new = Ref(entity, candidate, line=line.number)
            line.outcome.operations.append(Operation(resource, new, candidate, dict(links)))
            line.outcome.created(f"{service.spec.label} {label} : création")
            return new
        merged = {**ref.values, **wanted}
        errors = await check_values(service, merged, ref.values if not ref.is_new else None, rules)
        line.field_errors(errors, rename)
        if len(line.outcome.problems) > before:
            return None
        changed = changes_between(ref.values, {k: merged[k] for k in wanted})
        added = {
            name: [t for t in targets if t not in ref.values.get(name, [])]
            for name, targets in links.items()
        }
        added = {name: targets for name, targets in added.items() if targets}
        if not changed and not added:
            return ref
        if not ref.is_new and not await self._writable(line, service, ref, label):
            return None
        previous = {k: ref.values.get(k) for k in changed}

        def remember() -> None:
            ref.values.update(changed)
            for name, targets in added.items():
                ref.values[name] = sorted({*ref.values.get(name, []), *targets})

        line.later(remember)
        fields = [*changed, *added]
        operation = Operation(resource, ref, changed, added, create=False, before=previous)
        line.outcome.operations.append(operation)
        line.outcome.updated(f"{service.spec.label} {label} : mise à jour ({', '.join(fields)})")
        return ref


ORGANISATION_TEXT = ("name", "category", "siret", "siren", "rna", "uai", "address", "email", "phone", "website", "notes")  # fmt: skip


class OrganisationPlanner(Planner):
    kind = "organisations"

    def find_organisation(self, line: Line, siret: str | None, email: str | None, name: str, commune: Ref | None, column: str) -> tuple[Ref | None, bool]:  # fmt: skip
        """The organisation the line means, and False when the name is ambiguous (noted)."""
        if siret and siret in self.index.organisations_by_siret:
            return self.index.organisations_by_siret[siret], True
        if email:
            found = self.index.organisations_by_email.get(email.lower(), [])
            if len(found) == 1:
                return found[0], True
        found = self.index.organisations_by_name.get(normalise(name), [])
        if siret:  # an organisation named alike but with another SIRET is another establishment
            found = [ref for ref in found if not ref.values.get("siret")]
        if len(found) > 1 and commune is not None:
            found = [ref for ref in found if identity(ref.values.get("commune")) == identity(commune)]  # fmt: skip
        if len(found) > 1:
            line.problem(
                column,
                f"plusieurs organisations s'appellent {quoted(name)} : donnez leur SIRET pour choisir",
            )
            return None, False
        return (found[0] if found else None), True

    async def plan_line(self, line: Line) -> None:
        wanted: dict[str, Any] = {
            name: line.text(name) for name in ORGANISATION_TEXT if line.has(name)
        }
        if line.has("siret"):
            wanted["siret"] = _compact(wanted["siret"])
        if line.has("kind"):
            wanted["kind"] = line.parsed(
                "kind", lambda c: values.coded(labels.ORGANISATION_KINDS, c, "type d'organisation")
            )
        commune = await self.commune(line)
        if commune is not None:
            wanted["commune"] = commune
        if line.has("parent"):
            parents = self.index.organisations_by_name.get(normalise(line.text("parent")), [])
            if len(parents) == 1:
                wanted["parent"] = parents[0]
            else:
                line.warning(
                    "parent",
                    f"organisation parente {quoted(line.text('parent'))} introuvable ou ambiguë : laissée vide",
                )
        if line.outcome.problems:
            return
        ref, clear = self.find_organisation(
            line, wanted.get("siret"), wanted.get("email"), wanted["name"], commune, "name"
        )
        if not clear:
            return
        if ref is None:
            wanted.setdefault("kind", "autre")
        ref = await self.upsert(
            line,
            "organisations",
            ref,
            wanted,
            quoted(wanted["name"]),
            links={"axes": self.axis_ids(line)},
        )
        if ref is not None and ref.is_new and ref.line == line.number:
            line.later(lambda: self.index.register_organisation(ref))


def _is_town_hall(name: str) -> bool:
    return normalise(name).startswith(("mairie ", "hotel de ville"))


def _compact(siret: str) -> str:
    return "".join(ch for ch in siret if not ch.isspace() and ch not in ".-")


CONTACT_TEXT = ("first_name", "last_name", "email", "phone", "notes")


# A function that is an elected mandate: « Maire », « 1re adjointe », « Adjoint au maire »,
# « Conseillère municipale »… but not the grades of the civil service (« Adjoint
# administratif ») nor an adviser's job (« Conseillère en économie sociale »).
_ORDINAL = r"(?:(?:\d+\s*(?:er|re|ere|e|eme|ieme)?|premier|premiere)\s+)?"
ELECTED_FUNCTION = re.compile(
    _ORDINAL
    + r"(?:maire\b|adjointe?(?:$|\s+(?:au|a|aux|delegue|deleguee)\b)"
    + r"|conseill(?:er|ere)s?\s+(?:municipa|communautaire|departementa|regiona|metropolitain|territoria)"
    + r"|deputee?\b|senat(?:eur|rice)\b)"
)


def is_elected_function(function: str) -> bool:
    return ELECTED_FUNCTION.match(normalise(function).strip()) is not None


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


class ContactPlanner(OrganisationPlanner):
    kind = "contacts"

    def __init__(self, index: Index, columns: ColumnMap) -> None:
        super().__init__(index, columns)
        # (organisation named on the line, phone digits) written on the lines of several
        # people of that organisation: the organisation's phone (a town hall's switchboard),
        # not each person's.
        self.shared_phones: set[tuple[str, str]] = set()

    def survey(self, lines: list[Line]) -> None:
        if "phone" not in self.columns.fields or "organisation" not in self.columns.fields:
            return
        people: dict[tuple[str, str], set[str]] = {}
        for line in lines:
            key = self._phone_key(line)
            if key is not None:
                person = person_key(line.text("first_name"), line.text("last_name"))
                people.setdefault(key, set()).add(person)
        self.shared_phones = {key for key, who in people.items() if len(who) > 1}

    def _phone_key(self, line: Line) -> tuple[str, str] | None:
        organisation, phone = normalise(line.text("organisation")), _digits(line.text("phone"))
        return (organisation, phone) if organisation and phone else None

    def _shared_phone(self, line: Line) -> bool:
        return self._phone_key(line) in self.shared_phones

    async def plan_line(self, line: Line) -> None:
        commune = await self.commune(line)
        if line.outcome.problems:
            return
        organisation = await self._organisation(line, commune)
        if line.outcome.problems:
            return
        wanted = self._contact_values(line, commune)
        if line.outcome.problems:
            return
        contact = self._find_contact(wanted, organisation)
        if (
            organisation is not None
            and contact is not None
            and contact.values.get("commune")
            and "commune" in wanted
        ):
            # The commune of a line that names an organisation is the organisation's (the
            # town hall's): it gives a new person theirs — where an élu is elected, as the
            # registers' load does — but does not move someone who has one already (an élu on
            # a second line for the EPCI, whose seat is elsewhere; a commune set by hand).
            del wanted["commune"]
        if (
            contact is not None
            and wanted.get("mailing_opt_out") is False
            and contact.values.get("mailing_opt_out")
        ):
            del wanted["mailing_opt_out"]
            line.warning(
                "mailing_opt_out",
                "cette personne s'est opposée aux envois : l'import ne lève pas une opposition",
            )
        label = quoted(f"{wanted['first_name']} {wanted['last_name']}")
        contact = await self.upsert(
            line, "contacts", contact, wanted, label, links={"axes": self.axis_ids(line)}
        )
        if contact is None:
            return
        if contact.is_new and contact.line == line.number:
            line.later(lambda: self.index.register_contact(contact))
        if organisation is not None:
            await self._affiliate(line, contact, organisation)

    async def _organisation(self, line: Line, commune: Ref | None) -> Ref | None:
        name = line.text("organisation")
        siret = _compact(line.text("organisation_siret")) or None
        if not name and not siret:
            return None
        ref, clear = self.find_organisation(line, siret, None, name, commune, "organisation")
        if not clear:
            return None
        if ref is None and not name:
            line.problem(
                "organisation_siret",
                f"aucune organisation n'a le SIRET {siret} : donnez aussi son nom",
            )
            return None
        # Without a name, the SIRET has found the organisation (checked just above).
        shown = name if name or ref is None else ref.values["name"]
        wanted: dict[str, Any] = {}
        if name and (ref is None or siret):
            wanted["name"] = name
        if siret:
            wanted["siret"] = siret
        if line.has("organisation_kind"):
            wanted["kind"] = line.parsed(
                "organisation_kind",
                lambda c: values.coded(labels.ORGANISATION_KINDS, c, "type d'organisation"),
            )
        elif ref is None:
            wanted["kind"] = COLLECTIVITY if _is_town_hall(name) else "autre"
        if ref is None and _is_town_hall(name):
            wanted["category"] = "Mairie"
        # The organisation's own details: its commune (when it has none), its address and
        # phone.
        if commune is not None and (ref is None or not ref.values.get("commune")):
            wanted["commune"] = commune
        if line.has("organisation_address"):
            wanted["address"] = line.text("organisation_address")
        phone_column = "organisation_phone"
        if line.has("organisation_phone"):
            wanted["phone"] = line.text("organisation_phone")
        elif self._shared_phone(line):
            wanted["phone"], phone_column = line.text("phone"), "phone"
        if line.outcome.problems:
            return None
        rename = {
            "siret": "organisation_siret",
            "name": "organisation",
            "kind": "organisation_kind",
            "address": "organisation_address",
            "phone": phone_column,
            "commune": "commune_code" if line.has("commune_code") else "commune",
        }
        ref = await self.upsert(line, "organisations", ref, wanted, quoted(shown), rename)
        if ref is not None and ref.is_new and ref.line == line.number:
            line.later(lambda: self.index.register_organisation(ref))
        return ref

    def _contact_values(self, line: Line, commune: Ref | None) -> dict[str, Any]:
        wanted: dict[str, Any] = {name: line.text(name) for name in CONTACT_TEXT if line.has(name)}
        if "phone" in wanted and self._shared_phone(line):
            del wanted["phone"]  # the organisation's, written on every line
        if line.has("civility"):
            wanted["civility"] = line.parsed("civility", values.civility)
        if line.has("legal_basis"):
            wanted["legal_basis"] = line.parsed(
                "legal_basis", lambda c: values.coded(labels.LEGAL_BASES, c, "base légale")
            )
        if line.has("consent_date"):
            wanted["consent_date"] = line.parsed("consent_date", values.date)
        if line.has("mailing_opt_out"):
            wanted["mailing_opt_out"] = line.parsed("mailing_opt_out", values.boolean)
        if commune is not None:
            wanted["commune"] = commune
        for required, label in (("last_name", "le nom"), ("first_name", "le prénom")):
            if not wanted.get(required):
                line.problem(required, f"{label} est obligatoire")
        return wanted

    def _find_contact(self, wanted: dict[str, Any], organisation: Ref | None) -> Ref | None:
        key = person_key(wanted["first_name"], wanted["last_name"])
        email = (wanted.get("email") or "").lower()
        if email:
            same_box = self.index.contacts_by_email.get(email, [])
            for ref in same_box:
                if person_key(ref.values["first_name"], ref.values["last_name"]) == key:
                    return ref
            if len(same_box) == 1:
                other = same_box[0].values
                if normalise(other["last_name"]) == normalise(wanted["last_name"]) or normalise(
                    other["first_name"]
                ) == normalise(wanted["first_name"]):
                    return same_box[0]
        namesakes = self.index.contacts_by_name.get(key, [])
        if organisation is not None:
            members = [
                r
                for r in namesakes
                if any(o is organisation for o in self.index.contact_organisations.get(id(r), []))
            ]
            return members[0] if len(members) == 1 else None
        if not email and len(namesakes) == 1:
            return namesakes[0]
        return None

    async def _affiliate(self, line: Line, contact: Ref, organisation: Ref) -> None:
        existing = self.index.affiliations.get((id(contact), id(organisation)))
        wanted: dict[str, Any] = {"contact": contact, "organisation": organisation}
        if line.has("function"):
            wanted["function"] = line.text("function")
        if line.has("elected_mandate"):
            wanted["elected_mandate"] = line.parsed("elected_mandate", values.boolean)
        elif line.has("function") and is_elected_function(line.text("function")):
            wanted["elected_mandate"] = True
        for name in ("start_date", "end_date"):
            if line.has(name):
                wanted[name] = line.parsed(name, values.date)
        if line.outcome.problems:
            return
        if existing is None:
            wanted["is_primary"] = id(contact) not in self.index.has_primary
        elif len(wanted) == 2:
            return
        label = (
            quoted(f"{contact.values['first_name']} {contact.values['last_name']}")
            + " — "
            + quoted(organisation.values["name"])
        )
        ref = await self.upsert(line, "affiliations", existing, wanted, label, rules=False)
        if ref is not None and existing is None:
            line.later(lambda: self.index.register_affiliation(contact, organisation, ref))


class CommunePlanner(Planner):
    kind = "communes"

    async def plan_line(self, line: Line) -> None:
        kind = line.text("commune_type")
        if kind and kind.upper() not in ("COM", "COMMUNE"):
            line.warning(
                "commune_type",
                f"ligne de type {quoted(kind)} ignorée (seules les communes « COM » sont importées)",
            )
            return
        code = line.text("insee_code")
        wanted: dict[str, Any] = {
            "insee_code": code.zfill(5) if code.isdigit() else code.upper(),
            "name": line.text("name"),
        }
        if line.has("population"):
            wanted["population"] = line.parsed("population", values.integer)
        if line.has("territory"):
            territory = self.index.territories.get(
                normalise(line.text("territory"))
            ) or self.index.territories.get(line.text("territory"))
            if territory is None:
                line.warning(
                    "territory",
                    f"territoire {quoted(line.text('territory'))} inconnu : créez-le d'abord",
                )
            else:
                wanted["territory"] = territory
        if line.outcome.problems:
            return
        existing = self.index.communes_by_code.get(wanted["insee_code"])
        ref = await self.upsert(
            line, "communes", existing, wanted, f"{quoted(wanted['name'])} ({wanted['insee_code']})"
        )
        if ref is not None and existing is None:
            line.later(lambda: self.index.register_commune(ref))


class GroupPlanner(Planner):
    kind = "groups"

    async def plan_line(self, line: Line) -> None:
        wanted: dict[str, Any] = {"name": line.text("name")}
        for name in ("description", "default_location"):
            if line.has(name):
                wanted[name] = line.text(name)
        if line.has("kind"):
            wanted["kind"] = line.parsed(
                "kind", lambda c: values.coded(labels.GROUP_KINDS, c, "type d'instance")
            )
        if line.has("territory"):
            territory = self.index.territories.get(normalise(line.text("territory")))
            if territory is None:
                line.warning(
                    "territory",
                    f"territoire {quoted(line.text('territory'))} inconnu : laissé vide",
                )
            else:
                wanted["territory"] = territory
        communes = []
        for word in values.split_list(line.raw("communes")):
            ref = self.index.communes_by_code.get(word)
            ids = (
                [ref.id]
                if ref is not None and ref.id
                else self.index.communes_by_name.get(normalise(word), [])
            )
            if len(ids) == 1:
                communes.append(ids[0])
            else:
                line.warning("communes", f"commune {quoted(word)} inconnue ou ambiguë : ignorée")
        if line.outcome.problems:
            return
        found = self.index.groups_by_name.get(normalise(wanted["name"]), [])
        if len(found) > 1:
            line.problem("name", f"plusieurs instances s'appellent {quoted(wanted['name'])}")
            return
        existing = found[0] if found else None
        if existing is None and "kind" not in wanted:
            line.problem(
                "kind",
                "le type d'instance est obligatoire pour une nouvelle instance : "
                + labels.choices(labels.GROUP_KINDS),
            )
            return
        links = {"axes": self.axis_ids(line), "communes": communes}
        ref = await self.upsert(
            line, "groups", existing, wanted, quoted(wanted["name"]), links=links
        )
        if ref is not None and existing is None:
            line.later(lambda: _multi(self.index.groups_by_name, normalise(wanted["name"]), ref))


class MembershipPlanner(Planner):
    kind = "memberships"

    async def plan_line(self, line: Line) -> None:
        group = self._group(line)
        contact = self._contact(line)
        role = line.parsed("role", lambda c: values.coded(labels.ROLES, c, "rôle")) or MEMBER
        start = line.parsed("start_date", values.date)
        end = line.parsed("end_date", values.date)
        organisation = None
        if line.has("organisation"):
            found = self.index.organisations_by_name.get(normalise(line.text("organisation")), [])
            if len(found) == 1:
                organisation = found[0]
            else:
                line.warning(
                    "organisation",
                    f"organisation {quoted(line.text('organisation'))} introuvable ou ambiguë : laissée vide",
                )
        if line.outcome.problems or group is None or contact is None:
            return
        key = (contact.id, group.id, role)
        existing = self._existing(key, start)
        wanted: dict[str, Any] = {"contact": contact.id, "working_group": group.id, "role": role}
        if start is not None or existing is None:
            wanted["start_date"] = start or today()
        if end is not None:
            wanted["end_date"] = end
        if organisation is not None:
            wanted["organisation"] = organisation
        label = (
            quoted(f"{contact.values['first_name']} {contact.values['last_name']}")
            + " — "
            + quoted(group.values["name"])
        )
        rename = {"contact": "email", "working_group": "group"}
        ref = await self.upsert(line, "memberships", existing, wanted, label, rename)
        if ref is not None and existing is None:
            line.later(lambda: self.index.memberships.setdefault(key, []).append(ref))

    def _existing(self, key: tuple[int | None, int | None, str], start: Any) -> Ref | None:
        """The same membership: same start date, or the running one when the file has none."""
        for ref in self.index.memberships.get(key, []):
            if ref.values.get("start_date") == start or (
                start is None and ref.values.get("end_date") is None
            ):
                return ref
        return None

    def _group(self, line: Line) -> Ref | None:
        found = self.index.groups_by_name.get(normalise(line.text("group")), [])
        if len(found) != 1:
            line.problem(
                "group",
                f"instance {quoted(line.text('group'))} introuvable ou ambiguë : créez-la d'abord (import --kind groups)",
            )
            return None
        return found[0]

    def _contact(self, line: Line) -> Ref | None:
        email = line.text("email").lower()
        key = person_key(line.text("first_name"), line.text("last_name"))
        candidates = (
            self.index.contacts_by_email.get(email, [])
            if email
            else self.index.contacts_by_name.get(key, [])
        )
        if email and len(candidates) > 1:
            candidates = [
                r
                for r in candidates
                if person_key(r.values["first_name"], r.values["last_name"]) == key
            ]
        if len(candidates) != 1:
            who = email or f"{line.text('first_name')} {line.text('last_name')}"
            line.problem(
                "email" if email else "last_name",
                f"contact {quoted(who)} introuvable ou ambigu : importez d'abord les contacts",
            )
            return None
        return candidates[0]


def _remember(into: dict[Any, Ref], key: Any, ref: Ref) -> Callable[[], None]:
    return lambda: into.__setitem__(key, ref)


class IndicatorPlanner(Planner):
    """One line: a commune (INSEE code), a date, a source and a value per indicator column.
    A value already stored for that commune, indicator and date is updated, never doubled."""

    kind = "indicateurs"

    async def plan_line(self, line: Line) -> None:
        code = line.text("insee_code")
        commune = self.index.communes_by_code.get(code.zfill(5) if code.isdigit() else code)
        if commune is None or commune.id is None:
            line.problem(
                "insee_code",
                f"aucune commune de code INSEE {quoted(code)} : importez d'abord les communes",
            )
        measured_on = line.parsed("measured_on", values.day_or_year)
        figures = {
            name: line.parsed(name, values.decimal) for name in COMMUNE_INDICATORS if line.has(name)
        }
        if not figures and not line.outcome.problems:
            line.problem(None, "aucune valeur d'indicateur sur la ligne")
        if line.outcome.problems or commune is None or commune.id is None or measured_on is None:
            return
        commune_id: int = commune.id
        source = line.text("source")
        if not source:
            line.warning("source", "source non indiquée : précisez d'où vient le chiffre")
        name = commune.values["name"]
        for indicator, value in figures.items():
            key = (commune_id, indicator, measured_on)
            wanted = {
                "commune": commune_id,
                "code": indicator,
                "value": value,
                "measured_on": measured_on,
                "source": source,
            }
            label = f"{quoted(COMMUNE_INDICATORS[indicator])} de {name} au {measured_on:%d/%m/%Y}"
            existing = self.index.indicators.get(key)
            ref = await self.upsert(line, "indicators", existing, wanted, label)
            if ref is not None and existing is None:
                line.later(_remember(self.index.indicators, key, ref))


PLANNERS: dict[str, type[Planner]] = {
    "contacts": ContactPlanner,
    "organisations": OrganisationPlanner,
    "communes": CommunePlanner,
    "groups": GroupPlanner,
    "memberships": MembershipPlanner,
    "indicateurs": IndicatorPlanner,
}
