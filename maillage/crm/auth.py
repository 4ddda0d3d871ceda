"""Users' credentials: argon2 password hashes and API tokens stored as SHA-256 hashes.

API tokens are 256-bit random strings, so a fast hash is enough to store them (nothing to
brute-force); passwords are low-entropy, so they get argon2.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from piccolo.querystring import QueryString

from maillage.actor import Actor
from maillage.crm import audit, throttle
from maillage.crm.resources import versioned
from maillage.db import current_engine, is_sqlite, read_statement, write_transaction
from maillage.errors import FieldError, InvalidData, NotFound
from maillage.offloop import lower_thread_priority
from maillage.tables import ApiToken, User
from maillage.vocabulary import ADMIN, READER

TOKEN_PREFIX = "mlg_"
# Recording each use would make every API read a write; a coarse « last used » is enough.
LAST_USED_PRECISION = dt.timedelta(minutes=5)

_hasher = PasswordHasher()
# argon2 costs tens of milliseconds of CPU by design (and its lanes run on threads of their
# own): on the event loop, 16 sign-ins held every other request of the process for 6 s; on two
# threads they still took both cores, and the loop waited its turn (#16). One check at a time
# per process, on this thread at a lower priority than the loop's: a sign-in storm takes one
# core, the loop keeps the other.
PASSWORD_CHECK_THREADS = 1
_argon2_threads = concurrent.futures.ThreadPoolExecutor(
    max_workers=PASSWORD_CHECK_THREADS,
    thread_name_prefix="argon2",
    initializer=lower_thread_priority,
)
# Sign-ins waiting for their check, per process, whatever the address: past it a sign-in is
# answered 429 at once, before its email is even looked up (the refusal tells nothing about the
# account). Eight checks are about half a second of one core.
SIGN_IN_QUEUE = 8
BUSY_WAIT = dt.timedelta(seconds=5)


class _SignInQueue:
    """The sign-ins of this process between their turn and the end of their check."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.waiting = 0

    @contextlib.contextmanager
    def place(self) -> Iterator[None]:
        # No await between the test and the count: the loop runs one sign-in at a time here.
        if self.waiting >= self.size:
            raise throttle.ServerBusy(BUSY_WAIT)
        self.waiting += 1
        try:
            yield
        finally:
            self.waiting -= 1


sign_in_queue = _SignInQueue(SIGN_IN_QUEUE)

LAST_ADMIN = (
    "C'est le dernier administrateur actif : nommez d'abord un autre administrateur, sinon "
    "plus personne ne pourra gérer les comptes."
)


def _hash_now(password: str) -> str:
    return _hasher.hash(password)


def _verify_now(password_hash: str, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_argon2_threads, _hash_now, password)


async def verify_password(password_hash: str, password: str) -> bool:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_argon2_threads, _verify_now, password_hash, password)


async def spend_a_check(password: str) -> None:
    """The cost of a real check, so response time does not tell which emails exist."""
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(_argon2_threads, _check_against_dummy, password)


@functools.cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    """A hash of nothing anyone knows, made with these costs (the hasher's: a real check)."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    return hasher.hash(secrets.token_urlsafe(16))


def _check_against_dummy(password: str) -> None:
    costs = (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism)
    _verify_now(_dummy_hash(*costs), password)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def hash_user_password(values: dict[str, Any], _existing: dict[str, Any] | None) -> None:
    """Service preparer: only the hash reaches the table; the audit log masks the password."""
    password = values.get("password")
    if password is not None:
        values["password_hash"] = await hash_password(password)


MIN_PASSWORD_LENGTH = 10


async def check_password_strength(
    values: dict[str, Any], _existing: dict[str, Any] | None
) -> list[FieldError]:
    password = values.get("password")
    # The API's schema says 10 characters; the command line builds its input without it, so
    # the service checks the length itself.
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        return [
            FieldError(
                "password",
                f"Mot de passe trop court : {MIN_PASSWORD_LENGTH} caractères au moins.",
            )
        ]
    if password is not None and len(set(password)) < 5:
        return [FieldError("password", "Mot de passe trop simple : variez les caractères.")]
    return []


async def keep_an_admin(
    values: dict[str, Any], existing: dict[str, Any] | None
) -> list[FieldError]:
    """Neither the API nor the pages may deactivate or demote the last active administrator."""
    if existing is None or existing.get("role") != ADMIN or not existing.get("active"):
        return []
    if values.get("role", ADMIN) == ADMIN and values.get("active", True):
        return []
    others = (
        await User.count()
        .where((User.role == "admin") & (User.active == True) & (User.id != existing["id"]))  # noqa: E712
        .run()
    )
    if others:
        return []
    field = "active" if not values.get("active", True) else "role"
    return [FieldError(field, LAST_ADMIN)]


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


def _grants_of(user_id_sql: str, sqlite: bool) -> str:
    """A subquery giving the user's territories as « 3:coordinateur:69,7:lecteur: » (#20): each
    territory, the role held there and its département (empty: none), read with the account
    by the same statement: no extra query per request."""
    pair = "CAST(g.territory AS TEXT) || ':' || g.role || ':' || COALESCE(t.departement, '')"
    joined = f"group_concat({pair}, ',')" if sqlite else f"string_agg({pair}, ',')"
    return (
        f"(SELECT {joined} FROM user_territory g JOIN territory t ON t.id = g.territory "
        f'WHERE g."user" = {user_id_sql})'
    )


@dataclass(frozen=True)
class Grants:
    """A user's roles per territory, and the départements of those territories (#20)."""

    roles: dict[int, str]
    departements: tuple[str, ...]


