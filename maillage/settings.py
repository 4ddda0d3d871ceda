"""Configuration read from the environment.

Every setting has a safe default so that a fresh checkout runs on SQLite with mails written to
files. A wrong value stops the program at start-up with a one-line French message naming the
variable (``SettingsError``), never with a stack trace.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from maillage.messages import system_error


class SettingsError(ValueError):
    """A configuration value that cannot be used; the message is meant for the person."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    """MAILLAGE_DATA_DIR: where the SQLite file, the secret key, the outbox and exports live."""

    database_url: str
    """MAILLAGE_DATABASE_URL: ``sqlite:///chemin`` (default: a file in the data dir) or
    ``postgresql://utilisateur@hôte:5432/base``."""

    secret_key: str
    """MAILLAGE_SECRET_KEY: signs sessions and answer links; generated into the data dir when
    absent, so that it survives restarts."""

    base_url: str
    """MAILLAGE_BASE_URL: the address partners use to reach this instance (answer links, feeds)."""

    smtp_url: str | None
    """MAILLAGE_SMTP_URL: ``smtp://user:pass@host:587?starttls=true``; unset, messages are
    written as ``.eml`` files to ``<data dir>/outbox/``."""

    mail_from: str
    """MAILLAGE_MAIL_FROM: the sending address, also the ORGANIZER of invitations."""

    smtp_connections: int = 4
    """MAILLAGE_SMTP_CONNECTIONS: SMTP connections the sender keeps open in parallel (1 to 32)."""

    smtp_rate: float = 0.0
    """MAILLAGE_SMTP_RATE: at most this many messages per second (0: no limit); relays of
    hosted mailboxes often cap the rate."""

    smtp_token_command: str | None = None
    """MAILLAGE_SMTP_TOKEN_COMMAND: a command printing an OAuth2 access token; set, the sender
    authenticates with XOAUTH2 as the user of MAILLAGE_SMTP_URL instead of a password."""

    imap_url: str | None = None
    """MAILLAGE_IMAP_URL: the organiser's mailbox, ``imaps://user:pass@host:993/INBOX`` (implicit
    TLS) or ``imap://user:pass@host:143/INBOX`` (STARTTLS unless ``?starttls=false``); set, the
    calendar answers and bounces that arrive there are read by the service and by
    ``maillage mail fetch``. Without a password in the address and with
    MAILLAGE_SMTP_TOKEN_COMMAND set, the reader signs in with XOAUTH2 and that command's token."""

    dkim_key: bytes | None = None
    """The private key (PEM) read from MAILLAGE_DKIM_KEY_FILE; set (with MAILLAGE_DKIM_SELECTOR
    and MAILLAGE_DKIM_DOMAIN), every message is DKIM-signed as it leaves."""

    dkim_selector: str | None = None
    """MAILLAGE_DKIM_SELECTOR: the DNS record is ``<selector>._domainkey.<domain>``."""

    dkim_domain: str | None = None
    """MAILLAGE_DKIM_DOMAIN: the signing domain (d=), normally that of MAILLAGE_MAIL_FROM."""

    reminder_days: tuple[int, ...] = (7, 1)
    """MAILLAGE_REMINDER_DAYS: reminders sent this many days before a meeting (« 7,1 »; empty:
    no reminder), only to invitees who have not declined."""

    heavy_processes: int = 1
    """MAILLAGE_HEAVY_PROCESSES: worker processes of each server process for the heavy work
    (bilans, dossiers de séance, analyses du réseau), 0 to 16; 0 runs it in the server process
    itself. Default: 1 on a machine of two cores or fewer, else 2."""

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"


