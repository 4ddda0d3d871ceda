"""The commit writes creations with multi-row INSERTs per table: ids must land on the right
records across batches, lines that build on earlier ones must still work, every record
written keeps its audit event, and a failure half-way writes nothing."""

from __future__ import annotations

import pytest

from maillage.actor import IMPORT
from maillage.exchange import imports
from maillage.exchange.imports import run_import
from maillage.tables import Affiliation, AuditEvent, Contact, ContactAxis, Organisation

HEADER = "Nom;Prénom;Courriel;Tél.;Raison sociale;SIRET;Fonction;Axes\r\n"


def numbered(count: int) -> str:
    return HEADER + "".join(
        f"Nom{i};Prénom{i};p{i}@exemple.fr;;Structure {i % 3};;Fonction {i};Enfance\r\n"
        for i in range(count)
    )


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(imports, "BATCH", 3)


async def test_ids_land_on_their_records_across_batches(database, small_batches):
    report = await run_import(IMPORT, numbered(10).encode(), "lot.csv", commit=True)
    assert report.count("creation") == 10, report.to_dict()
    contacts = {r["id"]: r for r in await Contact.select().run()}
    organisations = {r["id"]: r["name"] for r in await Organisation.select().run()}
    assert len(contacts) == 10 and len(organisations) == 3
    for row in await Affiliation.select().run():
        person = contacts[row["contact"]]
        i = int(person["last_name"].removeprefix("Nom"))
        assert person["email"] == f"p{i}@exemple.fr"
        assert row["function"] == f"Fonction {i}"
        assert organisations[row["organisation"]] == f"Structure {i % 3}"
        assert row["is_primary"]
    assert await ContactAxis.count().run() == 10
    events = await AuditEvent.select().where(AuditEvent.action == "create").run()
    assert len(events) == 10 + 3 + 10  # one per record written
    written = {("contact", i) for i in contacts} | {("organisation", i) for i in organisations}
    assert written <= {(e["entity"], e["entity_id"]) for e in events}


async def test_lines_building_on_earlier_lines(database, small_batches):
    data = (
        HEADER
        + "Lefèvre;Hélène;helene@caf.example;;Caf;;Conseillère;\r\n"
        + "Martin;Paul;paul@caf.example;;Caf;39825979600017;Directeur;\r\n"  # adds the SIRET
        + "Lefèvre;Hélène;helene@caf.example;02 99 12 34 56;Centre social;;Bénévole;\r\n"
        + "Lefèvre;Hélène;helene@caf.example;;Caf;;Conseillère technique;Enfance\r\n"
    )
    report = await run_import(IMPORT, data.encode(), "lignes.csv", commit=True)
    assert [line.action for line in report.lines] == [
        "creation",
        "creation",
        "creation",
        "mise_a_jour",
    ], report.to_dict()  # fmt: skip (lines 2 and 3 also update the Caf and Hélène)
    caf = await Organisation.select().where(Organisation.name == "Caf").first().run()
    assert caf["siret"] == "39825979600017" and caf["version"] == 2
    helene = await Contact.select().where(Contact.first_name == "Hélène").first().run()
    assert helene["phone"] == "+33299123456"
    assert helene["version"] == 3  # phone, then axes
    functions = {
        r["organisation"]: r["function"]
        for r in await Affiliation.select().where(Affiliation.contact == helene["id"]).run()
    }
    assert functions[caf["id"]] == "Conseillère technique"
    assert len(functions) == 2
    updates = await AuditEvent.select().where(AuditEvent.action == "update").run()
    assert len(updates) == 4  # Caf, Hélène twice, her Caf affiliation


async def test_a_failure_half_way_writes_nothing(database, small_batches, monkeypatch):
    real = imports._insert_links

    async def failing(service, operations):
        if service.spec.entity == "contact":
            raise RuntimeError("disque plein")
        await real(service, operations)

    monkeypatch.setattr(imports, "_insert_links", failing)
    with pytest.raises(RuntimeError):
        await run_import(IMPORT, numbered(7).encode(), "lot.csv", commit=True)
    assert await Organisation.count().run() == 0
    assert await Contact.count().run() == 0
    assert await AuditEvent.count().run() == 0


async def test_a_record_created_from_one_created_on_an_earlier_line(database, small_batches):
    data = (
        "Nom;Type;Organisation parente\r\n"
        "Ville d'Ardoise;Collectivité;\r\n"
        "CCAS d'Ardoise;Institution;Ville d'Ardoise\r\n"
        "Crèche municipale;Établissement;CCAS d'Ardoise\r\n"
    )
    report = await run_import(IMPORT, data.encode(), "orgs.csv", "organisations", commit=True)
    assert report.count("creation") == 3, report.to_dict()
    ids = {r["name"]: r for r in await Organisation.select().run()}
    assert ids["CCAS d'Ardoise"]["parent"] == ids["Ville d'Ardoise"]["id"]
    assert ids["Crèche municipale"]["parent"] == ids["CCAS d'Ardoise"]["id"]
