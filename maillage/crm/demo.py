"""The demo territory (being written by the registry work: see issue #3)."""

from __future__ import annotations

import datetime as dt

from maillage.db import clear_all


async def clear_database() -> None:
    await clear_all()


async def load_demo(seed: int, today: dt.date, scale: str = "territoire") -> str:
    raise NotImplementedError("demo territory not written yet")
