"""iCalendar (calendar issue): events, REQUEST/CANCEL invitations, feeds, the Europe/Paris
VTIMEZONE and recurrence, built with the ``icalendar`` package from plain rows.

The pure builders are re-exported here for mailing; database work lives in ``service``,
``feeds`` and ``importer``, HTTP in ``routes``, the command line in ``cli``.
"""

from maillage.calendar.events import (
    Attendee,
    MeetingEvent,
    Reply,
    ReplyError,
    build_calendar,
    build_event,
    cancellation_calendar,
    invitation_calendar,
    parse_reply,
    serialize,
)

__all__ = [
    "Attendee",
    "MeetingEvent",
    "Reply",
    "ReplyError",
    "build_calendar",
    "build_event",
    "cancellation_calendar",
    "invitation_calendar",
    "parse_reply",
    "serialize",
]
