"""The bilan reads its data in a bounded number of queries, whatever the number of rows."""

from __future__ import annotations

from maillage.reports.annual import build_annual_report
from tests.reports.world import TODAY, add_meeting


async def test_the_number_of_queries_does_not_grow_with_the_meetings(world, queries):
    queries.reset()
    await build_annual_report(2026, None, TODAY, with_charts=False)
    baseline = queries.count
    for month in range(1, 13):
        await add_meeting(
            world, "pe", (2026, month, 2), attendance={"mairie": "present", "creche": "absent"}
        )
    queries.reset()
    await build_annual_report(2026, None, TODAY, with_charts=False)
    assert queries.count == baseline
    # The report's own reads (24 at most: the decisions and the consultations of #22, per
    # meeting and per theme; the communes' outlines and petite enfance records of #18; the
    # territories' scope of #20) and the network as /reseau reads it: the shared loader's one
    # query per table (18, pinned by tests/graph/test_api.py), since #17 gave both one loader.
    assert baseline <= 24 + 18
