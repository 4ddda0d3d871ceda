"""Signed links: answer an invitation, leave the mass mailings. No login, the link is the key.

A token is ``<id>.<signature>``; the signature is an HMAC-SHA256 of the purpose, the id and, for
invitations, the invitation's ``token_nonce`` under the instance's secret key. Changing the nonce
(or the key) revokes every link of that invitation; a tampered token fails the comparison, which
runs in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

_TOKEN = re.compile(r"^(?P<id>[1-9]\d{0,9})\.(?P<sig>[A-Za-z0-9_-]{22})$")


def _signature(secret: str, purpose: str, record_id: int, nonce: str) -> str:
    digest = hmac.new(
        secret.encode(), f"{purpose}:{record_id}:{nonce}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def make(secret: str, purpose: str, record_id: int, nonce: str = "") -> str:
    return f"{record_id}.{_signature(secret, purpose, record_id, nonce)}"


def record_id(token: str) -> int | None:
    """The id a well-formed token names (not yet verified: that needs the nonce)."""
    match = _TOKEN.match(token or "")
    return int(match["id"]) if match else None


def verify(secret: str, purpose: str, token: str, nonce: str = "") -> bool:
    match = _TOKEN.match(token or "")
    if match is None:
        return False
    expected = _signature(secret, purpose, int(match["id"]), nonce)
    return hmac.compare_digest(expected, match["sig"])


def answer_token(secret: str, invitation_id: int, nonce: str) -> str:
    return make(secret, "reponse", invitation_id, nonce)


def unsubscribe_token(secret: str, contact_id: int) -> str:
    return make(secret, "desabonnement", contact_id)
