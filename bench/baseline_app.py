"""The floor for bench/api_latency.py and bench/ab.sh: the least this framework can do for the
same answers, with no ORM and no per-query connection.

Same framework (Litestar), same JSON, the same bearer-token check against
``api_token.token_hash`` (SHA-256 of the token, user active, token not revoked), and each list is
one raw SQL query (page, axes and total together). The driver is used directly: one persistent
``sqlite3`` connection (statements run on the event loop: nothing is cheaper in one process) or
an asyncpg pool. The earlier baseline sent its SQL through Piccolo's engine, which on SQLite
opened a new ``aiosqlite`` connection and thread per query, so it paid maillage's tax and hid
it. Started as ``python bench/baseline_app.py PORT`` with the same MAILLAGE_* environment as
``maillage serve``.

Two public routes (#16, 2026-12-06) for the revalidation of a subscribed calendar feed and the
answer link's GET: the same token lookups on the same persistent connection, each in as few
statements as the answer needs. The feed answers 304 when ``If-None-Match`` holds the ETag of
its validators (count, id and version sums and latest change of the feed's meetings, and the
same of bodies and axes, in one statement); any other request gets the ETag with an empty
calendar (benchmarks send the ETag: the 304 is what is measured). The answer page checks the
link's signature and reads invitation, person, meeting and body in one statement, then renders
maillage's own template with maillage's own context (it skips the replacement colleagues that
maillage looks up for a titulaire: the floor is lower, not higher).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import sys
from email.utils import format_datetime
from typing import Any

import asyncpg
import uvicorn
from litestar import Litestar, Request, Response, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.base import DefineMiddleware
from litestar.response import Template
from litestar.template.config import TemplateConfig

from maillage.folding import COLLATION, FrenchConnection
from maillage.mailing import tokens
from maillage.mailing.answers import AnswerPage
from maillage.mailing.invitations import person_name
from maillage.mailing.messages import MeetingInfo
from maillage.settings import load_settings
from maillage.web import access_log
from maillage.web.answers import _answer_context, _render
from maillage.web.app import _template_engine
from maillage.web.headers import security_headers

ORGANISATION_COLUMNS = (
    "o.id, o.version, o.created_at, o.updated_at, o.name, o.kind, o.category, o.parent, o.siret, "
    "o.siren, o.rna, o.uai, o.address, o.commune, o.email, o.phone, o.website, o.notes, "
    "o.territory, o.archived, o.source"
)
CONTACT_COLUMNS = (
    "c.id, c.version, c.created_at, c.updated_at, c.first_name, c.last_name, c.civility, c.email, "
    "c.phone, c.commune, c.notes, c.legal_basis, c.consent_date, c.mailing_opt_out, c.territory, "
    "c.archived, c.email_bounced_at, c.email_bounce_reason, c.source"
)
# The columns maillage's lists give, in its order: the floor answers the same JSON, byte for
# byte (bench/ab.sh compares the bodies). Until 2026-12-07 it left out four of the contact's
# and two of the organisation's and gave SQLite's timestamps as stored: a lighter answer (#16).
TIMESTAMPS = ("created_at", "updated_at", "email_bounced_at")
TOKEN_SQL = (
    'SELECT u.id, u.email, u.role FROM api_token t JOIN app_user u ON u.id = t."user" '
    "WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.active LIMIT 1"
)


class Driver:
    """One persistent ``sqlite3`` connection, or an asyncpg pool; ``?`` placeholders."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite: sqlite3.Connection | None = None
        self.pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        if self.url.startswith("sqlite:///"):
            # The French collation, as maillage's lists sort: the same answer, in the same order.
            self.sqlite = sqlite3.connect(
                self.url.removeprefix("sqlite:///"), timeout=30, factory=FrenchConnection
            )
            self.sqlite.row_factory = sqlite3.Row
            self.sqlite.execute("PRAGMA query_only = 1")
        else:
            dsn = self.url.replace("postgres://", "postgresql://", 1)
            self.pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10)

    async def stop(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        if self.pool is not None:
            await self.pool.close()

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        if self.sqlite is not None:
            return self.sqlite.execute(sql, args).fetchall()
        assert self.pool is not None
        parts = sql.split("?")
        numbered = "".join(f"{p}${n}" for n, p in enumerate(parts[:-1], 1)) + parts[-1]
        return await self.pool.fetch(numbered, *args)

    def axes(self, link: str, owner: str, alias: str) -> str:
        if self.sqlite is not None:
            return f"(SELECT group_concat(axis) FROM {link} WHERE {owner} = {alias}.id) AS axes"
        return (
            f"(SELECT string_agg(axis::text, ',') FROM {link} WHERE {owner} = {alias}.id) AS axes"
        )


SETTINGS = load_settings()
DRIVER = Driver(SETTINGS.database_url)
FEED_TOKEN_SQL = (
    "SELECT scope, target_id FROM feed_token WHERE token_hash = ? AND revoked_at IS NULL LIMIT 1"
)
FEED_STATE_SQL = (
    "SELECT count(*) AS n, sum(id) AS ids, sum(version) AS versions, max(updated_at) AS latest, "
    "(SELECT count(*) FROM working_group) AS groups_n, "
    "(SELECT sum(id) FROM working_group) AS groups_ids, "
    "(SELECT sum(version) FROM working_group) AS groups_versions, "
    "(SELECT max(updated_at) FROM working_group) AS groups_latest, "
    "(SELECT count(*) FROM axis) AS axes_n, (SELECT sum(id) FROM axis) AS axes_ids, "
    "(SELECT sum(version) FROM axis) AS axes_versions, "
    "(SELECT max(updated_at) FROM axis) AS axes_latest, "
    "(SELECT max(occurred_at) FROM audit_event "
    "WHERE entity = 'meeting' AND action = 'delete') AS deleted_latest "
    "FROM meeting WHERE {where} AND ends_at >= ?"
)
ANSWER_SQL = (
    "SELECT i.token_nonce, i.response, i.answered_at, c.first_name, c.last_name, "
    "m.id AS meeting_id, m.ical_uid, m.ical_sequence, m.title, m.starts_at, m.ends_at, "
    "m.location, m.video_url, m.agenda, m.status, m.minutes, "
    "g.name AS group_name, g.kind AS group_kind, "
    # Whether the person holds a titulaire's seat in the body (maillage then looks up who may
    # stand in): the same question maillage asks, in the same statement (#16).
    "(SELECT count(*) FROM membership held WHERE held.contact = i.contact "
    "AND held.working_group = m.working_group AND held.role = 'titulaire') AS titulaire_seats "
    "FROM invitation i JOIN contact c ON c.id = i.contact JOIN meeting m ON m.id = i.meeting "
    "LEFT JOIN working_group g ON g.id = m.working_group WHERE i.id = ?"
)


class TokenCheck(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        scheme, _, token = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("Jeton d'accès requis.")
        digest = hashlib.sha256(token.strip().encode()).hexdigest()
        rows = await DRIVER.fetch(TOKEN_SQL, digest)
        if not rows:
            raise NotAuthorizedException("Jeton d'accès inconnu, révoqué ou compte désactivé.")
        return AuthenticationResult(user=dict(rows[0]), auth=token)


def page(records: list[Any], limit: int, offset: int) -> dict[str, Any]:
    rows = [dict(record) for record in records]
    total = rows[0]["total"] if rows else 0
    for row in rows:
        del row["total"]
        row["axes"] = sorted(int(a) for a in row["axes"].split(",")) if row["axes"] else []
        for flag in ("archived", "mailing_opt_out"):
            if flag in row:
                row[flag] = bool(row[flag])
        for moment in TIMESTAMPS:
            value = row.get(moment)
            if isinstance(value, str):
                # SQLite holds ``str(datetime)`` (« 2019-01-01 09:00:00+00:00 »), UTC: the text
                # msgspec writes for that datetime is the same with « T » and « Z », and
                # rewriting it costs less than parsing it (asyncpg gives datetimes already).
                row[moment] = value.replace(" ", "T", 1).replace("+00:00", "Z")
    return {"items": rows, "total": total, "limit": limit, "offset": offset}


@get("/api/v1/organisations")
async def organisations(q: str, axis: int, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    sql = (
        f"SELECT {ORGANISATION_COLUMNS}, {DRIVER.axes('organisation_axis', 'organisation', 'o')}, "
        "(SELECT COUNT(*) FROM organisation t WHERE t.archived = ? AND t.search LIKE ? "
        "AND t.id IN (SELECT organisation FROM organisation_axis WHERE axis = ?)) AS total "
        "FROM organisation o "
        "WHERE o.archived = ? AND o.search LIKE ? "
        "AND o.id IN (SELECT organisation FROM organisation_axis WHERE axis = ?) "
        f'ORDER BY o.name COLLATE "{COLLATION}", o.id LIMIT ? OFFSET ?'
    )
    pattern = f"%{q.lower()}%"
    rows = await DRIVER.fetch(sql, False, pattern, axis, False, pattern, axis, limit, offset)
    return page(rows, limit, offset)


@get("/api/v1/contacts")
async def contacts(limit: int = 50, offset: int = 0) -> dict[str, Any]:
    sql = (
        f"SELECT {CONTACT_COLUMNS}, {DRIVER.axes('contact_axis', 'contact', 'c')}, "
        "(SELECT COUNT(*) FROM contact t WHERE t.archived = ?) AS total "
        "FROM contact c WHERE c.archived = ? "
        f'ORDER BY c.last_name COLLATE "{COLLATION}", c.id LIMIT ? OFFSET ?'
    )
    rows = await DRIVER.fetch(sql, False, False, limit, offset)
    return page(rows, limit, offset)


_EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _moment(value: Any) -> Any:
    if isinstance(value, str):  # SQLite keeps timestamps as text
        value = dt.datetime.fromisoformat(value)
    return value


@get("/calendar/feeds/{filename:str}", exclude_from_auth=True)
async def feed(request: Request, filename: str) -> Response:
    token = filename.removesuffix(".ics")
    found = await DRIVER.fetch(FEED_TOKEN_SQL, hashlib.sha256(token.encode()).hexdigest())
    if not found:
        return Response(b"", status_code=404)
    scope, target = found[0]["scope"], found[0]["target_id"]
    since = dt.datetime.combine(dt.date.today() - dt.timedelta(days=365), dt.time(), dt.UTC)
    if scope == "group":
        where, args = "working_group = ?", [target]
    else:
        where, args = "id > 0", []
    state = (await DRIVER.fetch(FEED_STATE_SQL.format(where=where), *args, since))[0]
    etag = '"' + hashlib.sha256(repr(tuple(state)).encode()).hexdigest()[:32] + '"'
    # The headers maillage answers with, 304 included (#16, 2026-12-07: the floor left out
    # Last-Modified and Content-Disposition): the latest change of what the feed shows, never
    # ahead of now, and the feed's file name.
    changes = [state[key] for key in ("latest", "groups_latest", "axes_latest", "deleted_latest")]
    latest = max((_utc(_moment(c)) for c in changes if c is not None), default=_EPOCH)
    name = f"instance-{target}.ics" if scope == "group" else "territoire.ics"
    headers = {
        "Cache-Control": "private, no-cache",
        "ETag": etag,
        "Last-Modified": format_datetime(min(latest, dt.datetime.now(dt.UTC)), usegmt=True),
        "Content-Disposition": f'inline; filename="{name}"',
    }
    if request.headers.get("if-none-match") == etag:
        return Response(b"", status_code=304, headers=headers, media_type="text/calendar")
    return Response(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", headers=headers)


@get("/r/{token:str}", exclude_from_auth=True)
async def answer(request: Request, token: str) -> Template:
    invitation_id = tokens.record_id(token)
    rows = await DRIVER.fetch(ANSWER_SQL, invitation_id) if invitation_id else []
    if not rows or not tokens.verify(SETTINGS.secret_key, "reponse", token, rows[0]["token_nonce"]):
        return _render(
            "public/reponse.html", _answer_context(AnswerPage("invalide"), token, None), 404
        )
    row = rows[0]
    meeting = MeetingInfo(
        id=row["meeting_id"],
        uid=row["ical_uid"],
        sequence=row["ical_sequence"],
        title=row["title"],
        starts_at=_moment(row["starts_at"]),
        ends_at=_moment(row["ends_at"]),
        group_name=row["group_name"] or "",
        group_kind=row["group_kind"] or "",
        location=row["location"] or "",
        video_url=row["video_url"],
        agenda=row["agenda"] or "",
        status=row["status"],
        minutes=row["minutes"] or "",
    )
    page = AnswerPage(
        "ok",
        invitation_id,
        meeting,
        person_name(dict(row)),
        row["response"],
        _moment(row["answered_at"]),
    )
    chosen = request.query_params.get("reponse")
    return _render("public/reponse.html", _answer_context(page, token, chosen), 200)


@get("/healthz", exclude_from_auth=True)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(
    route_handlers=[organisations, contacts, feed, answer, healthz],
    on_startup=[DRIVER.start],
    on_shutdown=[DRIVER.stop],
    middleware=[
        DefineMiddleware(TokenCheck, exclude=[r"^/healthz$", r"^/calendar/feeds/", r"^/r/"])
    ],
    template_config=TemplateConfig(instance=_template_engine()),
    # The same security headers as maillage's answers (CSP, nosniff, framing…): the same
    # answer, byte for byte, headers included (#16).
    before_send=[security_headers()],
)

if __name__ == "__main__":
    # The server settings of `maillage serve` (crm/cli.py): one process, the info log level with
    # uvicorn's access log (and maillage's filter that masks the tokens in it), proxy headers.
    # The floor ran at « warning », without the access log line maillage writes per request:
    # a cost that is not the data layer's was counted against maillage (#16).
    access_log.install()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        workers=1,
        log_level="info",
        proxy_headers=True,
    )
