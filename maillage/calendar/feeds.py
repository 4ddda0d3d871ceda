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
from dataclasses import dataclass
from typing import Any

from piccolo.query.functions.aggregate import Count, Max, Sum

from maillage import __version__
from maillage.calendar import service
from maillage.calendar.events import build_calendar, serialize
from maillage.crm import audit
from maillage.crm.actor import Actor
from maillage.crm.auth import hash_token
from maillage.crm.errors import InvalidData, NotFound
from maillage.crm.tables import (
    AuditEvent,
    Axis,
    Contact,
    FeedToken,
    Invitation,
    Meeting,
    Membership,
    Territory,
    User,
    WorkingGroup,
)
from maillage.db import read_transaction, write_transaction
from maillage.settings import Settings

FEED_TOKEN_PREFIX = "mlf_"
FEED_WINDOW = dt.timedelta(days=365)  # past 12 months, and all the future
SCOPES = {"contact": "Contact", "group": "Instance", "territory": "Territoire"}


@dataclass(frozen=True, slots=True)
class Feed:
    name: str
    filename: str
    where: Any
    window_start: dt.date | None


@dataclass(frozen=True, slots=True)
class FeedState:
    etag: str
    last_modified: dt.datetime


def _window_start(today: dt.date | None = None) -> dt.date:
    return (today or dt.date.today()) - FEED_WINDOW


def _windowed(clause: Any, start: dt.date) -> Any:
    since = dt.datetime.combine(start, dt.time(), dt.UTC)
    return clause & (Meeting.ends_at >= since)


# ----- which meetings --------------------------------------------------------------------------


async def group_feed(group_id: int) -> Feed:
    group = await WorkingGroup.select(WorkingGroup.name).where(WorkingGroup.id == group_id).first()
    if group is None:
        raise NotFound("Instance", group_id)
    start = _window_start()
    return Feed(
        name=group["name"],
        filename=f"instance-{group_id}.ics",
        where=_windowed(Meeting.working_group == group_id, start),
        window_start=start,
    )


async def territory_feed(territory_id: int | None = None) -> Feed:
    """Every body's meetings, or those of one territory's bodies."""
    start = _window_start()
    if territory_id is None:
        return Feed("Réunions de la CTG", "territoire.ics", _windowed(Meeting.id > 0, start), start)
    territory = await Territory.select(Territory.name).where(Territory.id == territory_id).first()
    if territory is None:
        raise NotFound("Territoire", territory_id)
    groups = WorkingGroup.select(WorkingGroup.id).where(WorkingGroup.territory == territory_id)
    return Feed(
        f"Réunions de la CTG — {territory['name']}",
        f"territoire-{territory_id}.ics",
        _windowed(Meeting.working_group.is_in(groups), start),
        start,
    )


async def contact_feed(contact_id: int) -> Feed:
    """« Mes réunions »: meetings the person is invited to, and those of bodies they sit on."""
    contact = (
        await Contact.select(Contact.first_name, Contact.last_name)
        .where(Contact.id == contact_id)
        .first()
    )
    if contact is None:
        raise NotFound("Contact", contact_id)
    today = dt.date.today()
    invited = Invitation.select(Invitation.meeting).where(Invitation.contact == contact_id)
    member_of = Membership.select(Membership.working_group).where(
        (Membership.contact == contact_id)
        & (Membership.end_date.is_null() | (Membership.end_date >= today))
    )
    start = _window_start(today)
    clause = Meeting.id.is_in(invited) | Meeting.working_group.is_in(member_of)
    return Feed(
        f"Mes réunions CTG — {contact['first_name']} {contact['last_name']}",
        f"mes-reunions-{contact_id}.ics",
        _windowed(clause, start),
        start,
    )


async def user_contact(actor: Actor) -> int:
    row = None
    if actor.user_id is not None:
        row = await User.select(User.contact).where(User.id == actor.user_id).first()
    if row is None or row["contact"] is None:
        raise NotFound("Fiche contact liée à votre compte", actor.name)
    return row["contact"]


