"""Security headers on every answer: a strict Content-Security-Policy, no sniffing, no framing.

The pages load only our own scripts and styles (no inline script, no inline event handler), so
the policy can forbid everything else. The interactive API documentation (Swagger UI) starts
with an inline script it generates: only its pages get ``'unsafe-inline'`` for scripts.

The headers are added by a ``before_send`` hook rather than a middleware: Litestar sends the
answers to errors raised inside middleware (a 401 from the token check) with the untouched
``send`` of the application, so a middleware never sees them; the hook sees every answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
DOCS_POLICY = PAGE_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)


def security_headers(https: bool = False) -> Callable[[Message, Scope], Awaitable[None]]:
    """The ``before_send`` hook; ``https`` adds Strict-Transport-Security."""

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        policy = DOCS_POLICY if scope["path"].startswith("/schema") else PAGE_POLICY
        wanted = {
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "X-Frame-Options": "DENY",
            "Cross-Origin-Opener-Policy": "same-origin",
            "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        }
        if https:
            wanted["Strict-Transport-Security"] = "max-age=31536000"
        headers = MutableScopeHeaders.from_message(message)
        for name, value in wanted.items():
            # A page that sets a stricter policy of its own (the network drawing, answer
            # links' « no-referrer ») keeps it.
            if name.lower() not in headers:
                headers[name] = value

    return add_headers
