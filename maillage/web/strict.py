"""Checks every request's query string once, before any handler reads it (#23).

PostgreSQL refuses the NUL character in text: a search or filter holding one (``?q=%00``)
reached the database and answered 500 on PostgreSQL only, and for a streamed export after the
response had started. No query parameter of maillage can hold it, so it is refused here for
every route at once, in French, on both engines alike.
"""

from __future__ import annotations

from litestar import Request

from maillage.errors import FieldError, InvalidData


class NulInQuery(InvalidData):
    def __init__(self, name: str) -> None:
        message = (
            f"Adresse invalide : le paramètre « {name} » contient un caractère nul (U+0000), "
            "qu'aucun texte ne peut contenir."
        )
        super().__init__([FieldError(name, message)])
        self.message = message


async def refuse_nul_in_query(request: Request) -> None:
    """Litestar ``before_request`` hook: 400 before the handler for a NUL in the query (a
    coroutine function: Litestar runs a plain one on a thread, for every request)."""
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise NulInQuery(name.replace("\x00", "")[:40] or "?")
