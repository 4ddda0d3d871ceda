"""The token check on every API request: one statement, « last used » written once per window."""

from __future__ import annotations

from maillage.crm import auth
from maillage.tables import ApiToken


async def last_used(token: str):
    row = (
        await ApiToken.select(ApiToken.last_used_at)
        .where(ApiToken.token_hash == auth.hash_token(token))
        .first()
    )
    return row["last_used_at"]


async def test_a_token_is_marked_used_once_per_window(reader):
    assert (await reader.client.get("/api/v1/axes")).status_code == 200
    first = await last_used(reader.token)
    assert first is not None
    assert (await reader.client.get("/api/v1/axes")).status_code == 200
    assert await last_used(reader.token) == first  # no write on the second read


async def test_a_revoked_or_unknown_token_is_refused(reader):
    assert await auth.authenticate_token("mlg_inconnu") is None
    await ApiToken.update({ApiToken.revoked_at: ApiToken.created_at}).where(
        ApiToken.token_hash == auth.hash_token(reader.token)
    )
    assert (await reader.client.get("/api/v1/axes")).status_code == 401
