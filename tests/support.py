"""Helpers shared by test modules (importable, unlike conftest)."""

from __future__ import annotations

import os

import pytest

# Tests never read MAILLAGE_DATABASE_URL: only this variable chooses their database.
TEST_DATABASE_URL = os.environ.get("MAILLAGE_TEST_DATABASE_URL", "")

requires_postgres = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgres"),
    reason="PostgreSQL non configuré : définissez MAILLAGE_TEST_DATABASE_URL="
    "postgresql://postgres@127.0.0.1:5432/test pour lancer ce test.",
)
