"""Users' credentials: argon2 password hashes and API tokens stored as SHA-256 hashes.

API tokens are 256-bit random strings, so a fast hash is enough to store them (nothing to
brute-force); passwords are low-entropy, so they get argon2.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from maillage.crm import audit
from maillage.crm.actor import Actor
from maillage.crm.errors import FieldError, InvalidData, NotFound
from maillage.crm.tables import ApiToken, User
from maillage.db import write_transaction

TOKEN_PREFIX = "mlg_"
# Recording each use would make every API read a write; a coarse « last used » is enough.
LAST_USED_PRECISION = dt.timedelta(minutes=5)

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def hash_user_password(values: dict[str, Any], _existing: dict[str, Any] | None) -> None:
    """Service preparer: only the hash reaches the table; the audit log masks the password."""
    password = values.get("password")
    if password is not None:
        values["password_hash"] = hash_password(password)


async def check_password_strength(
    values: dict[str, Any], _existing: dict[str, Any] | None
) -> list[FieldError]:
    password = values.get("password")
    if password is not None and len(set(password)) < 5:
        return [FieldError("password", "Mot de passe trop simple : variez les caractères.")]
    return []


def actor_for(user: dict[str, Any]) -> Actor:
    return Actor(name=user["email"], role=user["role"], user_id=user["id"])


async def find_user(email: str) -> dict[str, Any]:
    user = await User.select().where(User.email == email.strip().lower()).first().run()
    if user is None:
        raise NotFound("Utilisateur", email)
    return user


async def create_token(actor: Actor, email: str, name: str = "") -> str:
    """Return a new token for the user; only its hash is kept, so it is shown once."""
    user = await find_user(email)
    if not user["active"]:
        raise InvalidData.one("email", "Ce compte est désactivé.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with write_transaction():
        result = await ApiToken.insert(
            ApiToken(user=user["id"], name=name, token_hash=hash_token(token))
        ).run()
        await audit.record(actor, "create", "api_token", result[0]["id"], {"user": user["email"]})
    return token


async def revoke_tokens(actor: Actor, email: str, token: str | None = None) -> int:
    """Revoke one token (given in clear) or every active token of the user; returns the count."""
    user = await find_user(email)
    query = ApiToken.update({ApiToken.revoked_at: dt.datetime.now(dt.UTC)}).where(
        (ApiToken.user == user["id"]) & ApiToken.revoked_at.is_null()
    )
    if token is not None:
        query = query.where(ApiToken.token_hash == hash_token(token))
    async with write_transaction():
        revoked = await query.returning(ApiToken.id).run()
        for row in revoked:
            await audit.record(actor, "revoke", "api_token", row["id"], {"user": user["email"]})
    return len(revoked)


async def authenticate_token(token: str) -> Actor | None:
    row = (
        await ApiToken.select(
            ApiToken.id,
            ApiToken.last_used_at,
            ApiToken.user.id,
            ApiToken.user.email,
            ApiToken.user.role,
            ApiToken.user.active,
        )
        .where((ApiToken.token_hash == hash_token(token)) & ApiToken.revoked_at.is_null())
        .first()
        .run()
    )
    if row is None or not row["user.active"]:
        return None
    now = dt.datetime.now(dt.UTC)
    if row["last_used_at"] is None or now - row["last_used_at"] > LAST_USED_PRECISION:
        await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == row["id"]).run()
    return Actor(name=row["user.email"], role=row["user.role"], user_id=row["user.id"])


async def authenticate_password(email: str, password: str) -> Actor | None:
    user = await User.select().where(User.email == email.strip().lower()).first().run()
    if user is None or not user["active"]:
        # Same cost as a real check, so response time does not tell which emails exist.
        verify_password(_dummy_hash(), password)
        return None
    if not verify_password(user["password_hash"], password):
        return None
    return actor_for(user)
