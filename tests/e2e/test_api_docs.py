"""The interactive API documentation renders in a real browser, from this server only."""

from __future__ import annotations

from playwright.async_api import expect


async def test_the_api_docs_render_every_operation(tab):
    page = tab.page
    await page.goto("/schema")
    operations = page.locator(".opblock")
    await expect(operations.first).to_be_visible(timeout=20_000)
    assert await operations.count() > 60
    assert await page.get_by_text("Unable to render this definition").count() == 0
    await expect(page.get_by_text("/api/v1/organisations").first).to_be_visible()
    assert tab.foreign_requests() == []
