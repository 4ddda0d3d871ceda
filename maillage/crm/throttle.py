"""Password attempts: counted before they are checked, slowed down instead of locked out (#23).

What was chosen, and why:

- **Counted first, atomically.** Each attempt takes its turn on a counter row *before* its
  password is checked, with a compare-and-swap on the row's version: twelve parallel wrong
  passwords cannot all be counted as the first. At most ``limit`` checks go through in a burst;
  the others are answered 429 without any check. The rows are in the database, so every worker
  of the service shares them.
- **Three counters.** The account *from* one address (5 failures), the address whatever the
  account (30 failures: one machine trying many accounts), and the account whatever the address
  (10 failures: many machines trying one account). The account-wide counter does not apply from
  an address where this account signed in within the last 30 days: an attacker elsewhere can
  slow their own attempts down, not keep the real person out of their usual computer.
- **Delays, not a lock-out.** Past a counter's limit, each further attempt waits a delay that
  doubles (30 s, 1 min, 2 min… up to 15 min); an attempt made while waiting is refused without
  being counted, so hammering does not lengthen the wait. A counter quiet for an hour starts
  again from zero; a right password resets the account's counters.
- **An administrator can unlock** an account at once: the page « Utilisateurs », the command
  ``maillage user unlock COURRIEL`` and ``POST /api/v1/users/{id}/unlock``.

Keys are SHA-256 digests: the table holds neither addresses nor emails.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass
from typing import Any

from piccolo.columns import Column

from maillage import french
from maillage.db import write_transaction
from maillage.errors import ServiceError
from maillage.tables import SignInThrottle

FIRST_DELAY = dt.timedelta(seconds=30)
LONGEST_DELAY = dt.timedelta(minutes=15)
FORGET_AFTER = dt.timedelta(hours=1)
KNOWN_ADDRESS_FOR = dt.timedelta(days=30)
# Compare-and-swap rounds before an attempt is refused: each round lets at least one contender
# through, so this only runs out under a flood, which is then refused.
ROUNDS = 50


@dataclass(frozen=True)
class Limit:
    kind: str
    failures: int


ACCOUNT_FROM_ADDRESS = Limit("compte-adresse", 5)
ADDRESS = Limit("adresse", 30)
ACCOUNT = Limit("compte", 10)
PASSWORD_CHANGE = Limit("changement", 5)


class TooManyAttempts(ServiceError):
    status_code = 429

    def __init__(self, what: str, wait: dt.timedelta) -> None:
        self.wait = wait
        super().__init__(
            f"Trop de tentatives {what} : réessayez {wait_text(wait)}, ou demandez à un "
            "administrateur de débloquer votre compte."
        )


class ServerBusy(TooManyAttempts):
    """Too many sign-ins of everyone at once (``auth.SIGN_IN_QUEUE``): not the person's fault,
    so nothing is counted and nobody needs to unlock anything."""

    def __init__(self, wait: dt.timedelta) -> None:
        self.wait = wait
        ServiceError.__init__(self, f"Trop de connexions en cours : réessayez {wait_text(wait)}.")


def wait_text(wait: dt.timedelta) -> str:
    """« dans 30 secondes », « dans 2 minutes »: rounded up, never « dans 0 seconde »."""
    seconds = max(1, int(wait.total_seconds() + 0.999))
    if seconds < 90:
        return "dans " + french.plural(seconds, "seconde")
    return "dans " + french.plural(-(-seconds // 60), "minute")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def account_digest(email: str) -> str:
    """What ties every counter of an account together, for an administrator's unlock."""
    return digest("titulaire", email.strip().lower())


def delay(failures: int, limit: int) -> dt.timedelta:
    """No wait below the limit; from the limit on, 30 s doubling up to 15 min."""
    if failures < limit:
        return dt.timedelta(0)
    factor: int = 2 ** min(failures - limit, 20)
    return min(FIRST_DELAY * factor, LONGEST_DELAY)


