"""Load or refresh a territory from the public registers: plan, then apply in one transaction.

A dry run plans and writes nothing; a load plans again inside one write transaction and applies
the plan with the import's write path (``exchange.imports.apply``: batched inserts, versioned
updates, search text, one audit event per record), so the whole load is all or nothing.

What a refresh may change, and what it never touches:
- records are found again by their register key (``source_ref``: « mairie:73003 », a mandate's
  place, function and person), the territory by SIREN and communes by INSEE code; a town hall or
  an EPCI typed by hand is recognised (commune and name, or SIREN) and gets its key;
- a commune's population and territory follow the register (and its name, when the register
  created it); an organisation's address, e-mail, phone and website are only filled when empty;
  names, notes, axes and everything about a contact are never rewritten once they exist;
- a mandate that left the register gets an end date (the day of the refresh), never deleted;
  a mandate ended by hand stays ended; memberships are never touched.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from maillage import french
from maillage.actor import Actor
from maillage.crm.registry import SERVICES
from maillage.crm.text import normalise
from maillage.db import read_transaction, write_transaction
from maillage.errors import InvalidData
from maillage.exchange.imports import apply
from maillage.exchange.plan import Operation, Ref, check_values
from maillage.french import plural
from maillage.opendata import registers
from maillage.opendata.registers import OrganisationRow, Person, Snapshot
from maillage.tables import Affiliation, Commune, CommuneOutline, Contact, Organisation, Territory

FIELD_LABELS = {
    "address": "adresse",
    "email": "adresse électronique",
    "phone": "téléphone",
    "website": "site web",
    "siren": "SIREN",
}
FILLED = ("address", "email", "phone", "website")
# Reading the registers takes seconds of CPU: one at a time, off the event loop.
_READERS = anyio.CapacityLimiter(1)
SCOPES_PER_QUERY = 40


@dataclass
class LoadReport:
    siren: str
    name: str
    month: str
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    committed: bool = False
    territory_id: int | None = None
    cantons: list[str] = field(default_factory=list)
    constituencies: list[str] = field(default_factory=list)

    def count(self, what: str, number: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + number

    @property
    def changed(self) -> bool:
        return bool(self.lines)

    def summary(self) -> str:
        if not self.lines:
            return "Rien à changer : la base est à jour avec les répertoires publics."
        verb = "Chargement effectué" if self.committed else "Simulation (rien n'a été écrit)"
        parts = [
            plural(self.counts.get(key, 0), singular, plural_form)
            for key, singular, plural_form in (
                ("communes", "commune créée", "communes créées"),
                ("organisations", "organisation créée", "organisations créées"),
                ("contacts", "contact créé", "contacts créés"),
                ("mandats", "mandat ajouté", "mandats ajoutés"),
                ("fins", "mandat terminé", "mandats terminés"),
                ("mises_a_jour", "mise à jour", "mises à jour"),
            )
        ]
        return f"{verb} : {', '.join(parts)}."

    def notice(self) -> str | None:
        """The people created were not asked for their data: the article-14 notice is owed."""
        created = self.counts.get("contacts", 0)
        if not created:
            return None
        return (
            f"Données recueillies sans passer par les personnes "
            f"({plural(created, 'contact créé', 'contacts créés')}) : la note d'information de "
            "l'article 14 du RGPD leur est due (« maillage rgpd notice », "
            "ou GET /api/v1/rgpd/notice)."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "epci": self.siren,
            "nom": self.name,
            "repertoires": self.month,
            "enregistre": self.committed,
            "territoire": self.territory_id,
            "resume": self.summary(),
            "totaux": self.counts,
            "cantons": self.cantons,
            "circonscriptions": self.constituencies,
            "changements": self.lines,
            "avertissements": self.warnings,
            "information_article_14": self.notice(),
        }


async def read_registers(siren: str, secret: str, cache_dir: Path | None = None) -> Snapshot:
    read = functools.partial(registers.read_territory, key=registers.mandate_key(secret))
    return await anyio.to_thread.run_sync(read, siren, cache_dir, limiter=_READERS)


def cache_dir(data_dir: Path) -> Path:
    """Where the snapshots read from the registers are kept (public data only)."""
    return data_dir / "cache" / "repertoires"


async def load_territory(
    actor: Actor,
    siren: str,
    dry_run: bool = True,
    today: dt.date | None = None,
    snapshot: Snapshot | None = None,
    data_dir: Path | None = None,
    secret: str | None = None,
) -> LoadReport:
    """Plan the load of EPCI ``siren``; unless ``dry_run``, apply it (all or nothing). With
    ``data_dir``, what the registers say is kept under it for the next run. ``secret`` (the
    instance's ``MAILLAGE_SECRET_KEY``) keys the mandates' register keys; a test may give the
    ``snapshot`` read instead."""
    cache = cache_dir(data_dir) if data_dir is not None else None
    if snapshot is None:
        if secret is None:
            raise ValueError("the instance secret keys the mandates: give secret or snapshot")
        snapshot = await read_registers(siren, secret, cache)
    day = today or dt.date.today()
    if dry_run:
        async with read_transaction():
            planner = await _Planner.run(snapshot, day)
        return planner.report
    async with write_transaction():
        planner = await _Planner.run(snapshot, day)
        source = {"source": f"répertoires publics ({snapshot.month})"}
        await apply(planner.operations, actor, source)
        await planner.write_outlines()
    planner.report.committed = True
    planner.report.territory_id = planner.territory.id
    return planner.report


async def load_departement(
    actor: Actor,
    code: str,
    secret: str,
    dry_run: bool = True,
    today: dt.date | None = None,
    skip: set[str] | frozenset[str] = frozenset(),
) -> AsyncIterator[LoadReport]:
    """Load (or refresh) every EPCI of département ``code``, one after the other, each all or
    nothing in its own transaction; the registers are read once for the whole département, off
    the event loop. Yields each EPCI's report as it is done: a country is loaded département
    after département with memory bounded by the largest one (``maillage territory load
    --all``)."""
    key = registers.mandate_key(secret)
    async with _READERS:
        snapshots = await anyio.to_thread.run_sync(
            lambda: list(registers.read_departement(code, key))
        )
    if not snapshots:
        raise InvalidData.one("departement", f"Aucun EPCI dans le département « {code} ».")
    while snapshots:
        snapshot = snapshots.pop(0)  # let each snapshot go once loaded
        if snapshot.epci.siren in skip:
            continue  # across two départements: loaded with the other one
        yield await load_territory(
            actor, snapshot.epci.siren, dry_run=dry_run, today=today, snapshot=snapshot
        )


class _Planner:
    def __init__(self, snapshot: Snapshot, today: dt.date) -> None:
        self.snapshot = snapshot
        self.today = today
        self.report = LoadReport(
            snapshot.epci.siren,
            snapshot.epci.name,
            snapshot.month,
            cantons=snapshot.cantons,
            constituencies=snapshot.constituencies,
        )
        self.operations: list[Operation] = []
        self.communes: dict[str, Ref] = {}
        self.organisations: dict[str, Ref] = {}
        self.outlines: list[tuple[Ref, str, int | None]] = []  # commune, WKB, outline row id
        self.territory: Ref

    @classmethod
    async def run(cls, snapshot: Snapshot, today: dt.date) -> _Planner:
        planner = cls(snapshot, today)
        await planner._territory()
        await planner._communes()
        await planner._organisations()
        await planner._people()
        if planner.report.territory_id is None and not planner.territory.is_new:
            planner.report.territory_id = planner.territory.id
        return planner

    def _line(self, text: str) -> None:
        self.report.lines.append(text)

    def _create(self, resource: str, entity: str, values: dict[str, Any]) -> Ref:
        ref = Ref(entity, values)
        self.operations.append(Operation(resource, ref, values))
        return ref

    def _update(self, resource: str, ref: Ref, changes: dict[str, Any]) -> None:
        before = {k: ref.values.get(k) for k in changes}
        ref.values.update(changes)  # the search text is computed from the record after
        self.operations.append(Operation(resource, ref, changes, create=False, before=before))
        self.report.count("mises_a_jour")

    # ----- the territory and its communes ------------------------------------------------

    async def _territory(self) -> None:
        epci = self.snapshot.epci
        row = await Territory.select().where(Territory.siren == epci.siren).first().run()
        if row is not None:
            self.territory = Ref("territory", row, id=row["id"])
            return
        values = {
            "name": epci.name,
            "siren": epci.siren,
            "source": self.snapshot.source("Code officiel géographique (INSEE)"),
        }
        await self._checked("territories", values, None, epci.name)
        self.territory = self._create("territories", "territory", values)
        self._line(f"Territoire « {epci.name} » (SIREN {epci.siren}) : création")

    async def _communes(self) -> None:
        codes = [c.insee_code for c in self.snapshot.communes]
        existing = {
            row["insee_code"]: row
            for row in await Commune.select().where(Commune.insee_code.is_in(codes)).run()
        }
        outlines = {
            row["commune"]: row
            for row in await CommuneOutline.select().where(
                CommuneOutline.commune.is_in([r["id"] for r in existing.values()] or [0])
            )
        }
        source = self.snapshot.source("Code officiel géographique (INSEE)")
        for commune in self.snapshot.communes:
            label = f"Commune {commune.name} ({commune.insee_code})"
            row = existing.get(commune.insee_code)
            if row is None:
                values = {
                    "insee_code": commune.insee_code,
                    "name": commune.name,
                    "population": commune.population,
                    "territory": self.territory,
                    "source": source,
                }
                ref = self._create("communes", "commune", values)
                self.report.count("communes")
                habitants = plural(commune.population or 0, "habitant")
                self._line(f"{label} : création ({habitants})")
            else:
                ref = Ref("commune", row, id=row["id"])
                self._commune_changes(ref, commune, label)
            self.communes[commune.insee_code] = ref
            outline = outlines.get(ref.id) if ref.id else None
            if commune.outline and (outline is None or outline["wkb"] != commune.outline):
                self.outlines.append((ref, commune.outline, outline["id"] if outline else None))
                verb = "mise à jour" if outline else "ajout"
                self._line(f"Contour de la commune {commune.name} : {verb}")

    def _commune_changes(self, ref: Ref, commune: registers.CommuneRow, label: str) -> None:
        row = ref.values
        changes: dict[str, Any] = {}
        notes = []
        if commune.population is not None and row["population"] != commune.population:
            changes["population"] = commune.population
            old = french.number(row["population"])
            notes.append(f"population {old} → {french.number(commune.population)}")
        if row["territory"] != self.territory.id or self.territory.is_new:
            changes["territory"] = self.territory
            notes.append(f"rattachée au territoire « {self.snapshot.epci.name} »")
        if row["source"] and row["name"] != commune.name:
            changes["name"] = commune.name
            notes.append(f"nom « {row['name']} » → « {commune.name} »")
        if changes:
            self._update("communes", ref, changes)
            self._line(f"{label} : {', '.join(notes)}")

    async def write_outlines(self) -> None:
        """After the communes exist: their outlines (no audit: public, derived data)."""
        source = self.snapshot.source("Code officiel géographique (INSEE)")
        new = []
        for ref, outline, outline_id in self.outlines:
            if outline_id is None:
                new.append(CommuneOutline(commune=ref.id, wkb=outline, source=source))
            else:
                await CommuneOutline.update(
                    {CommuneOutline.wkb: outline, CommuneOutline.source: source}
                ).where(CommuneOutline.id == outline_id)
        for start in range(0, len(new), 200):
            await CommuneOutline.insert(*new[start : start + 200]).run()

    # ----- organisations -----------------------------------------------------------------

    async def _organisations(self) -> None:
        wanted = self.snapshot.organisations
        by_ref = {
            row["source_ref"]: row
            for row in await Organisation.select().where(
                Organisation.source_ref.is_in(list(wanted))
            )
        }
        for key, organisation in wanted.items():
            row = by_ref.get(key) or await self._typed_organisation(organisation)
            if row is None:
                self.organisations[key] = await self._new_organisation(organisation)
                continue
            ref = Ref("organisation", row, id=row["id"])
            self.organisations[key] = ref
            changes: dict[str, Any] = {}
            if row["source_ref"] != key:
                changes["source_ref"] = key
            values = await self._valid_organisation(organisation, row)
            filled = [k for k in FILLED if values.get(k) and not row.get(k)]
            changes.update({k: values[k] for k in filled})
            if changes:
                self._update("organisations", ref, changes)
                notes = []
                if "source_ref" in changes:
                    notes.append(f"fiche existante n° {row['id']} reliée au répertoire")
                if filled:
                    what = "champ complété" if len(filled) == 1 else "champs complétés"
                    notes.append(f"{what} : " + ", ".join(FIELD_LABELS[k] for k in filled))
                self._line(f"Organisation « {row['name']} » : {' ; '.join(notes)}")

    async def _typed_organisation(self, organisation: OrganisationRow) -> dict[str, Any] | None:
        """A town hall or an EPCI someone typed before the first load, to be completed rather
        than doubled."""
        query = Organisation.select().where(Organisation.source_ref.is_null())
        if organisation.siren:
            return await query.where(Organisation.siren == organisation.siren).first().run()
        commune = self.communes.get(organisation.commune or "")
        if commune is None or commune.is_new:
            return None
        wanted = normalise(organisation.name)
        for row in await query.where(Organisation.commune == commune.id).run():
            if normalise(row["name"]) == wanted:
                return row
        return None

    async def _valid_organisation(
        self, organisation: OrganisationRow, existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            "name": organisation.name,
            "kind": organisation.kind,
            "category": organisation.category,
            "siren": organisation.siren,
            "address": organisation.address[:300],
            "email": organisation.email,
            "phone": organisation.phone,
            "website": organisation.website,
        }
        for _ in range(len(values)):
            errors = await check_values(SERVICES["organisations"], values, existing)
            if not errors:
                break
            for error in errors:
                if error.field not in FIELD_LABELS:
                    raise registers.RegisterError(
                        f"Organisation « {organisation.name} » refusée : {error.message}"
                    )
                what = FIELD_LABELS[error.field]
                self.report.warnings.append(
                    f"{organisation.name} : champ « {what} » du répertoire ignoré ({error.message})"
                )
                values[error.field] = None if error.field != "address" else ""
        return values

    async def _new_organisation(self, organisation: OrganisationRow) -> Ref:
        values = await self._valid_organisation(organisation, None)
        commune = self.communes.get(organisation.commune or "")
        values.update(
            commune=commune, source=organisation.source, source_ref=organisation.ref, notes=""
        )
        self.report.count("organisations")
        self._line(f"Organisation « {organisation.name} » : création")
        return self._create("organisations", "organisation", values)

    # ----- people and their mandates -----------------------------------------------------

    async def _people(self) -> None:
        refs = [m.ref for person in self.snapshot.people for m in person.mandates]
        existing: dict[str, dict[str, Any]] = {}
        for start in range(0, len(refs), 500):
            chunk = refs[start : start + 500]
            for row in await Affiliation.select().where(Affiliation.source_ref.is_in(chunk)):
                existing[row["source_ref"]] = row
        contact_ids = {row["contact"] for row in existing.values()}
        contacts = {
            row["id"]: row
            for row in await Contact.select(
                Contact.id, Contact.first_name, Contact.last_name, Contact.civility
            ).where(Contact.id.is_in(list(contact_ids) or [0]))
        }
        typed = await self._typed_contacts()
        for person in self.snapshot.people:
            contact = self._known_contact(person, existing, contacts, typed)
            for mandate in person.mandates:
                if mandate.ref in existing:
                    self._function_change(person, mandate, existing[mandate.ref])
                    continue
                if contact is None:
                    contact = await self._new_contact(person)
                organisation = self.organisations[mandate.organisation]
                values = {
                    "contact": contact,
                    "organisation": organisation,
                    "function": mandate.function[:200],
                    "elected_mandate": True,
                    "start_date": mandate.start,
                    "source": mandate.source,
                    "source_ref": mandate.ref,
                }
                self._create("affiliations", "affiliation", values)
                self.report.count("mandats")
                since = f", depuis le {french.date_fr(mandate.start)}" if mandate.start else ""
                self._line(
                    f"Mandat : {person.label}, {mandate.function} "
                    f"({organisation.values['name']}){since} : ajout"
                )
        await self._end_gone(set(refs))

    def _function_change(
        self, person: Person, mandate: registers.Mandate, row: dict[str, Any]
    ) -> None:
        """A kept mandate whose function the register changed (the 2e adjoint now 1er, the
        adjointe now maire): the same mandate, its function and start updated; a function the
        coordinator rewrote is kept, and said."""
        function = mandate.function[:200]
        if row["end_date"] is not None or row["function"] == function:
            return
        where = self.organisations[mandate.organisation].values["name"]
        if not registers.is_register_function(row["function"]):
            self.report.warnings.append(
                f"{person.label} ({where}) : fonction saisie à la main « {row['function']} » "
                f"conservée ; le répertoire dit « {function} »"
            )
            return
        changes: dict[str, Any] = {"function": function}
        if mandate.start is not None and mandate.start != row["start_date"]:
            changes["start_date"] = mandate.start
        since = f", depuis le {french.date_fr(mandate.start)}" if mandate.start else ""
        self._line(
            f"Mandat : {person.label} ({where}), fonction « {row['function']} » → "
            f"« {function} »{since}"
        )
        self._update("affiliations", Ref("affiliation", row, id=row["id"]), changes)

    async def _typed_contacts(self) -> dict[tuple[str, int], list[dict[str, Any]]]:
        """Contacts typed by hand, by (name, organisation they work in): the maire a
        coordinator entered before the first load is the register's maire."""
        organisation_ids = [r.id for r in self.organisations.values() if not r.is_new]
        if not organisation_ids:
            return {}
        rows = await Affiliation.select(
            Affiliation.organisation,
            Affiliation.contact.id.as_alias("contact_id"),
            Affiliation.contact.first_name.as_alias("first_name"),
            Affiliation.contact.last_name.as_alias("last_name"),
            Affiliation.contact.civility.as_alias("civility"),
        ).where(Affiliation.organisation.is_in(organisation_ids) & Affiliation.source_ref.is_null())
        found: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for row in rows:
            key = (normalise(f"{row['first_name']} {row['last_name']}"), row["organisation"])
            found.setdefault(key, []).append(row)
        return found

    def _known_contact(
        self,
        person: Person,
        existing: dict[str, dict[str, Any]],
        contacts: dict[int, dict[str, Any]],
        typed: dict[tuple[str, int], list[dict[str, Any]]],
    ) -> Ref | None:
        for mandate in person.mandates:
            row = existing.get(mandate.ref)
            if row is not None and row["contact"] in contacts:
                contact = contacts[row["contact"]]
                return Ref("contact", contact, id=contact["id"])
        name = normalise(f"{person.first_name} {person.last_name}")
        for mandate in person.mandates:
            organisation = self.organisations[mandate.organisation]
            if organisation.is_new:
                continue
            rows = typed.get((name, organisation.id or 0), [])
            if len({r["contact_id"] for r in rows}) == 1:
                row = rows[0]
                self._line(
                    f"Contact {person.label} : fiche existante n° {row['contact_id']} retrouvée "
                    f"({organisation.values['name']})"
                )
                values = {k: row[k] for k in ("first_name", "last_name", "civility")}
                return Ref("contact", {"id": row["contact_id"], **values}, id=row["contact_id"])
        return None

    async def _new_contact(self, person: Person) -> Ref:
        values: dict[str, Any] = {
            "civility": person.civility,
            "first_name": person.first_name[:100],
            "last_name": person.last_name[:100],
            "commune": self.communes.get(person.commune or ""),
            "source": person.source,
            "notes": "",
        }
        await self._checked("contacts", values, None, person.label)
        self.report.count("contacts")
        self._line(f"Contact {person.label} : création")
        return self._create("contacts", "contact", values)

    async def _end_gone(self, present: set[str]) -> None:
        """Mandates of this territory's places that the register no longer lists end today."""
        scopes = tuple(self._scopes())
        rows = []
        # Only this territory's places: a country loaded EPCI after EPCI must not read every
        # mandate of the country each time. A few dozen places a query: SQLite's parser
        # overflows on a hundred nested ORs (an EPCI of 100 communes).
        for start in range(0, len(scopes), SCOPES_PER_QUERY):
            chunk = scopes[start : start + SCOPES_PER_QUERY]
            rows += await Affiliation.select(
                *Affiliation.all_columns(),
                Affiliation.contact.first_name.as_alias("first_name"),
                Affiliation.contact.last_name.as_alias("last_name"),
                Affiliation.organisation.name.as_alias("organisation_name"),
            ).where(
                Affiliation.end_date.is_null()
                & functools.reduce(
                    operator.or_, [Affiliation.source_ref.like(f"{s}%") for s in chunk]
                )
            )
        rows.sort(key=operator.itemgetter("id"))
        for row in rows:
            key = row["source_ref"]
            if key in present or not key.startswith(scopes):
                continue
            values = {k: v for k, v in row.items() if k not in ("first_name", "last_name", "organisation_name")}  # fmt: skip
            ref = Ref("affiliation", values, id=row["id"])
            self._update("affiliations", ref, {"end_date": self.today})
            self.report.count("fins")
            self._line(
                f"Mandat terminé : {row['first_name']} {row['last_name']}, {row['function']} "
                f"({row['organisation_name']}) : absent du répertoire, fin au "
                f"{french.date_fr(self.today)}"
            )

    def _scopes(self) -> list[str]:
        scopes = [f"cm:{c.insee_code}:" for c in self.snapshot.communes]
        scopes.append(f"epci:{self.snapshot.epci.siren}:")
        scopes += [f"cd:{code}:" for code in self.snapshot.canton_codes]
        scopes += [f"an:{code}:" for code in self.snapshot.constituency_codes]
        return scopes

    async def _checked(
        self, resource: str, values: dict[str, Any], existing: dict[str, Any] | None, label: str
    ) -> None:
        errors = await check_values(SERVICES[resource], values, existing)
        if errors:
            details = "; ".join(f"{e.field} : {e.message}" for e in errors)
            raise registers.RegisterError(f"« {label} » refusé par les règles : {details}")
