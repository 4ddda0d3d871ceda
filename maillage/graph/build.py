"""NetworkX graphs built from the rows: affiliation (bipartite), organisations, people.

Node keys are strings that say what they are: ``o12`` an organisation, ``c5`` a contact, ``g3`` a
working group; GEXF and GraphML need string ids anyway. Attributes whose name starts with ``_``
are working data for the explanations (sets of contacts and bodies behind a tie) and are left out
of every export.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from maillage.graph.data import ContactRow, InteractionRow, NetworkData
from maillage.vocabulary import PRESENT

# What each kind of tie weighs: a shared body is the unit.
SHARED_BODY = 1.0
MEETING_TOGETHER = 0.5  # per meeting attended together, before recency decay
PARTNERSHIP = 1.0
SHARED_PERSON = 1.0  # one person belongs to both organisations
COLLEAGUES = 1.0  # two people of the same organisation (person network)
INTERACTION = 0.25  # an exchange that involved both: a weak tie
HALF_LIFE_DAYS = 365  # a meeting attended together a year ago counts half


def org_key(record_id: int) -> str:
    return f"o{record_id}"


def contact_key(record_id: int) -> str:
    return f"c{record_id}"


def group_key(record_id: int) -> str:
    return f"g{record_id}"


def decay(day: dt.date, today: dt.date) -> float:
    age = max((today - day).days, 0)
    weight: float = 0.5 ** (age / HALF_LIFE_DAYS)
    return weight


@dataclass(slots=True)
class Tie:
    shared_bodies: int = 0
    meetings_together: float = 0.0
    meetings_count: int = 0
    partnerships: int = 0
    partnership_kinds: set[str] = field(default_factory=set)
    shared_people: int = 0
    colleagues: int = 0
    interactions: int = 0
    bodies: set[int] = field(default_factory=set)
    carriers: dict[str, set[int]] = field(default_factory=dict)

    @property
    def weight(self) -> float:
        return (
            SHARED_BODY * self.shared_bodies
            + MEETING_TOGETHER * self.meetings_together
            + PARTNERSHIP * self.partnerships
            + SHARED_PERSON * self.shared_people
            + COLLEAGUES * self.colleagues
            + INTERACTION * self.interactions
        )

    def attributes(self) -> dict[str, Any]:
        return {
            "weight": round(self.weight, 6),
            "shared_bodies": self.shared_bodies,
            "meetings_together": self.meetings_count,
            "meetings_weight": round(self.meetings_together, 6),
            "partnerships": self.partnerships,
            "partnership_kinds": ",".join(sorted(self.partnership_kinds)),
            "shared_people": self.shared_people,
            "colleagues": self.colleagues,
            "interactions": self.interactions,
            "_bodies": self.bodies,
            "_carriers": self.carriers,
        }


class Ties:
    """Accumulates ties between node keys, ignoring self-ties; duplicates add up."""

    def __init__(self) -> None:
        self._ties: dict[tuple[str, str], Tie] = {}

    def get(self, a: str, b: str) -> Tie | None:
        if a == b:
            return None
        pair = (a, b) if a < b else (b, a)
        tie = self._ties.get(pair)
        if tie is None:
            tie = self._ties[pair] = Tie()
        return tie

    def pairs(self, members: dict[str, set[int]]) -> Iterator[Tie]:
        """Every pair of ``members`` (node → contacts that put it there), with its tie.

        The hot loop of the build (a quarter of a million pairs on a département): sorted keys
        give ``a < b`` already, so the look-up and the carriers are inlined here.
        """
        ties = self._ties
        for a, b in itertools.combinations(sorted(members), 2):
            tie = ties.get((a, b))
            if tie is None:
                tie = ties[(a, b)] = Tie()
            carriers = tie.carriers
            for node in (a, b):
                known = carriers.get(node)
                if known is None:
                    carriers[node] = set(members[node])
                else:
                    known |= members[node]
            yield tie

    def edges(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for (a, b), tie in sorted(self._ties.items()):
            yield a, b, tie.attributes()


@dataclass
class Index:
    """Look-ups shared by the builders, computed once from filtered rows."""

    affiliations: dict[int, set[int]]  # contact → organisations
    represented: dict[tuple[int, int], set[int]]  # (contact, group) → organisations
    members: dict[int, set[int]]  # group → contacts
    present: dict[int, set[int]]  # meeting → contacts present
    meeting_day: dict[int, dt.date]
    meeting_group: dict[int, int]


def index(data: NetworkData) -> Index:
    """The look-ups of ``data``, built once per rows: the graph, the diagnosis and the
    suggestions of one analysis all use them (it was five passes over the invitations)."""
    sizes = (
        len(data.affiliations),
        len(data.memberships),
        len(data.invitations),
        len(data.meetings),
    )
    cached = data.__dict__.get("_index")
    if cached is None or cached[0] != sizes:
        cached = data.__dict__["_index"] = (sizes, _index(data))
    return cached[1]


def _index(data: NetworkData) -> Index:
    affiliations: dict[int, set[int]] = defaultdict(set)
    for a in data.affiliations:
        affiliations[a.contact].add(a.organisation)
    represented: dict[tuple[int, int], set[int]] = defaultdict(set)
    members: dict[int, set[int]] = defaultdict(set)
    for m in data.memberships:
        members[m.group].add(m.contact)
        if m.organisation is not None:
            represented[(m.contact, m.group)].add(m.organisation)
    present: dict[int, set[int]] = defaultdict(set)
    for i in data.invitations:
        if i.attendance == PRESENT:
            present[i.meeting].add(i.contact)
    return Index(
        affiliations=affiliations,
        represented=represented,
        members=members,
        present=present,
        meeting_day={m.id: m.starts_at.date() for m in data.meetings},
        meeting_group={m.id: m.group for m in data.meetings},
    )


def organisations_of(idx: Index, contact: int, group: int) -> set[int]:
    """The organisations a person stands for in a body: the one named, else all of hers."""
    return idx.represented.get((contact, group)) or idx.affiliations.get(contact, set())


def _by_organisation(idx: Index, contacts: set[int], group: int) -> dict[str, set[int]]:
    found: dict[str, set[int]] = defaultdict(set)
    for contact in contacts:
        for org in organisations_of(idx, contact, group):
            found[org_key(org)].add(contact)
    return found


def organisation_graph(data: NetworkData) -> nx.Graph:
    """Organisations tied by shared bodies, meetings attended together, partnerships, people."""
    idx = index(data)
    ties = Ties()
    for group, contacts in idx.members.items():
        for tie in ties.pairs(_by_organisation(idx, contacts, group)):
            tie.shared_bodies += 1
            tie.bodies.add(group)
    for meeting, contacts in idx.present.items():
        weight = decay(idx.meeting_day[meeting], data.today)
        for tie in ties.pairs(_by_organisation(idx, contacts, idx.meeting_group[meeting])):
            tie.meetings_together += weight
            tie.meetings_count += 1
    for p in data.partnerships:
        declared = ties.get(org_key(p.organisation), org_key(p.partner))
        if declared is not None:
            declared.partnerships += 1
            declared.partnership_kinds.add(p.kind)
    for contact, orgs in idx.affiliations.items():
        for tie in ties.pairs({org_key(o): {contact} for o in orgs}):
            tie.shared_people += 1
    for interaction in data.interactions:
        for tie in ties.pairs({org_key(o): set() for o in interaction.organisations}):
            tie.interactions += 1
    graph = nx.Graph(kind="organisations")
    for org in sorted(data.organisations, key=lambda o: o.id):
        graph.add_node(
            org_key(org.id),
            label=org.name,
            type="organisation",
            record_id=org.id,
            kind=org.kind,
            category=org.category,
            commune=org.commune,
            axes=tuple(sorted(org.axes)),
            archived=org.archived,
        )
    graph.add_edges_from((a, b, attrs) for a, b, attrs in ties.edges() if a in graph and b in graph)
    return graph


def primary_kind(idx: Index, kinds: dict[int, str], contact: int) -> str:
    orgs = sorted(idx.affiliations.get(contact, ()))
    return kinds[orgs[0]] if orgs else "personne"


def person_graph(data: NetworkData) -> nx.Graph:
    """People tied by shared bodies, meetings attended together, a shared organisation."""
    idx = index(data)
    ties = Ties()
    for group, contacts in idx.members.items():
        for tie in ties.pairs({contact_key(c): {c} for c in contacts}):
            tie.shared_bodies += 1
            tie.bodies.add(group)
    for meeting, contacts in idx.present.items():
        weight = decay(idx.meeting_day[meeting], data.today)
        for tie in ties.pairs({contact_key(c): {c} for c in contacts}):
            tie.meetings_together += weight
            tie.meetings_count += 1
    staff: dict[int, set[int]] = defaultdict(set)
    for contact_id, org_ids in idx.affiliations.items():
        for org_id in org_ids:
            staff[org_id].add(contact_id)
    for contacts in staff.values():
        for tie in ties.pairs({contact_key(c): {c} for c in contacts}):
            tie.colleagues += 1
    for interaction in data.interactions:
        for tie in ties.pairs({contact_key(c): {c} for c in interaction.contacts}):
            tie.interactions += 1
    kinds = {o.id: o.kind for o in data.organisations}
    graph = nx.Graph(kind="contacts")
    for contact in sorted(data.contacts, key=lambda c: c.id):
        graph.add_node(
            contact_key(contact.id),
            label=contact.display_name,
            type="contact",
            record_id=contact.id,
            kind=primary_kind(idx, kinds, contact.id),
            category="",
            commune=contact.commune,
            axes=tuple(sorted(contact.axes)),
            archived=contact.archived,
        )
    graph.add_edges_from((a, b, attrs) for a, b, attrs in ties.edges() if a in graph and b in graph)
    return graph


def affiliation_graph(data: NetworkData) -> nx.Graph:
    """Bipartite: people and organisations on one side (0), working groups on the other (1)."""
    idx = index(data)
    graph = nx.Graph(kind="affiliation")
    for group in sorted(data.groups, key=lambda g: g.id):
        graph.add_node(
            group_key(group.id), label=group.name, type="group", kind=group.kind, bipartite=1
        )
    for org in sorted(data.organisations, key=lambda o: o.id):
        graph.add_node(
            org_key(org.id), label=org.name, type="organisation", kind=org.kind, bipartite=0
        )
    for contact in sorted(data.contacts, key=lambda c: c.id):
        graph.add_node(
            contact_key(contact.id),
            label=contact.display_name,
            type="contact",
            kind="personne",
            bipartite=0,
        )
    for m in data.memberships:
        graph.add_edge(contact_key(m.contact), group_key(m.group), role=m.role)
        for org_id in organisations_of(idx, m.contact, m.group):
            graph.add_edge(org_key(org_id), group_key(m.group), role="representee")
    return graph


@dataclass(frozen=True)
class LastContact:
    day: dt.date | None
    count: int
    follow_up: dt.date | None  # earliest follow-up still ahead or overdue, from the last exchange


def last_contacts(data: NetworkData, level: str = "organisations") -> dict[str, LastContact]:
    """« Dernier contact » per partner: its own exchanges and those of its people."""
    idx = index(data)
    days: dict[str, list[InteractionRow]] = defaultdict(list)
    for interaction in data.interactions:
        keys: set[str] = set()
        if level == "organisations":
            keys |= {org_key(o) for o in interaction.organisations}
            for c in interaction.contacts:
                keys |= {org_key(o) for o in idx.affiliations.get(c, ())}
        else:
            keys |= {contact_key(c) for c in interaction.contacts}
        for key in keys:
            days[key].append(interaction)
    result = {}
    for key, items in days.items():
        latest = max(items, key=lambda i: (i.occurred_on, i.id))
        result[key] = LastContact(latest.occurred_on, len(items), latest.follow_up_on)
    return result


def person_names(contacts: list[ContactRow]) -> dict[int, str]:
    return {c.id: c.display_name for c in contacts}
