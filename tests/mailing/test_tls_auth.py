"""The SMTP transport against a real aiosmtpd with TLS and authentication: STARTTLS, implicit
TLS (smtps://), a relay certificate trusted through ``cafile``, password login (LOGIN and
PLAIN) and XOAUTH2 with a token printed by a command."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import ipaddress
import ssl
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from maillage.db import write_transaction
from maillage.mailing import messages, outbox
from maillage.mailing.addresses import mailbox, sender_mailbox
from maillage.mailing.messages import Envelope
from maillage.mailing.sender import Sender
from maillage.mailing.transports import SmtpBackend, Unreachable, parse_smtp_url
from tests.mailing.conftest import RecordingHandler, fast_config, free_port

USER = "ctg@epci.example"
PASSWORD = "mot de passe: à@/?#%"  # every character a URL must escape
TOKEN = "ya29.jeton-d-essai"
RAW = (
    b"From: ctg@epci.example\r\nTo: helene@caf.example\r\nSubject: essai\r\n"
    b"Message-ID: <essai-tls@epci.example>\r\n\r\nBonjour.\r\n"
)


# ----- a throw-away certificate authority and the relay's certificate ------------------------


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    directory = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("AC d'essai maillage"))
        .issuer_name(_name("AC d'essai maillage"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("relais.maillage.test"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = Certificates(directory / "ca.pem", directory / "relais.pem", directory / "relais.key")
    files.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


# ----- the relay: records what it receives, over which channel, after which login -------------


class AuthHandler(RecordingHandler):
    """Checks LOGIN/PLAIN credentials, and XOAUTH2 tokens (a mechanism aiosmtpd leaves to the
    handler: ``auth_<MECHANISM>``)."""

    def __init__(self) -> None:
        super().__init__()
        self.logins: list[tuple[str, str]] = []  # (mechanism, user)
        self.tls_at_data: list[bool] = []
        self.authenticated_at_data: list[bool] = []

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        if len(args) == 2:
            response = args[1]
        else:
            answer = await server.challenge_auth("", encode_to_b64=False)
            response = answer.decode() if isinstance(answer, bytes) else str(answer)
        try:
            fields = base64.b64decode(response).decode().split("\x01")
        except ValueError:
            return AuthResult(success=False, handled=False)
        values = dict(field.split("=", 1) for field in fields if "=" in field)
        if values.get("user") == USER and values.get("auth") == f"Bearer {TOKEN}":
            self.logins.append(("XOAUTH2", USER))
            return AuthResult(success=True, auth_data=LoginPassword(USER.encode(), b""))
        return AuthResult(success=False, handled=False, message="535 5.7.8 Jeton refusé")

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.tls_at_data.append(server.transport.get_extra_info("sslcontext") is not None)
        self.authenticated_at_data.append(bool(session.authenticated))
        return await super().handle_DATA(server, session, envelope)


def check_password(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    if not isinstance(auth_data, LoginPassword):
        return AuthResult(success=False, handled=False)
    ok = auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
    if ok:
        server.event_handler.logins.append((mechanism, USER))
    # handled=False: aiosmtpd answers 535 itself (True would mean "already answered").
    return AuthResult(success=ok, handled=False)


@dataclass
class Relay:
    handler: AuthHandler
    port: int
    implicit: bool

    def url(
        self, certificates: Certificates | None, user: str | None = USER, **options: str
    ) -> str:
        scheme = "smtps" if self.implicit else "smtp"
        credentials = ""
        if user is not None:
            password = options.pop("password", PASSWORD)
            secret = f":{quote(password, safe='')}" if password else ""
            credentials = f"{quote(user, safe='')}{secret}@"
        query = {"timeout": "5", **options}
        if certificates is not None:
            query["cafile"] = str(certificates.ca_file)
        text = "&".join(f"{key}={quote(value, safe='/')}" for key, value in query.items())
        return f"{scheme}://{credentials}127.0.0.1:{self.port}?{text}"


@contextlib.contextmanager
def relay_for(certificates: Certificates, implicit: bool, **kwargs: Any) -> Iterator[Relay]:
    handler = AuthHandler()
    port = free_port()
    tls = (
        {"ssl_context": certificates.server_context(), "auth_require_tls": False}
        if implicit
        else {"tls_context": certificates.server_context(), "require_starttls": True}
    )
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=check_password,
        auth_required=True,
        **tls,
        **kwargs,
    )
    controller.start()
    try:
        yield Relay(handler, port, implicit)
    finally:
        controller.stop()


@pytest.fixture
def starttls_relay(certificates: Certificates) -> Iterator[Relay]:
    with relay_for(certificates, implicit=False) as relay:
        yield relay


@pytest.fixture
def implicit_relay(certificates: Certificates) -> Iterator[Relay]:
    with relay_for(certificates, implicit=True) as relay:
        yield relay


async def send_one(url: str, token_command: str | None = None) -> None:
    connection = await SmtpBackend(parse_smtp_url(url, token_command)).connect()
    try:
        await connection.send(USER, "helene@caf.example", RAW)
    finally:
        await connection.close()


# ----- STARTTLS ------------------------------------------------------------------------------


@pytest.mark.parametrize("starttls", ["true", None])
async def test_starttls_then_password_login(starttls_relay, certificates, starttls):
    options = {"starttls": starttls} if starttls else {}  # None: when the relay offers it
    await send_one(starttls_relay.url(certificates, **options))
    handler = starttls_relay.handler
    assert handler.ids() == ["<essai-tls@epci.example>"]
    assert handler.tls_at_data == [True]
    assert handler.logins and handler.logins[0][1] == USER


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
async def test_each_password_mechanism_is_accepted(certificates, mechanism):
    others = [other for other in ("LOGIN", "PLAIN") if other != mechanism]
    with relay_for(certificates, implicit=False, auth_exclude_mechanism=others) as relay:
        await send_one(relay.url(certificates, starttls="true"))
        assert relay.handler.logins == [(mechanism, USER)]


async def test_a_wrong_password_leaves_the_relay_unreachable_with_its_reason(
    starttls_relay, certificates
):
    with pytest.raises(Unreachable, match=r"Authentification refusée.*535"):
        await send_one(starttls_relay.url(certificates, starttls="true", password="faux"))
    assert starttls_relay.handler.received == []


async def test_an_untrusted_certificate_is_refused(starttls_relay):
    with pytest.raises(Unreachable, match=r"certificat du serveur refusé : .* inconnue\.$"):
        await send_one(starttls_relay.url(None, starttls="true"))
    assert starttls_relay.handler.received == []


async def test_a_missing_or_unreadable_cafile_is_a_clear_reason(starttls_relay, tmp_path):
    url = starttls_relay.url(None, starttls="true", cafile=str(tmp_path / "absent.pem"))
    with pytest.raises(Unreachable, match=r"« .*absent\.pem » illisible \(introuvable\)\.$"):
        await send_one(url)
    (tmp_path / "photo.pem").write_bytes(b"\x89PNG\r\n")
    url = starttls_relay.url(None, starttls="true", cafile=str(tmp_path / "photo.pem"))
    with pytest.raises(Unreachable, match=r"photo\.pem » illisible \(pas de certificat PEM"):
        await send_one(url)


async def test_without_starttls_the_relay_refuses_before_any_password(starttls_relay, certificates):
    with pytest.raises(Unreachable):
        await send_one(starttls_relay.url(certificates, starttls="false"))
    assert starttls_relay.handler.logins == []


# ----- implicit TLS --------------------------------------------------------------------------


async def test_implicit_tls_then_password_login(implicit_relay, certificates):
    await send_one(implicit_relay.url(certificates))
    assert implicit_relay.handler.ids() == ["<essai-tls@epci.example>"]
    assert implicit_relay.handler.tls_at_data == [True]
    assert implicit_relay.handler.logins[0][1] == USER


async def test_implicit_tls_refuses_an_untrusted_certificate(implicit_relay):
    with pytest.raises(Unreachable, match=r"certificat du serveur refusé : .* inconnue\.$"):
        await send_one(implicit_relay.url(None))


# ----- XOAUTH2 with a token command ------------------------------------------------------------


def token_script(directory: Path, body: str) -> str:
    script = directory / "jeton.py"
    script.write_text(body)
    return f"{sys.executable} {script}"


@pytest.mark.parametrize("implicit", [False, True])
async def test_xoauth2_with_the_token_a_command_prints(certificates, tmp_path, implicit):
    command = token_script(tmp_path, f"print({TOKEN!r})\n")
    with relay_for(certificates, implicit=implicit) as relay:
        options = {} if implicit else {"starttls": "true"}
        await send_one(relay.url(certificates, password="", **options), command)
        assert relay.handler.logins == [("XOAUTH2", USER)]
        assert relay.handler.ids() == ["<essai-tls@epci.example>"]


async def test_xoauth2_with_a_stale_token_is_refused(starttls_relay, certificates, tmp_path):
    command = token_script(tmp_path, "print('perime')\n")
    with pytest.raises(Unreachable, match="Authentification refusée"):
        await send_one(starttls_relay.url(certificates, password="", starttls="true"), command)


async def test_a_failing_token_command_says_why(starttls_relay, certificates, tmp_path):
    command = token_script(tmp_path, "import sys\nsys.exit('pas de jeton en cache')\n")
    with pytest.raises(Unreachable, match="pas de jeton en cache"):
        await send_one(starttls_relay.url(certificates, password="", starttls="true"), command)


async def test_a_token_command_that_cannot_start_names_only_its_program(
    starttls_relay, certificates, tmp_path
):
    command = f"{tmp_path / 'absent-tool'} --client-secret s3cr3t"
    with pytest.raises(Unreachable) as refused:
        await send_one(starttls_relay.url(certificates, password="", starttls="true"), command)
    assert str(refused.value) == (
        f"Commande de jeton OAuth2 « {tmp_path / 'absent-tool'} » impossible à lancer "
        "(introuvable)."
    )


async def test_a_token_command_needs_a_user_name(starttls_relay, certificates, tmp_path):
    command = token_script(tmp_path, f"print({TOKEN!r})\n")
    with pytest.raises(Unreachable, match=r"(?i)utilisateur"):
        await send_one(starttls_relay.url(certificates, user=None, starttls="true"), command)


# ----- through the outbox ----------------------------------------------------------------------


async def test_the_sender_delivers_queued_invitations_over_starttls_and_login(
    database, starttls_relay, certificates
):
    envelope = Envelope(sender_mailbox(f"CTG <{USER}>"))
    items = [
        outbox.Outgoing(
            messages.mailing(
                "Lettre du réseau",
                "Bonjour.",
                mailbox(f"partenaire{n}@commune.example", f"Partenaire {n}"),
                envelope,
                f"https://m.example/u/{n}.x",
            ),
            f"partenaire{n}@commune.example",
            "envoi_groupe",
        )
        for n in range(6)
    ]
    async with write_transaction():
        await outbox.enqueue(items)
    sender = Sender(
        SmtpBackend(parse_smtp_url(starttls_relay.url(certificates, starttls="true"))),
        fast_config(envelope_from=USER, connections=2),
    )
    report = await sender.drain()
    assert report.sent == 6 and report.unreachable is None
    assert len(starttls_relay.handler.received) == 6
    assert starttls_relay.handler.tls_at_data == [True] * 6
    assert starttls_relay.handler.authenticated_at_data == [True] * 6
