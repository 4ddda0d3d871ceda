"""The tableau de bord: key figures, the coming meetings, the answers awaited and the alerts.

One read transaction and a fixed number of queries, whatever the size of the network.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from piccolo.query.methods.select import Count

from maillage.db import read_transaction
from maillage.tables import (
    Contact,
    Invitation,
    Meeting,
    Organisation,
    Partnership,
    WorkingGroup,
)

UPCOMING_DAYS = 30
DSP_NOTICE_MONTHS = 6
MAX_UPCOMING = 50


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day ``months`` later, clamped to the end of a shorter month (31 Aug + 6 = 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def annual_report_reminder(today: dt.date) -> dict[str, Any] | None:
    """From 1 December to 31 January: the activity report of the year is due to the Caf."""
    if today.month == 12:
        year = today.year
    elif today.month == 1:
        year = today.year - 1
    else:
        return None
    due = dt.date(year + 1, 1, 31)
    return {"year": year, "due": due, "days_left": (due - today).days}


async def dashboard(now: dt.datetime, today: dt.date) -> dict[str, Any]:
    horizon = now + dt.timedelta(days=UPCOMING_DAYS)
    async with read_transaction():
        figures = await _figures(now, horizon)
        meetings = await _upcoming_meetings(now, horizon)
        answers = await _answers(meetings)
        contracts = await _dsp_contracts_ending(today)
    for meeting in meetings:
        meeting["answers"] = answers.get(meeting["id"], {})
    awaited = [m for m in meetings if m["answers"].get("en_attente")]
    return {
        "figures": figures,
        "meetings": meetings,
        "awaited": awaited,
        "awaited_total": sum(m["answers"]["en_attente"] for m in awaited),
        "dsp_contracts": contracts,
        "annual_report": annual_report_reminder(today),
        "upcoming_days": UPCOMING_DAYS,
        "dsp_notice_months": DSP_NOTICE_MONTHS,
    }


async def _figures(now: dt.datetime, horizon: dt.datetime) -> dict[str, int]:
    not_archived = Organisation.archived == False  # noqa: E712 - SQL expression
    return {
        "organisations": await Organisation.count().where(not_archived).run(),
        "contacts": await Contact.count().where(Contact.archived == False).run(),  # noqa: E712
        "groups": await WorkingGroup.count()
        .where((WorkingGroup.archived == False) & (WorkingGroup.active == True))  # noqa: E712
        .run(),
        "meetings": await Meeting.count()
        .where(
            (Meeting.starts_at >= now)
            & (Meeting.starts_at < horizon)
            & (Meeting.status != "annulee")
        )
        .run(),
    }


async def _upcoming_meetings(now: dt.datetime, horizon: dt.datetime) -> list[dict[str, Any]]:
    return (
        await Meeting.select(
            Meeting.id,
            Meeting.title,
            Meeting.starts_at,
            Meeting.ends_at,
            Meeting.location,
            Meeting.status,
            Meeting.working_group,
            Meeting.working_group.name,
        )
        .where(
            (Meeting.starts_at >= now)
            & (Meeting.starts_at < horizon)
            & (Meeting.status != "annulee")
        )
        .order_by(Meeting.starts_at)
        .limit(MAX_UPCOMING)
        .run()
    )


async def _answers(meetings: list[dict[str, Any]]) -> dict[int, dict[str, int]]:
    """Invitations per meeting and response, counted by the database."""
    if not meetings:
        return {}
    rows = (
        await Invitation.select(Invitation.meeting, Invitation.response, Count())
        .where(Invitation.meeting.is_in([m["id"] for m in meetings]))
        .group_by(Invitation.meeting, Invitation.response)
        .run()
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for row in rows:
        counts[row["meeting"]][row["response"]] = row["count"]
    return counts


async def _dsp_contracts_ending(today: dt.date) -> list[dict[str, Any]]:
    limit = add_months(today, DSP_NOTICE_MONTHS)
    return (
        await Partnership.select(
            Partnership.id,
            Partnership.end_date,
            Partnership.contract_reference,
            Partnership.organisation,
            Partnership.organisation.name,
            Partnership.partner,
            Partnership.partner.name,
            Partnership.delegated_service,
            Partnership.delegated_service.name,
        )
        .where(
            (Partnership.kind == "delegation_dsp")
            & (Partnership.end_date >= today)
            & (Partnership.end_date <= limit)
        )
        .order_by(Partnership.end_date)
        .run()
    )
