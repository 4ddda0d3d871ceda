"""Who is under-connected and why, what is fragile, where the territory is not covered.

Every finding carries a French sentence and the figures behind it, so that a coordinator can
check it and act on it.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from maillage.folding import fold
from maillage.french import number, plural
from maillage.graph.build import (
    Index,
    LastContact,
    contact_key,
    group_key,
    index,
    org_key,
    organisations_of,
)
from maillage.graph.data import GroupRow, NetworkData
from maillage.graph.metrics import Metrics
from maillage.vocabulary import ORGANISATION_KINDS, PRESENT, in_sentence

NEVER_CAME_MIN_INVITATIONS = 3
DORMANT_MONTHS = 12
WEAK_FOR_AXIS_RATIO = 0.5  # fewer than half the median degree of the axis' partners
AXIS_MIN_PARTNERS = 3  # a median over fewer partners says nothing
BODY_RESTS_ON_ONE_SHARE = 0.6
BODY_MIN_PRESENCES = 4
BODY_HELD_MIN_OTHERS = 2  # a pair of members is not yet a body to cut off
KEY_KINDS = ("institution", "collectivite", "association", "etablissement")
# The organisation kinds inside a sentence (« aucun partenaire de type opérateur en DSP »).
KIND_LABELS = {code: in_sentence(label) for code, label in ORGANISATION_KINDS.items()} | {
    "personne": "personne"
}
SEVERITY = {
    "isole": 5,
    "un_seul_lien": 4,
    "hors_reseau_principal": 3,
    "jamais_venu": 2,
    "faible_pour_l_axe": 2,
    "aucune_reunion_depuis": 1,
    "aucun_echange_depuis": 1,
}


@dataclass
class Reason:
    code: str
    message: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Finding:
    node: str
    name: str
    kind: str
    reasons: list[Reason]

    @property
    def score(self) -> int:
        return sum(SEVERITY.get(r.code, 1) for r in self.reasons)


def months_between(earlier: dt.date, later: dt.date) -> int:
    return (
        (later.year - earlier.year) * 12 + later.month - earlier.month - (later.day < earlier.day)
    )


@dataclass
class Attendance:
    invited: int = 0  # invitations to meetings whose attendance was taken
    present: int = 0
    last_present: dt.date | None = None


def attendance(data: NetworkData, idx: Index, level: str) -> dict[str, Attendance]:
    """Invitations and presence per partner, counted only where attendance was recorded.

    Two people of one organisation at the same meeting count as one meeting for it.
    """
    recorded = {i.meeting for i in data.invitations if i.attendance is not None}
    invited: dict[str, set[int]] = defaultdict(set)
    present: dict[str, set[int]] = defaultdict(set)
    for invitation in data.invitations:
        if invitation.meeting not in recorded:
            continue
        group = idx.meeting_group[invitation.meeting]
        if level == "organisations":
            keys = [org_key(o) for o in organisations_of(idx, invitation.contact, group)]
        else:
            keys = [contact_key(invitation.contact)]
        for key in keys:
            invited[key].add(invitation.meeting)
            if invitation.attendance == PRESENT:
                present[key].add(invitation.meeting)
    return {
        key: Attendance(
            invited=len(meetings),
            present=len(present[key]),
            last_present=max((idx.meeting_day[m] for m in present[key]), default=None),
        )
        for key, meetings in invited.items()
    }


def under_connected(
    graph: nx.Graph,
    metrics: Metrics,
    data: NetworkData,
    level: str = "organisations",
    last_contact: dict[str, LastContact] | None = None,
) -> list[Finding]:
    idx = index(data)
    presence = attendance(data, idx, level)
    axis_names = {a.id: a.name for a in data.axes}
    names = {c.id: c.display_name for c in data.contacts}
    axis_medians = _axis_medians(graph)
    findings = []
    for node, attrs in graph.nodes(data=True):
        reasons = _structural_reasons(graph, metrics, node, names)
        degree = graph.degree(node)
        if degree >= 2:
            reasons += _axis_reasons(attrs, degree, axis_medians, axis_names)
        reasons += _presence_reasons(presence.get(node), data.today)
        last_day = last_contact[node].day if last_contact and node in last_contact else None
        if last_day:
            months = months_between(last_day, data.today)
            if months >= DORMANT_MONTHS and reasons:
                reasons.append(
                    Reason(
                        "aucun_echange_depuis",
                        f"aucun échange noté depuis {months} mois",
                        {"mois": months, "dernier_echange": last_day.isoformat()},
                    )
                )
        if reasons:
            findings.append(Finding(node, attrs["label"], attrs["kind"], reasons))
    order = {node: rank for rank, node in enumerate(graph)}
    return sorted(findings, key=lambda f: (-f.score, order[f.node]))


def _structural_reasons(
    graph: nx.Graph, metrics: Metrics, node: str, names: dict[int, str]
) -> list[Reason]:
    degree = graph.degree(node)
    if degree == 0:
        return [Reason("isole", "isolé : aucun lien", {"liens": 0})]
    reasons = []
    if degree == 1:
        (other,) = graph[node]
        via = sorted(
            (names[c] for c in graph[node][other].get("_carriers", {}).get(node, ())), key=fold
        )
        how = f" (via {', '.join(via)})" if via else ""
        reasons.append(
            Reason(
                "un_seul_lien",
                f"un seul lien : avec « {graph.nodes[other]['label']} »{how}",
                {"liens": 1, "avec": other, "via": via},
            )
        )
    if metrics.main_component and node not in metrics.main_component:
        size = metrics.nodes[node]["component_size"]
        reasons.append(
            Reason(
                "hors_reseau_principal",
                f"hors du réseau principal (dans un groupe à part de {plural(size, 'partenaire')})",
                {
                    "taille_du_groupe": size,
                    "taille_du_reseau_principal": len(metrics.main_component),
                },
            )
        )
    return reasons


def _axis_medians(graph: nx.Graph) -> dict[int, float]:
    degrees: dict[int, list[int]] = defaultdict(list)
    for node, axes in graph.nodes(data="axes"):
        for axis in axes or ():
            degrees[axis].append(graph.degree(node))
    return {
        axis: statistics.median(values)
        for axis, values in degrees.items()
        if len(values) >= AXIS_MIN_PARTNERS
    }


def _axis_reasons(
    attrs: dict[str, Any], degree: int, medians: dict[int, float], axis_names: dict[int, str]
) -> list[Reason]:
    reasons = []
    for axis in attrs.get("axes") or ():
        median = medians.get(axis)
        if median is None or degree >= WEAK_FOR_AXIS_RATIO * median:
            continue
        name = axis_names.get(axis, f"n° {axis}")
        shown = f"{median:g}".replace(".", ",")
        reasons.append(
            Reason(
                "faible_pour_l_axe",
                f"lien faible pour un acteur de l'axe {name} ({degree} liens, médiane de l'axe : {shown})",
                {"axe": axis, "liens": degree, "mediane_de_l_axe": median},
            )
        )
    return reasons


def _presence_reasons(stats: Attendance | None, today: dt.date) -> list[Reason]:
    if stats is None:
        return []
    if stats.present == 0 and stats.invited >= NEVER_CAME_MIN_INVITATIONS:
        return [
            Reason(
                "jamais_venu",
                f"invité {stats.invited} fois, jamais venu",
                {"invitations": stats.invited, "presences": 0},
            )
        ]
    if stats.last_present is not None:
        months = months_between(stats.last_present, today)
        if months >= DORMANT_MONTHS:
            return [
                Reason(
                    "aucune_reunion_depuis",
                    f"aucune réunion depuis {months} mois",
                    {"mois": months, "derniere_presence": stats.last_present.isoformat()},
                )
            ]
    return []


# ----- fragile points -------------------------------------------------------------------------


def fragile_points(graph: nx.Graph, metrics: Metrics, data: NetworkData) -> list[dict[str, Any]]:
    """Partners whose departure cuts the network, bodies resting on one organisation."""
    found = []
    for node, cut in sorted(
        metrics.articulation_cuts.items(), key=lambda item: (-item[1], item[0])
    ):
        found.append(
            {
                "type": "point_d_articulation",
                "id": node,
                "name": graph.nodes[node]["label"],
                "cut_off": cut,
                "message": f"son départ couperait {plural(cut, 'partenaire')} du reste du réseau",
            }
        )
    found += bodies_resting_on_one(data)
    found += bodies_held_by_one_person(data)
    return found


def bodies_held_by_one_person(data: NetworkData) -> list[dict[str, Any]]:
    """Bodies tied to the other bodies by one member only: the only one who sits elsewhere.

    Her departure cuts the body off from the governance, even when the organisations behind its
    members are tied to the rest in other ways (colleagues, partnerships).
    """
    idx = index(data)
    bodies_of: dict[int, set[int]] = defaultdict(set)
    for group_id, contact_ids in idx.members.items():
        for contact_id in contact_ids:
            bodies_of[contact_id].add(group_id)
    names = {c.id: c.display_name for c in data.contacts}
    found = []
    for group in sorted(data.groups, key=lambda g: g.id):
        members = idx.members.get(group.id, set())
        elsewhere = [c for c in members if len(bodies_of[c]) > 1]
        others = len(members) - 1
        if len(elsewhere) != 1 or others < BODY_HELD_MIN_OTHERS:
            continue
        (contact,) = elsewhere
        name = names.get(contact, f"n° {contact}")
        found.append(
            _body(
                group,
                "instance_reliee_par_une_personne",
                f"ne tient aux autres instances que par {name} : "
                f"ses {others} autres membres ne siègent dans aucune autre instance",
                {"contact": contact_key(contact), "members": len(members)},
            )
        )
    return found


def bodies_resting_on_one(data: NetworkData) -> list[dict[str, Any]]:
    idx = index(data)
    org_names = {o.id: o.name for o in data.organisations}
    presences: dict[int, Counter[int]] = defaultdict(Counter)
    for meeting, contact_ids in idx.present.items():
        group_id = idx.meeting_group[meeting]
        for contact_id in contact_ids:
            for org_id in organisations_of(idx, contact_id, group_id):
                presences[group_id][org_id] += 1
    found = []
    for group in sorted(data.groups, key=lambda g: g.id):
        if group.id not in idx.members:
            found.append(_body(group, "instance_sans_membre", "instance sans aucun membre", {}))
            continue
        counts = presences.get(group.id)
        if not counts:
            continue
        total = sum(counts.values())
        (org, top), *_ = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        if total >= BODY_MIN_PRESENCES and top / total >= BODY_RESTS_ON_ONE_SHARE:
            name = org_names.get(org, f"n° {org}")
            found.append(
                _body(
                    group,
                    "instance_dependante",
                    f"la présence aux réunions repose sur « {name} » ({top} présences sur {total})",
                    {"organisation": org_key(org), "presences": top, "total": total},
                )
            )
    return found


def _body(group: GroupRow, kind: str, message: str, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": kind,
        "id": group_key(group.id),
        "name": group.name,
        "message": message,
        **values,
    }


# ----- coverage gaps --------------------------------------------------------------------------


def coverage_gaps(data: NetworkData) -> list[dict[str, Any]]:
    """Axes without a key kind of partner; communes without a partner on an axis (by population)."""
    gaps = []
    kinds_by_axis: dict[int, set[str]] = defaultdict(set)
    axes_by_commune: dict[int, set[int]] = defaultdict(set)
    for org in data.organisations:
        for axis_id in org.axes:
            kinds_by_axis[axis_id].add(org.kind)
            if org.commune is not None:
                axes_by_commune[org.commune].add(axis_id)
    for axis in data.axes:
        for kind in KEY_KINDS:
            if kind not in kinds_by_axis[axis.id]:
                gaps.append(
                    {
                        "type": "axe_sans_type_cle",
                        "axis": axis.id,
                        "kind": kind,
                        "population": None,
                        "message": f"axe {axis.name} : aucun partenaire de type {KIND_LABELS[kind]}",
                    }
                )
    communes = sorted(data.communes, key=lambda c: (-(c.population or 0), fold(c.name)))
    for commune in communes:
        for axis in data.axes:
            if axis.id in axes_by_commune[commune.id]:
                continue
            people = f" ({number(commune.population)} hab.)" if commune.population else ""
            gaps.append(
                {
                    "type": "commune_sans_partenaire",
                    "commune": commune.id,
                    "axis": axis.id,
                    "population": commune.population,
                    "message": f"{commune.name}{people} : aucun partenaire sur l'axe {axis.name}",
                }
            )
    return gaps
