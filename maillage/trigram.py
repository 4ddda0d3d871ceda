"""PostgreSQL: trigram indexes on the search columns (#20).

Every searchable table keeps a folded ``search`` column (`maillage.crm.text`), and a search
matches each word with ``search LIKE '%mot%'``: a B-tree cannot answer that, and an
administrator's search read the whole table (628,000 contacts on the whole country). The
``pg_trgm`` extension's GIN index (``gin_trgm_ops``) can: PostgreSQL takes the trigrams of the
word and reads the rows holding them all, then checks the pattern on each (results identical
with or without it: the index only chooses the rows to check).

``pg_trgm`` is a trusted extension since PostgreSQL 13: the database's owner (the
application's role, README « Mise en production ») creates it without a superuser, which
migration ``2026-12-10T02:00:00`` tries. It may fail (the extension is not installed on the
server, packages ``postgresql-contrib``; the application's role does not own its database):
then the migration goes on, searches read the tables as before, and ``maillage migrate``
says so. Once the server's administrator has run ``CREATE EXTENSION pg_trgm`` in the
database, the next ``maillage migrate`` builds the indexes (`statements`, run after the
migrations like the row-level security policies).

SQLite has no such index: its searches read the table (a territory's data).
"""

from __future__ import annotations

from typing import Any

EXTENSION = "pg_trgm"
SUFFIX = "_search_trgm"

# The extension's schema (none: not created) and the trigram indexes there are.
STATE_QUERY = (
    "SELECT (SELECT extnamespace::regnamespace::text FROM pg_extension "
    f"WHERE extname = '{EXTENSION}') AS schema, ARRAY(SELECT indexname::text FROM pg_indexes "
    f"WHERE schemaname = 'public' AND indexname LIKE '%{SUFFIX}') AS indexes"
)


def index_name(table: str) -> str:
    return f"{table}{SUFFIX}"


def statements(tables: list[str], state: dict[str, Any]) -> list[str]:
    """The ``CREATE INDEX`` of the search columns of ``tables`` that have none yet, from the
    row of `STATE_QUERY`; nothing without the extension."""
    schema = state["schema"]
    if schema is None:
        return []
    existing = set(state["indexes"] or [])
    return [
        f'CREATE INDEX IF NOT EXISTS "{index_name(table)}" ON "{table}" '
        f"USING gin (search {schema}.gin_trgm_ops)"
        for table in tables
        if index_name(table) not in existing
    ]
