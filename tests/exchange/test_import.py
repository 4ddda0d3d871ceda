"""Imports from the spreadsheets coordinators have: matching, dry run, atomic commit."""

from __future__ import annotations

import pytest

from maillage.actor import IMPORT
from maillage.exchange.imports import ImportRefused, run_import
from maillage.exchange.mapping import parse_mapping
from maillage.exchange.reading import UnreadableFile
from maillage.tables import Affiliation, AuditEvent, Contact, Organisation

HEADER = "Civilité;Nom;Prénom;Courriel;Tél.;Raison sociale;SIRET;Fonction\r\n"
GOOD = (
    HEADER
    + "Mme;Lefèvre;Hélène;helene@caf.example;02 99 12 34 56;Caf d'Ille-et-Vilaine;39825979600017;Conseillère\r\n"
    + "M.;Martin;Paul;paul@tilleuls.example;;Centre social Les Tilleuls;;Directeur\r\n"
    + "Mme;Durand;Zoé;zoe@tilleuls.example;;Centre social les Tilleuls;;Animatrice\r\n"
)


async def test_dry_run_lists_what_would_be_created_and_writes_nothing(database):
    report = await run_import(IMPORT, GOOD.encode("utf-8"), "partenaires.csv")
    assert not report.committed
    assert [line.action for line in report.lines] == ["creation"] * 3
    assert await Contact.count().run() == 0
    assert report.file_description == "CSV UTF-8, séparateur point-virgule"


async def test_commit_creates_contacts_organisations_and_affiliations(database):
    report = await run_import(IMPORT, GOOD.encode("utf-8"), "partenaires.csv", commit=True)
    assert report.committed, report.to_dict()
    assert await Contact.count().run() == 3
    assert await Organisation.count().run() == 2  # « les Tilleuls » is the same centre
    assert await Affiliation.count().run() == 3
    helene = await Contact.select().where(Contact.email == "helene@caf.example").first().run()
    assert helene["phone"] == "+33299123456"
    assert await AuditEvent.count().where(AuditEvent.actor == "import").run() == 8


async def test_reimporting_the_same_file_changes_nothing(database):
    await run_import(IMPORT, GOOD.encode("utf-8"), "partenaires.csv", commit=True)
    report = await run_import(IMPORT, GOOD.encode("utf-8"), "partenaires.csv", commit=True)
    assert [line.action for line in report.lines] == ["inchange"] * 3, report.to_dict()
    assert await Contact.count().run() == 3


async def test_reimport_updates_what_changed(database):
    await run_import(IMPORT, GOOD.encode("utf-8"), "partenaires.csv", commit=True)
    changed = GOOD.replace("Directeur", "Directeur général")
    report = await run_import(IMPORT, changed.encode("utf-8"), "partenaires.csv", commit=True)
    assert [line.action for line in report.lines] == ["inchange", "mise_a_jour", "inchange"]
    functions = {r["function"] for r in await Affiliation.select(Affiliation.function).run()}
    assert "Directeur général" in functions


async def test_windows_1252_file_as_typed_by_hand(database):
    data = GOOD.replace(";", ",").encode("cp1252")
    report = await run_import(IMPORT, data, "excel.csv", commit=True)
    assert report.file_description == "CSV Windows-1252, séparateur virgule"
    names = {r["first_name"] for r in await Contact.select(Contact.first_name).run()}
    assert names == {"Hélène", "Paul", "Zoé"}


async def test_invalid_siret_is_rejected_with_line_and_column_and_nothing_written(database):
    lines = [HEADER]
    for n in range(2, 1287):
        lines.append(f"Mme;Nom{n};Prénom;p{n}@exemple.fr;;;;\r\n")
    lines.append("M.;Faux;Siret;faux@exemple.fr;;Mairie;12345678901234;Maire\r\n")
    with pytest.raises(ImportRefused) as refused:
        await run_import(IMPORT, "".join(lines).encode(), "gros.csv", commit=True)
    problem = refused.value.report.rejected[0].problems[0]
    assert problem.line == 1287
    assert problem.column == "G (« SIRET »)"
    assert "SIRET invalide" in problem.message
    assert "ligne 1287" in refused.value.message
    assert await Contact.count().run() == 0


async def test_only_valid_lines_when_asked(database):
    data = GOOD + "Mme;Sans;Courriel;pas-une-adresse;;;;\r\n"
    report = await run_import(IMPORT, data.encode(), "p.csv", commit=True, only_valid=True)
    assert report.count("rejet") == 1
    assert report.rejected[0].problems[0].column == "D (« Courriel »)"
    assert await Contact.count().run() == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "est vide"),
        (b"%PDF-1.7\n\x00\x01binary", "document PDF"),
        (b"\x00\x01\x02\x03" * 100, "binaires"),
        (HEADER.encode(), "que la ligne d'en-tête"),
        (
            "Nom;Prénom\r\nLefèvre;Hélène\r\n".encode() + "Müller;Zoé\r\n".encode("cp1252"),
            "mélange deux encodages",
        ),
        (b"Foo;Bar\r\n1;2\r\n", "obligatoires introuvables"),
        # A quote left open swallows the rest of the file into one cell past the csv
        # module's limit: its English error used to escape as a server error.
        (
            b'Nom;Prenom\r\n"Lefevre;Helene\r\n' + b"x" * 200_000 + b"\r\n",
            "mal formé ligne 3 : une cellule dépasse 131\u202f072 caractères "
            "(un guillemet resté ouvert ?).",
        ),
    ],
)
async def test_it_refuses_unreadable_files_in_french(database, data, message):
    with pytest.raises(UnreadableFile) as refused:
        await run_import(IMPORT, data, "fichier.csv")
    assert message in refused.value.message


async def test_it_states_the_size_limit(database):
    with pytest.raises(UnreadableFile) as refused:
        await run_import(IMPORT, b"Nom;Prenom\r\n" + b"x;y\r\n" * 11_000_000, "gros.csv")
    assert "limite est de 20 Mo" in refused.value.message


async def test_a_line_with_too_many_columns_is_rejected(database):
    data = HEADER + "Mme;Lefèvre;Hélène;h@caf.example;;Caf;;Conseillère;en trop\r\n"
    report = await run_import(IMPORT, data.encode(), "p.csv")
    assert report.rejected[0].problems[0].line == 2
    assert "9 valeurs pour 8 colonnes" in report.rejected[0].problems[0].message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"Nom": "nom",\n "Pr\xc3\xa9nom" "prenom"}', "JSON invalide ligne 2, colonne 11."),
        (b"Nom;nom\n" + b"x" * 200_000, "une cellule dépasse 131\u202f072 caractères."),
    ],
)
def test_an_unreadable_mapping_file_is_refused_in_french(data, message):
    with pytest.raises(UnreadableFile) as refused:
        parse_mapping(data, "contacts")
    assert refused.value.message.startswith("Fichier de correspondance")
    assert refused.value.message.endswith(message)
