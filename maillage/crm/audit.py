"""The audit log: every write says who did what to which record, with the changed fields."""

from __future__ import annotations

import datetime as dt
from typing import Any

from maillage.actor import Actor
from maillage.db import count_rows
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
    count_cap: int | None = None,
) -> dict[str, Any]:
    """The events, latest first, and their total: exact (the API), or with ``count_cap``
    counted up to that many rows, past it ``count_cap + 1`` (the journal page, « plus de
    10 000 », #20: the log grows with every write of the instance)."""
    where: Any = None
    for column, value in (
        (AuditEvent.entity, entity),
        (AuditEvent.entity_id, entity_id),
        (AuditEvent.actor, actor),
    ):
        if value is not None:
            where = column == value if where is None else where & (column == value)
    select = AuditEvent.select().order_by(AuditEvent.id, ascending=False).output(load_json=True)
    if where is not None:
        select = select.where(where)
    items = await select.limit(limit).offset(offset).run()
    total = await count_rows(AuditEvent, where, count_cap)
    return {"items": items, "total": total, "limit": limit, "offset": offset}
