"""Duplicate detection and merges (run on PostgreSQL too with MAILLAGE_TEST_DATABASE_URL)."""

from __future__ import annotations

import datetime as dt

import pytest

from maillage.actor import CLI
from maillage.calendar import feeds
from maillage.errors import Conflict
from maillage.exchange.duplicates import (
    find_contact_duplicates,
    find_organisation_duplicates,
    merge_contacts,
    merge_organisations,
    name_key,
)
from maillage.tables import (
    Affiliation,
    AuditEvent,
    Contact,
    Decision,
    FeedToken,
    InboundMessage,
    Invitation,
    Membership,
    Organisation,
    Partnership,
)
from tests.exchange.conftest import CAF_SIRET, make


def test_names_compare_without_accents_case_or_articles():
    assert name_key("Centre Social Les Tilleuls") == name_key("centre social des tilleuls")
    assert name_key("Éveil d'Ardoise") == name_key("eveil ardoise")


async def test_it_finds_the_tilleuls_twice(world):
    twin = await make("organisations", name="centre social des tilleuls", kind="association")
    pairs = await find_organisation_duplicates()
    pair = next(
        p for p in pairs if {p.first["id"], p.second["id"]} == {world["tilleuls"]["id"], twin["id"]}
    )
    assert pair.score >= 70
    assert "même nom (aux accents, majuscules et articles près)" in pair.reasons


async def test_same_name_in_another_commune_is_scored_down(world):
    other = await make("communes", insee_code="35902", name="Schiste")
    await make(
        "organisations", name="Centre social Les Tilleuls", kind="association", commune=other["id"]
    )
    pairs = await find_organisation_duplicates()
    assert pairs == []


async def test_it_finds_contacts_by_name_and_email_with_reasons(world):
    await make("contacts", first_name="helene", last_name="LEFEVRE", email="helene@caf.example")
    await make("contacts", first_name="Jean", last_name="Accueil", email="marc@tilleuls.example")
    pairs = await find_contact_duplicates()
    assert len(pairs) == 1  # a shared mailbox alone is not a duplicate
    assert pairs[0].score == 90
    assert pairs[0].reasons == [
        "même nom et prénom (aux accents et majuscules près)",
        "même adresse électronique (helene@caf.example)",
    ]


async def test_merging_contacts_moves_everything_and_keeps_history(world):
    helene = world["helene"]
    twin = await make(
        "contacts",
        first_name="Helene",
        last_name="Lefevre",
        phone="0611223344",
        mailing_opt_out=True,
    )
    await make(
        "affiliations",
        contact=twin["id"],
        organisation=world["caf"]["id"],
        function="Cheffe",
        is_primary=True,
    )
    await make(
        "memberships",
        contact=twin["id"],
        working_group=world["copil"]["id"],
        role="titulaire",
        start_date=dt.date(2026, 1, 1),
    )
    second = await make(
        "meetings",
        working_group=world["copil"]["id"],
        title="COPIL 2",
        starts_at=dt.datetime(2027, 1, 5, 13, tzinfo=dt.UTC),
        ends_at=dt.datetime(2027, 1, 5, 15, tzinfo=dt.UTC),
    )
    await make("invitations", meeting=second["id"], contact=twin["id"])
    merged = await merge_contacts(CLI, helene["id"], twin["id"])
    assert merged["email"] == "helene@caf.example"
    assert merged["mailing_opt_out"] is True
    assert await Contact.exists().where(Contact.id == twin["id"]).run() is False
    affiliations = await Affiliation.select().where(Affiliation.contact == helene["id"]).run()
    assert len(affiliations) == 3
    assert sum(a["is_primary"] for a in affiliations) == 1
    assert (
        await Membership.count().where(Membership.contact == helene["id"]).run() == 1
    )  # same fact, kept once
    assert await Invitation.count().where(Invitation.contact == helene["id"]).run() == 2
    actions = {
        e["action"]
        for e in await AuditEvent.select(AuditEvent.action)
        .where(AuditEvent.entity == "contact")
        .run()
    }
    assert {"merge", "delete"} <= actions


