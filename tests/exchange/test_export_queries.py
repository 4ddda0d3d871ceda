"""The contact exports read each page with one joined query: their output must be byte for byte
what the page-by-page enrichment (still used by the vCards) gives, on tricky data."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from maillage.actor import CLI
from maillage.crm.registry import SERVICES
from maillage.exchange import labels
from maillage.exchange.cells import phone_for_people
from maillage.exchange.sources import (
    CAF_COLUMNS,
    CONTACT_COLUMNS,
    ExportFilters,
    Lookups,
    _group_names,
    caf_rows,
    contact_pages,
    contact_rows,
)
from maillage.exchange.writers import RowCounter, csv_chunks
from tests.exchange.conftest import make

PAST = dt.date.today() - dt.timedelta(days=30)
FUTURE = dt.date.today() + dt.timedelta(days=30)


async def reference_contact_rows(f: ExportFilters, lk: Lookups) -> AsyncIterator[list[list[Any]]]:
    """The contacts export as it was built before the joined query (one query per table)."""
    async for page in contact_pages(f, dt.date.today()):
        out = []
        for r in page.rows:
            main = (page.affiliations.get(r["id"]) or [{}])[0]
            out.append([
                r["id"], r["civility"], r["last_name"], r["first_name"], r["email"],
                phone_for_people(r["phone"]), lk.commune_name(r["commune"]),
                lk.commune_code(r["commune"]), main.get("organisation.name", ""),
                labels.ORGANISATION_KINDS.get(main.get("organisation.kind") or "", ""),
                main.get("organisation.siret") or "", main.get("function", ""),
                main.get("elected_mandate", False), lk.axis_names(page.axes.get(r["id"], [])),
                _group_names(lk, page.groups.get(r["id"], [])),
                labels.LEGAL_BASES.get(r["legal_basis"], r["legal_basis"]), r["consent_date"],
                r["mailing_opt_out"],
            ])  # fmt: skip
        yield out


async def reference_caf_rows(f: ExportFilters, lk: Lookups) -> AsyncIterator[list[list[Any]]]:
    async for page in contact_pages(f, dt.date.today()):
        out = []
        for r in page.rows:
            axes = lk.axis_names(page.axes.get(r["id"], []))
            groups = _group_names(lk, page.groups.get(r["id"], []))
            basis = labels.LEGAL_BASES.get(r["legal_basis"], r["legal_basis"])
            for aff in page.affiliations.get(r["id"]) or [{}]:
                out.append([
                    aff.get("organisation.name", ""),
                    labels.ORGANISATION_KINDS.get(aff.get("organisation.kind") or "", ""),
                    axes, r["civility"], r["last_name"], r["first_name"],
                    aff.get("function", ""), r["email"], phone_for_people(r["phone"]),
                    lk.commune_name(r["commune"]), groups, basis,
                    aff.get("organisation.siret") or "", lk.commune_code(r["commune"]),
                ])  # fmt: skip
        yield out


async def as_csv(columns: list[Any], rows: AsyncIterator[list[list[Any]]]) -> bytes:
    return b"".join([chunk async for chunk in csv_chunks(columns, rows, RowCounter())])


@pytest.fixture
async def tricky(world) -> dict[str, Any]:
    """Ended, future and missing affiliations, repeated and ended memberships, dates…"""
    other = await make("organisations", name="=Mairie", kind="collectivite", siret=None)
    dsp = await make("organisations", name="Crèche Les Lutins", kind="operateur_dsp")
    copil, helene = world["copil"], world["helene"]
    cotech = await make("groups", name="Cotech", kind="cotech")
    twin = await make("groups", name="COPIL CTG", kind="reseau")  # same name, other group
    # Primary but ended, then two current ones: the lowest id comes first.
    zoe = await make(
        "contacts",
        first_name="Zoé",
        last_name="Martin",
        phone="+442071838750",
        consent_date=dt.date(2025, 3, 4),
        legal_basis="consentement",
        axes=[3, 1, 8],
    )
    await make(
        "affiliations",
        contact=zoe["id"],
        organisation=other["id"],
        is_primary=True,
        end_date=PAST,
    )
    await make(
        "affiliations",
        contact=zoe["id"],
        organisation=dsp["id"],
        function="-gérante",
        elected_mandate=True,
        end_date=FUTURE,
    )
    await make("affiliations", contact=zoe["id"], organisation=other["id"], function="Élue")
    for group, role, end in (
        (copil, "titulaire", None),
        (copil, "membre", None),
        (cotech, "membre", PAST),
        (twin, "membre", FUTURE),
    ):
        await make(
            "memberships",
            contact=zoe["id"],
            working_group=group["id"],
            role=role,
            start_date=dt.date(2025, 1, 1),
            end_date=end,
        )
    # Only ended affiliations: no organisation at all.
    yann = await make("contacts", first_name="Yann", last_name="Le Goff", email="yann@x.example")
    await make(
        "affiliations", contact=yann["id"], organisation=dsp["id"], is_primary=True, end_date=PAST
    )
    await make("contacts", first_name="Inès", last_name="Archivée", axes=[2])
    archived = await make("contacts", first_name="Léa", last_name="Partie")
    await SERVICES["contacts"].set_archived(CLI, archived["id"], True)
    await make("memberships", contact=helene["id"], working_group=cotech["id"], role="membre")
    return {"zoe": zoe, "cotech": cotech, "dsp": dsp}


FILTERS = [
    {},
    {"include_archived": True},
    {"mailing": True},
    {"axis": 1},
    {"kind": "operateur_dsp"},
    {"q": "martin"},
]


@pytest.mark.parametrize("filters", FILTERS)
async def test_contacts_export_is_unchanged_by_the_joined_query(tricky, filters):
    lk = await Lookups.load()
    expected = await as_csv(CONTACT_COLUMNS, reference_contact_rows(ExportFilters(**filters), lk))
    got = await as_csv(CONTACT_COLUMNS, contact_rows(ExportFilters(**filters), lk))
    assert got == expected


@pytest.mark.parametrize("filters", FILTERS)
async def test_caf_export_is_unchanged_by_the_joined_query(tricky, filters):
    lk = await Lookups.load()
    expected = await as_csv(CAF_COLUMNS, reference_caf_rows(ExportFilters(**filters), lk))
    got = await as_csv(CAF_COLUMNS, caf_rows(ExportFilters(**filters), lk))
    assert got == expected


async def test_rows_keep_their_types_for_xlsx(tricky):
    rows = [r async for page in contact_rows(ExportFilters(), await Lookups.load()) for r in page]
    zoe = next(r for r in rows if r[0] == tricky["zoe"]["id"])
    assert zoe[16] == dt.date(2025, 3, 4)
    assert zoe[8:13] == ["Crèche Les Lutins", "Opérateur en DSP", "", "-gérante", True]
    assert zoe[14] == "COPIL CTG, COPIL CTG"  # two groups bear the name, the ended one is gone


async def test_pages_follow_each_other_without_loss(tricky, monkeypatch):
    monkeypatch.setattr("maillage.exchange.sources.PAGE_SIZE", 2)
    lk = await Lookups.load()
    for columns, rows, reference in (
        (CONTACT_COLUMNS, contact_rows, reference_contact_rows),
        (CAF_COLUMNS, caf_rows, reference_caf_rows),
    ):
        expected = await as_csv(columns, reference(ExportFilters(), lk))
        assert await as_csv(columns, rows(ExportFilters(), lk)) == expected
