"""Security headers on the API, the feeds and the links; secrets kept out of logs and tables."""

from __future__ import annotations

import re

import httpx
import pytest

from maillage.actor import CLI
from maillage.calendar import feeds
from maillage.tables import TABLES
from tests.hardening.live import Instance, private_database, start_server

HARDENING_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}


def assert_hardened(response: httpx.Response) -> None:
    for name, value in HARDENING_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    assert response.headers.get("referrer-policy") in {"same-origin", "no-referrer"}
    assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", "")


async def _group(admin) -> int:
    group = await admin.client.post("/api/v1/groups", json={"name": "COPIL", "kind": "copil"})
    assert group.status_code == 201, group.text
    return group.json()["id"]


@pytest.mark.parametrize(
    "path",
    [
        "/healthz",
        "/api/v1/organisations",
        "/api/v1/organisations/999999",  # an error answer too
        "/schema/openapi.json",
        "/calendar/territory.ics",
        "/api/v1/network/export/gexf",
    ],
)
async def test_api_answers_carry_the_security_headers(admin, path):
    assert_hardened(await admin.client.get(path))


async def test_refusals_carry_them_too(anonymous):
    refused = await anonymous.get("/api/v1/contacts")
    assert refused.status_code == 401
    assert_hardened(refused)


async def test_a_subscribed_feed_keeps_working_with_the_headers(admin):
    """Calendar services fetch feeds with GET and revalidate with ETag: the headers change
    neither the body, its type, nor the 304 answers."""
    token, _ = await feeds.create_token(CLI, "group", await _group(admin))
    first = await admin.client.get(f"/calendar/feeds/{token}.ics", headers={"Authorization": ""})
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/calendar")
    assert first.text.startswith("BEGIN:VCALENDAR")
    assert_hardened(first)
    again = await admin.client.get(
        f"/calendar/feeds/{token}.ics", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert_hardened(again)


async def test_answer_links_leak_no_referrer(anonymous):
    page = await anonymous.get("/r/1.AAAAAAAAAAAAAAAAAAAAAA")
    assert page.status_code == 404
    assert page.headers["referrer-policy"] == "no-referrer"  # its own, stricter than the default
    assert_hardened(page)


async def test_tokens_and_passwords_are_stored_only_as_hashes(admin):
    created = await admin.client.post(
        "/api/v1/users",
        json={"email": "x@mairie.example", "role": "lecteur", "password": "mot-de-passe-en-clair"},
    )
    assert created.status_code == 201
    feed_token, _ = await feeds.create_token(CLI, "group", await _group(admin))
    secrets = [admin.token, feed_token, "mot-de-passe-en-clair"]
    for table in TABLES:
        for row in await table.select():
            text = repr(row)
            for secret in secrets:
                assert secret not in text, (table._meta.tablename, secret[:8])


def test_the_running_service_never_logs_its_secrets(tmp_path):
    """The secret key, API tokens and passwords appear nowhere in what ``maillage serve`` and
    the commands print, even when requests fail."""
    password = "mot-de-passe-long"
    with private_database(tmp_path) as database_url:
        instance = Instance(tmp_path, database_url)
        printed = instance.command("init")
        token = instance.add_user("admin@maillage.example", "admin")
        server = start_server(instance)
        try:
            auth = {"Authorization": f"Bearer {token}"}
            httpx.get(server.url + "/api/v1/contacts", headers=auth)
            httpx.get(server.url + "/api/v1/contacts", headers={"Authorization": "Bearer mlg_x"})
            httpx.post(
                server.url + "/api/v1/users",
                headers=auth,
                json={"email": "y@mairie.example", "password": "un-autre-secret-long"},
            )
            httpx.post(server.url + "/api/v1/users", headers=auth, json={"password": password})
            httpx.get(server.url + f"/api/v1/contacts?q={token}", headers=auth)
        finally:
            server.stop()
        log = printed + server.log()
    secret_key = instance.env["MAILLAGE_SECRET_KEY"]
    assert re.search(r"GET /api/v1/contacts", log)  # the log was captured
    for secret in (secret_key, password, "un-autre-secret-long"):
        assert secret not in log
    # The token appears only where the client itself put it, in a logged address (never its
    # header): a token must not be sent in a query string, and the log says nothing more.
    assert log.count(token) <= 1