async def take_turn(key: str, account: str | None, limit: Limit) -> dt.timedelta | None:
    """Count one attempt on the counter; None when it may go on, else how long to wait."""
    for _ in range(ROUNDS):
        # On SQLite the write transaction already takes turns; on PostgreSQL the version
        # compared in the update does (another attempt's update makes this one match no row).
        async with write_transaction():
            outcome = await _one_round(key, account, limit)
        if outcome is not _AGAIN:
            return outcome
    return FIRST_DELAY


_AGAIN = dt.timedelta(-1)


async def _one_round(key: str, account: str | None, limit: Limit) -> dt.timedelta | None:
    now = _now()
    row = await SignInThrottle.select().where(SignInThrottle.key == key).first().run()
    if row is None:
        await _create(key, account, now)
        return _AGAIN
    # A wait holds only from the limit on (`delay`): below it ``next_allowed_at`` is the time
    # of the last attempt, which an attempt counted at the same moment — on a clock read a
    # little earlier, or on another host's — would otherwise take for a delay.
    if row["failures"] >= limit.failures and row["next_allowed_at"] > now:
        wait: dt.timedelta = row["next_allowed_at"] - now
        return wait
    failures = row["failures"] if now - row["updated_at"] < FORGET_AFTER else 0
    taken = await (
        SignInThrottle.update(
            {
                SignInThrottle.failures: failures + 1,
                SignInThrottle.next_allowed_at: now + delay(failures + 1, limit.failures),
                SignInThrottle.updated_at: now,
                SignInThrottle.version: row["version"] + 1,
            }
        )
        .where((SignInThrottle.key == key) & (SignInThrottle.version == row["version"]))
        .returning(SignInThrottle.id)
        .run()
    )
    return None if taken else _AGAIN


async def _create(key: str, account: str | None, now: dt.datetime) -> None:
    await (
        SignInThrottle.insert(
            SignInThrottle(key=key, account=account, next_allowed_at=now, updated_at=now)
        )
        .on_conflict(action="DO NOTHING")
        .run()
    )


async def succeeded(key: str, known: bool = False) -> None:
    """A right password: the counter starts again; ``known`` marks the address as usual."""
    values: dict[Column | str, Any] = {
        SignInThrottle.failures: 0,
        SignInThrottle.next_allowed_at: _now(),
        SignInThrottle.version: SignInThrottle.version + 1,
    }
    if known:
        values[SignInThrottle.succeeded_at] = _now()
    await SignInThrottle.update(values).where(SignInThrottle.key == key).run()


async def refund(key: str, limit: Limit) -> None:
    """Take back the attempt counted before a right password; no delay below the limit."""
    async with write_transaction():
        await (
            SignInThrottle.update(
                {
                    SignInThrottle.failures: SignInThrottle.failures - 1,
                    SignInThrottle.version: SignInThrottle.version + 1,
                }
            )
            .where((SignInThrottle.key == key) & (SignInThrottle.failures > 0))
            .run()
        )
        await (
            SignInThrottle.update({SignInThrottle.next_allowed_at: _now()})
            .where(
                (SignInThrottle.key == key)
                & (SignInThrottle.failures < limit.failures)
                & (SignInThrottle.next_allowed_at > _now())
            )
            .run()
        )


async def usual_address(key: str) -> bool:
    row = (
        await SignInThrottle.select(SignInThrottle.succeeded_at)
        .where(SignInThrottle.key == key)
        .first()
        .run()
    )
    return bool(row and row["succeeded_at"] and _now() - row["succeeded_at"] < KNOWN_ADDRESS_FOR)


# Every attempt at a made-up address leaves a row: about one attempt in a hundred deletes the
# rows that no longer mean anything, so the table stays the size of the recent activity.
PURGE_CHANCE = 0.01