async def test_merge_refuses_two_different_answers_to_one_meeting(world):
    twin = await make("contacts", first_name="Hélène", last_name="Lefèvre")
    await make(
        "invitations", meeting=world["meeting"]["id"], contact=twin["id"], response="declinee"
    )
    with pytest.raises(Conflict) as refused:
        await merge_contacts(CLI, world["helene"]["id"], twin["id"])
    assert "COPIL de lancement" in refused.value.message
    assert await Contact.exists().where(Contact.id == twin["id"]).run()


async def test_merging_organisations_moves_affiliations_and_partnerships(world):
    twin = await make(
        "organisations", name="Caf 35", kind="institution", email="contact@caf35.example"
    )
    marc = world["marc"]
    await make("affiliations", contact=marc["id"], organisation=twin["id"])
    await make(
        "partnerships", organisation=world["tilleuls"]["id"], partner=twin["id"], kind="convention"
    )
    merged = await merge_organisations(CLI, world["caf"]["id"], twin["id"])
    assert merged["email"] == "contact@caf35.example"
    assert merged["siret"] == CAF_SIRET
    assert (
        await Affiliation.count().where(Affiliation.organisation == world["caf"]["id"]).run() == 2
    )
    assert await Partnership.count().where(Partnership.partner == world["caf"]["id"]).run() == 1
    assert not await Organisation.exists().where(Organisation.id == twin["id"]).run()


async def test_the_siret_moves_to_the_kept_organisation(world):
    twin = await make("organisations", name="Caf", kind="institution")
    merged = await merge_organisations(CLI, twin["id"], world["caf"]["id"])
    assert merged["siret"] == CAF_SIRET


async def test_merge_refuses_two_different_sirets(world):
    other = await make("organisations", name="Caf bis", kind="institution", siret="19074833500014")
    with pytest.raises(Conflict) as refused:
        await merge_organisations(CLI, world["caf"]["id"], other["id"])
    assert "SIRET diffèrent" in refused.value.message


async def test_a_merged_duplicates_personal_feed_follows_the_kept_card(world, settings):
    """The removed card's id may be given again (SQLite reuses the last row's id): its feed
    token must not open the next person's meetings."""
    twin = await make("contacts", first_name="Helene", last_name="Lefevre")
    token, token_id = await feeds.create_token(CLI, "contact", twin["id"])
    await merge_contacts(CLI, world["helene"]["id"], twin["id"])
    stranger = await make("contacts", first_name="Zoé", last_name="Inconnue")
    row = await FeedToken.select(FeedToken.target_id).where(FeedToken.id == token_id).first()
    assert row["target_id"] == world["helene"]["id"]
    assert stranger["id"] != world["helene"]["id"]
    found = await feeds.token_feed_state(token, settings)
    assert found is not None and found[0].target_id == world["helene"]["id"]


@pytest.mark.parametrize("entity", ["contacts", "organisations"])
async def test_a_decision_carried_by_the_duplicate_is_carried_by_the_kept_record(world, entity):
    """A decision's carrier is a person or an organisation: the merge left it on the
    duplicate, and the delete emptied it (``SET NULL``), the decision carried by nobody."""
    if entity == "contacts":
        kept = world["helene"]
        twin = await make("contacts", first_name="Hélène", last_name="Lefèvre")
        column = "carrier_contact"
    else:
        kept = world["caf"]
        twin = await make("organisations", name="Caf 35", kind="institution")
        column = "carrier_organisation"
    decision = await make(
        "decisions", summary="Un guichet unique", working_group=world["copil"]["id"],
        **{column: twin["id"]},
    )  # fmt: skip
    if entity == "contacts":
        await merge_contacts(CLI, kept["id"], twin["id"])
    else:
        await merge_organisations(CLI, kept["id"], twin["id"])
    carried = await Decision.select(getattr(Decision, column)).where(Decision.id == decision["id"])
    assert carried == [{column: kept["id"]}]


async def test_a_message_read_from_the_duplicates_mailbox_follows_the_kept_person(world):
    """A message the mailbox reader tied to a person lost its person with the merge."""
    kept = world["helene"]
    twin = await make("contacts", first_name="Hélène", last_name="Lefèvre")
    await InboundMessage.insert(
        InboundMessage(message_key="<r1@example>", outcome="reponse", contact=twin["id"])
    )
    await merge_contacts(CLI, kept["id"], twin["id"])
    tied = await InboundMessage.select(InboundMessage.contact)
    assert tied == [{"contact": kept["id"]}]
