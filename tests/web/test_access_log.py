"""Tokens never reach the access log (#23)."""

from __future__ import annotations

import logging

import pytest

from maillage.web import access_log
from maillage.web.app import app_from_environment


def _access_record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", path, "1.1", 200), None,
    )  # fmt: skip


@pytest.mark.parametrize(
    "path",
    [
        "/r/12.SecretAnswerToken",
        "/r/12.SecretAnswerToken?reponse=oui",
        "/u/SecretAnswerToken",
        "/calendar/feeds/SecretAnswerToken.ics",
        "/calendar/feeds/SecretAnswerToken",
    ],
)
def test_it_masks_link_tokens_in_the_access_log(path, monkeypatch, tmp_path):
    monkeypatch.setenv("MAILLAGE_DATA_DIR", str(tmp_path))
    app_from_environment()  # what each uvicorn worker runs
    record = _access_record(path)
    for known in logging.getLogger("uvicorn.access").filters:
        known.filter(record)  # type: ignore[union-attr]
    line = record.getMessage()
    assert "SecretAnswerToken" not in line
    assert access_log.HIDDEN in line


def test_it_keeps_ordinary_paths():
    assert access_log.redact("/partenaires?q=centre") == "/partenaires?q=centre"
