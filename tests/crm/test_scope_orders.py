"""Scoped pages in name and date order (#20): on PostgreSQL a scoped user's page is sorted
from the rows in scope through an expression no index provides (bench/README.md: the contacts
search walked the French-ordered index of the names over ten départements, 88,881 rows read
for 50), and the pages are exactly the unscoped order filtered to the scope, French collation
and ties included, on both engines; unscoped users keep the index walk."""

from __future__ import annotations

import datetime as dt
from typing import Any

from maillage.crm import agenda
from maillage.crm import scope as territory_scope
from maillage.crm.registry import SERVICES
from maillage.crm.resources import ListQuery
from maillage.crm.text import search_text
from maillage.db import is_sqlite
from maillage.tables import Contact, Meeting, Organisation
from tests.crm import test_scope
from tests.crm.test_scope import World

world = test_scope.world

# Accents, case, ligatures and particles (French order), ties on the name (the id decides).
NAMES = ["Zola", "école", "Eloi", "Émile", "Ecole", "Martin", "martin", "Martin", "Œuvre",
         "Oeuvre", "de la Fontaine", "Delafontaine", "Éloi", "eloi"]  # fmt: skip
FIRST_NAMES = ["Anne", "Éric", "anne", "Eric"]
PAGE = 3


def _scope(world: World) -> territory_scope.Scope:
    return territory_scope.Scope({world.a["id"]: "coordinateur"})


async def _contacts(world: World) -> dict[int, int | None]:
    """Contacts spread over territory A, B and shared, some archived; their territories."""
    places = [world.a["id"], world.b["id"], None]
    rows = []
    for number, name in enumerate(NAMES * 2):
        first = FIRST_NAMES[number % len(FIRST_NAMES)]
        rows.append(
            Contact(
                first_name=first,
                last_name=name,
                territory=places[number % 3],
                archived=number % 7 == 0,
                search=search_text(first, name),
                # Ties on the moment too: the id decides among them.
                updated_at=dt.datetime(2026, 12, 1 + number % 4, tzinfo=dt.UTC),
            )
        )
    await Contact.insert(*rows)
    found = await Contact.select(Contact.id, Contact.territory).run()
    return {row["id"]: row["territory"] for row in found}


async def _organisations(world: World) -> dict[int, int | None]:
    places = [world.a["id"], world.b["id"], None]
    kinds = ["association", "commune", "institution"]
    rows = []
    for number, name in enumerate(["Mairie d'Éragny", "mairie d'Eragny", "Caf", "caf", "École"]
                                  + [f"Mairie de {n}" for n in NAMES]):  # fmt: skip
        rows.append(
            Organisation(
                name=name,
                kind=kinds[number % 3],
                category=["", "Crèche", "crèche"][number % 3],
                territory=places[(number + 1) % 3],
                archived=number % 5 == 0,
                search=search_text(name),
            )
        )
    await Organisation.insert(*rows)
    found = await Organisation.select(Organisation.id, Organisation.territory).run()
    return {row["id"]: row["territory"] for row in found}


async def _meetings(world: World) -> dict[int, int | None]:
    """Meetings of A's body, B's, and the shared one, with ties on their start."""
    groups = {
        world.body_a["id"]: world.a["id"],
        world.body_b["id"]: world.b["id"],
        world.shared_body["id"]: None,
    }
    rows = []
    for number, title in enumerate(NAMES):
        starts = dt.datetime(2026, 11, 26 + number % 5, 9 + number % 2, tzinfo=dt.UTC)
        rows.append(
            Meeting(
                working_group=list(groups)[number % 3],
                title=title,
                starts_at=starts,
                ends_at=starts + dt.timedelta(hours=2),
                ical_uid=f"ordre-{number}@maillage.example",
                search=search_text(title),
            )
        )
    await Meeting.insert(*rows)
    found = await Meeting.select(Meeting.id, Meeting.working_group).run()
    return {row["id"]: groups[row["working_group"]] for row in found}


