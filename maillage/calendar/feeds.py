"""Subscribable feeds: which meetings each one holds, its validators, and its secret tokens.

A feed is answered twice as often as it changes, so its ``ETag`` comes from a few aggregate
queries (count, sums of ids and versions, latest change) instead of from the rendered body: a
304 never builds the calendar. Deleting a meeting changes the count and the id sum; editing one
bumps its version; renaming a body or an axis (they appear in SUMMARY and CATEGORIES) changes
their sums too.

Feed tokens are 256-bit random strings stored as SHA-256 hashes, like API tokens: the URL is the
permission, revoking the token kills the URL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from piccolo.query.functions.aggregate import Count, Max, Sum
from piccolo.querystring import QueryString

from maillage import __version__
from maillage.actor import Actor
from maillage.calendar import service
from maillage.calendar.events import build_calendar, serialize
from maillage.crm import audit, caches, reach
from maillage.crm import scope as territory_scope
from maillage.crm.auth import hash_token
from maillage.crm.registry import scoped
from maillage.db import Prepared, read_statement, read_transaction, write_transaction
from maillage.errors import InvalidData, NotFound
from maillage.settings import Settings
from maillage.tables import (
    Contact,
    FeedToken,
    Invitation,
    Meeting,
    Membership,
    Territory,
    User,
    WorkingGroup,
)

FEED_TOKEN_PREFIX = "mlf_"
FEED_WINDOW = dt.timedelta(days=365)  # past 12 months, and all the future
SCOPES = {"contact": "Contact", "group": "Instance", "territory": "Territoire"}


@dataclass(frozen=True, slots=True)
class Feed:
    scope: str  # group, territory (target None: every body), contact
    target_id: int | None
    filename: str
    # The meetings' clause, built at its first read (`where`): a revalidation answered from
    # the validators never reads it (#16: building it was a tenth of a 304's CPU).
    clause: Callable[[], Any]
    window_start: dt.date
    _where: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def where(self) -> Any:
        """The meetings' clause, built once: the validators and the body of a feed answered
        200 both read it."""
        if self._where is None:
            object.__setattr__(self, "_where", self.clause())  # frozen: set once, by itself
        return self._where


@dataclass(frozen=True, slots=True)
class FeedState:
    etag: str
    last_modified: dt.datetime
    # Last-Modified has one-second precision: a change in the same second as the previous one
    # would hide behind it, so If-Modified-Since is trusted only once that second is over.
    settled: bool = True
    empty: bool = False


def _window_start(today: dt.date | None = None) -> dt.date:
    return (today or dt.date.today()) - FEED_WINDOW


def _windowed(clause: Any, start: dt.date) -> Any:
    return _windowed_since(clause, dt.datetime.combine(start, dt.time(), dt.UTC))


def _windowed_since(clause: Any, since: Any) -> Any:
    return clause & (Meeting.ends_at >= since)


# ----- which meetings --------------------------------------------------------------------------
# Building a Feed reads nothing: a conditional request costs the token lookup and the
# validators only. Routes reached by login check that the target exists (``check_target``).


def group_feed(group_id: int) -> Feed:
    start = _window_start()
    clause = lambda: _windowed(Meeting.working_group == group_id, start)  # noqa: E731
    return Feed("group", group_id, f"instance-{group_id}.ics", clause, start)


def territory_feed(territory_id: int | None = None) -> Feed:
    """Every body's meetings, or those of one territory's bodies."""
    start = _window_start()
    if territory_id is None:
        every = lambda: _windowed(Meeting.id > 0, start)  # noqa: E731
        return Feed("territory", None, "territoire.ics", every, start)

    def clause() -> Any:
        groups = WorkingGroup.select(WorkingGroup.id).where(WorkingGroup.territory == territory_id)
        return _windowed(Meeting.working_group.is_in(groups), start)

    return Feed("territory", territory_id, f"territoire-{territory_id}.ics", clause, start)


def contact_feed(contact_id: int) -> Feed:
    """« Mes réunions »: meetings the person is invited to, and those of bodies they sit on."""
    today = dt.date.today()
    start = _window_start(today)

    def clause() -> Any:
        invited = Invitation.select(Invitation.meeting).where(Invitation.contact == contact_id)
        member_of = Membership.select(Membership.working_group).where(
            (Membership.contact == contact_id)
            & (Membership.end_date.is_null() | (Membership.end_date >= today))
        )
        held = Meeting.id.is_in(invited) | Meeting.working_group.is_in(member_of)
        return _windowed(held, start)

    return Feed("contact", contact_id, f"mes-reunions-{contact_id}.ics", clause, start)


_TARGETS = {"group": WorkingGroup, "territory": Territory, "contact": Contact}


async def check_target(feed: Feed) -> None:
    if feed.target_id is None:
        return
    table = _TARGETS[feed.scope]
    exists = table.exists()
    if table is WorkingGroup:
        exists = scoped(exists, "groups")  # another territory's body does not exist (#20)
    if not await exists.where(table.id == feed.target_id):
        raise NotFound(SCOPES[feed.scope], feed.target_id)


async def feed_name(feed: Feed) -> str:
    """X-WR-CALNAME, the name calendar applications show for the subscription."""
    if feed.scope == "group":
        row = (
            await WorkingGroup.select(WorkingGroup.name)
            .where(WorkingGroup.id == feed.target_id)
            .first()
        )
        return row["name"] if row else "Instance"
    if feed.scope == "contact":
        row = (
            await Contact.select(Contact.first_name, Contact.last_name)
            .where(Contact.id == feed.target_id)
            .first()
        )
        who = f" — {row['first_name']} {row['last_name']}" if row else ""
        return f"Mes réunions CTG{who}"
    if feed.target_id is None:
        return "Réunions de la CTG"
    row = await Territory.select(Territory.name).where(Territory.id == feed.target_id).first()
    return f"Réunions de la CTG — {row['name']}" if row else "Réunions de la CTG"


async def user_contact(actor: Actor) -> int:
    row = None
    if actor.user_id is not None:
        row = await User.select(User.contact).where(User.id == actor.user_id).first()
    if row is None or row["contact"] is None:
        raise NotFound("Fiche contact liée à votre compte", actor.name)
    contact: int = row["contact"]
    return contact


def _feed_of(scope: str, target_id: int | None) -> Feed:
    if scope == "contact":
        assert target_id is not None
        return contact_feed(target_id)
    if scope == "group":
        assert target_id is not None
        return group_feed(target_id)
    return territory_feed(target_id)


# ----- validators and body ---------------------------------------------------------------------

# Bodies and axes are few: their state and the latest meeting deletion are scalar subqueries
# read in the same statement as the feed's meeting aggregates (#16: one statement, not two).
_SHARED_STATE = {
    "groups_n": "(SELECT count(*) FROM working_group)",
    "groups_ids": "(SELECT sum(id) FROM working_group)",
    "groups_versions": "(SELECT sum(version) FROM working_group)",
    "groups_latest": "(SELECT max(updated_at) FROM working_group)",
    "axes_n": "(SELECT count(*) FROM axis)",
    "axes_ids": "(SELECT sum(id) FROM axis)",
    "axes_versions": "(SELECT sum(version) FROM axis)",
    "axes_latest": "(SELECT max(updated_at) FROM axis)",
    "deleted_latest": "(SELECT max(occurred_at) FROM audit_event "
    "WHERE entity = 'meeting' AND action = 'delete')",
}
_BODY_CACHE: OrderedDict[tuple[str, str], bytes] = OrderedDict()
_BODY_CACHE_SIZE = 16
# A personal feed's body names its person: an erasure drops every kept body.
caches.on_erasure(_BODY_CACHE.clear)


def _as_datetime(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    moment: dt.datetime = (
        dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    )  # aggregates come back as text on SQLite
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _aggregates() -> Any:
    return Meeting.select(
        Count(alias="n"),
        Sum(Meeting.id, alias="ids"),
        Sum(Meeting.version, alias="versions"),
        Max(Meeting.updated_at, alias="latest"),
        *(QueryString(sql).as_alias(name) for name, sql in _SHARED_STATE.items()),
    )


# The validators' statement of the subscribed feeds of a body and of the whole territory,
# built once (#16: building and compiling the select was 40 % of a revalidation's CPU); the
# clause is the one `group_feed` and `territory_feed` give, the values go in as arguments.
_STATE_OF = {
    "group": Prepared(
        lambda group, since: _aggregates().where(
            _windowed_since(Meeting.working_group == group, since)
        )
    ),
    "territory": Prepared(
        lambda since: _aggregates().where(_windowed_since(Meeting.id > 0, since))
    ),
}


def _state_query(feed: Feed) -> Any:
    """The validators' query of ``feed``: prepared for a body's or the territory's feed when
    no user's scope narrows it (the secret-token links), built otherwise."""
    scope = territory_scope.current()
    since = dt.datetime.combine(feed.window_start, dt.time(), dt.UTC)
    if scope is None and feed.scope == "group":
        return _STATE_OF["group"](feed.target_id, since)
    if scope is None and feed.scope == "territory" and feed.target_id is None:
        return _STATE_OF["territory"](since)
    return scoped(_aggregates(), "meetings").where(feed.where)