async def purge_stale() -> int:
    """Delete the counters quiet for an hour (their count would start again from zero) that
    do not remember a sign-in of the last 30 days; returns how many."""
    now = _now()
    async with write_transaction():
        rows = await (
            SignInThrottle.delete()
            .where(
                (SignInThrottle.updated_at < now - FORGET_AFTER)
                & (SignInThrottle.next_allowed_at < now)
                & (
                    SignInThrottle.succeeded_at.is_null()
                    | (SignInThrottle.succeeded_at < now - KNOWN_ADDRESS_FOR)
                )
            )
            .returning(SignInThrottle.id)
            .run()
        )
    return len(rows)


# ----- signing in ------------------------------------------------------------------------------


def _keys(email: str, address: str) -> tuple[str, str, str, str]:
    email = email.strip().lower()
    account = account_digest(email)
    pair = digest(ACCOUNT_FROM_ADDRESS.kind, email, address)
    return account, pair, digest(ADDRESS.kind, address), digest(ACCOUNT.kind, email)


async def before_sign_in(email: str, address: str) -> None:
    """Count a sign-in attempt on each of its counters, or refuse it (``TooManyAttempts``)."""
    if random.random() < PURGE_CHANCE:
        await purge_stale()
    account, pair, by_address, by_account = _keys(email, address)
    turns = [(by_address, None, ADDRESS), (pair, account, ACCOUNT_FROM_ADDRESS)]
    if not await usual_address(pair):
        turns.append((by_account, account, ACCOUNT))
    for key, owner, limit in turns:
        wait = await take_turn(key, owner, limit)
        if wait is not None:
            raise TooManyAttempts("de connexion", wait)


async def after_sign_in(email: str, address: str) -> None:
    """The password was right: the account's counters start again, the address is usual.
    The address's own counter only gives this attempt back: signing in to one's own account
    must not wipe the failures on the others, nor must a whole office behind one address add
    up to a delay by signing in."""
    _account, pair, by_address, by_account = _keys(email, address)
    await succeeded(pair, known=True)
    await succeeded(by_account)
    await refund(by_address, ADDRESS)


# ----- changing one's password -----------------------------------------------------------------


def _password_key(user_id: int) -> str:
    return digest(PASSWORD_CHANGE.kind, str(user_id))


async def before_password_check(user_id: int, email: str) -> None:
    wait = await take_turn(_password_key(user_id), account_digest(email), PASSWORD_CHANGE)
    if wait is not None:
        raise TooManyAttempts("avec le mot de passe actuel", wait)


async def after_password_check(user_id: int) -> None:
    await succeeded(_password_key(user_id))


# ----- administrators ------------------------------------------------------------------------


async def unlock(email: str) -> int:
    """Every counter of the account starts again at once; returns how many were slowing it."""
    now = _now()
    rows = (
        await SignInThrottle.update(
            {
                SignInThrottle.failures: 0,
                SignInThrottle.next_allowed_at: now,
                SignInThrottle.version: SignInThrottle.version + 1,
            }
        )
        .where(
            (SignInThrottle.account == account_digest(email))
            & ((SignInThrottle.next_allowed_at > now) | (SignInThrottle.failures > 0))
        )
        .returning(SignInThrottle.id)
        .run()
    )
    return len(rows)


async def slowed_accounts(emails: list[str]) -> dict[str, dt.datetime]:
    """The accounts among ``emails`` whose sign-in is waiting, with when it may resume."""
    digests = {account_digest(email): email for email in emails}
    if not digests:
        return {}
    rows = (
        await SignInThrottle.select(SignInThrottle.account, SignInThrottle.next_allowed_at)
        .where(
            SignInThrottle.account.is_in(list(digests)) & (SignInThrottle.next_allowed_at > _now())
        )
        .run()
    )
    slowed: dict[str, dt.datetime] = {}
    for row in rows:
        email = digests[row["account"]]
        slowed[email] = max(row["next_allowed_at"], slowed.get(email, row["next_allowed_at"]))
    return slowed
