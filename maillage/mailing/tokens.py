"""Signed links: answer an invitation, leave the mass mailings. No login, the link is the key.

An answer token is ``<id>.<signature>``; the signature is an HMAC-SHA256 of the purpose, the id
and the invitation's ``token_nonce`` under the instance's secret key. Changing the nonce (or the
key) revokes every link of that invitation; a tampered token fails the comparison, which runs in
constant time.

An unsubscribe token is ``<id>.<day>.<signature>``: it also signs the contact's ``link_nonce``
and the day it was issued (hexadecimal days since 2020-01-01), and stops working
``UNSUBSCRIBE_DAYS`` later; a new ``link_nonce`` (a revocation, an erasure) kills every link of
the person at once.
"""

from __future__ import annotations

import base64
import datetime as dt
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


UNSUBSCRIBE = "desabonnement"
UNSUBSCRIBE_DAYS = 400
"""A mailing's unsubscribe link works for 400 days: a year of mailings read late, and then
it is dead (a newer mailing carries a newer link)."""
_EPOCH = dt.date(2020, 1, 1)
_DATED = re.compile(r"^(?P<id>[1-9]\d{0,9})\.(?P<day>[0-9a-f]{1,5})\.(?P<sig>[A-Za-z0-9_-]{22})$")


def unsubscribe_token(
    secret: str, contact_id: int, nonce: str, today: dt.date | None = None
) -> str:
    day = ((today or dt.date.today()) - _EPOCH).days
    signature = _signature(secret, UNSUBSCRIBE, contact_id, f"{nonce}:{day:x}")
    return f"{contact_id}.{day:x}.{signature}"


def unsubscribe_contact(token: str) -> int | None:
    """The contact a well-formed unsubscribe token names (not yet verified)."""
    match = _DATED.match(token or "")
    return int(match["id"]) if match else None


def verify_unsubscribe(secret: str, token: str, nonce: str, today: dt.date | None = None) -> bool:
    match = _DATED.match(token or "")
    if match is None:
        return False
    day = int(match["day"], 16)
    age = ((today or dt.date.today()) - _EPOCH).days - day
    if not 0 <= age <= UNSUBSCRIBE_DAYS:
        return False
    expected = _signature(secret, UNSUBSCRIBE, int(match["id"]), f"{nonce}:{match['day']}")
    return hmac.compare_digest(expected, match["sig"])