async def feed_state(feed: Feed, settings: Settings) -> FeedState:
    """Validators of a feed from aggregates: one statement, no rendering."""
    return _state_of(feed, settings, (await _state_query(feed))[0])


def _state_of(feed: Feed, settings: Settings, meetings: Any) -> FeedState:
    """The validators from the aggregates' row (`_aggregates`' columns, by name)."""
    shared = {name: meetings[name] for name in _SHARED_STATE}
    parts = [__version__, settings.base_url, settings.mail_from, feed.filename, feed.window_start]
    parts += [meetings[key] for key in ("n", "ids", "versions", "latest")]
    parts += [shared[key] for key in sorted(shared)]
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    moments = [
        _as_datetime(value)
        for value in (
            meetings["latest"],
            shared["groups_latest"],
            shared["axes_latest"],
            shared["deleted_latest"],
        )
    ]
    latest = max(
        (m for m in moments if m is not None), default=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    now = dt.datetime.now(dt.UTC)
    # A row stamped ahead of the clock (an import, a demo dated ahead, a skewed host) must not
    # make the feed claim a future Last-Modified (RFC 9110 §8.8.2.1); If-Modified-Since is
    # trusted only once the latest change is a second in the past, so the ETag decides then.
    settled = now - latest > dt.timedelta(seconds=1)
    shown = min(latest, now).replace(microsecond=0)
    return FeedState(f'"{digest}"', shown, settled, meetings["n"] == 0)


# A secret link's token and, for a body's feed (the links people subscribe to), its validators
# in one statement read without a transaction (#16: a revalidation answered 304 was a read
# transaction of two statements, three thread hops on SQLite; now one). The aggregates are
# those of `_STATE_OF["group"]` (the same SQL, the same values, the same ETag); for a token of
# another scope the body is NULL, the aggregates read no row, and `token_feed_state` reads the
# validators of that feed next.
_TOKEN_STATE_SQL = (
    "WITH token AS (SELECT scope, target_id FROM feed_token "
    "WHERE token_hash = ? AND revoked_at IS NULL LIMIT 1) "
    "SELECT token.scope, token.target_id, state.* FROM token, ("
    "SELECT count(*) AS n, sum(id) AS ids, sum(version) AS versions, max(updated_at) AS latest, "
    + ", ".join(f"{sql} AS {name}" for name, sql in _SHARED_STATE.items())
    + " FROM meeting WHERE working_group = "
    "(SELECT target_id FROM token WHERE scope = 'group') AND ends_at >= ?) AS state"
)


async def token_feed_state(token: str, settings: Settings) -> tuple[Feed, FeedState] | None:
    """The feed a secret link opens and its validators; None for an unknown or revoked token."""
    start = _window_start()
    since = dt.datetime.combine(start, dt.time(), dt.UTC)
    rows = await read_statement(_TOKEN_STATE_SQL, [hash_token(token), since])
    if not rows:
        return None
    row = rows[0]
    feed = _feed_of(row["scope"], row["target_id"])
    if feed.scope == "group" and feed.window_start == start and territory_scope.current() is None:
        return feed, _state_of(feed, settings, row)
    async with read_transaction():  # another scope (or midnight came between the two dates)
        return feed, await feed_state(feed, settings)


async def feed_body(feed: Feed, settings: Settings, state: FeedState | None = None) -> bytes:
    """The calendar; kept for its ETag, since clients that ignore validators poll it too."""
    key = (feed.filename, state.etag) if state is not None else None
    if key is not None and key in _BODY_CACHE:
        _BODY_CACHE.move_to_end(key)
        return _BODY_CACHE[key]
    async with read_transaction():
        name = await feed_name(feed)
        rows = await service.meeting_rows(feed.where)
        events = await service.events_for(rows, settings)
    body = serialize(build_calendar(events, name=name))
    if key is not None:
        _BODY_CACHE[key] = body
        while len(_BODY_CACHE) > _BODY_CACHE_SIZE:
            _BODY_CACHE.popitem(last=False)
    return body


# ----- tokens ----------------------------------------------------------------------------------


async def create_token(actor: Actor, scope: str, target_id: int | None) -> tuple[str, int]:
    """A new secret feed URL; only its hash is kept, so the token is shown once."""
    if scope not in SCOPES:
        raise InvalidData.one("scope", "Portée inconnue : contact, group ou territory.")
    if scope != "territory" and target_id is None:
        raise InvalidData.one("target_id", f"Indiquez l'identifiant ({SCOPES[scope]}).")
    if scope != "contact" or target_id is not None:
        await _check_target(scope, target_id)
    token = FEED_TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with write_transaction():
        result = await FeedToken.insert(
            FeedToken(scope=scope, target_id=target_id, token_hash=hash_token(token))
        ).run()
        token_id = result[0]["id"]
        await audit.record(
            actor, "create", "feed_token", token_id, {"scope": scope, "target_id": target_id}
        )
    return token, token_id


async def _check_target(scope: str, target_id: int | None) -> None:
    """The target exists for the user (#20): another territory, or a body of another
    territory, is as unknown as a number that never existed."""
    if target_id is None:
        if reach.portfolio() is not None:  # « every body » spans every territory
            raise InvalidData.one(
                "target_id", "Indiquez le territoire du lien : un de ceux de votre compte."
            )
        return
    table = {"contact": Contact, "group": WorkingGroup, "territory": Territory}[scope]
    exists = table.exists()
    if table is WorkingGroup:
        exists = scoped(exists, "groups")
    portfolio = reach.portfolio()
    hidden = table is Territory and portfolio is not None and target_id not in portfolio
    if hidden or not await exists.where(table.id == target_id):
        raise InvalidData.one("target_id", f"{SCOPES[scope]} n° {target_id} introuvable.")


def _visible_tokens() -> Any:
    """The secret links a user limited to territories manages (#20): those of their bodies
    and of their territories; personal links (« mes réunions ») are their holders'."""
    portfolio = reach.portfolio()
    if portfolio is None:
        return None
    groups = scoped(WorkingGroup.select(WorkingGroup.id), "groups")
    return ((FeedToken.scope == "group") & FeedToken.target_id.is_in(groups)) | (
        (FeedToken.scope == "territory") & FeedToken.target_id.is_in(portfolio or [0])
    )


async def revoke_token(actor: Actor, token_id: int, *, own: bool = False) -> None:
    """Revoke a link the user manages, or (``own``) one of their own personal links."""
    query = FeedToken.select(FeedToken.revoked_at).where(FeedToken.id == token_id)
    visible = None if own else _visible_tokens()
    row = await (query if visible is None else query.where(visible)).first()
    if row is None:
        raise NotFound("Lien d'abonnement", token_id)
    if row["revoked_at"] is not None:
        return
    async with write_transaction():
        await FeedToken.update({FeedToken.revoked_at: dt.datetime.now(dt.UTC)}).where(
            FeedToken.id == token_id
        )
        await audit.record(actor, "revoke", "feed_token", token_id, {})


async def own_tokens(actor: Actor) -> list[dict[str, Any]]:
    """The live « my meetings » links of the contact card the user is linked to."""
    contact = await user_contact(actor)
    rows = await _tokens("contact", contact, None)
    return [row for row in rows if row["revoked_at"] is None]


async def revoke_own_token(actor: Actor, token_id: int) -> None:
    """Revoke one of the user's own links; another person's link is « not found » to them."""
    if token_id not in {row["id"] for row in await own_tokens(actor)}:
        raise NotFound("Lien d'abonnement", token_id)
    await revoke_token(actor, token_id, own=True)


async def renew_own_token(actor: Actor, replace: bool) -> str:
    """A new « my meetings » link; with ``replace``, the user's older links stop working
    (a lost phone, a link shared by mistake)."""
    contact = await user_contact(actor)
    if replace:
        for row in await own_tokens(actor):
            await revoke_token(actor, row["id"], own=True)
    token, _ = await create_token(actor, "contact", contact)
    return token


async def list_tokens(scope: str | None, target_id: int | None) -> list[dict[str, Any]]:
    """The links the user manages (#20: those of their bodies and territories when scoped)."""
    return await _tokens(scope, target_id, _visible_tokens())


async def _tokens(scope: str | None, target_id: int | None, visible: Any) -> list[dict[str, Any]]:
    query = FeedToken.select(
        FeedToken.id,
        FeedToken.scope,
        FeedToken.target_id,
        FeedToken.created_at,
        FeedToken.revoked_at,
    ).order_by(FeedToken.id)
    if scope is not None:
        query = query.where(FeedToken.scope == scope)
    if target_id is not None:
        query = query.where(FeedToken.target_id == target_id)
    return await (query if visible is None else query.where(visible))


def token_path(token: str) -> str:
    return f"/calendar/feeds/{token}.ics"
