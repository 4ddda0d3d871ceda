"""The demo's accounts at the ``departement`` scale (#20): a coordinator per territory, the
Caf's adviser on ten, each seeing their territories only."""

from __future__ import annotations

from maillage.crm import auth
from maillage.crm import scope as territory_scope
from maillage.crm.demo.accounts import CAF_ADVISER, coordinator_email, create_accounts
from maillage.tables import Territory, User


async def test_each_territory_has_its_coordinator_and_the_caf_covers_ten(database):
    for n in range(12):
        await Territory.insert(Territory(name=f"Communauté de communes {n:02d}", search="")).run()
    ids = [row["id"] for row in await Territory.select(Territory.id).order_by(Territory.id)]

    accounts = await create_accounts("mot-de-passe-de-demo")

    assert [account.email for account in accounts] == [
        *(coordinator_email(n) for n in range(1, 13)),
        CAF_ADVISER,
    ]
    for position, territory in enumerate(ids, start=1):
        user = (
            await User.select(User.id, User.role)
            .where(User.email == coordinator_email(position))
            .first()
        )
        assert user["role"] == "coordinateur"
        assert await territory_scope.grants_of(user["id"]) == {territory: "coordinateur"}
    caf = await User.select(User.id).where(User.email == CAF_ADVISER).first()
    assert await territory_scope.grants_of(caf["id"]) == dict.fromkeys(ids[:10], "coordinateur")
    stored = await User.select(User.password_hash).where(User.email == CAF_ADVISER).first()
    assert await auth.verify_password(stored["password_hash"], "mot-de-passe-de-demo")
    # Loading again leaves the accounts as they are.
    assert await create_accounts("autre-mot-de-passe") == []
