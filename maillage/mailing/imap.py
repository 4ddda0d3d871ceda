"""The organiser's mailbox over IMAP (aioimaplib): sign in, list, fetch, move (#19).

Only what the mailbox reader needs. Every failure becomes ``MailboxUnreachable`` with a French
reason that never holds the password; the reader logs it and tries again at its next pass.
aioimaplib has no STARTTLS and no modified UTF-7 (folder names such as « maillage/traités »):
both are here, small.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aioimaplib

from maillage.mailing.transports import Unreachable, run_token_command
from maillage.messages import system_error

DEFAULT_TIMEOUT = 30.0
SIZE_BATCH = 200
_TRUE = {"1", "true", "oui", "yes", "on"}
_FALSE = {"0", "false", "non", "no", "off"}


class MailboxUnreachable(Exception):
    """The mailbox cannot be read now; the message is meant for the person."""


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str
    password: str | None
    folder: str
    token_command: str | None
    timeout: float
    cafile: str | None

    @property
    def description(self) -> str:
        mode = "TLS" if self.implicit_tls else "STARTTLS" if self.starttls else "sans TLS"
        return f"boîte {self.username} sur {self.host}:{self.port} ({mode}), dossier {self.folder}"


def parse_imap_url(url: str, token_command: str | None = None) -> ImapConfig:
    """``imaps://user:pass@host:993/INBOX`` (implicit TLS), ``imap://user:pass@host/INBOX``
    (STARTTLS, required unless ``?starttls=false``: only for a server on this machine).
    Query options: ``timeout`` (seconds), ``cafile`` (a CA bundle for a private certificate).
    Without a password, the token command (MAILLAGE_SMTP_TOKEN_COMMAND) signs in (XOAUTH2)."""
    parts = urlsplit(url)
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    implicit = parts.scheme == "imaps"
    starttls = options.get("starttls", "").lower() not in _FALSE
    password = unquote(parts.password) if parts.password is not None else None
    return ImapConfig(
        host=parts.hostname or "localhost",
        port=parts.port or (993 if implicit else 143),
        implicit_tls=implicit,
        starttls=starttls and not implicit,
        username=unquote(parts.username or ""),
        password=password,
        folder=unquote(parts.path.strip("/")) or "INBOX",
        token_command=token_command if password is None else None,
        timeout=float(options.get("timeout") or DEFAULT_TIMEOUT),
        cafile=options.get("cafile"),
    )


# ----- modified UTF-7 (RFC 3501 § 5.1.3) ------------------------------------------------------


def encode_folder(name: str) -> str:
    """A folder name as IMAP writes it: printable ASCII as is (« & » as « &- »), any other run
    of characters as « & » + base64 of its UTF-16 (« , » for « / », no padding) + « - »."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ----- a session --------------------------------------------------------------------------------

_FETCH_SIZE = re.compile(rb"UID (\d+).*?RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+).*?UID (\d+)")
_LIST_DELIMITER = re.compile(rb'\((?:[^)]*)\) (?:"(.)"|NIL)')