async def _paged(service: Any, query: dict[str, Any]) -> tuple[list[int], int]:
    """Every page of ``PAGE`` rows one after another: their ids and the first page's total."""
    ids: list[int] = []
    total = None
    offset = 0
    while True:
        result = await service.page(ListQuery(limit=PAGE, offset=offset, **query))
        total = result["total"] if total is None else total
        assert result["total"] == total
        ids += [row["id"] for row in result["items"]]
        if len(result["items"]) < PAGE:
            return ids, total
        offset += PAGE


async def _check(world: World, resource: str, places: dict[int, int | None], sorts, queries):
    seen = {None, world.a["id"]}
    for sort in sorts:
        for query in queries:
            options = {"sort": sort, **query}
            everything = await SERVICES[resource].page(ListQuery(limit=500, **options))
            expected = [row["id"] for row in everything["items"] if places[row["id"]] in seen]
            with territory_scope.entered(_scope(world)):
                ids, total = await _paged(SERVICES[resource], options)
            assert ids == expected, (resource, options)
            assert total == len(expected), (resource, options)


async def test_contacts_pages_are_the_unscoped_order_filtered_to_the_scope(world):
    places = await _contacts(world)
    sorts = ["last_name", "-last_name", "first_name", "-first_name", "updated_at",
             "-updated_at", "id", "-id", None]  # fmt: skip
    queries = [{}, {"q": "martin"}, {"q": "eloi"}, {"include_archived": True}]
    await _check(world, "contacts", places, sorts, queries)


async def test_organisations_pages_are_the_unscoped_order_filtered_to_the_scope(world):
    places = await _organisations(world)
    sorts = ["name", "-name", "kind", "-kind", "category", "-category", "updated_at", None]
    queries = [{}, {"q": "mairie"}, {"include_archived": True}]
    await _check(world, "organisations", places, sorts, queries)


async def test_meetings_pages_are_the_unscoped_order_filtered_to_the_scope(world):
    places = await _meetings(world)
    places.update({world.meeting_a["id"]: world.a["id"], world.meeting_b["id"]: world.b["id"]})
    sorts = ["starts_at", "-starts_at", "title", "-title", None]
    queries = [{}, {"q": "martin"}]
    await _check(world, "meetings", places, sorts, queries)


async def test_the_agenda_pages_are_the_unscoped_order_filtered_to_the_scope(world):
    """`/reunions`: coming meetings from the soonest, past ones from the latest."""
    places = await _meetings(world)
    places.update({world.meeting_a["id"]: world.a["id"], world.meeting_b["id"]: world.b["id"]})
    now = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC)
    for period in ("a_venir", "passees"):
        everything = await agenda.list_meetings(period=period, now=now, limit=500)
        expected = [row["id"] for row in everything["items"] if places[row["id"]] in {None, world.a["id"]}]  # fmt: skip
        ids: list[int] = []
        with territory_scope.entered(_scope(world)):
            for offset in range(0, len(expected) + PAGE, PAGE):
                page = await agenda.list_meetings(period=period, now=now, limit=PAGE, offset=offset)
                assert page["total"] == len(expected)
                ids += [row["id"] for row in page["items"]]
        assert ids == expected, period
        assert len(expected) >= 4, "the data must have meetings on both sides of now"


