"""Run axe-core (shipped by the axe-playwright-python package) on the page in the browser.

The script is evaluated through the DevTools protocol, which the page's Content-Security-Policy
does not govern: no page of maillage ever loads it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import axe_playwright_python

BLOCKING = {"serious", "critical"}


@cache
def axe_source() -> str:
    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


async def serious_violations(page) -> list[str]:
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(axe_source())
    result = await page.evaluate(
        """() => axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]
