"""Where messages go: an SMTP relay (aiosmtplib) or, by default, ``.eml`` files.

A backend opens connections; a connection sends one message at a time and is reused for the
next. Failures are sorted into what the sender needs to decide:

- ``Unreachable``: no connection could be opened (server down, refused login), or the relay
  refuses to send anything for us (``RelayRefused``: authentication required, sender address
  refused): the messages stay queued with that reason and the attempt does not count;
- ``Transient``: a 4xx reply, a dropped connection, a timeout: try again later;
- ``Permanent``: a 5xx reply or a refused recipient: the message fails with the server's words.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from maillage.messages import system_error
from maillage.settings import Settings

DEFAULT_TIMEOUT = 30.0


class DeliveryError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unreachable(DeliveryError):
    """No connection to the relay; nothing was attempted."""


class RelayRefused(Unreachable):
    """The relay refuses the session, not the recipient (530 authentication required, MAIL FROM
    refused): a configuration problem that every message would meet, so none of them fails."""


class Transient(DeliveryError):
    def __init__(self, reason: str, connection_lost: bool = False) -> None:
        super().__init__(reason)
        self.connection_lost = connection_lost


class Permanent(DeliveryError):
    pass


class Connection(Protocol):
    async def send(self, sender: str, recipient: str, raw: bytes) -> None: ...

    async def close(self) -> None: ...


class Backend(Protocol):
    description: str

    async def connect(self) -> Connection: ...


# ----- files ----------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FileBackend:
    """Writes each message to ``<outbox dir>/<Message-ID>.eml``: sending twice rewrites the same
    file, so a resent message never shows up twice."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.description = f"fichiers .eml dans {directory}"

    async def connect(self) -> FileConnection:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise Unreachable(
                f"Dossier d'envoi « {self.directory} » inaccessible ({system_error(error)})."
            ) from error
        return FileConnection(self.directory)


class FileConnection:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, sender: str, recipient: str, raw: bytes) -> None:
        message_id = _message_id(raw)
        name = _UNSAFE.sub("_", message_id.strip("<>"))[:180] or "message"
        target = self.directory / f"{name}.eml"
        temporary = target.with_suffix(".eml.tmp")
        try:
            temporary.write_bytes(raw)
            os.replace(temporary, target)
        except OSError as error:
            raise Transient(
                f"Écriture de « {target} » impossible ({system_error(error)})."
            ) from error

    async def close(self) -> None:
        return None


def _message_id(raw: bytes) -> str:
    match = re.search(rb"^Message-ID:\s*(\S+)", raw, re.IGNORECASE | re.MULTILINE)
    return match.group(1).decode("ascii", "replace") if match else ""


# ----- SMTP -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool | None  # None: when the server offers it
    username: str | None
    password: str | None
    token_command: str | None
    timeout: float
    cafile: str | None

    @property
    def description(self) -> str:
        mode = (
            "TLS"
            if self.implicit_tls
            else {True: "STARTTLS", False: "sans TLS", None: ""}[self.starttls]
        )
        return f"serveur SMTP {self.host}:{self.port} {mode}".strip()


_TRUE = {"1", "true", "oui", "yes", "on"}
_FALSE = {"0", "false", "non", "no", "off"}


def parse_smtp_url(url: str, token_command: str | None = None) -> SmtpConfig:
    """``smtp://user:pass@host:587?starttls=true``, ``smtps://host:465`` (implicit TLS);
    query options: ``starttls`` (true/false, default: when offered), ``timeout`` (seconds),
    ``cafile`` (a CA bundle for a relay with a private certificate)."""
    parts = urlsplit(url)
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    implicit = parts.scheme == "smtps"
    starttls_option = options.get("starttls", "").lower()
    starttls = True if starttls_option in _TRUE else False if starttls_option in _FALSE else None
    return SmtpConfig(
        host=parts.hostname or "localhost",
        port=parts.port or (465 if implicit else 587 if starttls else 25),
        implicit_tls=implicit,
        starttls=False if implicit else starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        token_command=token_command,
        timeout=float(options.get("timeout") or DEFAULT_TIMEOUT),
        cafile=options.get("cafile"),
    )


