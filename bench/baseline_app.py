"""Baseline for bench/api_latency.py: the least a server can do to answer the same JSON.

Same framework (Litestar), same authentication middleware, same database engine; each list
is one raw SQL query (page, axes and total together; the total as a scalar subquery, which both
engines compute faster than a window function over the whole result). Started as `python baseline_app.py PORT`
with the same MAILLAGE_* environment as `maillage serve`.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from litestar import Litestar, get
from litestar.middleware.base import DefineMiddleware

from maillage import db
from maillage.settings import load_settings
from maillage.web.security import TokenAuthenticationMiddleware

ORGANISATION_COLUMNS = (
    "o.id, o.version, o.created_at, o.updated_at, o.name, o.kind, o.category, o.parent, o.siret, "
    "o.siren, o.rna, o.uai, o.address, o.commune, o.email, o.phone, o.website, o.notes, o.archived"
)
CONTACT_COLUMNS = (
    "c.id, c.version, c.created_at, c.updated_at, c.first_name, c.last_name, c.civility, c.email, "
    "c.phone, c.commune, c.notes, c.legal_basis, c.consent_date, c.mailing_opt_out, c.archived"
)


def axes_expression(link: str, owner: str, alias: str) -> str:
    if db.is_sqlite():
        return f"(SELECT group_concat(axis) FROM {link} WHERE {owner} = {alias}.id) AS axes"
    return f"(SELECT string_agg(axis::text, ',') FROM {link} WHERE {owner} = {alias}.id) AS axes"


def page(records: list[Any], limit: int, offset: int) -> dict[str, Any]:
    rows = [dict(record) for record in records]  # asyncpg gives Record objects
    total = rows[0]["total"] if rows else 0
    for row in rows:
        del row["total"]
        row["axes"] = sorted(int(a) for a in row["axes"].split(",")) if row["axes"] else []
        row["archived"] = bool(row["archived"])
    return {"items": rows, "total": total, "limit": limit, "offset": offset}


@get("/api/v1/organisations")
async def organisations(q: str, axis: int, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    sql = (
        f"SELECT {ORGANISATION_COLUMNS}, {axes_expression('organisation_axis', 'organisation', 'o')}, "
        "(SELECT COUNT(*) FROM organisation t WHERE t.archived = {} AND t.search LIKE {} "
        "AND t.id IN (SELECT organisation FROM organisation_axis WHERE axis = {})) AS total "
        "FROM organisation o "
        "WHERE o.archived = {} AND o.search LIKE {} "
        "AND o.id IN (SELECT organisation FROM organisation_axis WHERE axis = {}) "
        "ORDER BY o.name, o.id LIMIT {} OFFSET {}"
    )
    pattern = f"%{q.lower()}%"
    rows = await db.current_engine().run_querystring(
        _querystring(sql, False, pattern, axis, False, pattern, axis, limit, offset)
    )
    return page(rows, limit, offset)


@get("/api/v1/contacts")
async def contacts(limit: int = 50, offset: int = 0) -> dict[str, Any]:
    sql = (
        f"SELECT {CONTACT_COLUMNS}, {axes_expression('contact_axis', 'contact', 'c')}, "
        "(SELECT COUNT(*) FROM contact t WHERE t.archived = {}) AS total "
        "FROM contact c WHERE c.archived = {} "
        "ORDER BY c.last_name, c.id LIMIT {} OFFSET {}"
    )
    rows = await db.current_engine().run_querystring(_querystring(sql, False, False, limit, offset))
    return page(rows, limit, offset)


def _querystring(template: str, *values: Any):
    from piccolo.querystring import QueryString

    return QueryString(template, *values)


@get("/healthz", exclude_from_auth=True)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def connect() -> None:
    await db.connect(load_settings().database_url)
    await db.start_pool()


app = Litestar(
    route_handlers=[organisations, contacts, healthz],
    on_startup=[connect],
    on_shutdown=[db.close_pool],
    middleware=[DefineMiddleware(TokenAuthenticationMiddleware, exclude=[r"^/healthz$"])],
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info")
