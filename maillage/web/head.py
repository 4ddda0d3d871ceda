"""HEAD answered as GET without the body (RFC 9110 §9.3.2), on every route.

Litestar routes HEAD only to handlers declared for it, so link checkers, uptime probes and
calendar clients that ask HEAD before GET got 405. The request is routed as a GET (the same
guards, validators and headers) and the body is dropped on the way out; ``Content-Length``
stays the GET's, as the RFC allows.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.types import Message, Send


def _without_body(send: Send) -> Send:
    async def send_headers_only(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return send_headers_only


class HeadAsGet(Litestar):
    """The application, answering HEAD on every GET route."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
            send = _without_body(send)
        await super().__call__(scope, receive, send)
