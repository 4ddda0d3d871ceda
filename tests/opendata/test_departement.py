"""A whole département, EPCI after EPCI, from one reading of the registers (#18).

Mayotte (976): five EPCI, seventeen communes, a département whose council is a single
collectivity under another name."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from maillage import db
from maillage.actor import REGISTERS
from maillage.cli import main
from maillage.errors import InvalidData
from maillage.opendata import registers
from maillage.opendata.load import load_departement, load_territory
from maillage.tables import Affiliation, Commune, Territory

SECRET = "clé de l'instance de test, assez longue"
KEY = registers.mandate_key(SECRET)


@pytest.mark.slow
def test_the_departement_reading_gives_each_epci_as_its_own_reading():
    together = {s.epci.siren: s for s in registers.read_departement("976", KEY)}

    assert len(together) == 5
    siren = sorted(together)[0]
    assert together[siren] == registers.read_territory(siren, key=KEY)


@pytest.mark.slow
async def test_a_departement_loads_every_epci_then_refreshes_with_nothing_to_do(database):
    reports = [r async for r in load_departement(REGISTERS, "976", SECRET, dry_run=False)]

    assert len(reports) == 5 and all(r.committed for r in reports)
    assert await Territory.count().run() == 5
    assert await Commune.count().run() == 17
    mandates = await Affiliation.count().run()
    assert mandates == sum(r.counts.get("mandats", 0) for r in reports)
    again = [r async for r in load_departement(REGISTERS, "976", SECRET, dry_run=False)]
    assert all(r.lines == [] for r in again), [r.lines for r in again if r.lines]
    # One EPCI refreshed alone finds the same mandates (same keys, same instance secret).
    single = await load_territory(REGISTERS, reports[0].siren, dry_run=True, secret=SECRET)
    assert single.lines == []


async def test_an_unknown_departement_gets_a_french_message(database):
    with pytest.raises(InvalidData) as caught:
        [r async for r in load_departement(REGISTERS, "00", SECRET)]
    assert "Aucun département de code « 00 »" in caught.value.errors[0].message


@pytest.mark.slow
def test_the_command_takes_one_departement(database, settings, monkeypatch):
    monkeypatch.setenv("MAILLAGE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MAILLAGE_DATABASE_URL", settings.database_url)
    engine = db.current_engine()
    try:
        result = CliRunner().invoke(
            main, ["territory", "load", "--departement", "976", "--dry-run"]
        )
        both = CliRunner().invoke(
            main, ["territory", "load", "--departement", "976", "--epci", "200060457"]
        )
    finally:
        db.bind(engine)
    assert result.exit_code == 0, result.output
    assert result.output.count("Simulation (rien n'a été écrit)") == 5
    assert "5 EPCI traités" in result.output
    assert both.exit_code == 1
    assert "une seule des options" in both.output