def masked(url: str) -> str:
    """An address as it may be shown: the password, if any, replaced by « *** »."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    return parts._replace(netloc=f"{user}:***@{netloc[2]}").geturl()


def _check_database_url(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite" and url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return url
    if scheme in {"postgresql", "postgres"} and urlsplit(url).hostname:
        return url
    raise SettingsError(
        "MAILLAGE_DATABASE_URL : adresse de base de données non reconnue "
        f"« {masked(url)} » (attendu : sqlite:///chemin/fichier.db ou postgresql://utilisateur@hôte/base)."
    )


def _check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise SettingsError(
            f"MAILLAGE_BASE_URL : « {url} » n'est pas une adresse web "
            "(attendu : https://maillage.exemple.fr)."
        )
    return url.rstrip("/")


def _check_smtp_url(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise SettingsError(
            f"MAILLAGE_SMTP_URL : « {masked(url)} » n'est pas une adresse de serveur d'envoi "
            "(attendu : smtp://utilisateur:motdepasse@hôte:587?starttls=true)."
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as error:
        raise SettingsError(f"MAILLAGE_SMTP_URL : port invalide dans « {masked(url)} ».") from error
    return url


def _check_imap_url(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"imap", "imaps"} or not parts.hostname:
        raise SettingsError(
            f"MAILLAGE_IMAP_URL : « {masked(url)} » n'est pas une adresse de boîte aux lettres "
            "(attendu : imaps://utilisateur:motdepasse@hôte:993/INBOX)."
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as error:
        raise SettingsError(f"MAILLAGE_IMAP_URL : port invalide dans « {masked(url)} ».") from error
    if not parts.username:
        raise SettingsError(
            f"MAILLAGE_IMAP_URL : « {masked(url)} » ne nomme pas l'utilisateur de la boîte "
            "(attendu : imaps://utilisateur:motdepasse@hôte:993/INBOX)."
        )
    return url


def _check_mail_from(address: str) -> str:
    if "@" not in address or any(c in address for c in "\r\n"):
        raise SettingsError(
            f"MAILLAGE_MAIL_FROM : « {address} » n'est pas une adresse électronique valide."
        )
    return address


def _check_int(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise SettingsError(f"{name} : « {raw} » n'est pas un nombre entier entre {low} et {high}.")
    return value


def _check_rate(raw: str | None) -> float:
    if not raw:
        return 0.0
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        value = -1.0
    if not 0 <= value <= 10_000:
        raise SettingsError(
            f"MAILLAGE_SMTP_RATE : « {raw} » n'est pas un débit en messages par seconde (ex. : 10)."
        )
    return value


def _check_token_command(raw: str | None) -> str | None:
    if not raw or not raw.strip():
        return None
    try:
        words = shlex.split(raw)
    except ValueError:  # « No closing quotation »
        words = []
    if not words:
        raise SettingsError(
            "MAILLAGE_SMTP_TOKEN_COMMAND : commande illisible (un guillemet n'est pas fermé)."
        )
    return raw


def _check_reminder_days(raw: str | None) -> tuple[int, ...]:
    if raw is None:
        return (7, 1)
    try:
        days = sorted({int(part) for part in raw.split(",") if part.strip()}, reverse=True)
    except ValueError:
        days = [-1]
    if any(not 1 <= day <= 60 for day in days):
        raise SettingsError(
            f"MAILLAGE_REMINDER_DAYS : « {raw} » doit lister des jours entre 1 et 60 (ex. : 7,1)."
        )
    return tuple(days)


def _load_or_create_secret(data_dir: Path) -> str:
    """Keep one generated key per data dir: signed links must stay valid after a restart."""
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("MAILLAGE_DATA_DIR") or "./maillage-data").resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SettingsError(
            f"MAILLAGE_DATA_DIR : impossible de créer le dossier « {data_dir} » "
            f"({system_error(error)})."
        ) from error
    database_url = env.get("MAILLAGE_DATABASE_URL") or f"sqlite:///{data_dir / 'maillage.db'}"
    secret_key = env.get("MAILLAGE_SECRET_KEY") or _load_or_create_secret(data_dir)
    if len(secret_key) < 16:
        raise SettingsError("MAILLAGE_SECRET_KEY : la clé doit compter au moins 16 caractères.")
    return Settings(
        data_dir=data_dir,
        database_url=_check_database_url(database_url),
        secret_key=secret_key,
        base_url=_check_base_url(env.get("MAILLAGE_BASE_URL") or "http://127.0.0.1:8000"),
        smtp_url=_check_smtp_url(env.get("MAILLAGE_SMTP_URL")),
        mail_from=_check_mail_from(env.get("MAILLAGE_MAIL_FROM") or "ctg@maillage.invalid"),
        smtp_connections=_check_int(
            "MAILLAGE_SMTP_CONNECTIONS", env.get("MAILLAGE_SMTP_CONNECTIONS"), 4, 1, 32
        ),
        smtp_rate=_check_rate(env.get("MAILLAGE_SMTP_RATE")),
        smtp_token_command=_check_token_command(env.get("MAILLAGE_SMTP_TOKEN_COMMAND")),
        imap_url=_check_imap_url(env.get("MAILLAGE_IMAP_URL")),
        reminder_days=_check_reminder_days(env.get("MAILLAGE_REMINDER_DAYS")),
        heavy_processes=_check_int(
            "MAILLAGE_HEAVY_PROCESSES",
            env.get("MAILLAGE_HEAVY_PROCESSES"),
            default_heavy_processes(),
            0,
            16,
        ),
        **_check_dkim(env),
    )


def default_heavy_processes() -> int:
    return 1 if (os.cpu_count() or 1) <= 2 else 2


_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


def _check_dkim(env: Mapping[str, str]) -> dict[str, Any]:
    """MAILLAGE_DKIM_KEY_FILE, _SELECTOR and _DOMAIN: all three or none; the key readable and a
    private key in PEM."""
    path = env.get("MAILLAGE_DKIM_KEY_FILE") or ""
    selector = (env.get("MAILLAGE_DKIM_SELECTOR") or "").strip()
    domain = (env.get("MAILLAGE_DKIM_DOMAIN") or "").strip().lower().rstrip(".")
    if not (path or selector or domain):
        return {}
    missing = [
        name
        for name, value in (
            ("MAILLAGE_DKIM_KEY_FILE", path),
            ("MAILLAGE_DKIM_SELECTOR", selector),
            ("MAILLAGE_DKIM_DOMAIN", domain),
        )
        if not value
    ]
    if missing:
        raise SettingsError(
            "Signature DKIM : "
            + ", ".join(missing)
            + (" manque" if len(missing) == 1 else " manquent")
            + " (les trois réglages MAILLAGE_DKIM_KEY_FILE, MAILLAGE_DKIM_SELECTOR et "
            "MAILLAGE_DKIM_DOMAIN vont ensemble)."
        )
    if not _LABEL.match(selector):
        raise SettingsError(
            f"MAILLAGE_DKIM_SELECTOR : « {selector} » n'est pas un nom DNS valable."
        )
    if not all(_LABEL.match(label) for label in domain.split(".")) or "." not in domain:
        raise SettingsError(f"MAILLAGE_DKIM_DOMAIN : « {domain} » n'est pas un nom de domaine.")
    try:
        key = Path(path).read_bytes()
    except OSError as error:
        raise SettingsError(
            f"MAILLAGE_DKIM_KEY_FILE : impossible de lire la clé « {path} » ({system_error(error)})."
        ) from error
    if b"PRIVATE KEY-----" not in key:
        raise SettingsError(
            f"MAILLAGE_DKIM_KEY_FILE : « {path} » ne contient pas de clé privée au format PEM "
            "(« -----BEGIN PRIVATE KEY----- » ou « -----BEGIN RSA PRIVATE KEY----- »)."
        )
    return {"dkim_key": key, "dkim_selector": selector, "dkim_domain": domain}


_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    default = 443 if parts.scheme == "https" else 80
    return ("127.0.0.1" if host in _LOOPBACK else host), parts.port or default


def _unreachable(base_url: str, where: str) -> str:
    return (
        f"MAILLAGE_BASE_URL vaut « {base_url} » alors que le service {where} : les liens "
        "écrits dans les courriels (réponses aux invitations, abonnements d'agenda, "
        "désinscription) ne l'atteindront pas. Donnez à MAILLAGE_BASE_URL l'adresse à laquelle "
        "les personnes ouvrent maillage."
    )


def base_url_warning_at_start(base_url: str, host: str, port: int) -> str | None:
    """Why links written with ``base_url`` would miss a service listening on ``host:port``.

    Only a loopback base address can be checked here: any other name may sit behind a proxy.
    """
    base_host, base_port = _host_port(base_url)
    if base_host != "127.0.0.1":
        return None
    if base_port != port:
        return _unreachable(base_url, f"écoute sur le port {port}")
    if host.lower() not in _LOOPBACK:
        return _unreachable(
            base_url, f"écoute sur « {host} » (cette adresse ne vaut que pour cette machine)"
        )
    return None


def base_url_warning_for_request(base_url: str, request_url: str) -> str | None:
    """Why links written with ``base_url`` would miss the address this page was opened at."""
    if _host_port(base_url) == _host_port(request_url):
        return None
    opened = urlsplit(request_url)
    return _unreachable(base_url, f"est ouvert à l'adresse « {opened.scheme}://{opened.netloc} »")
