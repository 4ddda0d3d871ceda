"""Plain rows the network analysis works on: no database, no Piccolo.

The service layer (``maillage.graph.network``) reads the tables into these dataclasses; tests and the
benchmark build them by hand. Every field holds only what the analysis needs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from maillage.vocabulary import HELD, MEMBER, PENDING


@dataclass(frozen=True, slots=True)
class AxisRow:
    id: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class CommuneRow:
    id: int
    name: str
    population: int | None = None


@dataclass(frozen=True, slots=True)
class OrganisationRow:
    id: int
    name: str
    kind: str
    category: str = ""
    commune: int | None = None
    axes: tuple[int, ...] = ()
    archived: bool = False


@dataclass(frozen=True, slots=True)
class ContactRow:
    id: int
    first_name: str
    last_name: str
    civility: str = ""
    commune: int | None = None
    axes: tuple[int, ...] = ()
    archived: bool = False

    @property
    def display_name(self) -> str:
        """« Mme Claire Martin »: how a coordinator names a person in a sentence."""
        return " ".join(part for part in (self.civility, self.first_name, self.last_name) if part)


@dataclass(frozen=True, slots=True)
class AffiliationRow:
    contact: int
    organisation: int
    function: str = ""
    elected_mandate: bool = False
    primary: bool = False
    start_date: dt.date | None = None
    end_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class GroupRow:
    id: int
    name: str
    kind: str
    axes: tuple[int, ...] = ()
    communes: tuple[int, ...] = ()
    archived: bool = False
    active: bool = True


@dataclass(frozen=True, slots=True)
class MembershipRow:
    contact: int
    group: int
    role: str = MEMBER
    organisation: int | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class MeetingRow:
    id: int
    group: int
    starts_at: dt.datetime
    status: str = HELD


@dataclass(frozen=True, slots=True)
class InvitationRow:
    meeting: int
    contact: int
    response: str = PENDING
    attendance: str | None = None


@dataclass(frozen=True, slots=True)
class PartnershipRow:
    organisation: int
    partner: int
    kind: str = "partenariat"
    axes: tuple[int, ...] = ()
    start_date: dt.date | None = None
    end_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class InteractionRow:
    id: int
    occurred_on: dt.date
    kind: str = "appel"
    organisations: tuple[int, ...] = ()
    contacts: tuple[int, ...] = ()
    follow_up_on: dt.date | None = None


@dataclass
class NetworkData:
    """Everything the analysis reads, as of ``today`` (the reference date of « depuis 14 mois »)."""

    today: dt.date
    axes: list[AxisRow] = field(default_factory=list)
    communes: list[CommuneRow] = field(default_factory=list)
    organisations: list[OrganisationRow] = field(default_factory=list)
    contacts: list[ContactRow] = field(default_factory=list)
    affiliations: list[AffiliationRow] = field(default_factory=list)
    groups: list[GroupRow] = field(default_factory=list)
    memberships: list[MembershipRow] = field(default_factory=list)
    meetings: list[MeetingRow] = field(default_factory=list)
    invitations: list[InvitationRow] = field(default_factory=list)
    partnerships: list[PartnershipRow] = field(default_factory=list)
    interactions: list[InteractionRow] = field(default_factory=list)


@dataclass(frozen=True)
class NetworkFilter:
    """What part of the network to look at.

    - ``start``/``end``: links active during the period, meetings and exchanges inside it; the
      end date is also the reference date for recency (« aucune réunion depuis… »);
    - ``axes``: partners tagged with one of the axes, bodies on those axes or transversal (no
      axis, e.g. the COPIL), partnerships on those axes or without axis;
    - ``communes``: partners located in those communes, bodies covering them or the whole
      territory;
    - ``kinds``: organisation kinds kept;
    - ``include_archived``: archived partners and bodies are left out unless asked.
    """

    start: dt.date | None = None
    end: dt.date | None = None
    axes: frozenset[int] = frozenset()
    communes: frozenset[int] = frozenset()
    kinds: frozenset[str] = frozenset()
    include_archived: bool = False

    def is_empty(self) -> bool:
        return self == NetworkFilter()

    def describe(self) -> str:
        """The filter in one French phrase, for « aucun partenaire ne correspond à … »."""
        parts = []
        if self.start or self.end:
            start = self.start.isoformat() if self.start else "…"
            end = self.end.isoformat() if self.end else "…"
            parts.append(f"période du {start} au {end}")
        if self.axes:
            parts.append(f"axes n° {', '.join(map(str, sorted(self.axes)))}")
        if self.communes:
            parts.append(f"communes n° {', '.join(map(str, sorted(self.communes)))}")
        if self.kinds:
            parts.append(f"types {', '.join(sorted(self.kinds))}")
        if self.include_archived:
            parts.append("fiches archivées comprises")
        return " ; ".join(parts) if parts else "aucun filtre"
