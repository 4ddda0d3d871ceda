"""Round trips, LibreOffice and XLSX files, mappings, communes, groups and memberships."""

from __future__ import annotations

import datetime as dt
import io
import json

from openpyxl import Workbook

from maillage import db
from maillage.actor import IMPORT
from maillage.crm.seed import ensure_axes
from maillage.exchange.imports import run_import
from maillage.tables import (
    Affiliation,
    Commune,
    Contact,
    ContactAxis,
    Membership,
    Organisation,
    WorkingGroup,
)
from tests.exchange.conftest import export_bytes


async def _snapshot() -> dict:
    contacts = await Contact.select(
        Contact.civility, Contact.first_name, Contact.last_name, Contact.email, Contact.phone,
        Contact.mailing_opt_out, Contact.legal_basis,
    ).order_by(Contact.first_name).run()  # fmt: skip
    orgs = (
        await Organisation.select(Organisation.name, Organisation.kind, Organisation.siret)
        .order_by(Organisation.name)
        .run()
    )
    affiliations = sorted(
        (r["contact.first_name"], r["organisation.name"], r["function"])
        for r in await Affiliation.select(
            Affiliation.contact.first_name, Affiliation.organisation.name, Affiliation.function
        ).run()
    )
    axes = await ContactAxis.count().run()
    return {"contacts": contacts, "organisations": orgs, "affiliations": affiliations, "axes": axes}


async def _reset_keeping_communes() -> None:
    await db.clear_all()
    await ensure_axes()
    await Commune.insert(Commune(insee_code="35901", name="Ardoise", search="ardoise")).run()


async def test_csv_round_trip_gives_the_same_records(world):
    data = await export_bytes("contacts", "csv", include_archived=True)
    before = await _snapshot()
    await _reset_keeping_communes()
    report = await run_import(IMPORT, data, "contacts.csv", commit=True)
    assert report.count("rejet") == 0, report.to_dict()
    after = await _snapshot()
    # The export lists each person with their primary organisation only.
    before["affiliations"] = [a for a in before["affiliations"] if a[2] != "Bénévole"]
    before["organisations"] = [
        o for o in before["organisations"] if o["name"] != "Centre social Les Tilleuls"
    ] + [{"name": "Centre social Les Tilleuls", "kind": "association", "siret": None}]
    assert after["contacts"] == before["contacts"]
    assert sorted(after["organisations"], key=lambda o: o["name"]) == sorted(
        before["organisations"], key=lambda o: o["name"]
    )
    assert after["affiliations"] == before["affiliations"]
    assert after["axes"] == before["axes"]
    # and once more: nothing changes
    again = await run_import(IMPORT, data, "contacts.csv", commit=True)
    assert {line.action for line in again.lines} == {"inchange"}


async def test_xlsx_round_trip(world):
    data = await export_bytes("organisations", "xlsx")
    before = (
        await Organisation.select(Organisation.name, Organisation.kind, Organisation.siret)
        .order_by(Organisation.name)
        .run()
    )
    await _reset_keeping_communes()
    report = await run_import(IMPORT, data, "organisations.xlsx", kind="organisations", commit=True)
    assert report.file_description == "classeur XLSX"
    after = (
        await Organisation.select(Organisation.name, Organisation.kind, Organisation.siret)
        .order_by(Organisation.name)
        .run()
    )
    assert after == before


async def test_libreoffice_csv_with_title_line_quotes_and_lf(database):
    # LibreOffice « Enregistrer sous CSV » on Linux: UTF-8 without BOM, commas, LF, quotes
    # where needed; coordinators often keep a title line above the header.
    data = (
        "Annuaire des partenaires 2025,,,\n"
        "NOM,Prénom,E-mail,Structure\n"
        '"Lefèvre","Hélène",helene@caf.example,"Caf, Ille-et-Vilaine"\n'
        'Martin,Paul,,"Centre ""Les Tilleuls"""\n'
    ).encode()
    report = await run_import(IMPORT, data, "libreoffice.csv", commit=True)
    assert report.header_line == 2
    assert [line.line for line in report.lines] == [3, 4]
    names = {r["name"] for r in await Organisation.select(Organisation.name).run()}
    assert names == {"Caf, Ille-et-Vilaine", 'Centre "Les Tilleuls"'}