def parse_grants(text: str | None) -> Grants:
    """The `Grants` of what `_grants_of` gives."""
    roles = {}
    departements = set()
    for item in (text or "").split(","):
        territory, _, rest = item.partition(":")
        role, _, departement = rest.partition(":")
        if territory:
            roles[int(territory)] = role
            if departement:
                departements.add(departement)
    return Grants(roles, tuple(sorted(departements)))


# The token check runs on every API request: one fixed statement, sent as is (building it with
# Piccolo's query builder cost more CPU than running it).
def _token_lookup(sqlite: bool) -> str:
    return (
        'SELECT t.id AS "id", t.last_used_at AS "last_used_at", u.id AS "user.id", '
        'u.email AS "user.email", u.role AS "user.role", u.active AS "user.active", '
        f'{_grants_of("u.id", sqlite)} AS "user.grants" '
        'FROM api_token t JOIN app_user u ON u.id = t."user" '
        "WHERE t.token_hash = {} AND t.revoked_at IS NULL LIMIT 1"
    )


_TOKEN_LOOKUP = {True: _token_lookup(True), False: _token_lookup(False)}
# SQLite's, with the ``?`` placeholder `read_statement` takes: made once, not per request.
_TOKEN_LOOKUP_READ = _token_lookup(True).replace("{}", "?")


async def _token_row(token_hash: str) -> dict[str, Any] | None:
    """The token's row and its user's, by the token's unique hash. On SQLite a statement read
    alone (`read_statement`: on the event loop's own connection, #16), not a trip to a kept
    connection's thread."""
    if is_sqlite():
        rows = await read_statement(_TOKEN_LOOKUP_READ, [token_hash])
    else:
        statement = QueryString(_TOKEN_LOOKUP[False], token_hash)
        rows = await current_engine().run_querystring(statement)
    row: dict[str, Any] | None = rows[0] if rows else None
    return row


async def authenticate_token(token: str) -> Actor | None:
    found = await authenticate_token_with_grants(token)
    return None if found is None else found[0]


async def authenticate_token_with_grants(token: str) -> tuple[Actor, Grants] | None:
    """The token's user and their territories (empty: every territory)."""
    row = await _token_row(hash_token(token))
    if row is None or not row["user.active"]:
        return None
    now = dt.datetime.now(dt.UTC)
    if row["last_used_at"] is None or now - row["last_used_at"] > LAST_USED_PRECISION:
        await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == row["id"]).run()
    actor = Actor(name=row["user.email"], role=row["user.role"], user_id=row["user.id"])
    return actor, parse_grants(row["user.grants"])


async def authenticate_password(email: str, password: str) -> Actor | None:
    user = await User.select().where(User.email == email.strip().lower()).first().run()
    if user is None or not user["active"]:
        # Same cost as a real check, so response time does not tell which emails exist.
        await spend_a_check(password)
        return None
    if not await verify_password(user["password_hash"], password):
        return None
    return actor_for(user)


# ----- web sessions ----------------------------------------------------------------------------

# Wrong passwords are throttled by ``maillage.crm.throttle`` (counted before each check).
LOGIN_MAX_FAILURES = throttle.ACCOUNT_FROM_ADDRESS.failures
TEMPORARY_PASSWORD_BYTES = 9


def session_stamp(user: dict[str, Any]) -> str:
    """A short fingerprint of what a session depends on, kept in the session cookie.

    It covers the password hash, the role and the account's version: changing or resetting the
    password, changing the role, editing the account or signing out (which bumps the version)
    ends every session opened before, on the server, whatever cookie a browser still holds."""
    material = f"session:{user['password_hash']}:{user['role']}:{user['version']}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]


async def end_sessions(user_id: int) -> None:
    """Sign out everywhere: the account's version moves on, so no earlier cookie holds."""
    async with write_transaction():
        await User.update({User.version: User.version + 1}).where(User.id == user_id).run()


async def session_user(user_id: int, stamp: str) -> dict[str, Any] | None:
    """The signed-in user of a session cookie, or None when the session no longer holds."""
    user = (
        await User.select(
            User.id,
            User.email,
            User.name,
            User.role,
            User.active,
            User.must_change_password,
            User.password_hash,
            User.version,
            User.contact,
            QueryString(_grants_of('"app_user"."id"', is_sqlite())).as_alias("grants"),
        )
        .where(User.id == user_id)
        .first()
        .run()
    )
    if user is None or not user["active"]:
        return None
    if not secrets.compare_digest(session_stamp(user), stamp):
        return None
    user.pop("password_hash")
    user.pop("version")
    user["grants"] = parse_grants(user["grants"])  # territories and roles (#20)
    return user


