"""Authentication, roles and the OpenAPI contract of the JSON API."""

from __future__ import annotations

from maillage.actor import CLI
from maillage.crm import auth


async def test_it_requires_authentication_except_for_health(anonymous):
    refused = await anonymous.get("/api/v1/organisations")
    assert refused.status_code == 401
    assert "Authorization: Bearer" in refused.json()["detail"]
    assert refused.headers["www-authenticate"] == "Bearer"
    health = await anonymous.get("/healthz")
    assert health.status_code == 200
    assert health.json()["database"] == "joignable"


async def test_it_refuses_an_unknown_token(anonymous):
    response = await anonymous.get(
        "/api/v1/organisations", headers={"Authorization": "Bearer mlg_inconnu"}
    )
    assert response.status_code == 401


async def test_it_refuses_a_revoked_token(reader):
    assert (await reader.client.get("/api/v1/contacts")).status_code == 200
    assert await auth.revoke_tokens(CLI, reader.email) == 1
    assert (await reader.client.get("/api/v1/contacts")).status_code == 401


async def test_it_lets_a_reader_read_but_not_write(reader):
    assert (await reader.client.get("/api/v1/organisations")).status_code == 200
    response = await reader.client.post(
        "/api/v1/organisations", json={"name": "Club", "kind": "association"}
    )
    assert response.status_code == 403
    assert "rôle « Coordination » ou supérieur" in response.json()["detail"]


async def test_it_keeps_users_and_audit_for_admins(coordinator, admin):
    for path in ("/api/v1/users", "/api/v1/audit"):
        assert (await coordinator.client.get(path)).status_code == 403
        assert (await admin.client.get(path)).status_code == 200
    created = await admin.client.post(
        "/api/v1/users",
        json={"email": "Nouvelle@Mairie.example", "role": "lecteur", "password": "un mot de passe"},
    )
    assert created.status_code == 201
    body = created.json()
    assert body["email"] == "nouvelle@mairie.example"
    assert "password" not in body and "password_hash" not in body


async def test_it_never_writes_a_password_to_the_audit_log(admin):
    await admin.client.post(
        "/api/v1/users",
        json={"email": "x@mairie.example", "password": "secret-tres-long"},
    )
    events = (await admin.client.get("/api/v1/audit", params={"entity": "user"})).json()
    text = str(events)
    assert "secret-tres-long" not in text
    assert "argon2" not in text


async def test_it_documents_every_operation_in_french(anonymous):
    schema = (await anonymous.get("/schema/openapi.json")).json()
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if path.startswith("/api/")
    ]
    assert len(operations) > 60
    for path, method, operation in operations:
        assert operation.get("summary"), (path, method)
        assert {"401", "403"} <= set(operation["responses"]), (path, method)
        if method in ("post", "patch") and "{record_id}" not in path.split("/")[-1:]:
            assert "400" in operation["responses"], (path, method)


async def test_it_serves_the_docs_without_any_other_host(anonymous):
    page = (await anonymous.get("/schema")).text
    assert "/static/swagger/swagger-ui-bundle.js" in page
    assert "cdn." not in page and "https://" not in page
    assert (await anonymous.get("/static/swagger/swagger-ui-bundle.js")).status_code == 200


async def test_it_refuses_to_deactivate_or_demote_the_last_admin(admin):
    """The pages refused it; the API let the last active admin lock everyone out (#23)."""
    me = (await admin.client.get("/api/v1/users", params={"role": "admin"})).json()["items"]
    assert len(me) == 1
    user = me[0]
    for change in ({"active": False}, {"role": "lecteur"}):
        response = await admin.client.patch(
            f"/api/v1/users/{user['id']}", json={**change, "version": user["version"]}
        )
        assert response.status_code == 400, response.text
        assert "dernier administrateur actif" in response.text
    second = await admin.client.post(
        "/api/v1/users",
        json={"email": "relai@mairie.example", "role": "admin", "password": "un mot de passe"},
    )
    assert second.status_code == 201
    response = await admin.client.patch(
        f"/api/v1/users/{second.json()['id']}",
        json={"active": False, "version": second.json()["version"]},
    )
    assert response.status_code == 200, response.text


async def test_an_api_read_runs_no_hook_of_the_app_in_a_worker_thread(reader, monkeypatch):
    """#16: Litestar sends a plain function given as a guard, a rate limiter's check or a
    before-request hook to a worker thread, a hop per request each (five on an API read, a
    third of a list's CPU on SQLite); ours are coroutines."""
    import litestar.utils.sync

    sent: list[str] = []
    to_thread = litestar.utils.sync.sync_to_thread

    async def recorded(function, *args, **kwargs):
        sent.append(getattr(function, "__qualname__", repr(function)))
        return await to_thread(function, *args, **kwargs)

    monkeypatch.setattr(litestar.utils.sync, "sync_to_thread", recorded)
    assert (await reader.client.get("/api/v1/organisations?q=%00")).status_code == 400
    assert (await reader.client.get("/api/v1/contacts", params={"limit": 2})).status_code == 200
    assert sent == []


async def test_only_posts_meet_the_rate_limiters(reader, monkeypatch):
    """#16: the sign-in, registration and theme-answer limiters count posts only; the other
    requests pass them by on their method, without Litestar building a request for each."""
    from litestar.middleware.rate_limit import RateLimitMiddleware

    met: list[tuple[str, str]] = []
    call = RateLimitMiddleware.__call__

    async def recorded(self, scope, receive, send):
        met.append((scope["method"], self.config.store))
        await call(self, scope, receive, send)

    monkeypatch.setattr(RateLimitMiddleware, "__call__", recorded)
    assert (await reader.client.get("/api/v1/contacts", params={"limit": 2})).status_code == 200
    assert (await reader.client.get("/connexion")).status_code == 200
    assert met == []
    await reader.client.post("/api/v1/contacts", json={})
    assert met == [
        ("POST", "sign_in_rate"),
        ("POST", "participation_rate"),
        ("POST", "consultation_rate"),
    ]
