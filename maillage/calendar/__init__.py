"""iCalendar (calendar issue): events, REQUEST/CANCEL invitations, feeds, the Europe/Paris
VTIMEZONE and recurrence, built with the ``icalendar`` package from plain rows."""