async def feed_for_token(token: str) -> Feed | None:
    row = await (
        FeedToken.select(FeedToken.scope, FeedToken.target_id)
        .where((FeedToken.token_hash == hash_token(token)) & FeedToken.revoked_at.is_null())
        .first()
    )
    if row is None:
        return None
    try:
        if row["scope"] == "contact":
            return await contact_feed(row["target_id"])
        if row["scope"] == "group":
            return await group_feed(row["target_id"])
        return await territory_feed(row["target_id"])
    except NotFound:
        return None


# ----- validators and body ---------------------------------------------------------------------


def _as_datetime(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # aggregates come back as text on SQLite
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def _aggregate(table: Any, where: Any = None) -> dict[str, Any]:
    query = table.select(
        Count(alias="n"),
        Sum(table.id, alias="ids"),
        Sum(table.version, alias="versions"),
        Max(table.updated_at, alias="latest"),
    )
    return (await (query.where(where) if where is not None else query))[0]


async def feed_state(feed: Feed, settings: Settings) -> FeedState:
    """Validators of a feed from aggregates: a handful of index reads, no rendering."""
    meetings = await _aggregate(Meeting, feed.where)
    groups = await _aggregate(WorkingGroup)
    axes = await _aggregate(Axis)
    deleted = await AuditEvent.select(Max(AuditEvent.occurred_at, alias="latest")).where(
        (AuditEvent.entity == "meeting") & (AuditEvent.action == "delete")
    )
    parts = [__version__, settings.base_url, settings.mail_from, feed.name, feed.window_start]
    for row in (meetings, groups, axes):
        parts += [row["n"], row["ids"], row["versions"], row["latest"]]
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    moments = [
        _as_datetime(value)
        for value in (meetings["latest"], groups["latest"], axes["latest"], deleted[0]["latest"])
    ]
    latest = max(
        (m for m in moments if m is not None), default=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    return FeedState(etag=f'"{digest}"', last_modified=latest.replace(microsecond=0))


async def feed_body(feed: Feed, settings: Settings) -> bytes:
    async with read_transaction():
        rows = await service.meeting_rows(feed.where)
        events = await service.events_for(rows, settings)
    return serialize(build_calendar(events, name=feed.name))


# ----- tokens ----------------------------------------------------------------------------------


async def create_token(actor: Actor, scope: str, target_id: int | None) -> tuple[str, int]:
    """A new secret feed URL; only its hash is kept, so the token is shown once."""
    if scope not in SCOPES:
        raise InvalidData.one("scope", "Portée inconnue : contact, group ou territory.")
    if scope != "territory" and target_id is None:
        raise InvalidData.one("target_id", f"Indiquez l'identifiant ({SCOPES[scope]}).")
    if target_id is not None:
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


async def _check_target(scope: str, target_id: int) -> None:
    table = {"contact": Contact, "group": WorkingGroup, "territory": Territory}[scope]
    if not await table.exists().where(table.id == target_id):
        raise InvalidData.one("target_id", f"{SCOPES[scope]} n° {target_id} introuvable.")


async def revoke_token(actor: Actor, token_id: int) -> None:
    row = await FeedToken.select(FeedToken.revoked_at).where(FeedToken.id == token_id).first()
    if row is None:
        raise NotFound("Lien d'abonnement", token_id)
    if row["revoked_at"] is not None:
        return
    async with write_transaction():
        await FeedToken.update({FeedToken.revoked_at: dt.datetime.now(dt.UTC)}).where(
            FeedToken.id == token_id
        )
        await audit.record(actor, "revoke", "feed_token", token_id, {})


async def list_tokens(scope: str | None, target_id: int | None) -> list[dict[str, Any]]:
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
    return await query


def token_path(token: str) -> str:
    return f"/calendar/feeds/{token}.ics"