class ImapSession:
    """One signed-in connection with the configured folder selected."""

    def __init__(self, client: aioimaplib.IMAP4, config: ImapConfig) -> None:
        self.client = client
        self.config = config
        self.uidvalidity = 0
        self._delimiter: str | None = None
        self._created: set[str] = set()

    async def _ok(self, what: str, call: Awaitable[aioimaplib.Response]) -> aioimaplib.Response:
        transport = self.client.protocol.transport
        if transport is None or transport.is_closing():
            if asyncio.iscoroutine(call):
                call.close()
            raise MailboxUnreachable(f"Connexion fermée par le serveur IMAP : impossible {what}.")
        try:
            response = await call
        except (aioimaplib.AioImapException, OSError, TimeoutError) as error:
            raise MailboxUnreachable(
                f"Échange IMAP interrompu ({what}) : {system_error(error)}."
            ) from error
        if response.result != "OK":
            raise MailboxUnreachable(f"Le serveur IMAP refuse {what} : {_said(response)}")
        return response

    async def select(self) -> None:
        response = await self._ok(
            f"d'ouvrir le dossier « {self.config.folder} »",
            self.client.select(quoted(encode_folder(self.config.folder))),
        )
        for line in response.lines:
            match = re.search(rb"UIDVALIDITY (\d+)", bytes(line))
            if match:
                self.uidvalidity = int(match.group(1))

    async def uids(self) -> list[int]:
        """Every UID of the folder, in one line (UID SEARCH ALL)."""
        response = await self._ok(
            "de lister les messages", self.client.uid_search("ALL", charset=None)
        )
        found: list[int] = []
        # aioimaplib hands the untagged « SEARCH » line without its name; the last line is the
        # tagged status.
        for line in response.lines[:-1]:
            words = bytes(line).split()
            if words and all(word.isdigit() or word == b"SEARCH" for word in words):
                found += [int(word) for word in words if word.isdigit()]
        return sorted(found)

    async def sizes(self, uids: list[int] | None = None) -> dict[int, int]:
        """UID → size in bytes of ``uids`` (every message of the folder by default), asked
        ``SIZE_BATCH`` at a time: aioimaplib reads a response's lines recursively, and the
        lines of thousands of messages in one answer overflow Python's stack."""
        wanted = await self.uids() if uids is None else uids
        found: dict[int, int] = {}
        for start in range(0, len(wanted), SIZE_BATCH):
            chunk = ",".join(str(uid) for uid in wanted[start : start + SIZE_BATCH])
            response = await self.client.uid("fetch", chunk, "(UID RFC822.SIZE)")
            if response.result != "OK":
                continue  # the messages were expunged meanwhile
            for line in response.lines:
                match = _FETCH_SIZE.search(bytes(line))
                if match:
                    uid, size = (match[1], match[2]) if match[1] else (match[4], match[3])
                    found[int(uid)] = int(size)
        return found

    async def fetch(self, uid: int, part: str = "BODY.PEEK[]") -> bytes:
        """The message (or ``part`` of it) without marking it read."""
        response = await self._ok(
            f"de lire le message {uid}", self.client.uid("fetch", str(uid), f"({part})")
        )
        for line in response.lines:
            if isinstance(line, bytearray):
                return bytes(line)
        return b""

    async def delimiter(self) -> str:
        if self._delimiter is None:
            response = await self._ok("de lister les dossiers", self.client.list('""', '""'))
            match = next(
                (m for m in (_LIST_DELIMITER.search(bytes(x)) for x in response.lines) if m), None
            )
            self._delimiter = match.group(1).decode() if match and match.group(1) else "/"
        return self._delimiter

    async def folder_path(self, *names: str) -> str:
        return (await self.delimiter()).join(names)

    async def ensure_folder(self, path: str) -> None:
        """Create ``path`` and its parents when missing (CREATE of an existing one is a NO)."""
        if path in self._created:
            return
        delimiter = await self.delimiter()
        pieces = path.split(delimiter)
        for depth in range(1, len(pieces) + 1):
            name = quoted(encode_folder(delimiter.join(pieces[:depth])))
            with contextlib.suppress(aioimaplib.AioImapException, TimeoutError):
                await self.client.create(name)
        encoded = encode_folder(path)
        listed = await self._ok("de lister les dossiers", self.client.list('""', quoted(encoded)))
        if not any(encoded.encode() in bytes(line) for line in listed.lines[:-1]):
            raise MailboxUnreachable(f"Impossible de créer le dossier IMAP « {path} ».")
        self._created.add(path)

    async def move(self, uid: int, path: str) -> None:
        """MOVE, or COPY + \\Deleted + expunge of this message only (UIDPLUS) where MOVE is
        missing. Never a deletion of anything that was not copied first."""
        await self.ensure_folder(path)
        target = quoted(encode_folder(path))
        what = f"de ranger le message {uid} dans « {path} »"
        if self.client.has_capability("MOVE"):
            await self._ok(what, self.client.uid("move", str(uid), target))
            return
        await self._ok(what, self.client.uid("copy", str(uid), target))
        await self._ok(what, self.client.uid("store", str(uid), "+FLAGS.SILENT", r"(\Deleted)"))
        if self.client.has_capability("UIDPLUS"):
            await self._ok(what, self.client.uid("expunge", str(uid)))
        else:
            await self._ok(what, self.client.expunge())

    async def append(self, raw: bytes, folder: str | None = None) -> None:
        """Deliver a message as a client would (tests, benchmarks)."""
        name = quoted(encode_folder(folder or self.config.folder))
        await self._ok("d'ajouter un message", self.client.append(raw, mailbox=name))

    @property
    def can_idle(self) -> bool:
        idle: bool = self.client.has_capability("IDLE")
        return idle

    async def idle(self, seconds: float, stop: asyncio.Event) -> bool:
        """IMAP IDLE (RFC 2177) until the server announces a message (``EXISTS``), ``seconds``
        pass or ``stop`` is set; True when something arrived. The server sends at the start of
        IDLE what arrived since the last command, so nothing falls between a pass and IDLE."""
        queue = self.client.protocol.idle_queue
        while not queue.empty():  # pushes left from an earlier IDLE
            queue.get_nowait()
        idling = await self._start_idle(seconds)
        news = False
        lost = False
        stopped = asyncio.ensure_future(stop.wait())
        deadline = asyncio.get_running_loop().time() + seconds
        push: asyncio.Future[Any] | None = None
        try:
            while not news and not stopped.done():
                if push is None:
                    push = asyncio.ensure_future(self.client.wait_server_push(timeout=seconds + 5))
                # Woken every second to notice a connection lost under it (no push comes then).
                await asyncio.wait(
                    {push, stopped}, timeout=1.0, return_when=asyncio.FIRST_COMPLETED
                )
                if not self._connected():
                    lost = True
                    break
                if not push.done():
                    if asyncio.get_running_loop().time() > deadline:
                        break
                    continue
                try:
                    lines = push.result()
                except TimeoutError:
                    break
                push = None
                if lines == aioimaplib.STOP_WAIT_SERVER_PUSH:
                    break
                news = any(b"EXISTS" in bytes(line) for line in lines if isinstance(line, bytes))
        finally:
            stopped.cancel()
            if push is not None:
                push.cancel()
            if self._connected():
                with contextlib.suppress(Exception):
                    self.client.idle_done()
                    await asyncio.wait_for(idling, self.config.timeout)
            else:
                idling.cancel()
        if lost or not self._connected():
            raise MailboxUnreachable(
                "Connexion perdue avec le serveur IMAP pendant l'attente (IDLE)."
            )
        return news

    async def _start_idle(self, seconds: float) -> asyncio.Future[Any]:
        """Send IDLE and wait for the server's « + idling ». aioimaplib does not fail a pending
        command when the connection drops, so the wait checks the connection every second
        rather than hanging on a continuation that will never come."""
        starting = asyncio.ensure_future(self.client.idle_start(timeout=seconds))
        deadline = asyncio.get_running_loop().time() + self.config.timeout
        try:
            while not starting.done():
                await asyncio.wait({starting}, timeout=1.0)
                if starting.done():
                    break
                if not self._connected():
                    raise MailboxUnreachable(
                        "Connexion perdue avec le serveur IMAP au début de l'attente (IDLE)."
                    )
                if asyncio.get_running_loop().time() > deadline:
                    raise MailboxUnreachable(
                        "Le serveur IMAP n'a pas accepté l'attente (IDLE) à temps."
                    )
            idling: asyncio.Future[Any] = starting.result()
            return idling
        except (aioimaplib.AioImapException, OSError, TimeoutError) as error:
            raise MailboxUnreachable(
                f"Échange IMAP interrompu (attente IDLE) : {system_error(error)}."
            ) from error
        finally:
            if not starting.done():
                starting.cancel()

    def _connected(self) -> bool:
        transport = self.client.protocol.transport
        return transport is not None and not transport.is_closing()

    async def noop(self) -> None:
        """Keeps the connection alive and lets the server report what changed."""
        await self._ok("de vérifier la boîte", asyncio.wait_for(self.client.noop(), 30))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.logout(), timeout=5)


