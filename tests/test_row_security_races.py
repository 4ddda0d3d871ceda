"""The copies of a parent's territory and département (#20, `maillage.row_security.Via`) stay
right when a child is written while its parent moves in another transaction, in either order
(PostgreSQL: READ COMMITTED, two real connections)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import pytest

from maillage import row_security
from maillage.actor import CLI
from maillage.crm import agenda, people
from maillage.crm.schemas import ContactIn
from maillage.errors import NotFound
from maillage.exchange import duplicates
from maillage.tables import Affiliation, Contact, Invitation, Organisation, Partnership
from tests.crm import test_scope_partners
from tests.crm.test_scope_partners import Partners
from tests.merging import SETTLE_SECONDS, merge_paused, merged_world
from tests.support import TEST_DATABASE_URL
from tests.web.helpers import create

partners = test_scope_partners.partners

postgres_only = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgres"),
    reason="SQLite n'a ni copies ni triggers de territoire : un seul écrivain à la fois.",
)


@dataclass
class Race:
    """A child row inserted (``insert``, returning its id), its parent moved (``move``), and
    the child's copy and the parent's value it must equal (``check``, by the child's id)."""

    insert: str
    insert_args: tuple
    move: str
    move_args: tuple
    check: str


async def _races(admin, p: Partners) -> dict[str, Race]:
    c = admin.client
    person = await create(c, "contacts", {"first_name": "Jo", "last_name": "Durand"})
    meeting = await create(
        c,
        "meetings",
        {
            "working_group": p.body_a["id"],
            "title": "Comité de pilotage",
            "starts_at": "2026-12-09T14:00:00+01:00",
            "ends_at": "2026-12-09T16:00:00+01:00",
        },
    )
    body, b = p.body_a["id"], p.b["id"]
    moved_body = ("UPDATE working_group SET territory = $1 WHERE id = $2", (b, body))
    body_copy = (
        "SELECT c.territory AS copy, p.territory AS parent FROM {child} c "
        "JOIN working_group p ON p.id = c.working_group WHERE c.id = $1"
    )
    return {
        "membership": Race(
            "INSERT INTO membership (working_group, contact, start_date) "
            "VALUES ($1, $2, current_date) RETURNING id",
            (body, person["id"]),
            *moved_body,
            body_copy.format(child="membership"),
        ),
        "meeting": Race(
            "INSERT INTO meeting (working_group, title, starts_at, ends_at, ical_uid, search) "
            "VALUES ($1, 'Bilan', now(), now(), 'course@maillage', 'bilan') RETURNING id",
            (body,),
            *moved_body,
            body_copy.format(child="meeting"),
        ),
        "decision": Race(
            "INSERT INTO decision (working_group, summary) VALUES ($1, 'Un guichet') RETURNING id",
            (body,),
            *moved_body,
            body_copy.format(child="decision"),
        ),
        # Two levels down: the body's move is carried to its meeting, then to its invitations.
        "invitation": Race(
            "INSERT INTO invitation (meeting, contact) VALUES ($1, $2) RETURNING id",
            (meeting["id"], person["id"]),
            *moved_body,
            "SELECT c.territory AS copy, p.territory AS parent FROM invitation c "
            "JOIN meeting p ON p.id = c.meeting WHERE c.id = $1",
        ),
        "affiliation": Race(
            "INSERT INTO affiliation (contact, organisation) VALUES ($1, $2) RETURNING id",
            (person["id"], p.mairie_a["id"]),
            "UPDATE organisation SET territory = $1 WHERE id = $2",
            (b, p.mairie_a["id"]),
            "SELECT c.organisation_territory AS copy, p.territory AS parent FROM affiliation c "
            "JOIN organisation p ON p.id = c.organisation WHERE c.id = $1",
        ),
        # A shared parent's département (a Caf placed in another département).
        "affiliation's département": Race(
            "INSERT INTO affiliation (contact, organisation) VALUES ($1, $2) RETURNING id",
            (person["id"], p.caf["id"]),
            "UPDATE organisation SET departement = '29' WHERE id = $1",
            (p.caf["id"],),
            "SELECT c.organisation_departement AS copy, p.departement AS parent "
            "FROM affiliation c JOIN organisation p ON p.id = c.organisation WHERE c.id = $1",
        ),
        "partnership": Race(
            "INSERT INTO partnership (organisation, partner) VALUES ($1, $2) RETURNING id",
            (p.caf["id"], p.mairie_a["id"]),
            "UPDATE organisation SET territory = $1 WHERE id = $2",
            (b, p.mairie_a["id"]),
            "SELECT c.partner_territory AS copy, p.territory AS parent FROM partnership c "
            "JOIN organisation p ON p.id = c.partner WHERE c.id = $1",
        ),
    }


CHILDREN = [
    "membership",
    "meeting",
    "decision",
    "invitation",
    "affiliation",
    "affiliation's département",
    "partnership",
]


def test_every_table_with_copies_of_its_parent_has_its_race():
    via = {
        table
        for table, rule in row_security.PROTECTED.items()
        if isinstance(rule, row_security.Via)
    }
    assert {child.partition("'")[0] for child in CHILDREN} == via


async def _connected(url: str) -> asyncpg.Connection:
    connection = await asyncpg.connect(url)
    await connection.execute(row_security.set_config_sql("*", local=False))
    return connection


async def _in_turn(
    url: str,
    first: Callable[[asyncpg.Connection], Awaitable[object]],
    second: Callable[[asyncpg.Connection], Awaitable[object]],
) -> object:
    """``first`` in a transaction, then ``second`` in another while the first is still open;
    the first commits a moment later (the second may wait for it), then the second. The
    result of ``first``."""
    one, two = await _connected(url), await _connected(url)
    try:
        tr_one, tr_two = one.transaction(), two.transaction()
        await tr_one.start()
        result = await first(one)
        await tr_two.start()
        waiting = asyncio.ensure_future(second(two))
        await asyncio.sleep(SETTLE_SECONDS)
        await tr_one.commit()
        second_result = await asyncio.wait_for(waiting, timeout=20)
        await tr_two.commit()
        return result if result is not None else second_result
    finally:
        await one.close()
        await two.close()


@postgres_only
@pytest.mark.parametrize("child", CHILDREN)
@pytest.mark.parametrize(
    "inserted_first", [True, False], ids=["insert-then-move", "move-then-insert"]
)
async def test_a_child_written_while_its_parent_moves_gets_the_parents_new_copy(
    migrated_database: str, admin, partners: Partners, child: str, inserted_first: bool
):
    """READ COMMITTED: the child's trigger read the parent's last committed territory, and the
    parent's move carried the new one down to the children it saw, not the one being written:
    the child kept the old territory until the parent's next move (seen by the wrong
    territory). Now the child's trigger reads its parent with a lock that the move's waits
    for, and the other way round."""
    race = (await _races(admin, partners))[child]

    async def insert(connection: asyncpg.Connection) -> object:
        return await connection.fetchval(race.insert, *race.insert_args)

    async def move(connection: asyncpg.Connection) -> None:
        await connection.execute(race.move, *race.move_args)

    if inserted_first:
        row_id = await _in_turn(migrated_database, insert, move)
    else:
        row_id = await _in_turn(migrated_database, move, insert)
    check = await _connected(migrated_database)
    try:
        row = await check.fetchrow(race.check, row_id)
    finally:
        await check.close()
    assert row["copy"] == row["parent"], dict(row)


@postgres_only
async def test_two_attendance_records_of_one_meeting_at_once_do_not_deadlock(
    database: str, admin, partners: Partners, monkeypatch: pytest.MonkeyPatch
):
    """Recording who came invites the members present who were not invited, then marks the
    meeting held: two records at once each held the meeting ``FOR SHARE`` by their invitation
    and waited for the other's to mark it held. The meeting is now taken first: one waits."""
    c = admin.client
    yesterday = dt.date.today() - dt.timedelta(days=1)
    meeting = await create(
        c,
        "meetings",
        {
            "working_group": partners.body_a["id"],
            "title": "Comité de pilotage",
            "starts_at": f"{yesterday}T14:00:00+01:00",
            "ends_at": f"{yesterday}T16:00:00+01:00",
        },
    )
    people = []
    for name in ("Un", "Deux"):
        person = await create(c, "contacts", {"first_name": "Membre", "last_name": name})
        await create(
            c,
            "memberships",
            {"working_group": partners.body_a["id"], "contact": person["id"]},
        )
        people.append(person["id"])
    record = agenda.audit.record

    async def slow_record(*args: object, **kwargs: object) -> object:
        # Each write's invitation made before either marks the meeting held.
        await asyncio.sleep(SETTLE_SECONDS)
        return await record(*args, **kwargs)

    monkeypatch.setattr(agenda.audit, "record", slow_record)
    results = await asyncio.wait_for(
        asyncio.gather(
            *(
                agenda.record_attendance(CLI, meeting["id"], {person: "present"}, held=True)
                for person in people
            ),
            return_exceptions=True,
        ),
        timeout=30,
    )
    assert results == [1, 1], results
    present = await Invitation.select(Invitation.contact).where(
        (Invitation.meeting == meeting["id"]) & (Invitation.attendance == "present")
    )
    assert sorted(row["contact"] for row in present) == people


@postgres_only
@pytest.mark.parametrize("tie", ["affiliation", "partnership"])
async def test_two_ties_of_one_partner_written_at_once_do_not_deadlock(
    migrated_database: str, admin, partners: Partners, tie: str
):
    """A tie's trigger locks its person and organisations, and the same transaction then
    rewrites them (their territory or département settled from their ties). Held ``FOR
    SHARE`` by two ties at once, each rewrite waited for the other's: « deadlock detected ».
    Locked as the rewrite locks, the second tie waits for the first's commit."""
    p = partners
    person = await create(admin.client, "contacts", {"first_name": "Jo", "last_name": "Durand"})
    if tie == "affiliation":
        insert = "INSERT INTO affiliation (contact, organisation) VALUES ($1, $2)"
        shared, others = person["id"], [p.mairie_a["id"], p.asso_b["id"]]
        rewrite = "UPDATE contact SET notes = notes || '.' WHERE id = $1"
    else:
        insert = "INSERT INTO partnership (organisation, partner) VALUES ($1, $2)"
        shared, others = p.caf["id"], [p.mairie_a["id"], p.asso_b["id"]]
        rewrite = "UPDATE organisation SET notes = notes || '.' WHERE id = $1"

    async def tie_then_settle(connection: asyncpg.Connection, other: int) -> None:
        async with connection.transaction():
            await connection.execute(insert, shared, other)
            await asyncio.sleep(SETTLE_SECONDS)  # the other tie written meanwhile
            await connection.execute(rewrite, shared)

    one, two = await _connected(migrated_database), await _connected(migrated_database)
    try:
        results = await asyncio.wait_for(
            asyncio.gather(
                tie_then_settle(one, others[0]),
                tie_then_settle(two, others[1]),
                return_exceptions=True,
            ),
            timeout=30,
        )
    finally:
        await one.close()
        await two.close()
    assert results == [None, None], results


async def _paused_after_first_lock(
    url: str, function: str, lock: str = "FOR NO KEY UPDATE;"
) -> str:
    """The trigger function ``function`` made to sleep right after the first row lock it takes
    (``lock``, by default any ``… FOR NO KEY UPDATE;``), its own text otherwise: two writes at
    once each take their first lock before either asks for its next. The function's definition
    before, to put back."""
    connection = await _connected(url)
    try:
        definition: str = await connection.fetchval(
            "SELECT pg_get_functiondef($1::regproc)", function
        )
        assert lock in definition, definition
        paused = definition.replace(lock, f"{lock} PERFORM pg_sleep({SETTLE_SECONDS});", 1)
        await connection.execute(paused)
    finally:
        await connection.close()
    return definition


async def _restored(url: str, definition: str) -> None:
    connection = await _connected(url)
    try:
        await connection.execute(definition)
    finally:
        await connection.close()


@postgres_only
async def test_two_partnerships_of_two_organisations_each_way_at_once_do_not_deadlock(
    migrated_database: str, admin, partners: Partners
):
    """A partnership's trigger locked its organisation, then its partner: written at once,
    (A, B) held A and waited for B, (B, A) held B and waited for A, and PostgreSQL ended one
    with « deadlock detected » (a 500). Both organisations are now locked in the order of
    their ids first: the second partnership waits for the first's commit."""
    first, second = sorted([partners.mairie_a["id"], partners.asso_b["id"]])
    insert = "INSERT INTO partnership (organisation, partner) VALUES ($1, $2)"

    async def written(connection: asyncpg.Connection, organisation: int, partner: int) -> None:
        async with connection.transaction():
            await connection.execute(insert, organisation, partner)

    definition = await _paused_after_first_lock(migrated_database, "maillage_partnership_territory")
    one, two = await _connected(migrated_database), await _connected(migrated_database)
    try:
        results = await asyncio.wait_for(
            asyncio.gather(
                written(one, first, second),
                written(two, second, first),
                return_exceptions=True,
            ),
            timeout=30,
        )
    finally:
        await one.close()
        await two.close()
        await _restored(migrated_database, definition)
    assert results == [None, None], results
    check = await _connected(migrated_database)
    try:
        written_pairs = await check.fetch(
            "SELECT organisation, partner FROM partnership ORDER BY organisation"
        )
    finally:
        await check.close()
    assert [tuple(row) for row in written_pairs] == [(first, second), (second, first)]


@postgres_only
async def test_two_merges_of_organisations_partners_of_each_other_do_not_deadlock(
    migrated_database: str, admin
):
    """Merging R1 into K1 moved R1's people onto K1 (K1 locked by their affiliations'
    trigger), then its partnership with K2 (K2 locked); merging R2 into K2 at once did the
    same the other way: each held its kept record and waited for the other's, « deadlock
    detected ». A merge now locks the organisations it will rewrite in the order of their ids
    before moving anything: the second waits for the first."""
    c = admin.client
    kept, removed = [], []
    for n in (1, 2):
        kept.append(
            await create(c, "organisations", {"name": f"Centre {n}", "kind": "association"})
        )
        removed.append(
            await create(c, "organisations", {"name": f"Centre {n} bis", "kind": "association"})
        )
        person = await create(c, "contacts", {"first_name": "Jo", "last_name": f"Durand {n}"})
        await create(
            c, "affiliations", {"contact": person["id"], "organisation": removed[-1]["id"]}
        )
    # Each removed record is a partner of the other merge's kept one.
    for k, r in ((kept[1], removed[0]), (kept[0], removed[1])):
        await create(c, "partnerships", {"organisation": k["id"], "partner": r["id"]})

    # Each merge holds its kept record (its people moved onto it) before either moves its
    # partnership.
    definition = await _paused_after_first_lock(
        migrated_database,
        "maillage_affiliation_territory",
        "WHERE p.id = NEW.organisation FOR NO KEY UPDATE;",
    )
    try:
        results = await asyncio.wait_for(
            asyncio.gather(
                *(
                    duplicates.merge_organisations(CLI, k["id"], r["id"])
                    for k, r in zip(kept, removed, strict=True)
                ),
                return_exceptions=True,
            ),
            timeout=30,
        )
    finally:
        await _restored(migrated_database, definition)
    assert [r["id"] if isinstance(r, dict) else r for r in results] == [k["id"] for k in kept]
    left = await Organisation.select(Organisation.id).order_by(Organisation.id)
    assert [row["id"] for row in left] == sorted(k["id"] for k in kept)
    pairs = await Partnership.select(Partnership.organisation, Partnership.partner)
    assert sorted((row["organisation"], row["partner"]) for row in pairs) == sorted(
        [(kept[1]["id"], kept[0]["id"]), (kept[0]["id"], kept[1]["id"])]
    )


@postgres_only
async def test_two_merges_of_the_same_two_contacts_each_way_do_not_deadlock(
    migrated_database: str, admin
):
    """Two coordinators merging the same two people, each keeping another: each merge locked
    its kept person by moving the other's affiliations onto it, then waited for the other to
    delete the duplicate, « deadlock detected ». A merge now locks both people in the order
    of their ids first: the second waits, then finds its kept person merged away."""
    c = admin.client
    organisation = await create(c, "organisations", {"name": "Centre", "kind": "association"})
    people = []
    for name in ("Durand", "Durant"):
        person = await create(c, "contacts", {"first_name": "Jo", "last_name": name})
        await create(
            c, "affiliations", {"contact": person["id"], "organisation": organisation["id"]}
        )
        people.append(person["id"])

    # Each merge holds its kept person (the other's affiliations moved onto it) before either
    # deletes its duplicate.
    definition = await _paused_after_first_lock(
        migrated_database,
        "maillage_affiliation_territory",
        "WHERE p.id = NEW.contact FOR NO KEY UPDATE;",
    )
    try:
        results = await asyncio.wait_for(
            asyncio.gather(
                duplicates.merge_contacts(CLI, people[0], people[1]),
                duplicates.merge_contacts(CLI, people[1], people[0]),
                return_exceptions=True,
            ),
            timeout=30,
        )
    finally:
        await _restored(migrated_database, definition)
    merged = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if not isinstance(r, dict)]
    assert len(merged) == 1 and all(isinstance(r, NotFound) for r in refused), results
    left = await Contact.select(Contact.id)
    assert [row["id"] for row in left] == [merged[0]["id"]]
    ties = await Affiliation.select(Affiliation.contact)
    assert [row["contact"] for row in ties] == [merged[0]["id"]] * 2


