"""DKIM signature of what leaves (#19): an invitation sent through aiosmtpd carries a signature
that dkimpy verifies with the test public key (DNS answered by a stub of the lookup); the
settings refuse a missing or unreadable key in French."""

from __future__ import annotations

import base64
import subprocess

import dkim
import pytest

from maillage.actor import CLI
from maillage.mailing import invitations
from maillage.mailing.dkim import Signer
from maillage.settings import SettingsError, load_settings
from tests.mailing.conftest import settle, smtp_sender


def _key_pair() -> tuple[bytes, bytes]:
    """A 2048-bit RSA key as an operator makes one with openssl; its public half in DER."""
    private = subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        check=True,
        capture_output=True,
    ).stdout
    public = subprocess.run(
        ["openssl", "pkey", "-pubout", "-outform", "DER"],
        input=private,
        check=True,
        capture_output=True,
    ).stdout
    return private, public


async def test_an_invitation_leaves_signed_and_the_signature_verifies(body, smtp_server, settings):
    private, public = _key_pair()
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    looked_up: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:  # the DNS stub: one TXT record
        looked_up.append(name)
        return record if name == b"maillage2026._domainkey.maillage.example." else b""

    await invitations.invite(
        CLI, body.meeting["id"], invitations.InviteRequest((body.people["marc"]["id"],))
    )
    await invitations.queue(CLI, settings, body.meeting["id"])
    signer = Signer(private, "maillage2026", "maillage.example")
    await settle(smtp_sender(smtp_server, signer=signer))

    [received] = smtp_server.handler.received
    assert received.content.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;")
    assert dkim.verify(received.content, dnsfunc=dns)
    assert looked_up == [b"maillage2026._domainkey.maillage.example."]
    # A byte changed on the way: the signature no longer holds.
    tampered = received.content.replace(b"Bilan annuel", b"Bilan annuex", 1)
    assert not dkim.verify(tampered, dnsfunc=dns)


async def test_without_a_key_nothing_is_signed(body, smtp_server, settings):
    await invitations.invite(
        CLI, body.meeting["id"], invitations.InviteRequest((body.people["marc"]["id"],))
    )
    await invitations.queue(CLI, settings, body.meeting["id"])
    await settle(smtp_sender(smtp_server))
    [received] = smtp_server.handler.received
    assert b"DKIM-Signature" not in received.content


def test_the_settings_read_the_key_and_refuse_what_cannot_sign(tmp_path):
    private, _ = _key_pair()
    key = tmp_path / "dkim.pem"
    key.write_bytes(private)
    base = {"MAILLAGE_DATA_DIR": str(tmp_path / "data")}
    good = {
        **base,
        "MAILLAGE_DKIM_KEY_FILE": str(key),
        "MAILLAGE_DKIM_SELECTOR": "maillage2026",
        "MAILLAGE_DKIM_DOMAIN": "Maillage.Example",
    }
    settings = load_settings(good)
    assert settings.dkim_key == private and settings.dkim_domain == "maillage.example"
    assert load_settings(base).dkim_key is None

    with pytest.raises(SettingsError, match="MAILLAGE_DKIM_KEY_FILE : impossible de lire la clé"):
        load_settings({**good, "MAILLAGE_DKIM_KEY_FILE": str(tmp_path / "absente.pem")})
    public = tmp_path / "public.pem"
    subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(public)], check=True)
    with pytest.raises(SettingsError, match="ne contient pas de clé privée au format PEM"):
        load_settings({**good, "MAILLAGE_DKIM_KEY_FILE": str(public)})
    with pytest.raises(SettingsError, match="MAILLAGE_DKIM_SELECTOR manque"):
        load_settings({**good, "MAILLAGE_DKIM_SELECTOR": ""})
    with pytest.raises(SettingsError, match="n'est pas un nom de domaine"):
        load_settings({**good, "MAILLAGE_DKIM_DOMAIN": "pas un domaine"})
