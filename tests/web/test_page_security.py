"""Sessions, CSRF, roles, escaping, headers and sign-in throttling on the pages."""

from __future__ import annotations

import re

import httpx
import pytest

from maillage.crm import auth
from maillage.crm.registry import SERVICES
from maillage.settings import Settings
from maillage.web.app import create_app
from tests.web.helpers import (
    HOSTILE,
    PASSWORD,
    Browser,
    html_text,
    open_browser,
    sign_in,
    small_network,
)


async def test_it_sends_visitors_to_the_sign_in_page(visitor):
    response = await visitor.get("/partenaires?q=caf")
    assert response.status_code == 303
    assert response.headers["location"] == "/connexion?suivant=%2Fpartenaires%3Fq%3Dcaf"
    page = await visitor.get("/connexion")
    assert 'name="email"' in page.text and 'name="password"' in page.text
    assert '<label for="f-email">' in page.text


async def test_it_brings_the_person_back_where_they_were_going(visitor, coordinator):
    await visitor.get("/connexion")
    response = await visitor.post(
        "/connexion",
        {"email": coordinator.email, "password": PASSWORD, "suivant": "/contacts"},
    )
    assert response.headers["location"] == "/contacts"


async def test_it_never_redirects_to_another_site_after_sign_in(visitor, coordinator):
    await visitor.get("/connexion")
    response = await visitor.post(
        "/connexion",
        {"email": coordinator.email, "password": PASSWORD, "suivant": "//evil.example/x"},
    )
    assert response.headers["location"] == "/"


async def test_it_keeps_the_api_on_bearer_tokens(coordinator_web):
    response = await coordinator_web.get("/api/v1/organisations")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert "Bearer" in response.json()["detail"]


async def test_it_sets_a_protected_session_cookie(visitor, coordinator):
    response = await sign_in(visitor, coordinator.email)
    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and "session" in v
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie


