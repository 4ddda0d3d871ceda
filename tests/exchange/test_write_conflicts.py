"""A merge or an import that PostgreSQL cancels because it crossed another write (a deadlock,
40P01) wrote nothing: each is one write transaction, which the service runs again once the
other has committed (`db.retried_on_conflict`), as the generic services' writes (#20). Before:
503 « réessayez » and the coordinator started over."""

from __future__ import annotations

from maillage.actor import CLI, IMPORT
from maillage.exchange import duplicates, imports
from maillage.tables import Contact
from tests.crm.test_write_conflicts import crossed, postgres_only
from tests.web.helpers import create


@postgres_only
async def test_a_merge_cancelled_by_a_deadlock_is_run_again(database: str, admin):
    """The merge locks both people in the order of their ids; another transaction holds the
    second, then asks for the first."""
    c = admin.client
    removed = await create(c, "contacts", {"first_name": "Jo", "last_name": "Durand"})
    kept = await create(c, "contacts", {"first_name": "Jo", "last_name": "Durand"})
    merged = await crossed(
        database,
        f"SELECT id FROM contact WHERE id = {kept['id']}",
        f"SELECT id FROM contact WHERE id = {removed['id']}",
        lambda: duplicates.merge(CLI, "contacts", kept["id"], removed["id"]),
    )
    assert isinstance(merged, dict), merged
    assert await Contact.count().where(Contact.id == removed["id"]) == 0


@postgres_only
async def test_an_import_cancelled_by_a_deadlock_is_run_again(database: str):
    """A re-import changes two people's phone numbers, in the order of its lines; another
    transaction holds the second person, then asks for the first."""
    header = "Nom;Prénom;Courriel;Tél.\r\n"
    first = "Durand;Zoé;zoe@tilleuls.example;{}\r\n"
    second = "Martin;Paul;paul@tilleuls.example;{}\r\n"
    before = header + first.format("") + second.format("")
    await imports.run_import(IMPORT, before.encode(), "partenaires.csv", commit=True)
    ids = {
        row["last_name"]: row["id"] for row in await Contact.select(Contact.id, Contact.last_name)
    }
    after = header + first.format("02 99 00 00 01") + second.format("02 99 00 00 02")

    async def imported() -> object:
        return await imports.run_import(IMPORT, after.encode(), "partenaires.csv", commit=True)

    report = await crossed(
        database,
        f"SELECT id FROM contact WHERE id = {ids['Martin']}",
        f"SELECT id FROM contact WHERE id = {ids['Durand']}",
        imported,
    )
    assert getattr(report, "committed", False), report
    phones = {row["last_name"]: row["phone"] for row in await Contact.select()}
    assert phones == {"Durand": "+33299000001", "Martin": "+33299000002"}
