"""Secrets out of the access log: answer, unsubscribe and feed links carry their token in the
path, and whoever reads the log (journald, a log collector) could use them (#23)."""

from __future__ import annotations

import logging
import re

# The path segment after these prefixes is a bearer secret.
SECRET_PATH = re.compile(r"^(/r/|/u/|/calendar/feeds/)[^/?]+")
SECRET_QUERY = re.compile(r"([?&](?:token|jeton)=)[^&]+")
HIDDEN = "[masqué]"


def redact(path: str) -> str:
    path = SECRET_PATH.sub(lambda match: match.group(1) + HIDDEN, path)
    return SECRET_QUERY.sub(lambda match: match.group(1) + HIDDEN, path)


class RedactTokens(logging.Filter):
    """Rewrites uvicorn's access record (client, method, path, version, status) in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        return True


def install() -> None:
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(known, RedactTokens) for known in logger.filters):
        logger.addFilter(RedactTokens())
