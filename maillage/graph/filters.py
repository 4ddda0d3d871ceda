"""Cut the network down to a period, axes, communes and kinds of partner (``NetworkFilter``)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from maillage.graph.data import ContactRow, GroupRow, NetworkData, NetworkFilter, OrganisationRow
from maillage.vocabulary import CANCELLED, DRAFT

# Meetings in these states did not bring anyone together.
NOT_HELD = frozenset({CANCELLED, DRAFT})


@dataclasses.dataclass(frozen=True)
class Window:
    """Links count when active in [link_start, link_end]; events when dated in [events_from, until]."""

    link_start: dt.date
    link_end: dt.date
    events_from: dt.date | None
    until: dt.date


def window_of(data: NetworkData, selection: NetworkFilter) -> Window:
    # Without a period the network is the one of today: links active today, every past meeting.
    until = selection.end or data.today
    return Window(
        link_start=selection.start or until,
        link_end=until,
        events_from=selection.start,
        until=until,
    )


def active(start: dt.date | None, end: dt.date | None, window: Window) -> bool:
    return (start is None or start <= window.link_end) and (end is None or end >= window.link_start)


def in_events(day: dt.date, window: Window) -> bool:
    return (window.events_from is None or day >= window.events_from) and day <= window.until


def apply_filter(data: NetworkData, selection: NetworkFilter) -> NetworkData:
    """The rows that make the selected network; ``today`` becomes the end of the period."""
    window = window_of(data, selection)
    orgs = _organisations(data, selection)
    org_ids = {o.id for o in orgs}
    affiliations = [
        a
        for a in data.affiliations
        if a.organisation in org_ids and active(a.start_date, a.end_date, window)
    ]
    contacts = _contacts(data, selection, {a.contact for a in affiliations})
    contact_ids = {c.id for c in contacts}
    affiliations = [a for a in affiliations if a.contact in contact_ids]
    groups = _groups(data, selection)
    group_ids = {g.id for g in groups}
    memberships = [
        m
        if m.organisation is None or m.organisation in org_ids
        else dataclasses.replace(m, organisation=None)
        for m in data.memberships
        if m.contact in contact_ids
        and m.group in group_ids
        and active(m.start_date, m.end_date, window)
    ]
    meetings = [
        m
        for m in data.meetings
        if m.group in group_ids
        and m.status not in NOT_HELD
        and in_events(m.starts_at.date(), window)
    ]
    meeting_ids = {m.id for m in meetings}
    return NetworkData(
        today=window.until,
        axes=list(data.axes),
        communes=list(data.communes),
        organisations=orgs,
        contacts=contacts,
        affiliations=affiliations,
        groups=groups,
        memberships=memberships,
        meetings=meetings,
        invitations=[
            i for i in data.invitations if i.meeting in meeting_ids and i.contact in contact_ids
        ],
        partnerships=[
            p
            for p in data.partnerships
            if p.organisation in org_ids
            and p.partner in org_ids
            and active(p.start_date, p.end_date, window)
            and (not selection.axes or not p.axes or selection.axes & set(p.axes))
        ],
        interactions=[
            dataclasses.replace(
                i,
                organisations=tuple(o for o in i.organisations if o in org_ids),
                contacts=tuple(c for c in i.contacts if c in contact_ids),
            )
            for i in data.interactions
            if in_events(i.occurred_on, window)
        ],
    )


def _organisations(data: NetworkData, selection: NetworkFilter) -> list[OrganisationRow]:
    return [
        o
        for o in data.organisations
        if (selection.include_archived or not o.archived)
        and (not selection.kinds or o.kind in selection.kinds)
        and (not selection.axes or selection.axes & set(o.axes))
        and (not selection.communes or o.commune in selection.communes)
    ]


def _contacts(
    data: NetworkData, selection: NetworkFilter, affiliated: set[int]
) -> list[ContactRow]:
    narrowed = bool(selection.axes or selection.communes or selection.kinds)

    def kept(contact: ContactRow) -> bool:
        if contact.archived and not selection.include_archived:
            return False
        if not narrowed or contact.id in affiliated:
            return True
        # A person without a kept organisation stays when she herself matches the filter.
        if selection.kinds:
            return False
        return bool(
            (not selection.axes or selection.axes & set(contact.axes))
            and (not selection.communes or contact.commune in selection.communes)
        )

    return [c for c in data.contacts if kept(c)]


def _groups(data: NetworkData, selection: NetworkFilter) -> list[GroupRow]:
    return [
        g
        for g in data.groups
        if (selection.include_archived or not g.archived)
        # A body without axis (COPIL, COTECH) or without commune covers everything.
        and (not selection.axes or not g.axes or selection.axes & set(g.axes))
        and (not selection.communes or not g.communes or selection.communes & set(g.communes))
    ]