def _said(response: aioimaplib.Response) -> str:
    last = bytes(response.lines[-1]) if response.lines else b""
    return " ".join(last.decode("utf-8", "replace").split())[:300] or response.result


def _tls_context(config: ImapConfig) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=config.cafile)
    except OSError as error:  # ssl.SSLError included: not a PEM file
        problem = (
            "pas de certificat PEM dedans"
            if isinstance(error, ssl.SSLError)
            else system_error(error)
        )
        raise MailboxUnreachable(
            f"Fichier d'autorités de certification « {config.cafile} » illisible ({problem})."
        ) from error


async def _starttls(client: aioimaplib.IMAP4, context: ssl.SSLContext, host: str) -> None:
    protocol = client.protocol
    if "STARTTLS" not in protocol.capabilities:
        raise MailboxUnreachable(
            f"Le serveur IMAP {host} ne propose pas STARTTLS : utilisez imaps:// (port 993), "
            "ou ?starttls=false pour un serveur sur cette machine."
        )
    command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
    response = await asyncio.wait_for(protocol.execute(command), client.timeout)
    if response.result != "OK":
        raise MailboxUnreachable(f"Le serveur IMAP {host} refuse STARTTLS : {_said(response)}")
    loop = asyncio.get_running_loop()
    protocol.transport = await loop.start_tls(
        protocol.transport, protocol, context, server_hostname=host
    )
    # Capabilities read before TLS must not be trusted (RFC 3501 § 6.2.1).
    await asyncio.wait_for(protocol.capability(), client.timeout)