@postgres_only
async def test_a_person_tied_to_the_kept_record_while_a_merge_moves_them_does_not_deadlock(
    migrated_database: str, admin, partners: Partners
):
    """An affiliation's trigger locked its person, then its organisation; a merge (as any move
    of an organisation) locks the organisation, then rewrites its people placed elsewhere.
    The mayor of Ardoise tied to the Rives association while Ardoise's town hall was merged
    into it: the affiliation held the mayor and waited for the association, the merge held
    the association and waited to place the mayor, « deadlock detected ». The trigger now
    locks the organisation first, in the order of the merge and of the settling."""
    p = partners
    person, kept, removed = p.maire_a["id"], p.asso_b["id"], p.mairie_a["id"]

    async def tied(connection: asyncpg.Connection) -> None:
        async with connection.transaction():
            await connection.execute(
                "INSERT INTO affiliation (contact, organisation) VALUES ($1, $2)", person, kept
            )

    async def merged() -> object:
        await asyncio.sleep(SETTLE_SECONDS / 4)  # the affiliation's first lock taken
        return await duplicates.merge_organisations(CLI, kept, removed)

    definition = await _paused_after_first_lock(migrated_database, "maillage_affiliation_territory")
    connection = await _connected(migrated_database)
    try:
        results = await asyncio.wait_for(
            asyncio.gather(tied(connection), merged(), return_exceptions=True), timeout=30
        )
    finally:
        await connection.close()
        await _restored(migrated_database, definition)
    assert results[0] is None and isinstance(results[1], dict), results
    ties = await Affiliation.select(Affiliation.organisation).where(Affiliation.contact == person)
    assert [row["organisation"] for row in ties] == [kept, kept]
    moved = await Contact.select(Contact.territory).where(Contact.id == person).first()
    assert moved == {"territory": p.b["id"]}


