"""Settings come from the environment, with safe defaults and one-line French errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from maillage.settings import (
    SettingsError,
    base_url_warning_at_start,
    base_url_warning_for_request,
    load_settings,
)


def test_it_defaults_to_sqlite_in_the_data_dir(tmp_path: Path):
    settings = load_settings({"MAILLAGE_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'maillage.db'}"
    assert settings.smtp_url is None
    assert settings.base_url == "http://127.0.0.1:8000"


def test_it_keeps_the_generated_secret_key_across_restarts(tmp_path: Path):
    first = load_settings({"MAILLAGE_DATA_DIR": str(tmp_path)}).secret_key
    second = load_settings({"MAILLAGE_DATA_DIR": str(tmp_path)}).secret_key
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAILLAGE_DATABASE_URL", "mysql://localhost/x"),
        ("MAILLAGE_BASE_URL", "pas une adresse"),
        ("MAILLAGE_SMTP_URL", "http://mail.example"),
        ("MAILLAGE_SMTP_URL", "smtp://mail.example:port"),
        ("MAILLAGE_MAIL_FROM", "sans-arobase"),
        ("MAILLAGE_SECRET_KEY", "court"),
        ("MAILLAGE_SMTP_TOKEN_COMMAND", "oauth2l fetch --scope 'mail"),
        ("MAILLAGE_IMAP_URL", "pop3://ctg@mail.example"),
        ("MAILLAGE_IMAP_URL", "imaps://ctg@mail.example:port/INBOX"),
        ("MAILLAGE_IMAP_URL", "imaps://mail.example/INBOX"),
    ],
)
def test_it_names_the_variable_of_a_wrong_value(tmp_path: Path, variable: str, value: str):
    with pytest.raises(SettingsError) as error:
        load_settings({"MAILLAGE_DATA_DIR": str(tmp_path), variable: value})
    message = str(error.value)
    assert message.startswith(variable)
    assert "\n" not in message


def test_it_accepts_postgresql(tmp_path: Path):
    settings = load_settings(
        {
            "MAILLAGE_DATA_DIR": str(tmp_path),
            "MAILLAGE_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/maillage",
        }
    )
    assert not settings.is_sqlite


def test_it_warns_when_the_default_base_url_misses_another_port():
    warning = base_url_warning_at_start("http://127.0.0.1:8000", "127.0.0.1", 8080)
    assert warning is not None
    assert "« http://127.0.0.1:8000 »" in warning and "port 8080" in warning


def test_it_warns_when_a_loopback_base_url_is_served_to_the_network():
    warning = base_url_warning_at_start("http://127.0.0.1:8000", "0.0.0.0", 8000)
    assert warning is not None and "« 0.0.0.0 »" in warning


@pytest.mark.parametrize(
    ("base_url", "host", "port"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1", 8000),
        ("http://localhost:8000", "127.0.0.1", 8000),
        # A public name may sit behind a proxy listening anywhere: nothing to check.
        ("https://maillage.exemple.fr", "0.0.0.0", 8000),
    ],
)
def test_it_stays_quiet_when_links_reach_the_service(base_url: str, host: str, port: int):
    assert base_url_warning_at_start(base_url, host, port) is None


def test_it_compares_the_base_url_with_the_address_a_page_was_opened_at():
    assert base_url_warning_for_request("https://ctg.exemple.fr", "https://ctg.exemple.fr/") is None
    assert base_url_warning_for_request("http://localhost:8000", "http://127.0.0.1:8000/") is None
    warning = base_url_warning_for_request("http://127.0.0.1:8000", "http://10.0.0.5:8080/")
    assert warning is not None and "« http://10.0.0.5:8080 »" in warning


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAILLAGE_DATABASE_URL", "mysql://maillage:S3cretDB@localhost/x"),
        ("MAILLAGE_SMTP_URL", "http://relais:S3cretDB@mail.example"),
        ("MAILLAGE_SMTP_URL", "smtp://relais:S3cretDB@mail.example:port"),
        ("MAILLAGE_IMAP_URL", "pop3://relais:S3cretDB@mail.example"),
        ("MAILLAGE_IMAP_URL", "imaps://relais:S3cretDB@mail.example:port/INBOX"),
    ],
)
def test_it_never_prints_a_password_in_a_configuration_error(tmp_path: Path, variable, value):
    """The message lands in journald and terminal scrollback: the password is masked (#23)."""
    with pytest.raises(SettingsError) as error:
        load_settings({"MAILLAGE_DATA_DIR": str(tmp_path), variable: value})
    assert "S3cretDB" not in str(error.value)
    assert "relais" in str(error.value) or "maillage" in str(error.value)


def test_it_reads_the_mailbox_address(tmp_path: Path):
    url = "imaps://ctg%40epci.fr:mot%20de%20passe@imap.epci.fr/INBOX"
    settings = load_settings({"MAILLAGE_DATA_DIR": str(tmp_path), "MAILLAGE_IMAP_URL": url})
    assert settings.imap_url == url
    assert load_settings({"MAILLAGE_DATA_DIR": str(tmp_path)}).imap_url is None
