"""Per-user caps on the heavy routes (#16): bilans, packs, network analyses, exports.

One person opening ten bilans in ten tabs must not take every heavy-work process of the
service: at most ``PER_USER`` of their heavy requests run at once in a server process; the next
ones are answered 429 in French with ``Retry-After``, at once, without queueing. Attached to
the heavy handlers and routers as a route middleware (``middleware=[heavy_cap]``): it runs after
authentication, so it knows the user; anonymous requests never reach these routes.
"""

from __future__ import annotations

from collections import Counter

from litestar.types import ASGIApp, Receive, Scope, Send

from maillage.errors import ServiceError
from maillage.french import plural

PER_USER = 2
RETRY_AFTER_SECONDS = 5

_running: Counter[str] = Counter()


class TooManyHeavyRequests(ServiceError):
    status_code = 429

    def __init__(self) -> None:
        super().__init__(
            f"Vous avez déjà {plural(PER_USER, 'calcul')} en cours (bilan, dossier de séance, "
            "analyse du réseau ou export) : attendez qu'ils se terminent, puis réessayez dans "
            f"{plural(RETRY_AFTER_SECONDS, 'seconde')}."
        )
        self.headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _user_key(scope: Scope) -> str | None:
    user = scope.get("user")
    if user is None:
        return None
    user_id = getattr(user, "user_id", None)
    return f"user:{user_id}" if user_id is not None else f"actor:{getattr(user, 'name', '')}"


def heavy_cap(app: ASGIApp) -> ASGIApp:
    async def capped(scope: Scope, receive: Receive, send: Send) -> None:
        key = _user_key(scope)
        if key is None:
            await app(scope, receive, send)
            return
        if _running[key] >= PER_USER:
            raise TooManyHeavyRequests()
        _running[key] += 1
        try:
            await app(scope, receive, send)
        finally:
            _running[key] -= 1
            if not _running[key]:
                del _running[key]

    return capped


def running(key: str) -> int:
    return _running[key]