class SmtpBackend:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self.description = config.description

    def _client(self) -> aiosmtplib.SMTP:
        config = self.config
        context = None
        if config.cafile:
            try:
                context = ssl.create_default_context(cafile=config.cafile)
            except OSError as error:  # ssl.SSLError included: not a PEM file
                problem = (
                    "pas de certificat PEM dedans"
                    if isinstance(error, ssl.SSLError)
                    else system_error(error)
                )
                raise Unreachable(
                    f"Fichier d'autorités de certification « {config.cafile} » illisible "
                    f"({problem})."
                ) from error
        return aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            use_tls=config.implicit_tls,
            start_tls=config.starttls,
            timeout=config.timeout,
            tls_context=context,
        )

    async def connect(self) -> SmtpConnection:
        client = self._client()
        where = f"{self.config.host}:{self.config.port}"
        try:
            await client.connect()
            # Greeted now rather than at the first MAIL: an EHLO refusal is the server's.
            await _greet(client)
            await self._authenticate(client)
        except Unreachable:
            await _quietly_close(client)
            raise
        except aiosmtplib.SMTPAuthenticationError as error:
            await _quietly_close(client)
            raise Unreachable(
                f"Authentification refusée par {where} : {error.code} {error.message}"
            ) from error
        except aiosmtplib.SMTPResponseException as error:
            await _quietly_close(client)
            raise Unreachable(
                f"Le serveur {where} refuse la connexion : {error.code} {error.message}"
            ) from error
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            await _quietly_close(client)
            raise Unreachable(
                f"Serveur d'envoi {where} injoignable : {system_error(error)}."
            ) from error
        return SmtpConnection(client)

    async def _authenticate(self, client: aiosmtplib.SMTP) -> None:
        config = self.config
        if config.token_command:
            if not config.username:
                # Without it nothing would log in, and the relay would refuse every message.
                raise Unreachable(
                    "Jeton OAuth2 sans nom d'utilisateur : écrivez-le dans MAILLAGE_SMTP_URL "
                    "(smtp://utilisateur@serveur:587)."
                )
            token = await run_token_command(config.token_command)
            await client.auth_xoauth2(config.username, token)
        elif config.username and config.password is not None:
            await client.login(config.username, config.password)


async def _greet(client: aiosmtplib.SMTP) -> None:
    if client.is_ehlo_or_helo_needed:
        try:
            await client.ehlo()
        except aiosmtplib.SMTPHeloError:
            if not client.is_connected:
                raise
            await client.helo()


