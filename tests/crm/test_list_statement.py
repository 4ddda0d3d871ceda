"""A list page is one statement: its rows, their links and the total (#16). The rows must be
the very values a record's own reading gives, types included, on both engines."""

from __future__ import annotations

import datetime as dt

import pytest

from maillage.crm.demo.loader import load_demo
from maillage.crm.registry import SERVICES
from maillage.crm.resources import ListQuery, ResourceService
from maillage.tables import CommuneIndicator

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
async def demo_data(database):
    await load_demo(seed=3, today=dt.date(2026, 11, 29))
    # The demo has commune indicators (#18): their page is read too.
    assert await CommuneIndicator.count() > 0


@pytest.mark.parametrize(
    "name",
    [name for name in SERVICES if name != "users"],
)
async def test_a_page_holds_what_each_record_holds(demo_data, name):
    service = SERVICES[name]
    page = await service.page(ListQuery(limit=20, offset=0))
    assert page["items"], name
    assert page["total"] >= len(page["items"])
    for row in page["items"]:
        assert row == await service.get(row["id"]), (name, row["id"])


async def test_past_the_end_the_total_is_still_counted(demo_data):
    page = await SERVICES["contacts"].page(ListQuery(limit=10, offset=100_000))
    assert page["items"] == [] and page["total"] > 0


async def test_queries_per_page_do_not_grow_with_links(demo_data, queries):
    queries.reset()
    await SERVICES["contacts"].page(ListQuery(limit=50, offset=0))
    await SERVICES["groups"].page(ListQuery(limit=50, offset=0))
    assert queries.count <= 2  # the driver statement is not counted; nothing else per link


async def test_a_list_statement_is_built_once_per_shape(demo_data, monkeypatch):
    """#16: the list's SQL is built once per shape (sort, filters given, number of search
    words, the user's territories); each request's values are its arguments. Every answer is
    the one the statement built afresh for that request gives."""
    contacts = SERVICES["contacts"]
    shapes = {
        "search": [ListQuery(q="centre"), ListQuery(q="maison"), ListQuery(q="zzz-personne")],
        "search and axis": [
            ListQuery(q="centre social", filters={"axis": axis}, limit=5, offset=offset)
            for axis, offset in ((1, 0), (2, 3), (4, 1))
        ],
        "function and opt-out": [
            ListQuery(filters={"function": word, "mailing_opt_out": flag}, sort="-first_name")
            for word, flag in (("direct", False), ("coordin", True), ("anim", False))
        ],
        "past the end": [ListQuery(offset=100_000), ListQuery(offset=200_000, limit=3)],
    }
    built: list[ListQuery] = []
    build = ResourceService._build

    def counted(self: ResourceService, query: ListQuery, values: list[object]) -> object:
        built.append(query)
        return build(self, query, values)

    monkeypatch.setattr(ResourceService, "_build", counted)
    for label, queries in shapes.items():
        service = SERVICES["organisations"] if label.startswith("search") else contacts
        expected = []
        for query in queries:
            service._statements.clear()
            expected.append(await service.page(query))
        built.clear()
        service._statements.clear()
        answers = [await service.page(query) for query in queries]
        assert answers == expected, label
        assert len(built) == 1, label  # the first query of the shape only
        if label in ("search", "function and opt-out"):  # the values do reach the statement
            assert len({str(answer["items"]) for answer in answers}) == len(answers), label


async def test_a_page_is_read_without_a_transaction_around_its_statement(demo_data, monkeypatch):
    """#16: the page, its links and its total are one statement, atomic by itself: no
    transaction (on SQLite a thread hop less, on PostgreSQL no BEGIN and COMMIT). Past the
    end, the total is counted apart, in a transaction."""
    from maillage import db

    entered: list[str] = []
    read_transaction = db.read_transaction

    def counted():
        entered.append("transaction")
        return read_transaction()

    monkeypatch.setattr("maillage.crm.resources.read_transaction", counted)
    monkeypatch.setattr(db, "read_transaction", counted)
    if not db.is_sqlite():
        engine = db.current_engine()
        async with read_transaction():  # the role that reads every row, looked up
            pass
        if engine._sees_all is not None:
            pytest.skip("La base a le rôle qui lit sans les politiques : une transaction le prend.")
    page = await SERVICES["contacts"].page(ListQuery(limit=10, offset=5))
    assert len(page["items"]) == 10 and page["total"] > 15
    assert entered == []
    page = await SERVICES["contacts"].page(ListQuery(limit=10, offset=100_000))
    assert page["items"] == [] and page["total"] > 0
    assert entered == ["transaction"]


async def test_a_record_s_own_reading_is_built_once(demo_data, monkeypatch):
    """#16, bench/load.py: the read of one record and of its links, which follows every create
    and update, built its selects on each call (a third of an API create's CPU). Its answers
    are checked against the list's above."""
    from piccolo.query.methods.select import Select

    contacts = SERVICES["contacts"]
    assert contacts.spec.links
    ids = [row["id"] for row in (await contacts.page(ListQuery(limit=3, offset=0)))["items"]]
    await contacts.get(ids[0])
    built = 0
    init = Select.__init__

    def counted(self, *args, **kwargs):
        nonlocal built
        built += 1
        init(self, *args, **kwargs)

    monkeypatch.setattr(Select, "__init__", counted)
    for record_id in ids:
        assert (await contacts.get(record_id))["id"] == record_id
    assert built == 0
