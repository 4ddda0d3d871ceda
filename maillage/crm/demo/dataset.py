"""Rows of the demo, table by table, with explicit ids and every derived column filled.

The generator adds rows here; the loader inserts them as they are. A row gets the column
defaults of its table, ``version`` 1, timestamps from the demo's own calendar (never the clock)
and the search column the services would have computed from the same fields.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from piccolo.columns import Timestamptz
from piccolo.table import Table

from maillage.crm.registry import SPECS
from maillage.crm.text import search_text

SEARCH_FIELDS: dict[type[Table], tuple[str, ...]] = {
    spec.table: spec.search_fields for spec in SPECS if spec.search_fields
}
UTC = dt.UTC


def stamp(day: dt.date, hour: int = 9) -> dt.datetime:
    """A record's creation time: ``hour`` o'clock UTC on ``day``."""
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _defaults(table: type[Table]) -> dict[str, Any]:
    values = {}
    for column in table._meta.columns:
        name = column._meta.name
        if name == "id" or isinstance(column, Timestamptz):
            continue
        values[name] = column.get_default_value()
    return values


class Dataset:
    """Rows per table, in insertion order (parents before children)."""

    def __init__(self, first_ids: Mapping[type[Table], int] | None = None) -> None:
        self.rows: dict[type[Table], list[dict[str, Any]]] = {}
        self._next = dict(first_ids or {})
        self._defaults: dict[type[Table], dict[str, Any]] = {}
        self._timestamps: dict[type[Table], list[str]] = {}

    def add(self, table: type[Table], created: dt.date | dt.datetime, **values: Any) -> int:
        if table not in self._defaults:
            self._defaults[table] = _defaults(table)
            self._timestamps[table] = [
                c._meta.name for c in table._meta.columns if isinstance(c, Timestamptz)
            ]
        row_id = self._next.get(table, 1)
        self._next[table] = row_id + 1
        row = {"id": row_id, **self._defaults[table], **values}
        when = created if isinstance(created, dt.datetime) else stamp(created)
        for name in self._timestamps[table]:
            row.setdefault(name, when if name in ("created_at", "updated_at") else None)
        if table in SEARCH_FIELDS:
            row["search"] = search_text(*(row.get(name) for name in SEARCH_FIELDS[table]))
        self.rows.setdefault(table, []).append(row)
        return row_id

    def link(self, table: type[Table], **values: Any) -> int:
        """A pure link row (no timestamps, no version)."""
        return self.add(table, dt.datetime(2000, 1, 1, tzinfo=UTC), **values)

    def count(self, table: type[Table]) -> int:
        return len(self.rows.get(table, []))

    def where(self, table: type[Table], **criteria: Any) -> list[dict[str, Any]]:
        return [
            row
            for row in self.rows.get(table, [])
            if all(row.get(k) == v for k, v in criteria.items())
        ]