def _login_actor(email: str) -> Actor:
    return Actor(name=email.strip().lower()[:254] or "?", role=READER)


async def record_login(email: str, success: bool, address: str, user_id: int | None) -> None:
    actor = _login_actor(email)
    if success:
        actor = Actor(name=actor.name, role=READER, user_id=user_id)
    action = "login" if success else "login_failed"
    await audit.record(actor, action, "session", user_id, {"adresse_ip": address})


def _password_errors(field: str, password: str) -> list[FieldError]:
    if len(password) < 10:
        return [FieldError(field, "Le mot de passe doit compter au moins 10 caractères.")]
    if len(password) > 200:
        return [FieldError(field, "Le mot de passe doit compter au plus 200 caractères.")]
    if len(set(password)) < 5:
        return [FieldError(field, "Mot de passe trop simple : variez les caractères.")]
    return []


async def _store_password(
    actor: Actor, user_id: int, password: str, must_change: bool, action: str
) -> None:
    password_hash = await hash_password(password)  # before taking the write turn
    async with write_transaction():
        await (
            User.update(
                {
                    User.password_hash: password_hash,
                    User.must_change_password: must_change,
                    **versioned(User),
                }
            )
            .where(User.id == user_id)
            .run()
        )
        await audit.record(actor, action, "user", user_id, {"must_change_password": must_change})


async def change_own_password(actor: Actor, current: str, new: str, confirmation: str) -> str:
    """Change the signed-in user's password; returns the new session stamp."""
    assert actor.user_id is not None
    user = await User.select().where(User.id == actor.user_id).first().run()
    if user is None:
        raise NotFound("Utilisateur", actor.user_id)
    errors: list[FieldError] = []
    # Counted before the check, like a sign-in: a stolen session cannot guess the password.
    await throttle.before_password_check(user["id"], user["email"])
    if await verify_password(user["password_hash"], current):
        await throttle.after_password_check(user["id"])
    else:
        errors.append(FieldError("current_password", "Mot de passe actuel incorrect."))
    errors += _password_errors("new_password", new)
    if new and new == current:
        errors.append(
            FieldError("new_password", "Choisissez un mot de passe différent de l'actuel.")
        )
    if new != confirmation:
        errors.append(FieldError("confirmation", "La confirmation ne correspond pas."))
    if errors:
        raise InvalidData(errors)
    await _store_password(actor, actor.user_id, new, False, "change_password")
    stored = (
        await User.select(User.password_hash, User.role, User.version)
        .where(User.id == actor.user_id)
        .first()
        .run()
    )
    if stored is None:  # deleted between the check above and now
        raise NotFound("Utilisateur", actor.user_id)
    return session_stamp(stored)


async def set_temporary_password(actor: Actor, user_id: int) -> str:
    """Give the user a temporary password they must change at next sign-in; returned once."""
    if not await User.exists().where(User.id == user_id).run():
        raise NotFound("Utilisateur", user_id)
    password = secrets.token_urlsafe(TEMPORARY_PASSWORD_BYTES)
    await _store_password(actor, user_id, password, True, "reset_password")
    return password


async def sign_in(email: str, password: str, address: str) -> tuple[Actor, str] | None:
    """Check a password for the sign-in page: the actor and its session stamp, or None.

    Every attempt is written to the audit log. Each is counted by the throttle before its
    password is checked; too many raise ``throttle.TooManyAttempts`` (429), and so does a
    sign-in that finds ``SIGN_IN_QUEUE`` others of this process waiting for their check
    (``throttle.ServerBusy``, nothing counted)."""
    email = email.strip().lower()
    with sign_in_queue.place():
        await throttle.before_sign_in(email, address)
        user = await User.select().where(User.email == email).first().run()
        if user is None or not user["active"]:
            await spend_a_check(password)
            user = None
        elif not await verify_password(user["password_hash"], password):
            user = None
    await record_login(email, user is not None, address, user["id"] if user else None)
    if user is None:
        return None
    await throttle.after_sign_in(email, address)
    return actor_for(user), session_stamp(user)


async def unlock_sign_in(actor: Actor, user_id: int) -> int:
    """An administrator lets the account sign in again at once, whatever its failures;
    returns how many counters were slowing it down (0: nothing to unlock)."""
    user = await User.select(User.id, User.email).where(User.id == user_id).first().run()
    if user is None:
        raise NotFound("Utilisateur", user_id)
    unlocked = await throttle.unlock(user["email"])
    async with write_transaction():
        await audit.record(actor, "unlock_sign_in", "user", user_id, {"compteurs": unlocked})
    return unlocked
