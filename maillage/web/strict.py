"""Checks every request's query string once, before any handler reads it (#23).

PostgreSQL refuses the NUL character in text: a search or filter holding one (``?q=%00``)
reached the database and answered 500 on PostgreSQL only, and for a streamed export after the
response had started. No query parameter of maillage can hold it, so it is refused here for
every route at once, in French, on both engines alike.
"""

from __future__ import annotations

from maillage.errors import FieldError, InvalidData
from maillage.web.security import AppRequest


class NulInQuery(InvalidData):
    def __init__(self, name: str) -> None:
        message = (
            f"Adresse invalide : le paramètre « {name} » contient un caractère nul (U+0000), "
            "qu'aucun texte ne peut contenir."
        )
        super().__init__([FieldError(name, message)])
        self.message = message


async def refuse_nul_in_query(request: AppRequest) -> None:
    """Litestar ``before_request`` hook: 400 before the handler for a NUL in the query (a
    coroutine: Litestar runs a plain function there in a worker thread, a hop per request).

    A NUL reaches a parameter only as ``%00`` or as the raw byte: a query string holding
    neither is not parsed here (#16: parsing it again cost every request)."""
    raw = request.scope.get("query_string", b"")
    if b"%00" not in raw and b"\x00" not in raw:
        return
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise NulInQuery(name.replace("\x00", "")[:40] or "?")