async def run_token_command(command: str) -> str:
    """Relays that no longer take passwords (Microsoft 365, Gmail) take an OAuth2 token that
    another tool refreshes; the command prints it on its standard output."""
    try:
        process = await asyncio.create_subprocess_exec(
            *shlex.split(command),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    except (OSError, TimeoutError) as error:
        # Only the program is named: the arguments may hold a client secret.
        program = shlex.split(command)[0]
        raise Unreachable(
            f"Commande de jeton OAuth2 « {program} » impossible à lancer ({system_error(error)})."
        ) from error
    token = out.decode().strip()
    if process.returncode != 0 or not token:
        detail = err.decode(errors="replace").strip()[:300]
        raise Unreachable(
            f"La commande de jeton OAuth2 a échoué (code {process.returncode}) : {detail}"
        )
    return token


async def _quietly_close(client: aiosmtplib.SMTP) -> None:
    # Closing a half-open socket must not hide the real error.
    with contextlib.suppress(Exception):
        client.close()


def _reply(code: int, message: str) -> str:
    return f"{code} {' '.join(message.split())}"


_PATH = re.compile(rb"[\x21-\x7e]+")
"""What an envelope address may hold once checked: printable ASCII, no space or line break."""


def _path(address: str) -> bytes:
    """``<address>`` for MAIL FROM and RCPT TO. The outbox only holds checked addresses, so
    this replaces aiosmtplib's per-command parsing (four ``parseaddr`` a message) with a guard
    that still keeps a line break or a bracket out of the command."""
    encoded = address.encode("ascii", "replace")
    if not _PATH.fullmatch(encoded) or b"<" in encoded or b">" in encoded:
        raise Permanent(f"Adresse d'enveloppe invalide « {' '.join(address.split())} ».")
    return b"<" + encoded + b">"


def _wire_size(raw: bytes) -> int:
    """RFC 1870 SIZE: the octets as sent, every line ending a CRLF (stored messages are CRLF
    already; a stray bare LF counts one more)."""
    return len(raw) + raw.count(b"\n") - raw.count(b"\r\n")


def _crlf_only(raw: bytes) -> bool:
    """Every line ends with CRLF, the last one included: no bare CR or LF to normalise."""
    crlf = raw.count(b"\r\n")
    return raw.endswith(b"\r\n") and raw.count(b"\n") == crlf and raw.count(b"\r") == crlf


def _dot_stuffed(raw: bytes) -> bytes:
    """RFC 5321 § 4.5.2 on CRLF-only text: a line starting with a period gets a second one;
    then the end-of-data line."""
    head = b"." if raw.startswith(b".") else b""
    return head + raw.replace(b"\r\n.", b"\r\n..") + b".\r\n"


class SmtpConnection:
    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self.client = client

    async def send(self, sender: str, recipient: str, raw: bytes) -> None:
        if not self.client.is_connected:
            raise Transient("Connexion au serveur fermée.", connection_lost=True)
        try:
            await self._transaction(sender, recipient, raw)
        except aiosmtplib.SMTPResponseException as error:
            await self._reset()
            raise _classify(error.code, error.message, "Refusé par le serveur") from error
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as error:
            raise Transient(
                f"Connexion interrompue pendant l'envoi ({system_error(error)}).",
                connection_lost=True,
            ) from error
        except (aiosmtplib.SMTPTimeoutError, TimeoutError) as error:
            # A reply may still come: the connection is out of step, never to be reused.
            self.client.close()
            raise Transient(
                "Délai dépassé en attendant le serveur.", connection_lost=True
            ) from error
        except aiosmtplib.SMTPException as error:
            # aiosmtplib's own words are English; its remaining errors all leave the
            # exchange out of step, so the connection is dropped and the message retried.
            raise Transient("Échange SMTP interrompu.", connection_lost=True) from error

    async def _transaction(self, sender: str, recipient: str, raw: bytes) -> None:
        """MAIL, RCPT, DATA of one message, with the bytes as stored (aiosmtplib's ``sendmail``
        would parse both addresses twice and scan the message twice more).

        The connection's timeout bounds the whole exchange rather than each of its four
        replies: aiosmtplib arms and cancels a timer per reply, a tenth of the CPU a message
        costs here."""
        async with asyncio.timeout(self.client.timeout):
            refusal = await self._exchange(sender, recipient, raw)
        if refusal is not None:
            # Reset after the deadline, on its own timeout: a slow RSET must not turn the
            # server's refusal of the recipient into a timeout.
            await self._reset()
            raise refusal

    async def _exchange(self, sender: str, recipient: str, raw: bytes) -> DeliveryError | None:
        """The message sent, or the refusal of its recipient (the envelope is then still open)."""
        client = self.client
        try:
            envelope_from = _path(sender)
        except Permanent as error:  # the setting, not the message: keep them all queued
            raise RelayRefused(
                f"Adresse d'expédition invalide « {' '.join(sender.split())} » "
                "(MAILLAGE_MAIL_FROM)."
            ) from error
        envelope_to = _path(recipient)
        crlf_only = _crlf_only(raw)  # the stored form: then the size is the length
        size = len(raw) if crlf_only else _wire_size(raw)
        options = [b"SIZE=%d" % size] if client.supports_extension("size") else []
        reply = await client.execute_command(
            b"MAIL", b"FROM:" + envelope_from, *options, timeout=None
        )
        if reply.code != 250:
            raise _refused_sender(reply.code, reply.message)
        reply = await client.execute_command(b"RCPT", b"TO:" + envelope_to, timeout=None)
        if reply.code not in (250, 251):
            return _classify(reply.code, reply.message, "Destinataire refusé")
        await self._data(raw, crlf_only)
        return None

    async def _data(self, raw: bytes, crlf_only: bool) -> None:
        """DATA with the message as stored. The outbox's messages have CRLF line endings only
        (built so, or serialised with ``policy.SMTP``), so dot-stuffing them is one byte
        replace; aiosmtplib's ``data`` runs two regular expressions over each message to
        normalise line endings and stuff dots, about a third of the sender's CPU per message.
        A message with any other line ending goes through ``data``."""
        client = self.client
        protocol = client.protocol
        if protocol is None or not crlf_only:
            await client.data(raw)
            return
        reply = await client.execute_command(b"DATA", timeout=None)
        if reply.code != 354:
            raise aiosmtplib.SMTPDataError(reply.code, reply.message)
        try:
            protocol.write(_dot_stuffed(raw))
            reply = await protocol.read_response(timeout=None)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
            client.close()  # as ``data`` does: the connection is no longer in step
            raise
        if reply.code != 250:
            raise aiosmtplib.SMTPDataError(reply.code, reply.message)

    async def _reset(self) -> None:
        # As sendmail does: a refused step must not leave half an envelope for the next message.
        with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
            if self.client.is_connected:
                await self.client.rset()

    async def close(self) -> None:
        try:
            if self.client.is_connected:
                await self.client.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            await _quietly_close(self.client)


def _refused_sender(code: int, message: str) -> DeliveryError:
    """A refusal at MAIL FROM is about us (login, sender address), never about the recipient:
    a 5xx there keeps every message queued instead of failing each one."""
    if code >= 500:
        return RelayRefused(f"Le serveur refuse l'expéditeur : {_reply(code, message)}")
    return _classify(code, message, "Refusé par le serveur")


def _classify(code: int, message: str, label: str) -> DeliveryError:
    text = f"{label} : {_reply(code, message)}"
    if code == 530:
        # « Authentication required » at RCPT or DATA: the session's fault, as at MAIL FROM.
        return RelayRefused(f"Le serveur exige une authentification : {_reply(code, message)}")
    if 400 <= code < 500:
        return Transient(text, connection_lost=code == 421)
    if code >= 500:
        return Permanent(text)
    return Transient(text)


def backend_for(settings: Settings) -> Backend:
    if settings.smtp_url:
        return SmtpBackend(parse_smtp_url(settings.smtp_url, settings.smtp_token_command))
    return FileBackend(settings.outbox_dir)
