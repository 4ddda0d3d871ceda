"""What to do about an under-connected partner: bodies to join, partners to meet, ranked.

Partners come from three bounded pools: the two-step neighbours (scored with NetworkX's
resource-allocation index, which favours common neighbours that have few ties and so really
know both), partners of the same commune on a shared axis, and the best-connected partners of
each shared axis (a well-connected partner is a good door into the network).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import networkx as nx

from maillage.graph.build import contact_key, group_key, index, org_key, organisations_of
from maillage.graph.data import NetworkData
from maillage.graph.diagnosis import KIND_LABELS, Finding, plural

PER_PARTNER = 3
HUBS_PER_AXIS = 10
# A common neighbour with more ties than this adds at most 1/200 to the resource-allocation
# score: it is not used to *find* candidates (a hub would bring in thousands), though it still
# counts in the score of the candidates found otherwise.
BROKER_MAX_DEGREE = 200
PLACE_MAX = 30  # partners of the same commune and axis looked at, best connected first
COMPLEMENTARY = {
    frozenset(pair)
    for pair in [
        ("association", "collectivite"),
        ("association", "institution"),
        ("association", "etablissement"),
        ("association", "entreprise"),
        ("etablissement", "collectivite"),
        ("etablissement", "institution"),
        ("operateur_dsp", "collectivite"),
        ("operateur_dsp", "institution"),
        ("institution", "collectivite"),
    ]
}
MEMBERSHIP_ACTION_PATH = "/api/v1/network/memberships"


def _names(ids, names: dict[int, str]) -> str:
    return ", ".join(names.get(i, f"n° {i}") for i in sorted(ids))


class Suggester:
    def __init__(self, graph: nx.Graph, data: NetworkData, level: str = "organisations") -> None:
        self.graph = graph
        self.data = data
        self.level = level
        self.idx = index(data)
        self.axis_names = {a.id: a.name for a in data.axes}
        self.commune_names = {c.id: c.name for c in data.communes}
        self.groups = sorted(data.groups, key=lambda g: g.id)
        self.present_in = self._bodies_by_node()
        self.hubs = self._hubs_by_axis()
        self.by_place: dict[tuple, list[str]] = defaultdict(list)
        for node, attrs in graph.nodes(data=True):
            for axis in attrs.get("axes") or ():
                self.by_place[(attrs.get("commune"), axis)].append(node)
        for nodes in self.by_place.values():
            nodes.sort(key=lambda n: (-graph.degree(n), n))
        self.contact_of = self._representatives()
        self.groups_by_axis: dict[int, list] = defaultdict(list)
        self.groups_by_commune: dict[int, list] = defaultdict(list)
        self.transversal = []
        self.group_by_id = {group.id: group for group in self.groups}
        for group in self.groups:
            for axis in group.axes:
                self.groups_by_axis[axis].append(group)
            for commune in group.communes:
                self.groups_by_commune[commune].append(group)
            if not group.axes:
                self.transversal.append(group)

    def _bodies_by_node(self) -> dict[str, set[int]]:
        found: dict[str, set[int]] = defaultdict(set)
        for m in self.data.memberships:
            if self.level == "organisations":
                for org in organisations_of(self.idx, m.contact, m.group):
                    found[org_key(org)].add(m.group)
            else:
                found[contact_key(m.contact)].add(m.group)
        return found

    def _hubs_by_axis(self) -> dict[int, list[str]]:
        nodes: dict[int, list[str]] = defaultdict(list)
        for node, axes in self.graph.nodes(data="axes"):
            for axis in axes or ():
                nodes[axis].append(node)
        return {
            axis: sorted(found, key=lambda n: -self.graph.degree(n))[:HUBS_PER_AXIS]
            for axis, found in nodes.items()
        }

    def _representatives(self) -> dict[str, int]:
        """The person to register for an organisation: its primary contact, else the first."""
        chosen: dict[str, tuple] = {}
        for a in self.data.affiliations:
            rank = (not a.primary, a.contact)
            key = org_key(a.organisation)
            if key not in chosen or rank < chosen[key]:
                chosen[key] = rank
        return {key: rank[1] for key, rank in chosen.items()}

    # ----- bodies --------------------------------------------------------------------------

    def bodies(self, node: str) -> list[dict]:
        attrs = self.graph.nodes[node]
        axes = set(attrs.get("axes") or ())
        commune = attrs.get("commune")
        sitting_by_group: Counter = Counter()
        for neighbour in self.graph[node]:
            sitting_by_group.update(self.present_in.get(neighbour, ()))
        candidates = {g.id: g for g in self.transversal}
        for axis in axes:
            candidates.update((g.id, g) for g in self.groups_by_axis.get(axis, ()))
        candidates.update((g.id, g) for g in self.groups_by_commune.get(commune, ()))
        candidates.update((gid, self.group_by_id[gid]) for gid in sitting_by_group)
        ranked = []
        for group in candidates.values():
            if group.id in self.present_in.get(node, ()) or not group.active:
                continue
            score, reasons = 0.0, []
            shared = axes & set(group.axes)
            if shared:
                score += 2 * len(shared)
                reasons.append(f"axe {_names(shared, self.axis_names)} en commun")
            elif not group.axes:
                score += 0.5
                reasons.append("instance transversale")
            if commune is not None and commune in group.communes:
                score += 1.5
                reasons.append(f"couvre {self.commune_names.get(commune, 'sa commune')}")
            sitting = sitting_by_group.get(group.id, 0)
            if sitting:
                score += min(sitting, 3)
                reasons.append(
                    "un de ses partenaires y siège"
                    if sitting == 1
                    else f"{sitting} de ses partenaires y siègent"
                )
            if score >= 2:
                ranked.append((-score, group.id, group, reasons, score))
        ranked.sort(key=lambda item: item[:2])
        return [
            {
                "group": group_key(group.id),
                "name": group.name,
                "score": round(score, 3),
                "reasons": reasons,
                "action": self.membership_action(node, group.id),
            }
            for _, _, group, reasons, score in ranked[:PER_PARTNER]
        ]

    def membership_action(self, node: str, group: int) -> dict | None:
        record_id = self.graph.nodes[node]["record_id"]
        if self.level == "organisations":
            contact = self.contact_of.get(node)
            if contact is None:
                return None
            body = {"working_group": group, "organisation": record_id, "contact": contact}
        else:
            body = {"working_group": group, "contact": record_id}
        return {"method": "POST", "path": MEMBERSHIP_ACTION_PATH, "body": body}

    # ----- partners ------------------------------------------------------------------------

    def partners(self, node: str) -> list[dict]:
        graph = self.graph
        attrs = graph.nodes[node]
        axes = set(attrs.get("axes") or ())
        neighbours = set(graph[node])
        candidates = {
            other for n in neighbours if graph.degree(n) <= BROKER_MAX_DEGREE for other in graph[n]
        }
        for axis in axes:
            candidates.update(self.by_place.get((attrs.get("commune"), axis), ())[:PLACE_MAX])
            candidates.update(self.hubs.get(axis, ()))
        candidates -= neighbours | {node}
        pairs = sorted((node, other) for other in candidates)
        allocation = {v: score for _, v, score in nx.resource_allocation_index(graph, pairs)}
        ranked = []
        for other in sorted(candidates):
            score = self._pair_score(node, neighbours, other, axes, allocation.get(other, 0.0))
            if score >= 1.5:
                ranked.append((-score, other, score))
        ranked.sort(key=lambda item: item[:2])
        return [
            {
                "id": other,
                "name": graph.nodes[other]["label"],
                "score": round(score, 3),
                "reasons": self._pair_reasons(node, other, axes, allocation.get(other, 0.0)),
            }
            for _, other, score in ranked[:PER_PARTNER]
        ]

    def _pair_score(self, node, neighbours: set, other: str, axes: set[int], allocation: float):
        """Common neighbours (resource allocation), shared axes and commune, complementarity."""
        graph = self.graph
        mine, theirs = graph.nodes[node], graph.nodes[other]
        common = not neighbours.isdisjoint(graph[other])
        shared = len(axes.intersection(theirs.get("axes") or ()))
        score = 3 * allocation + 1.5 * shared
        if mine.get("commune") is not None and mine.get("commune") == theirs.get("commune"):
            score += 1
        if frozenset((mine["kind"], theirs["kind"])) in COMPLEMENTARY:
            score += 1
        if shared or common:
            # a well-connected partner is a better door into the network
            score += 0.5 * math.log1p(graph.degree(other))
        return score

    def _pair_reasons(self, node: str, other: str, axes: set[int], allocation: float) -> list:
        graph = self.graph
        mine, theirs = graph.nodes[node], graph.nodes[other]
        reasons = []
        common = len(set(graph[node]) & set(graph[other]))
        if common:
            shown = f"{allocation:.2f}".replace(".", ",")
            reasons.append(
                f"{plural(common, 'partenaire')} en commun (allocation de ressources : {shown})"
            )
        shared = axes & set(theirs.get("axes") or ())
        if shared:
            reasons.append(f"axe {_names(shared, self.axis_names)} en commun")
        if mine.get("commune") is not None and mine.get("commune") == theirs.get("commune"):
            place = self.commune_names.get(mine["commune"])
            reasons.append(f"même commune ({place})" if place else "même commune")
        if frozenset((mine["kind"], theirs["kind"])) in COMPLEMENTARY:
            reasons.append(
                f"complémentaires : {KIND_LABELS.get(mine['kind'], mine['kind'])} "
                f"et {KIND_LABELS.get(theirs['kind'], theirs['kind'])}"
            )
        return reasons


def suggest(
    graph: nx.Graph, data: NetworkData, findings: list[Finding], level: str = "organisations"
) -> list[dict]:
    suggester = Suggester(graph, data, level)
    return [
        {
            "id": finding.node,
            "name": finding.name,
            "bodies": suggester.bodies(finding.node),
            "partners": suggester.partners(finding.node),
        }
        for finding in findings
    ]
