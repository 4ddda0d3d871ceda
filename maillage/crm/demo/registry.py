"""Organisations, people and their affiliations: the partner registry of the demo."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from maillage.crm.demo import vocabulary as words
from maillage.crm.demo.dataset import Dataset
from maillage.crm.demo.identifiers import Identifiers, person_email, slug
from maillage.crm.demo.people import Cast, Org, Person, Place
from maillage.tables import Affiliation, Contact, ContactAxis, Organisation, OrganisationAxis

Function = str | tuple[str, str]  # one label, or (feminine, masculine)

# Municipal councils are installed a few days after the second round; 2020's was postponed.
INSTALLATIONS = (dt.date(2014, 3, 28), dt.date(2020, 5, 25), dt.date(2026, 3, 27))


def installations(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last installation of municipal councils on or before ``today``, and the one before."""
    past = [day for day in INSTALLATIONS if day <= today] or list(INSTALLATIONS[:1])
    current = past[-1]
    previous = past[-2] if len(past) > 1 else current.replace(year=current.year - 6)
    return previous, current


@dataclass
class Shared:
    """Organisations of the whole département, created once and shared by its territories."""

    orgs: dict[str, Org] = field(default_factory=dict)
    operators: list[Org] = field(default_factory=list)


class Registry:
    """Writes organisations, contacts and affiliations, and keeps the cast of one territory."""

    def __init__(
        self,
        ds: Dataset,
        rng: random.Random,
        ids: Identifiers,
        today: dt.date,
        axis_ids: dict[str, int],
    ) -> None:
        self.ds, self.rng, self.ids, self.today, self.axis_ids = ds, rng, ids, today, axis_ids
        self.cast = Cast()
        self._names: set[tuple[str, str]] = set()
        self.places: list[Place] = []

    def day_between(self, start: dt.date, end: dt.date) -> dt.date:
        return start + dt.timedelta(days=self.rng.randrange(max(1, (end - start).days)))

    # ----- organisations -------------------------------------------------------------------

    def org(
        self,
        name: str,
        kind: str,
        category: str,
        place: Place | None,
        axes: tuple[str, ...] = (),
        *,
        parent: Org | None = None,
        siret: bool = True,
        rna: bool = False,
        uai: bool = False,
        domain: str | None = None,
        isolated: bool = False,
        archived: bool = False,
        siren_prefix: str = "",
        known_siren: str | None = None,
    ) -> Org:
        domain = domain or f"{slug(name)[:40].strip('-')}.example"
        siren = known_siren or (self.ids.siren(siren_prefix) if siret else None)
        created = self.day_between(dt.date(2019, 1, 1), dt.date(2022, 6, 30))
        org_id = self.ds.add(
            Organisation,
            created,
            name=name,
            kind=kind,
            category=category,
            parent=parent.id if parent else None,
            siret=self.ids.siret(siren) if siren else None,
            siren=siren if siren and self.rng.random() < 0.3 else None,
            rna=self.ids.rna() if rna else None,
            uai=self.ids.uai() if uai else None,
            address=self._address(place),
            commune=place.id if place else None,
            email=f"{self.rng.choice(('contact', 'accueil', 'secretariat'))}@{domain}",
            phone=self.ids.phone() if self.rng.random() < 0.9 else None,
            website=f"https://www.{domain}" if self.rng.random() < 0.6 else None,
            archived=archived,
        )
        for code in axes:
            self.ds.link(OrganisationAxis, organisation=org_id, axis=self.axis_ids[code])
        org = Org(org_id, name, kind, category, domain, place, axes, isolated)
        self.cast.orgs.append(org)
        return org

    def _address(self, place: Place | None) -> str:
        if place is None:
            return ""
        street = self.rng.choice(
            ("rue de la Mairie", "place de l'Église", "rue des Écoles", "avenue de la Gare",
             "rue du Stade", "allée des Tilleuls", "rue de Bretagne", "place du Marché")
        )  # fmt: skip
        return f"{self.rng.randrange(1, 40)} {street}, {place.name}"

    # ----- people --------------------------------------------------------------------------

    def person(
        self,
        org: Org,
        function: Function,
        *,
        tags: tuple[str, ...] = (),
        presence: float = 0.7,
        elected: bool = False,
        since: dt.date | None = None,
        until: dt.date | None = None,
        women: float = 0.6,
        email: float = 0.88,
        archived: bool = False,
        notes: str = "",
        legal_basis: str = "mission_interet_public",
    ) -> Person:
        woman = self.rng.random() < women
        first, last = self._name(woman)
        label = function if isinstance(function, str) else function[0 if woman else 1]
        since = since or self.day_between(dt.date(2008, 1, 1), self.today - dt.timedelta(days=90))
        address = None
        if self.rng.random() < email:
            # Small mairies and associations often share one mailbox.
            shared = org.kind in ("collectivite", "association") and self.rng.random() < 0.12
            address = f"accueil@{org.domain}" if shared else person_email(first, last, org.domain)
        place = org.place or (self.rng.choice(self.places) if self.places else None)
        created = max(dt.date(2019, 1, 1), since)
        contact_id = self.ds.add(
            Contact,
            min(created, self.today),
            civility="Mme" if woman else "M.",
            first_name=first,
            last_name=last,
            email=address,
            phone=self.ids.phone() if self.rng.random() < 0.6 else None,
            commune=place.id if place else None,
            notes=notes,
            legal_basis=legal_basis,
            consent_date=since if legal_basis == "consentement" else None,
            archived=archived,
        )
        for code in self.rng.sample(org.axes, k=min(len(org.axes), self.rng.randint(0, 2))):
            self.ds.link(ContactAxis, contact=contact_id, axis=self.axis_ids[code])
        person = Person(
            contact_id, first, last, "Mme" if woman else "M.", org, label, since,
            presence, elected, until, set(tags),
        )  # fmt: skip
        self.affiliate(person, org, label, elected, since, until, primary=True)
        if not archived:
            self.cast.people.append(person)
        return person

    def _name(self, woman: bool) -> tuple[str, str]:
        for _ in range(20):
            first = self.rng.choice(words.WOMEN if woman else words.MEN)
            last = self.rng.choice(words.SURNAMES)
            if (first, last) not in self._names:
                break
        self._names.add((first, last))
        return first, last

    def affiliate(
        self,
        person: Person,
        org: Org,
        function: str,
        elected: bool,
        start: dt.date,
        end: dt.date | None,
        primary: bool = False,
    ) -> None:
        self.ds.add(
            Affiliation,
            min(max(start, dt.date(2019, 1, 1)), self.today),
            contact=person.id,
            organisation=org.id,
            function=function,
            elected_mandate=elected,
            start_date=start,
            end_date=end,
            is_primary=primary,
        )

    def staff(self, org: Org, functions: list[Function], **kwargs: Any) -> list[Person]:
        return [self.person(org, function, **kwargs) for function in functions]