async def test_explicit_mapping_file(database):
    data = "Col1;Col2;Col3\r\nLefèvre;Hélène;helene@caf.example\r\n".encode()
    mapping = json.dumps({"Col1": "Nom", "Col2": "first_name", "Col3": "Courriel"}).encode()
    report = await run_import(IMPORT, data, "p.csv", mapping=mapping, commit=True)
    assert report.columns == {"Col1": "Nom", "Col2": "Prénom", "Col3": "Courriel"}
    assert await Contact.count().run() == 1


async def test_xlsx_with_dates_and_numbers(database):
    book = Workbook()
    sheet = book.active
    sheet.append(["Nom", "Prénom", "Date du consentement", "Téléphone"])
    sheet.append(["Lefèvre", "Hélène", dt.datetime(2025, 3, 1), 299123456])
    buffer = io.BytesIO()
    book.save(buffer)
    report = await run_import(IMPORT, buffer.getvalue(), "p.xlsx", commit=True)
    assert report.count("creation") == 1, report.to_dict()
    person = await Contact.select().first().run()
    assert person["consent_date"] == dt.date(2025, 3, 1)
    assert person["phone"] == "+33299123456"


async def test_communes_from_the_official_geographic_code_file(database):
    data = (
        b"TYPECOM,COM,REG,DEP,CTCD,ARR,TNCC,NCC,NCCENR,LIBELLE,CAN,COMPARENT\n"
        b"COM,35238,53,35,35D,353,0,RENNES,Rennes,Rennes,3599,\n"
        b"COMD,35001,53,35,35D,353,0,ANCIENNE,Ancienne,Ancienne,,35238\n"
        b"COM,2A004,94,2A,20D,2A1,0,AJACCIO,Ajaccio,Ajaccio,2A98,\n"
    )
    report = await run_import(IMPORT, data, "v_commune_2025.csv", kind="communes", commit=True)
    assert report.count("creation") == 2
    assert report.lines[1].warnings[0].message.startswith("ligne de type « COMD » ignorée")
    codes = {r["insee_code"] for r in await Commune.select(Commune.insee_code).run()}
    assert codes == {"35238", "2A004"}
    # The population file of INSEE then completes the same communes.
    report = await run_import(
        IMPORT,
        b"CODGEO;LIBGEO;PMUN\n35238;Rennes;227830\n",
        "pop.csv",
        kind="communes",
        commit=True,
    )
    assert report.count("mise_a_jour") == 1
    assert (await Commune.select().where(Commune.insee_code == "35238").first().run())[
        "population"
    ] == 227830


async def test_groups_then_memberships(world):
    groups = "Instance;Type;Axes;Communes\nCommission Petite enfance;Commission thématique;Petite enfance;Ardoise\n".encode()
    report = await run_import(IMPORT, groups, "instances.csv", kind="groups", commit=True)
    assert report.count("creation") == 1, report.to_dict()
    members = (
        "Instance;Courriel;Nom;Prénom;Rôle;Début\n"
        "Commission Petite enfance;helene@caf.example;Lefèvre;Hélène;Présidente;01/02/2026\n"
        "Commission Petite enfance;inconnu@exemple.fr;X;Y;Membre;\n"
    ).encode()
    report = await run_import(
        IMPORT, members, "membres.csv", kind="memberships", commit=True, only_valid=True
    )
    assert report.count("creation") == 1
    assert "introuvable" in report.rejected[0].problems[0].message
    group = (
        await WorkingGroup.select()
        .where(WorkingGroup.name == "Commission Petite enfance")
        .first()
        .run()
    )
    membership = (
        await Membership.select().where(Membership.working_group == group["id"]).first().run()
    )
    assert membership["role"] == "president"
    assert membership["start_date"] == dt.date(2026, 2, 1)
    again = await run_import(
        IMPORT, members, "membres.csv", kind="memberships", commit=True, only_valid=True
    )
    assert again.count("inchange") == 1