# A tie written through the API while a merge runs, to the record the merge removes: the
# records merged, the resource written, its column that points at the removed record, and its
# other values (by name of a record of `tests.merging.merged_world`).
TIES_TO_THE_REMOVED = {
    "affiliation to the organisation": (
        "organisations", "affiliations", "organisation", {"contact": "person"},
    ),
    "membership for the organisation": (
        "organisations", "memberships", "organisation", {"contact": "person", "working_group": "group"},
    ),
    "partnership with the organisation": (
        "organisations", "partnerships", "partner", {"organisation": "town_hall"},
    ),
    "branch of the organisation": (
        "organisations", "organisations", "parent", {"name": "Antenne", "kind": "association"},
    ),
    "affiliation of the person": (
        "contacts", "affiliations", "contact", {"organisation": "town_hall"},
    ),
    "membership of the person": (
        "contacts", "memberships", "contact", {"working_group": "group"},
    ),
    "invitation of the person": (
        "contacts", "invitations", "contact", {"meeting": "meeting"},
    ),
    # Through the link tables and the other records that name a partner.
    "exchange with the organisation": (
        "organisations", "interactions", "organisations", {"occurred_on": "2026-12-01"},
    ),
    "exchange with the person": (
        "contacts", "interactions", "contacts", {"occurred_on": "2026-12-01"},
    ),
    "partner of an action": (
        "organisations", "actions", "partners", {"title": "Guichet unique"},
    ),
    "pilot of an action": (
        "organisations", "actions", "pilot", {"title": "Guichet unique"},
    ),
    "decision carried by the organisation": (
        "organisations", "decisions", "carrier_organisation",
        {"summary": "Un guichet", "working_group": "group"},
    ),
    "decision carried by the person": (
        "contacts", "decisions", "carrier_contact",
        {"summary": "Un guichet", "working_group": "group"},
    ),
}  # fmt: skip
# The fields of those ties that list several records (a link table).
LINK_FIELDS = {"organisations", "contacts", "partners"}


