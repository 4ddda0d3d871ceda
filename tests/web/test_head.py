"""HEAD answers as GET would, without the body, on every kind of route (#21): pages, API,
public pages, static files, health check. Other methods keep their 405."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "url", ["/healthz", "/connexion", "/static/maillage.css", "/api/v1/organisations", "/"]
)
async def test_head_is_get_without_the_body(url, coordinator_web, admin, anonymous):
    clients = {"/api/v1/organisations": admin.client, "/connexion": anonymous}
    client = clients.get(url, coordinator_web.client)
    got = await client.get(url)
    head = await client.head(url)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


async def test_head_keeps_the_guards(anonymous):
    assert (await anonymous.head("/api/v1/organisations")).status_code == 401


async def test_other_methods_are_still_refused(admin):
    assert (await admin.client.request("PATCH", "/healthz")).status_code == 405
