"""The cast of the demo: organisations and people as the generator knows them.

These are the generator's working objects (a name, a tag, a way of turning up at meetings); the
rows that reach the database are written from them into the ``Dataset``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class Place:
    id: int
    name: str
    population: int
    sector: str


@dataclass
class Org:
    id: int
    name: str
    kind: str
    category: str
    domain: str
    place: Place | None
    axes: tuple[str, ...] = ()
    # Kept out of every body, partnership and action: the partners the network view must find.
    isolated: bool = False


@dataclass
class Person:
    id: int
    first_name: str
    last_name: str
    civility: str
    org: Org
    function: str
    since: dt.date
    # Probability of turning up to a meeting one is invited to.
    presence: float = 0.7
    elected: bool = False
    until: dt.date | None = None
    tags: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def active_on(self, day: dt.date) -> bool:
        return self.since <= day and (self.until is None or day <= self.until)


@dataclass
class Cast:
    """Who is who in one territory, found by tag (« maire », « caf_ct »…)."""

    people: list[Person] = field(default_factory=list)
    orgs: list[Org] = field(default_factory=list)

    def tagged(self, tag: str) -> list[Person]:
        return [p for p in self.people if tag in p.tags]

    def one(self, tag: str) -> Person:
        found = self.tagged(tag)
        if not found:
            raise LookupError(tag)
        return found[0]

    def at(self, org: Org) -> list[Person]:
        return [p for p in self.people if p.org is org]
