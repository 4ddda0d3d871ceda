"""A coordinator's own sheet of elected officials, one line per élu, in ONE import (#18).

The sheet (town hall, type, commune, INSEE code, address, civility, name, first name, function,
start of mandate, e-mail, phone) once needed three imports and a hand-cut file: the communes had
to exist first, « --kind communes » read « Type » as the commune type and skipped every line, the
town hall's address was ignored and its phone copied onto every élu, the town halls got no
commune, and « Maire » made no elected mandate.
"""

from __future__ import annotations

import datetime as dt
import json

from maillage.actor import IMPORT
from maillage.exchange.imports import run_import, warnings_csv
from maillage.tables import Affiliation, AuditEvent, Commune, Contact, Organisation

HEADER = "Mairie;Type;Commune;Code INSEE;Adresse;Civilité;Nom;Prénom;Fonction;Début du mandat;Courriel;Téléphone"  # fmt: skip
ACIGNE = "Mairie d'Acigné;Mairie;Acigné;35001;5 place du Calvaire, 35690 Acigné"
ANDOUILLE = "Mairie d'Andouillé-Neuville;Mairie;Andouillé-Neuville;35004;1 rue de la Mairie, 35250 Andouillé-Neuville"  # fmt: skip
LINES = [
    f"{ACIGNE};M.;Dupont;Jean;Maire;15/03/2026;jean.dupont@acigne.example;02 99 62 52 30",
    f"{ACIGNE};Mme;Le Goff;Anne;1re adjointe;15/03/2026;anne.legoff@acigne.example;02 99 62 52 30",
    f"{ACIGNE};M.;N'Diaye;Moussa;Conseiller municipal;;;02 99 62 52 30",
    f"{ANDOUILLE};Mme;Martin;Claire;Maire;23/03/2026;;02 99 55 20 11",
    f"{ANDOUILLE};M.;Petit;Louis;Adjoint au maire;;;02 99 55 20 11",
    f"{ANDOUILLE};Mme;Roux;Sophie;Secrétaire de mairie;;;02 99 55 20 11",
]
SHEET = ("\n".join([HEADER, *LINES]) + "\n").encode()


async def _counts() -> dict[str, int]:
    return {
        table._meta.tablename: await table.count().run()
        for table in (Commune, Organisation, Contact, Affiliation)
    }


async def test_one_dry_run_plans_everything_and_writes_nothing(database):
    report = await run_import(IMPORT, SHEET, "elus.csv")

    assert report.count("rejet") == 0, report.to_dict()
    assert report.count("creation") == 6
    assert await _counts() == {"commune": 0, "organisation": 0, "contact": 0, "affiliation": 0}
    assert await AuditEvent.count().run() == 0
    assert "Adresse" not in report.ignored_columns
    assert not [w for line in report.lines for w in line.warnings], report.to_dict()


async def test_one_commit_creates_communes_town_halls_people_and_mandates(database):
    report = await run_import(IMPORT, SHEET, "elus.csv", commit=True)

    assert report.count("rejet") == 0, report.to_dict()
    assert await _counts() == {"commune": 2, "organisation": 2, "contact": 6, "affiliation": 6}
    acigne = await Commune.select().where(Commune.insee_code == "35001").first()
    assert acigne["name"] == "Acigné"
    town_hall = await Organisation.select().where(Organisation.name == "Mairie d'Acigné").first()
    assert town_hall["kind"] == "collectivite"
    assert town_hall["commune"] == acigne["id"]
    assert town_hall["address"] == "5 place du Calvaire, 35690 Acigné"
    assert town_hall["phone"] == "+33299625230"
    # The town hall's phone, on every line, is the town hall's: no élu gets it.
    assert {r["phone"] for r in await Contact.select(Contact.phone)} <= {None, ""}
    mandates = {
        r["contact.last_name"]: (r["function"], r["elected_mandate"], r["start_date"])
        for r in await Affiliation.select(
            Affiliation.contact.last_name,
            Affiliation.function,
            Affiliation.elected_mandate,
            Affiliation.start_date,
        )
    }
    assert mandates == {
        "Dupont": ("Maire", True, dt.date(2026, 3, 15)),
        "Le Goff": ("1re adjointe", True, dt.date(2026, 3, 15)),
        "N'Diaye": ("Conseiller municipal", True, None),
        "Martin": ("Maire", True, dt.date(2026, 3, 23)),
        "Petit": ("Adjoint au maire", True, None),
        "Roux": ("Secrétaire de mairie", False, None),
    }
    dupont = await Contact.select().where(Contact.last_name == "Dupont").first()
    assert dupont["commune"] == acigne["id"]
    assert dupont["email"] == "jean.dupont@acigne.example"


async def test_importing_the_sheet_again_changes_nothing(database):
    await run_import(IMPORT, SHEET, "elus.csv", commit=True)
    again = await run_import(IMPORT, SHEET, "elus.csv", commit=True)

    assert {line.action for line in again.lines} == {"inchange"}, again.to_dict()
    assert await _counts() == {"commune": 2, "organisation": 2, "contact": 6, "affiliation": 6}