async def test_it_marks_cookies_secure_behind_https(settings: Settings, coordinator):
    secure = Settings(**{**settings.__dict__, "base_url": "https://maillage.example.fr"})
    app = create_app(secure, manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        response = await sign_in(Browser(client), coordinator.email)
    assert response.status_code == 303
    cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    assert cookies and all("Secure" in c for c in cookies)
    assert "max-age=31536000" in response.headers["strict-transport-security"]


async def test_it_refuses_a_form_posted_without_csrf_token(coordinator_web):
    response = await coordinator_web.post(
        "/partenaires/nouveau", {"name": "Club", "kind": "association"}, csrf=False
    )
    assert response.status_code == 403
    assert "formulaire a expiré" in html_text(response)
    assert "Club" not in html_text(await coordinator_web.get("/partenaires"))


async def test_it_refuses_a_forged_csrf_token(coordinator_web):
    response = await coordinator_web.client.post(
        "/partenaires/nouveau",
        data={"name": "Club", "kind": "association", "_csrf_token": "0" * 128},
    )
    assert response.status_code == 403


async def test_it_hides_edit_buttons_and_refuses_writes_to_a_reader(reader_web, admin):
    net = await small_network(admin.client)
    organisation = net["organisation"]["id"]
    page = await reader_web.get(f"/partenaires/{organisation}")
    assert "Modifier" not in html_text(page) and "Archiver" not in html_text(page)
    assert "Ajouter un partenaire" not in html_text(await reader_web.get("/partenaires"))
    assert "Enregistrer les présences" not in html_text(
        await reader_web.get(f"/reunions/{net['meeting']['id']}")
    )
    for url, data in [
        ("/partenaires/nouveau", {"name": "Club", "kind": "association"}),
        (f"/partenaires/{organisation}/archiver", {}),
        (f"/instances/{net['group']['id']}/membres", {"contact": net["contact"]["id"]}),
        (f"/reunions/{net['meeting']['id']}/annuler", {}),
        (f"/reunions/{net['meeting']['id']}/presences", {}),
    ]:
        response = await reader_web.post(url, data)
        assert response.status_code == 403, url
        assert "Accès refusé" in html_text(response)
    assert (await SERVICES["organisations"].get(organisation))["archived"] is False
    assert (await reader_web.get("/partenaires/nouveau")).status_code == 403


async def test_it_escapes_a_hostile_name_everywhere(coordinator_web, admin):
    net = await small_network(admin.client, name=HOSTILE)
    ids = {k: v["id"] for k, v in net.items()}
    pages = [
        "/",
        "/partenaires",
        f"/partenaires?q={HOSTILE}",
        f"/partenaires/{ids['organisation']}",
        f"/partenaires/{ids['organisation']}/modifier",
        "/contacts",
        f"/contacts/{ids['contact']}",
        f"/contacts/{ids['contact']}?organisation_q=script",
        "/instances",
        f"/instances/{ids['group']}",
        f"/instances/{ids['group']}?contact_q=script",
        f"/instances/{ids['group']}?contact={ids['contact']}",
        "/reunions",
        f"/reunions/{ids['meeting']}",
        f"/reunions/{ids['meeting']}/presences",
        f"/reunions/{ids['meeting']}/emargement",
    ]
    for url in pages:
        response = await coordinator_web.get(url)
        assert response.status_code == 200, url
        assert "<script>alert(1)" not in response.text, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text, url


async def test_it_escapes_a_hostile_name_in_the_journal(admin_web, admin):
    await small_network(admin.client, name=HOSTILE)
    response = await admin_web.get("/journal")
    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;" in response.text


async def test_it_sends_security_headers(coordinator_web):
    response = await coordinator_web.get("/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in response.text and " on" not in re.sub(r"[^<]*", "", response.text)
    assert not re.search(r"<[^>]+\son[a-z]+=", response.text)


async def test_it_refuses_a_wrong_password_in_french(visitor, coordinator):
    response = await sign_in(visitor, coordinator.email, "pas le bon mot de passe")
    assert response.status_code == 400
    assert "Adresse électronique ou mot de passe incorrect" in html_text(response)
    assert "pas le bon mot de passe" not in response.text


@pytest.mark.slow
async def test_it_throttles_sign_in_across_workers(settings, coordinator):
    """Failures are counted in the database: a second app (another worker) sees them."""
    first, second = (create_app(settings, manage_database=False) for _ in range(2))
    async with await open_browser(first) as client:
        browser = Browser(client)
        for _ in range(auth.LOGIN_MAX_FAILURES):
            assert (await sign_in(browser, coordinator.email, "mauvais")).status_code == 400
    async with await open_browser(second) as client:
        response = await sign_in(Browser(client), coordinator.email, PASSWORD)
    assert response.status_code == 429
    assert "Trop de tentatives" in html_text(response)


async def test_it_keeps_a_session_valid_in_another_worker(settings, coordinator_web):
    other = create_app(settings, manage_database=False)
    async with await open_browser(other) as client:
        client.cookies = coordinator_web.client.cookies
        response = await client.get("/")
    assert response.status_code == 200
    assert "Tableau de bord" in html_text(response)


async def test_it_signs_out(coordinator_web):
    response = await coordinator_web.post("/deconnexion")
    assert response.headers["location"] == "/connexion"
    assert "Déconnexion effectuée" in html_text(await coordinator_web.get("/connexion"))
    assert (await coordinator_web.get("/")).status_code == 303


async def test_it_ends_sessions_of_a_deactivated_account(coordinator_web, admin_web):
    user = await auth.find_user(coordinator_web.email)
    response = await admin_web.post(f"/utilisateurs/{user['id']}/desactiver")
    assert response.status_code == 303
    assert (await coordinator_web.get("/")).status_code == 303


async def test_it_makes_a_reset_password_temporary(admin_web, coordinator_web, app):
    account = await auth.find_user(coordinator_web.email)
    response = await admin_web.post(f"/utilisateurs/{account['id']}/mot-de-passe")
    temporary = re.search(r'<code class="secret">([^<]+)</code>', response.text)[1]
    assert (await coordinator_web.get("/")).status_code == 303  # old session closed
    async with await open_browser(app) as client:
        browser = Browser(client)
        assert (await sign_in(browser, coordinator_web.email, temporary)).status_code == 303
        forced = await browser.get("/partenaires")
        assert forced.headers["location"] == "/compte"
        page = html_text(await browser.get("/compte"))
        assert "Votre mot de passe est temporaire" in page
        response = await browser.post(
            "/compte/mot-de-passe",
            {
                "current_password": temporary,
                "new_password": "une nouvelle phrase",
                "confirmation": "une nouvelle phrase",
            },
        )
        assert response.status_code == 303
        assert (await browser.get("/partenaires")).status_code == 200


async def test_it_ties_password_errors_to_their_fields(coordinator_web):
    response = await coordinator_web.post(
        "/compte/mot-de-passe",
        {"current_password": "faux", "new_password": "court", "confirmation": "autre"},
    )
    assert response.status_code == 400
    assert 'aria-describedby="f-current_password-erreur"' in response.text
    assert "Mot de passe actuel incorrect" in html_text(response)
    assert "au moins 10 caractères" in html_text(response)
    assert "La confirmation ne correspond pas" in html_text(response)


@pytest.mark.parametrize("path", ["/journal", "/utilisateurs"])
async def test_it_refuses_admin_pages_to_a_coordinator(coordinator_web, path):
    assert (await coordinator_web.get(path)).status_code == 403


async def test_it_creates_an_account_with_a_temporary_password(admin_web):
    response = await admin_web.post(
        "/utilisateurs", {"email": "Nouvelle@Caf.example", "name": "Nadia", "role": "lecteur"}
    )
    assert response.status_code == 200
    assert "nouvelle@caf.example" in html_text(response)
    assert re.search(r'<code class="secret">[^<]{10,}</code>', response.text)
    created = await auth.find_user("nouvelle@caf.example")
    assert created["must_change_password"] is True


async def test_it_records_sign_ins_in_the_journal(admin_web):
    page = html_text(await admin_web.get("/journal?objet=session"))
    assert "a ouvert une session" in page


async def test_it_lets_a_bearer_client_post_to_a_page_without_csrf(coordinator, anonymous):
    """A bearer header cannot be forged cross-site: scripts may post pages with their token."""
    response = await coordinator.client.post(
        "/partenaires/nouveau", data={"name": "Club de scripts", "kind": "association"}
    )
    assert response.status_code == 303
    refused = await anonymous.post(
        "/partenaires/nouveau",
        data={"name": "Club", "kind": "association"},
        headers={"Authorization": "Bearer mlg_faux"},
    )
    assert refused.status_code == 401