@postgres_only
@pytest.mark.parametrize("tie", list(TIES_TO_THE_REMOVED))
@pytest.mark.parametrize("removed_first", [True, False], ids=["removed-first", "kept-first"])
async def test_a_tie_to_the_removed_record_written_during_a_merge_is_refused_cleanly(
    database: str, admin, monkeypatch: pytest.MonkeyPatch, tie: str, removed_first: bool
):
    """A merge moved the ties it read, then deleted the duplicate: a tie to the duplicate
    committed in between (its foreign key only shares the row's key) was left on it, and the
    delete failed on the foreign key, a 500 and nothing merged. The merge now locks the
    duplicate ``FOR UPDATE`` first: the tie waits for the merge, then is refused as a tie to
    a record that no longer exists, the answer it gets written a moment later."""
    entity, resource, column, others = TIES_TO_THE_REMOVED[tie]
    c = admin.client
    ids = await merged_world(c, removed_first)
    kept, removed = ids[f"kept_{entity}"], ids[f"removed_{entity}"]
    payload = {
        name: ids[value]
        if name in ("contact", "organisation", "working_group", "meeting")
        else value
        for name, value in others.items()
    }
    payload[column] = [removed] if column in LINK_FIELDS else removed

    # The merge stops a moment after moving the ties it read, before deleting the duplicate.
    paused = merge_paused(monkeypatch)

    async def tied() -> object:
        await paused.wait()
        return await c.post(f"/api/v1/{resource}", json=payload)

    merge = duplicates.merge(CLI, entity, kept, removed)
    merged, response = await asyncio.wait_for(
        asyncio.gather(merge, tied(), return_exceptions=True), timeout=30
    )
    assert isinstance(merged, dict) and merged["id"] == kept, merged
    label = "Organisation" if entity == "organisations" else "Contact"
    assert response.status_code == 400, response.text
    assert response.json()["errors"] == [
        {"field": column, "message": f"{label} n° {removed} introuvable."}
    ]
    table = Organisation if entity == "organisations" else Contact
    assert not await table.exists().where(table.id == removed)


