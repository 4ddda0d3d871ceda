"""msgspec schemas of the calendar API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from msgspec import Meta, Struct

from maillage.crm.schemas import STRICT, Id, ShortText

Minutes = Annotated[int, Meta(ge=15, le=12 * 60)]
Version = Annotated[int, Meta(ge=1)]


class Links(Struct):
    """The same feed twice: ``https`` to download, ``webcal`` to subscribe."""

    https: str
    webcal: str


class WarningOut(Struct):
    kind: str
    message: str


class CalendarMeetingRead(Struct, kw_only=True):
    id: int
    version: int
    working_group: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    location: str
    video_url: str | None
    agenda: str
    status: str
    ical_uid: str
    ical_sequence: int
    recurrence_id: dt.datetime | None
    updated_at: dt.datetime
    links: Links
    ical: str | None = None


class CalendarMeetingPage(Struct):
    items: list[CalendarMeetingRead]
    total: int
    limit: int
    offset: int


class ScheduledOut(Struct):
    meeting: CalendarMeetingRead
    warnings: list[WarningOut]


class MoveIn(Struct, **STRICT):
    version: Version
    starts_at: dt.datetime
    ends_at: dt.datetime
    location: ShortText | None = None


class CancelIn(Struct, **STRICT):
    version: Version


class MaterialiseIn(Struct, **STRICT):
    until: dt.date
    first_start: dt.datetime | None = None
    duration_minutes: Minutes = 120
    dry_run: bool = False


class PlannedOut(Struct):
    starts_at: dt.datetime
    ends_at: dt.datetime
    recurrence_id: dt.datetime


class MaterialiseOut(Struct):
    dry_run: bool
    planned: list[PlannedOut]
    created: list[ScheduledOut]


FeedScope = Literal["contact", "group", "territory"]


class FeedTokenIn(Struct, **STRICT):
    scope: FeedScope
    target_id: Id | None = None


class FeedTokenCreated(Struct):
    id: int
    scope: str
    target_id: int | None
    token: str
    links: Links


class FeedTokenRead(Struct):
    id: int
    scope: str
    target_id: int | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class FeedLink(Struct):
    name: str
    scope: str
    target_id: int | None
    links: Links


class ImportLineOut(Struct):
    uid: str
    title: str
    starts_at: dt.datetime
    action: str
    changed: list[str]
    meeting_id: int | None


class ImportOut(Struct):
    dry_run: bool
    summary: str
    lines: list[ImportLineOut]
    skipped: list[str]
