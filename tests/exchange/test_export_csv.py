"""CSV exports as French Excel opens them."""

from __future__ import annotations

import csv
import io

from maillage.tables import AuditEvent
from tests.exchange.conftest import export_bytes


def rows_of(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


async def test_it_writes_bom_semicolons_crlf_and_french_headers(world):
    data = await export_bytes("contacts", "csv")
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    rows = rows_of(data)
    assert rows[0][:4] == ["N°", "Civilité", "Nom", "Prénom"]
    helene = next(r for r in rows if r[3] == "Hélène")
    assert helene[5] == "02 99 12 34 56"
    assert helene[8] == "Caf d'Ille-et-Vilaine"  # the primary affiliation first
    assert helene[14] == "COPIL CTG"


async def test_it_neutralises_formulas(world):
    rows = rows_of(await export_bytes("contacts", "csv"))
    marc = next(r for r in rows if r[3] == "Marc")
    assert marc[2] == '\'=HYPERLINK("http://evil")'
    assert marc[11] == "'@directeur"


async def test_it_writes_french_dates(world):
    rows = rows_of(await export_bytes("memberships", "csv"))
    assert rows[1][8] == "01/01/2026"
    meetings = rows_of(await export_bytes("meetings", "csv"))
    assert meetings[1][2] == "08/12/2026 14:00"  # Paris time
    assert meetings[1][-2:] == ["Acceptée", "Présence"]


async def test_caf_preset_has_stable_columns_and_leaves_out_opted_out(world):
    rows = rows_of(await export_bytes("contacts", "csv", preset="caf"))
    assert rows[0] == [
        "Organisation", "Type", "Axes", "Civilité", "Nom", "Prénom", "Fonction", "Courriel",
        "Téléphone", "Commune", "Instances", "Base légale", "SIRET de l'organisation",
        "Code INSEE de la commune",
    ]  # fmt: skip
    names = [r[5] for r in rows[1:]]
    assert "Paul" not in names
    assert names.count("Hélène") == 2  # one line per organisation
    # (#21) The identifiers the Caf matches on: each line's organisation SIRET (when known) and
    # commune INSEE code (5 characters), never a formula-guarded or shifted value.
    for row in rows[1:]:
        siret, insee = row[-2], row[-1]
        assert siret == "" or (len(siret) == 14 and siret.isdigit())
        assert insee == "" or len(insee) == 5
    assert any(row[-1] for row in rows[1:])


async def test_every_export_says_courriel(world):
    """(#21) One word for one thing: no export header says « Email »."""
    for entity in ("contacts", "memberships", "organisations"):
        header = rows_of(await export_bytes(entity, "csv"))[0]
        assert "Email" not in header and "E-mail" not in header
    assert "Courriel" in rows_of(await export_bytes("contacts", "csv", preset="caf"))[0]


async def test_it_filters_like_the_lists(world):
    rows = rows_of(await export_bytes("organisations", "csv", kind="association"))
    assert [r[1] for r in rows[1:]] == ["Centre social Les Tilleuls"]
    rows = rows_of(await export_bytes("contacts", "csv", group=world["copil"]["id"]))
    assert [r[3] for r in rows[1:]] == ["Hélène"]
    # The people of a territory (#20): on this single-territory instance, everyone is local.
    rows = rows_of(await export_bytes("contacts", "csv", territory=world["territory"]["id"]))
    assert sorted(r[3] for r in rows[1:]) == ["Hélène", "Marc", "Paul"]


async def test_it_records_the_export_in_the_audit_log(world):
    await export_bytes("organisations", "csv", kind="association")
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "export")
        .first()
        .output(load_json=True)
        .run()
    )
    assert event["actor"] == "cli"
    assert event["entity"] == "organisations"
    assert event["changes"]["lignes"] == 1
    assert event["changes"]["filtres"] == {"kind": "association"}
