"""SQL alone of the Caf's partner page: the previous two statements against the current one.

Usage (from the repository root, after `python bench/pages.py` left its databases behind):

    python bench/partner_sql.py SQLITE_FILE [POSTGRES_URL]

« Before » is a hand-written equivalent of what the previous code sent (the grouped meetings
attended, then the totals with a second pass over the present invitations); « after » is
`_MEETINGS_AND_TOTALS` from `maillage/crm/views.py`. Both run on the same database, alternating,
and the script prints their medians and checks that they give the same totals.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from maillage.crm.views import _MEETINGS_AND_TOTALS

OLD_MEETINGS = """SELECT i.meeting, m.title, m.starts_at, g.name, COUNT(*) AS present
FROM invitation i JOIN meeting m ON m.id = i.meeting
JOIN working_group g ON g.id = m.working_group
WHERE i.attendance = 'present'
  AND i.contact IN (SELECT contact FROM affiliation WHERE organisation = {o})
GROUP BY i.meeting, m.title, m.starts_at, g.name ORDER BY m.starts_at DESC, i.meeting LIMIT 20"""
OLD_TOTALS = """SELECT
  (SELECT COUNT(*) FROM affiliation WHERE organisation = {o}) AS contacts,
  (SELECT COUNT(*) FROM partnership WHERE organisation = {o} OR partner = {o}) AS partnerships,
  (SELECT COUNT(DISTINCT working_group) FROM membership WHERE organisation = {o}
     OR contact IN (SELECT contact FROM affiliation WHERE organisation = {o})) AS bodies,
  (SELECT COUNT(DISTINCT meeting) FROM invitation WHERE attendance = 'present'
     AND contact IN (SELECT contact FROM affiliation WHERE organisation = {o}))
    AS meetings_attended"""
NEW = _MEETINGS_AND_TOTALS.format(org="{o}", limit="LIMIT 20")
CAF = 1
RUNS = 40


def _median(timings: list[float]) -> str:
    return f"{statistics.median(timings):.1f} ms"


def sqlite(path: str) -> None:
    connection = sqlite3.connect(path)

    def old() -> tuple:
        connection.execute(OLD_MEETINGS.format(o=CAF)).fetchall()
        return tuple(connection.execute(OLD_TOTALS.format(o=CAF)).fetchone())

    def new() -> tuple:
        row = connection.execute(NEW.format(o=CAF)).fetchone()
        return (*row[:3], row[-1])

    assert old() == new(), (old(), new())
    for label in ("1", "2"):
        print(f"sqlite run {label}: before {_time(old)}, after {_time(new)}")


def _time(run) -> str:  # type: ignore[no-untyped-def]
    run()
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return _median(timings)


async def postgresql(url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)

    async def old() -> tuple:
        await connection.fetch(OLD_MEETINGS.format(o=CAF))
        return tuple((await connection.fetch(OLD_TOTALS.format(o=CAF)))[0])

    async def new() -> tuple:
        row = tuple((await connection.fetch(NEW.format(o=CAF)))[0])
        return (*row[:3], row[-1])

    async def timed(run) -> str:  # type: ignore[no-untyped-def]
        await run()
        timings = []
        for _ in range(RUNS):
            started = time.perf_counter()
            await run()
            timings.append((time.perf_counter() - started) * 1000)
        return _median(timings)

    assert await old() == await new()
    for label in ("1", "2"):
        print(f"postgresql run {label}: before {await timed(old)}, after {await timed(new)}")
    await connection.close()


if __name__ == "__main__":
    sqlite(sys.argv[1])
    if len(sys.argv) > 2:
        asyncio.run(postgresql(sys.argv[2]))