async def test_a_scoped_page_is_gathered_then_sorted_and_an_unscoped_one_walks_the_index(world):
    """The statement itself: the scoped user's order is an expression no index provides
    (PostgreSQL); the unscoped user's is the column, which the French-ordered index gives."""
    pages = {}
    for resource, sort in (("contacts", None), ("organisations", None), ("meetings", None),
                           ("contacts", "updated_at"), ("interactions", None)):  # fmt: skip
        service = SERVICES[resource]
        with territory_scope.entered(_scope(world)):
            scoped_page = str(service._ordered(service.table.select(), sort))
        pages[(resource, sort)] = (scoped_page, str(service._ordered(service.table.select(), sort)))
    scoped, unscoped = pages[("contacts", None)]
    assert 'ORDER BY "contact"."last_name" COLLATE "fr-FR-x-icu" ASC' in unscoped
    if is_sqlite():  # one engine of one département: SQLite keeps its index walk
        assert scoped == unscoped
        return
    assert 'ORDER BY ("contact"."last_name" || \'\') COLLATE "fr-FR-x-icu" ASC' in scoped
    scoped, unscoped = pages[("organisations", None)]
    assert '("organisation"."name" || \'\') COLLATE "fr-FR-x-icu" ASC' in scoped
    assert 'ORDER BY "organisation"."name" COLLATE "fr-FR-x-icu" ASC' in unscoped
    scoped, unscoped = pages[("meetings", None)]
    assert 'ORDER BY ("meeting"."starts_at" + INTERVAL \'0 seconds\') ASC' in scoped
    assert 'ORDER BY "meeting"."starts_at" ASC' in unscoped
    assert 'ORDER BY ("contact"."updated_at" + INTERVAL' in pages[("contacts", "updated_at")][0]
    assert 'ORDER BY ("interaction"."occurred_on" + 0) DESC' in pages[("interactions", None)][0]
    # A plain list, neither searched nor filtered, leaves the choice to PostgreSQL (its walk
    # along the names is priced right: a territory's rows are spread over the names); in id
    # order, a territory's rows sit together: gathered whatever the query.
    service = SERVICES["groups"]
    with territory_scope.entered(_scope(world)):
        plain = str(service._ordered(service.table.select(), None, narrowed=False))
        by_id = str(service._ordered(service.table.select(), "id", narrowed=False))
        query = service._ordered(service.table.select(), None, narrowed=True)
    assert 'ORDER BY "working_group"."name" COLLATE "fr-FR-x-icu" ASC' in plain
    assert 'ORDER BY ("working_group"."id" + 0) ASC' in by_id
    assert "|| ''" in str(query)
    # Partners are gathered even for a plain list: a user sees the shared ones of their
    # départements only, a small part of a national table (#20, bench/README.md).
    service = SERVICES["contacts"]
    with territory_scope.entered(_scope(world)):
        plain = str(service._ordered(service.table.select(), None, narrowed=False))
    assert "|| ''" in plain


async def test_a_scoped_total_adds_the_shared_rows_and_the_territories_counted_apart(world):
    """On PostgreSQL ``territory IS NULL OR territory IN (…)`` bounds no index scan: the
    count read the whole ``territory`` index; counted apart, each half is a range of it. The
    totals of the tests above are these sums."""
    with territory_scope.entered(_scope(world)):
        halves = {
            name: SERVICES[name]._counted(ListQuery(), None, [])
            for name in ("contacts", "organisations", "meetings", "invitations", "affiliations")
        }
    if is_sqlite():
        assert all(parts == [None] for parts in halves.values())
        return
    for name in ("meetings",):
        *shared_parts, mine = (str(part) for part in halves[name])
        table = SERVICES[name].table._meta.tablename
        for shared in shared_parts:
            assert f'"{table}"."territory" IS NULL' in shared and " OR " not in shared, shared
        assert f'"{table}"."territory" IN ({world.a["id"]})' in mine and " OR " not in mine
    # Partners and invitations: the list's own clause, one condition of their key's index for
    # the shared and the user's (#20, migrations 2026-12-10T18:00 and 19:00,
    # test_scope_queries): counted whole.
    for name in ("contacts", "organisations", "invitations"):
        assert halves[name] == [None], name
    # An affiliation is seen through its contact and its organisation: counted whole.
    assert len(halves["affiliations"]) == 1
    # Unscoped users count everything at once.
    assert SERVICES["contacts"]._counted(ListQuery(), None, []) == [None]