async def open_session(config: ImapConfig) -> ImapSession:
    """Connect, sign in and select the folder, or ``MailboxUnreachable``."""
    where = f"{config.host}:{config.port}"
    context = _tls_context(config) if config.implicit_tls or config.starttls else None
    client: aioimaplib.IMAP4
    try:
        if config.implicit_tls:
            client = aioimaplib.IMAP4_SSL(
                config.host, config.port, timeout=config.timeout, ssl_context=context
            )
        else:
            client = aioimaplib.IMAP4(config.host, config.port, timeout=config.timeout)
        await client.wait_hello_from_server()
        if config.starttls:
            assert context is not None
            await _starttls(client, context, config.host)
        await _sign_in(client, config)
    except MailboxUnreachable:
        raise
    except ssl.SSLError as error:
        raise MailboxUnreachable(
            f"Connexion chiffrée à {where} impossible ({error.reason or error})."
        ) from error
    except (aioimaplib.AioImapException, OSError, TimeoutError) as error:
        raise MailboxUnreachable(
            f"Serveur IMAP {where} injoignable : {system_error(error)}."
        ) from error
    session = ImapSession(client, config)
    try:
        await session.select()
    except MailboxUnreachable:
        await session.close()
        raise
    return session


async def _sign_in(client: aioimaplib.IMAP4, config: ImapConfig) -> None:
    where = f"{config.host}:{config.port}"
    if config.token_command:
        try:
            token = await run_token_command(config.token_command)
        except Unreachable as error:
            raise MailboxUnreachable(error.reason) from error
        response = await client.xoauth2(config.username, token)
    elif config.password is not None:
        # aioimaplib quotes the password itself, not the user name.
        response = await client.login(quoted(config.username), config.password)
    else:
        raise MailboxUnreachable(
            "MAILLAGE_IMAP_URL ne donne pas de mot de passe et MAILLAGE_SMTP_TOKEN_COMMAND "
            "n'est pas définie : impossible de s'identifier."
        )
    if response.result != "OK":
        raise MailboxUnreachable(f"Identification refusée par {where} : {_said(response)}")
