"""DKIM signature of what leaves (#19), with dkimpy, when the operator configures a key
(MAILLAGE_DKIM_KEY_FILE, MAILLAGE_DKIM_SELECTOR, MAILLAGE_DKIM_DOMAIN).

The sender signs each message just before handing it to the relay: after the read-back check
of its headers (``readback``, at queueing), so the signed bytes are those checked. RSA signing
is CPU work: it runs off the event loop (``offloop``). Signed headers: those a receiver shows or
uses to thread and unsubscribe; relaxed/relaxed canonicalisation survives the relays' refolding.
"""

from __future__ import annotations

from dataclasses import dataclass

import dkim

from maillage.offloop import off_loop
from maillage.settings import Settings

SIGNED_HEADERS = (
    b"from",
    b"to",
    b"cc",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"in-reply-to",
    b"references",
    b"mime-version",
    b"content-type",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)


class SigningError(Exception):
    """The key cannot sign (not an RSA or Ed25519 private key dkimpy reads)."""


@dataclass(frozen=True)
class Signer:
    key: bytes
    selector: str
    domain: str

    def sign_now(self, raw: bytes) -> bytes:
        try:
            header: bytes = dkim.sign(
                raw,
                self.selector.encode(),
                self.domain.encode(),
                self.key,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=[h for h in SIGNED_HEADERS if _has(raw, h)],
            )
        except dkim.DKIMException as error:
            raise SigningError(
                f"Signature DKIM impossible avec la clé configurée ({error})."
            ) from error
        return header + raw

    async def sign(self, raw: bytes) -> bytes:
        return await off_loop(self.sign_now, raw)


def _has(raw: bytes, name: bytes) -> bool:
    head = raw.split(b"\r\n\r\n", 1)[0].lower()
    return head.startswith(name + b":") or b"\n" + name + b":" in head


def signer_for(settings: Settings) -> Signer | None:
    if not settings.dkim_key:
        return None
    # load_settings takes the key, its selector and its domain together or not at all
    assert settings.dkim_selector and settings.dkim_domain
    return Signer(settings.dkim_key, settings.dkim_selector, settings.dkim_domain)
