"""Fixtures of the reports' tests: the two-year territory of ``world.py``."""

from __future__ import annotations

import pytest

from maillage.db import write_transaction
from tests.reports.world import World, build_world


@pytest.fixture
async def world(database) -> World:
    async with write_transaction():  # one commit, not one per row
        return await build_world()
