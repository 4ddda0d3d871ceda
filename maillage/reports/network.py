"""The network section of the bilan: the partner network of year N against year N-1.

The analysis is ``maillage.graph``'s (network issue): this module only turns the report's rows
into its ``NetworkData``, asks ``analyse`` for the network of each civil year (links active
during the year, meetings and exchanges dated in it) and keeps the handful of figures the bilan
prints, as ``NetworkYear``.

Which organisations the network of year N holds: those registered by the end of N (the graph
rows carry no creation date, so it is applied here) and, when the database holds several
territories, only those located in the territory or sitting in its bodies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from maillage.graph.data import (
    AffiliationRow,
    AxisRow,
    CommuneRow,
    ContactRow,
    GroupRow,
    InteractionRow,
    InvitationRow,
    MeetingRow,
    MembershipRow,
    NetworkData,
    NetworkFilter,
    OrganisationRow,
    PartnershipRow,
)
from maillage.graph.report import analyse
from maillage.reports.collect import ReportRows


@dataclass
class NetworkYear:
    year: int
    organisations: int
    ties: int
    density: float | None
    isolates: int
    largest_component_share: float | None
    communities: int
    core: set[int] = field(default_factory=set)  # organisation ids in the main k-core
    periphery: set[int] = field(default_factory=set)  # in the network, outside the core
    under_connected: list[dict[str, Any]] = field(default_factory=list)  # id, reasons
    empty_reason: str | None = None


def network_year(rows: ReportRows, year: int) -> NetworkYear:
    """The network figures of ``year``, computed by ``maillage.graph``."""
    data = network_data(rows, year)
    selection = NetworkFilter(start=dt.date(year, 1, 1), end=dt.date(year, 12, 31))
    report = analyse(data, selection, "organisations")
    figures = report.metrics.network
    nodes = report.metrics.nodes
    ids = {node: attrs["record_id"] for node, attrs in report.graph.nodes(data=True)}
    top = max((m["core_number"] for m in nodes.values()), default=0)
    core = {ids[n] for n, m in nodes.items() if top > 0 and m["core_number"] == top}
    return NetworkYear(
        year=year,
        organisations=figures["nodes"],
        ties=figures["ties"],
        density=figures["density"],
        isolates=figures["isolates"],
        largest_component_share=figures["main_component_share"],
        communities=sum(1 for c in report.metrics.communities if len(c) > 1),
        core=core,
        periphery=set(ids.values()) - core,
        under_connected=[
            {"id": ids[f.node], "reasons": [r.message for r in f.reasons]}
            for f in report.under_connected
            if f.node in ids
        ],
        empty_reason=report.empty_reason,
    )


def movements(previous: NetworkYear, current: NetworkYear) -> dict[str, set[int]]:
    """Partners that moved from the edge to the core, and those that drifted away from it."""
    return {
        "to_core": previous.periphery & current.core,
        "drifted": previous.core - current.core,
    }


def network_data(rows: ReportRows, year: int) -> NetworkData:
    """The report's rows as ``maillage.graph`` rows, for the network of ``year``."""
    end = dt.date(year, 12, 31)
    scope = rows.scope
    involved = {m["organisation"] for m in rows.memberships} | {
        a["organisation"] for a in rows.affiliations
    }
    organisations = [
        o
        for o in rows.organisations.values()
        if o["created_at"].date() <= end
        and (scope.everything or o["commune"] in scope.commune_ids or o["id"] in involved)
    ]
    return NetworkData(
        today=end,
        axes=[AxisRow(a["id"], a["code"], a["name"]) for a in rows.axes],
        communes=[CommuneRow(c["id"], c["name"], c["population"]) for c in scope.communes],
        organisations=[
            OrganisationRow(
                o["id"],
                o["name"],
                o["kind"],
                o["category"],
                o["commune"],
                tuple(o["axes"]),
                bool(o["archived"]),
            )
            for o in organisations
        ],
        contacts=[
            ContactRow(c["id"], c["first_name"], c["last_name"], archived=bool(c["archived"]))
            for c in rows.contacts
        ],
        affiliations=[
            AffiliationRow(
                a["contact"],
                a["organisation"],
                primary=bool(a["is_primary"]),
                start_date=a["start_date"],
                end_date=a["end_date"],
            )
            for a in rows.affiliations
        ],
        groups=[
            GroupRow(
                g["id"],
                g["name"],
                g["kind"],
                tuple(g["axes"]),
                archived=bool(g["archived"]),
                active=bool(g["active"]),
            )
            for g in rows.groups.values()
        ],
        memberships=[
            MembershipRow(
                m["contact"],
                m["working_group"],
                organisation=m["organisation"],
                start_date=m["start_date"],
                end_date=m["end_date"],
            )
            for m in rows.memberships
        ],
        meetings=[
            MeetingRow(m["id"], m["working_group"], m["starts_at"], m["status"])
            for m in rows.meetings
        ],
        invitations=[
            InvitationRow(i["meeting"], i["contact"], attendance=i["attendance"])
            for i in rows.invitations
        ],
        partnerships=[
            PartnershipRow(
                p["organisation"],
                p["partner"],
                p["kind"],
                start_date=p["start_date"],
                end_date=p["end_date"],
            )
            for p in rows.partnerships
        ],
        interactions=[
            InteractionRow(e["id"], e["occurred_on"], e["kind"], tuple(e["organisations"]))
            for e in rows.exchanges
        ],
    )