@postgres_only
async def test_a_person_added_at_the_removed_organisation_during_a_merge_gets_a_404(
    database: str, admin, monkeypatch: pytest.MonkeyPatch
):
    """« Ajouter un contact » on the duplicate's page while it is merged: the person and
    their affiliation are written in one transaction, whose trigger waited for the merge,
    then found the organisation gone (« invisible pour cette écriture », a 500). The
    organisation is read again: « Organisation n° … introuvable. », and no person left."""
    ids = await merged_world(admin.client, removed_first=False)
    kept, removed = ids["kept_organisations"], ids["removed_organisations"]
    paused = merge_paused(monkeypatch)

    async def added() -> object:
        await paused.wait()
        person = ContactIn(first_name="Nina", last_name="Nouvelle")
        return await people.add_contact_to_organisation(CLI, removed, person, people.Affiliated())

    merge = duplicates.merge_organisations(CLI, kept, removed)
    merged, refused = await asyncio.wait_for(
        asyncio.gather(merge, added(), return_exceptions=True), timeout=30
    )
    assert isinstance(merged, dict) and merged["id"] == kept, merged
    assert isinstance(refused, NotFound), refused
    assert refused.message == f"Organisation n° {removed} introuvable."
    assert not await Contact.exists().where(Contact.last_name == "Nouvelle")
