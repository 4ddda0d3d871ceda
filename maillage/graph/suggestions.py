"""What to do about an under-connected partner: bodies to join, partners to meet, ranked.

Partners come from three bounded pools: the two-step neighbours (scored with NetworkX's
resource-allocation index, which favours common neighbours that have few ties and so really
know both), partners of the same commune on a shared axis, and the best-connected partners of
each shared axis (a well-connected partner is a good door into the network).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from maillage.french import plural
from maillage.graph import sparse
from maillage.graph.build import contact_key, group_key, index, org_key, organisations_of
from maillage.graph.data import GroupRow, NetworkData
from maillage.graph.diagnosis import KIND_LABELS, Finding

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


def _names(ids: Iterable[int], names: dict[int, str]) -> str:
    return ", ".join(names.get(i, f"n° {i}") for i in sorted(ids))


# Dense rows (partners × nodes or × bodies) scored at once: a million cells, 8 MB per array.
BLOCK_CELLS = 1_000_000


class Suggester:
    """Bodies and partners for any set of partners, scored for a block of them at once.

    The scores are array operations over the graph's matrices (``sparse.Adjacency``): the
    resource-allocation index of every pair is one sparse product, B·D⁻¹·B, restricted to the
    candidates; shared axes, communes and kinds are products with incidence matrices. Only the
    three best of each partner are turned into French reasons.
    """

    def __init__(
        self,
        graph: nx.Graph,
        data: NetworkData,
        level: str = "organisations",
        matrices: sparse.Adjacency | None = None,
    ) -> None:
        self.graph = graph
        self.data = data
        self.level = level
        self.idx = index(data)
        self.axis_names = {a.id: a.name for a in data.axes}
        self.commune_names = {c.id: c.name for c in data.communes}
        self.groups = sorted(data.groups, key=lambda g: g.id)
        self.present_in = self._bodies_by_node()
        self.contact_of = self._representatives()
        self.person_name = {c.id: c.display_name for c in data.contacts}
        self.matrices = matrices or sparse.Adjacency(graph)
        self.nodes = self.matrices.nodes
        self.position = {node: i for i, node in enumerate(self.nodes)}
        binary = self.matrices.binary
        self.degree = np.diff(binary.indptr)
        # rank of each key in sorted order: ties between equal scores go to the smaller key
        self.key_rank = np.empty(len(self.nodes), dtype=np.int64)
        self.key_rank[sorted(range(len(self.nodes)), key=self.nodes.__getitem__)] = np.arange(
            len(self.nodes)
        )
        self._node_arrays()
        self._group_arrays()
        self._pools()

    def _bodies_by_node(self) -> dict[str, set[int]]:
        found: dict[str, set[int]] = defaultdict(set)
        for m in self.data.memberships:
            if self.level == "organisations":
                for org in organisations_of(self.idx, m.contact, m.group):
                    found[org_key(org)].add(m.group)
            else:
                found[contact_key(m.contact)].add(m.group)
        return found

    def _representatives(self) -> dict[str, int]:
        """The person to register for an organisation: its primary contact, else the first."""
        chosen: dict[str, tuple[bool, int]] = {}
        for a in self.data.affiliations:
            rank = (not a.primary, a.contact)
            key = org_key(a.organisation)
            if key not in chosen or rank < chosen[key]:
                chosen[key] = rank
        return {key: rank[1] for key, rank in chosen.items()}

    def _node_arrays(self) -> None:
        """Axes (node × axis incidence), commune and kind of every node, as arrays."""
        graph, n = self.graph, len(self.nodes)
        self.axis_column: dict[int, int] = {}
        rows, columns = [], []
        self.commune = np.full(n, -1, dtype=np.int64)
        self.has_commune = np.zeros(n, dtype=bool)
        self.commune_column: dict[int, int] = {}
        kinds = sorted({attrs["kind"] for _, attrs in graph.nodes(data=True)})
        kind_code = {kind: i for i, kind in enumerate(kinds)}
        self.kind = np.zeros(n, dtype=np.int64)
        for i, node in enumerate(self.nodes):
            attrs = graph.nodes[node]
            for axis in attrs.get("axes") or ():
                rows.append(i)
                columns.append(self.axis_column.setdefault(axis, len(self.axis_column)))
            commune = attrs.get("commune")
            if commune is not None:
                self.has_commune[i] = True
                self.commune[i] = self.commune_column.setdefault(commune, len(self.commune_column))
            self.kind[i] = kind_code[attrs["kind"]]
        for group in self.groups:  # a body's axes and communes need columns too
            for axis in group.axes:
                self.axis_column.setdefault(axis, len(self.axis_column))
            for commune in group.communes:
                self.commune_column.setdefault(commune, len(self.commune_column))
        self.axes = _incidence(rows, columns, (n, len(self.axis_column)))
        self.complementary = np.array(
            [[frozenset((a, b)) in COMPLEMENTARY for b in kinds] for a in kinds], dtype=bool
        ).reshape(len(kinds), len(kinds))
        self.door = 0.5 * np.log1p(self.degree.astype(float))
        with np.errstate(divide="ignore"):
            self.inverse_degree = np.where(self.degree > 0, 1.0 / self.degree, 0.0)
        self.broker = (self.degree <= BROKER_MAX_DEGREE).astype(float)

    def _group_arrays(self) -> None:
        """Bodies as columns: axes, communes covered, who sits there, active or not."""
        n, count = len(self.nodes), len(self.groups)
        column = {group.id: j for j, group in enumerate(self.groups)}
        axis_rows, axis_cols, commune_rows, commune_cols = [], [], [], []
        for j, group in enumerate(self.groups):
            for axis in group.axes:
                axis_rows.append(j)
                axis_cols.append(self.axis_column[axis])
            for commune in group.communes:
                commune_rows.append(j)
                commune_cols.append(self.commune_column[commune])
        self.group_axes = _incidence(axis_rows, axis_cols, (count, len(self.axis_column)))
        self.group_communes = _incidence(
            commune_rows, commune_cols, (count, len(self.commune_column))
        )
        self.transversal = np.array([not g.axes for g in self.groups], dtype=bool)
        self.active = np.array([g.active for g in self.groups], dtype=bool)
        rows, columns = [], []
        for node, groups in self.present_in.items():
            if node in self.position:
                for group_id in groups:
                    if group_id in column:
                        rows.append(self.position[node])
                        columns.append(column[group_id])
        self.sits = _incidence(rows, columns, (n, count))

    def _pools(self) -> None:
        """Candidates other than two-step neighbours: same commune and axis, hubs of an axis."""
        graph = self.graph
        by_axis: dict[int, list[str]] = defaultdict(list)
        by_place: dict[tuple[Any, ...], list[str]] = defaultdict(list)
        for node, attrs in graph.nodes(data=True):
            for axis in attrs.get("axes") or ():
                by_axis[axis].append(node)
                by_place[(attrs.get("commune"), axis)].append(node)
        self.hubs = {
            axis: self._positions(sorted(found, key=lambda n: -graph.degree(n))[:HUBS_PER_AXIS])
            for axis, found in by_axis.items()
        }
        self.by_place = {
            place: self._positions(sorted(found, key=lambda n: (-graph.degree(n), n))[:PLACE_MAX])
            for place, found in by_place.items()
        }

    def _positions(self, nodes: list[str]) -> np.ndarray:
        return np.array([self.position[node] for node in nodes], dtype=np.int64)

    def _blocks(self, nodes: list[str], width: int) -> Iterator[tuple[list[str], np.ndarray]]:
        rows = max(1, BLOCK_CELLS // max(width, 1))
        for start in range(0, len(nodes), rows):
            chunk = nodes[start : start + rows]
            yield chunk, self._positions(chunk)

    # ----- bodies --------------------------------------------------------------------------

    def bodies(self, node: str) -> list[dict[str, Any]]:
        return self.bodies_for([node])[node]

    def bodies_for(self, nodes: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The bodies to invite each partner to: shared axis, commune covered, partners there."""
        found: dict[str, list[dict[str, Any]]] = {}
        if not self.groups:
            return {node: [] for node in nodes}
        binary = self.matrices.binary
        for chunk, rows in self._blocks(nodes, len(self.groups)):
            shared = (self.axes[rows] @ self.group_axes.T).toarray()
            covers = (self._commune_rows(rows) @ self.group_communes.T).toarray() > 0
            sitting = (binary[rows] @ self.sits).toarray()
            member = self.sits[rows].toarray() > 0
            score = np.where(shared > 0, 2.0 * shared, np.where(self.transversal, 0.5, 0.0))
            score += 1.5 * covers + np.minimum(sitting, 3)
            eligible = (self.transversal | (shared > 0) | covers | (sitting > 0)) & ~member
            eligible &= self.active & (score >= 2)
            for r, node in enumerate(chunk):
                columns = np.flatnonzero(eligible[r])
                best = columns[np.lexsort((columns, -score[r, columns]))][:PER_PARTNER]
                found[node] = [
                    self._body(node, self.groups[j], score[r, j], int(sitting[r, j])) for j in best
                ]
        return found

    def _commune_rows(self, rows: np.ndarray) -> sp.csr_array:
        located = rows[self.has_commune[rows]]
        positions = np.flatnonzero(self.has_commune[rows])
        return _incidence(
            positions.tolist(),
            self.commune[located].tolist(),
            (len(rows), len(self.commune_column)),
        )

    def _body(self, node: str, group: GroupRow, score: float, sitting: int) -> dict[str, Any]:
        attrs = self.graph.nodes[node]
        commune = attrs.get("commune")
        reasons = []
        shared = set(attrs.get("axes") or ()) & set(group.axes)
        if shared:
            reasons.append(f"axe {_names(shared, self.axis_names)} en commun")
        elif not group.axes:
            reasons.append("instance transversale")
        if commune is not None and commune in group.communes:
            reasons.append(f"couvre {self.commune_names.get(commune, 'sa commune')}")
        if sitting:
            reasons.append(
                "un de ses partenaires y siège"
                if sitting == 1
                else f"{sitting} de ses partenaires y siègent"
            )
        return {
            "group": group_key(group.id),
            "name": group.name,
            "score": round(float(score), 3),
            "reasons": reasons,
            "action": self.membership_action(node, group.id),
        }

    def membership_action(self, node: str, group: int) -> dict[str, Any] | None:
        record_id = self.graph.nodes[node]["record_id"]
        if self.level == "organisations":
            contact = self.contact_of.get(node)
            if contact is None:
                return None
            body = {"working_group": group, "organisation": record_id, "contact": contact}
        else:
            contact = record_id
            body = {"working_group": group, "contact": record_id}
        # The page names the person it would enrol (« Inscrire Marie Dupont »).
        person = self.person_name.get(contact, "")
        return {"method": "POST", "path": MEMBERSHIP_ACTION_PATH, "body": body, "person": person}

    # ----- partners ------------------------------------------------------------------------

    def partners(self, node: str) -> list[dict[str, Any]]:
        return self.partners_for([node])[node]

    def partners_for(self, nodes: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The partners to introduce each one to, from three bounded pools, ranked.

        Pools: two-step neighbours through a common neighbour with at most
        ``BROKER_MAX_DEGREE`` ties, the ``PLACE_MAX`` best connected of the same commune and
        axis, the ``HUBS_PER_AXIS`` best connected of each axis. Score: 3 × resource
        allocation (over every common neighbour) + 1.5 per shared axis + 1 same commune
        + 1 complementary kinds + ½ log(1 + degree) when an axis or a neighbour is shared.
        """
        binary, n = self.matrices.binary, len(self.nodes)
        found: dict[str, list[dict[str, Any]]] = {}
        scaled = sp.csr_array(sp.diags_array(self.inverse_degree) @ binary)
        through_brokers = sp.csr_array(sp.diags_array(self.broker) @ binary)
        for chunk, rows in self._blocks(nodes, n):
            mine = binary[rows]
            allocation = (mine @ scaled).toarray()
            common = (mine @ binary).toarray()
            candidate = (mine @ through_brokers).toarray() > 0
            for r, node in enumerate(chunk):
                for axis in self.graph.nodes[node].get("axes") or ():
                    place = (self.graph.nodes[node].get("commune"), axis)
                    candidate[r, self.by_place.get(place, _NONE)] = True
                    candidate[r, self.hubs.get(axis, _NONE)] = True
            candidate[mine.nonzero()] = False  # already tied
            candidate[np.arange(len(rows)), rows] = False
            shared = (self.axes[rows] @ self.axes.T).toarray()
            score = 3 * allocation + 1.5 * shared
            score += self.has_commune[rows, None] & (self.commune[rows, None] == self.commune)
            score += self.complementary[self.kind[rows]][:, self.kind]
            score += np.where((shared > 0) | (common > 0), self.door, 0.0)
            eligible = candidate & (score >= 1.5)
            for r, node in enumerate(chunk):
                columns = np.flatnonzero(eligible[r])
                order = np.lexsort((self.key_rank[columns], -score[r, columns]))
                found[node] = [
                    self._partner(node, self.nodes[j], score[r, j], allocation[r, j], common[r, j])
                    for j in columns[order][:PER_PARTNER]
                ]
        return found

    def _partner(
        self, node: str, other: str, score: float, allocation: float, common: float
    ) -> dict[str, Any]:
        graph = self.graph
        mine, theirs = graph.nodes[node], graph.nodes[other]
        reasons = []
        if common:
            shown = f"{allocation:.2f}".replace(".", ",")
            reasons.append(
                f"{plural(int(common), 'partenaire')} en commun (indice de proximité : {shown})"
            )
        shared = set(mine.get("axes") or ()) & set(theirs.get("axes") or ())
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
        return {
            "id": other,
            "name": theirs["label"],
            "score": round(float(score), 3),
            "reasons": reasons,
        }


_NONE = np.array([], dtype=np.int64)


def _incidence(rows: list[int], columns: list[int], shape: tuple[int, int]) -> sp.csr_array:
    """A 0/1 matrix (duplicates count once) with a 1 at each (row, column) given."""
    matrix = sp.csr_array(
        (np.ones(len(rows)), (np.array(rows, dtype=np.int64), np.array(columns, dtype=np.int64))),
        shape=shape,
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def suggest(
    graph: nx.Graph,
    data: NetworkData,
    findings: list[Finding],
    level: str = "organisations",
    matrices: sparse.Adjacency | None = None,
) -> list[dict[str, Any]]:
    if not findings:
        return []
    suggester = Suggester(graph, data, level, matrices)
    nodes = [finding.node for finding in findings]
    bodies = suggester.bodies_for(nodes)
    partners = suggester.partners_for(nodes)
    return [
        {
            "id": finding.node,
            "name": finding.name,
            "bodies": bodies[finding.node],
            "partners": partners[finding.node],
        }
        for finding in findings
    ]
