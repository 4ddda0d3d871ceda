"""The audit log: every write says who did what to which record, with the changed fields."""

from __future__ import annotations

import datetime as dt
from typing import Any

from maillage.actor import Actor
from maillage.tables import AuditEvent

# Secrets never enter the audit log, even hashed.
_HIDDEN_FIELDS = {"password", "password_hash", "token_hash", "token_nonce", "raw_message"}


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def redact(changes: dict[str, Any]) -> dict[str, Any]:
    return {
        key: "***" if key in _HIDDEN_FIELDS else _plain_pair(value)
        for key, value in changes.items()
    }


def _plain_pair(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return _plain(value)


async def record(
    actor: Actor, action: str, entity: str, entity_id: int | None, changes: dict[str, Any]
) -> None:
    await AuditEvent.insert(
        AuditEvent(
            user=actor.user_id,
            actor=actor.name,
            action=action,
            entity=entity,
            entity_id=entity_id,
            changes=redact(changes),
        )
    ).run()


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Fields whose value changed, as ``{field: [old, new]}``."""
    return {
        key: [before.get(key), value] for key, value in after.items() if before.get(key) != value
    }


async def list_events(
    limit: int,
    offset: int,
    entity: str | None = None,
    entity_id: int | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    where = []
    if entity is not None:
        where.append(AuditEvent.entity == entity)
    if entity_id is not None:
        where.append(AuditEvent.entity_id == entity_id)
    if actor is not None:
        where.append(AuditEvent.actor == actor)
    select = AuditEvent.select().order_by(AuditEvent.id, ascending=False).output(load_json=True)
    count = AuditEvent.count()
    for clause in where:
        select = select.where(clause)
        count = count.where(clause)
    items = await select.limit(limit).offset(offset).run()
    return {"items": items, "total": await count.run(), "limit": limit, "offset": offset}
