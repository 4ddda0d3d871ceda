"""The users' page limits an account to territories and gives it back every one (#20)."""

from __future__ import annotations

from maillage.crm import auth
from maillage.tables import UserTerritory
from tests.web.helpers import Browser, create, open_browser, sign_in


async def test_an_administrator_limits_an_account_to_a_territory_and_back(app, admin, reader):
    territory = await create(admin.client, "territories", {"name": "CC du Val d'Ardoise"})
    other = await create(admin.client, "territories", {"name": "CA des Deux Rives"})
    body = await create(
        admin.client, "groups", {"name": "COPIL Rives", "kind": "copil", "territory": other["id"]}
    )
    account = await auth.find_user(reader.email)
    async with await open_browser(app) as client:
        browser = Browser(client)
        assert (await sign_in(browser, admin.email)).status_code == 303
        page = await browser.get("/utilisateurs")
        assert "Tous, avec le rôle du compte" in page.text
        assert "CC du Val d&#39;Ardoise" in page.text  # offered in the list
        added = await browser.post(
            f"/utilisateurs/{account['id']}/territoires",
            {"territory": str(territory["id"]), "role": "lecteur"},
        )
        assert added.status_code == 303
        page = await browser.get("/utilisateurs")
        assert "Territoire attribué" in page.text
        assert "CC du Val d&#39;Ardoise : lecteur" in page.text
        # Limited: the other territory's body no longer exists for the account.
        assert (await reader.client.get(f"/api/v1/groups/{body['id']}")).status_code == 404
        refused = await browser.post(
            f"/utilisateurs/{account['id']}/territoires", {"territory": "x", "role": "lecteur"}
        )
        assert refused.status_code == 303
        assert "Choisissez un territoire de la liste" in (await browser.get("/utilisateurs")).text
        removed = await browser.post(
            f"/utilisateurs/{account['id']}/territoires/{territory['id']}/retirer", {}
        )
        assert removed.status_code == 303
        assert "le compte voit désormais tout" in (await browser.get("/utilisateurs")).text
    assert await UserTerritory.count() == 0
    assert (await reader.client.get(f"/api/v1/groups/{body['id']}")).status_code == 200