async def test_an_elu_keeps_the_commune_of_their_town_hall_on_a_line_for_the_epci(database):
    """The commune of a line is the organisation's: it gives a new élu the commune of their
    town hall (where they are elected, as the registers' load does), and a second line of the
    same person for the EPCI, seated elsewhere, does not move them there (nor back and forth
    at each import)."""
    epci = "Rennes Métropole;EPCI;Rennes;35238;4 avenue Henri-Fréville, 35200 Rennes"
    sheet = (
        SHEET
        + (
            f"{epci};M.;Dupont;Jean;Vice-président;01/07/2026;jean.dupont@acigne.example;\n"
        ).encode()
    )
    report = await run_import(IMPORT, sheet, "elus.csv", commit=True)
    assert report.count("rejet") == 0, report.to_dict()

    acigne = await Commune.select().where(Commune.insee_code == "35001").first()
    dupont = await Contact.select().where(Contact.last_name == "Dupont").first()
    assert dupont["commune"] == acigne["id"]
    assert await Affiliation.count().where(Affiliation.contact == dupont["id"]) == 2
    again = await run_import(IMPORT, sheet, "elus.csv")
    assert again.count("mise_a_jour") == 0, again.to_dict()


async def test_existing_communes_are_matched_by_insee_code(database):
    await Commune.insert(Commune(insee_code="35001", name="Acigne", search="acigne")).run()

    await run_import(IMPORT, SHEET, "elus.csv", commit=True)

    assert await Commune.count().run() == 2
    kept = await Commune.select().where(Commune.insee_code == "35001").first()
    assert kept["name"] == "Acigne"  # matched, not renamed by a contact sheet
    town_hall = await Organisation.select().where(Organisation.name == "Mairie d'Acigné").first()
    assert town_hall["commune"] == kept["id"]


async def test_a_mapping_can_ignore_a_column(database):
    mapping = json.dumps({"Courriel": "ignorer", "Téléphone": "(ignorer)"}).encode()

    report = await run_import(IMPORT, SHEET, "elus.csv", mapping=mapping, commit=True)

    assert report.count("rejet") == 0, report.to_dict()
    assert {"Courriel", "Téléphone"} <= set(report.ignored_columns)
    assert {r["email"] for r in await Contact.select(Contact.email)} <= {None, ""}
    assert {r["phone"] for r in await Organisation.select(Organisation.phone)} <= {None, ""}


async def test_the_communes_kind_does_not_read_type_as_the_commune_type(database):
    report = await run_import(IMPORT, SHEET, "elus.csv", kind="communes", commit=True)

    assert "Type" in report.ignored_columns
    assert report.count("rejet") == 0, report.to_dict()
    assert not [w for line in report.lines for w in line.warnings], report.to_dict()
    codes = sorted(r["insee_code"] for r in await Commune.select(Commune.insee_code))
    assert codes == ["35001", "35004"]


async def test_the_cog_type_column_still_skips_what_is_not_a_commune(database):
    sheet = "COM;TYPECOM;LIBELLE\n35001;COM;Acigné\n35201;COMD;Ancienne\n".encode()

    report = await run_import(IMPORT, sheet, "cog.csv", kind="communes", commit=True)

    assert await Commune.count().run() == 1
    assert len(report.warnings) == 1


async def test_every_warning_is_kept_and_downloadable(database):
    lines = [
        f"Mairie X;;Xville;{99000 + n};;M.;Nom{n};Prénom;Fonction;;;;Axe inconnu"
        for n in range(120)
    ]
    sheet = (
        "\n".join(
            [
                "Mairie;Type;Commune;Code INSEE;Adresse;Civilité;Nom;Prénom;Fonction;Début du mandat;Courriel;Téléphone;Axes",
                *lines,
            ]
        )
        + "\n"
    ).encode()

    report = await run_import(IMPORT, sheet, "elus.csv")

    assert len(report.warnings) == 120
    assert report.to_dict()["nombre_avertissements"] == 120
    text = warnings_csv(report).decode("utf-8-sig")
    rows = text.strip().splitlines()
    assert rows[0] == "Ligne;Colonne;Avertissement"
    assert len(rows) == 121
    assert rows[1].startswith("2;M (« Axes »);axe inconnu")


def test_elected_functions_are_told_from_jobs():
    from maillage.exchange.planners import is_elected_function

    for function in ("Maire", "Maire délégué", "1re adjointe", "2e adjoint", "Adjoint au maire",
                     "Adjointe à l'enfance", "Conseillère municipale déléguée",
                     "Conseiller communautaire", "Députée", "Sénateur"):  # fmt: skip
        assert is_elected_function(function), function
    for function in ("Secrétaire de mairie", "Adjoint administratif", "Conseillère",
                     "Conseillère en économie sociale et familiale", "Directrice", "Président"):  # fmt: skip
        assert not is_elected_function(function), function
