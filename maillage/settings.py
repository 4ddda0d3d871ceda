"""Configuration read from the environment.

Every setting has a safe default so that a fresh checkout runs on SQLite with mails written to
files. A wrong value stops the program at start-up with a one-line French message naming the
variable (``SettingsError``), never with a stack trace.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


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

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"


def _check_database_url(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite" and url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return url
    if scheme in {"postgresql", "postgres"} and urlsplit(url).hostname:
        return url
    raise SettingsError(
        "MAILLAGE_DATABASE_URL : adresse de base de données non reconnue "
        f"« {url} » (attendu : sqlite:///chemin/fichier.db ou postgresql://utilisateur@hôte/base)."
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
            f"MAILLAGE_SMTP_URL : « {url} » n'est pas une adresse de serveur d'envoi "
            "(attendu : smtp://utilisateur:motdepasse@hôte:587?starttls=true)."
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as error:
        raise SettingsError(f"MAILLAGE_SMTP_URL : port invalide dans « {url} ».") from error
    return url


def _check_mail_from(address: str) -> str:
    if "@" not in address or any(c in address for c in "\r\n"):
        raise SettingsError(
            f"MAILLAGE_MAIL_FROM : « {address} » n'est pas une adresse électronique valide."
        )
    return address


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
            f"MAILLAGE_DATA_DIR : impossible de créer le dossier « {data_dir} » ({error.strerror})."
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
    )
