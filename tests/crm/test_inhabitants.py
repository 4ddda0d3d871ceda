"""Inhabitants' registrations to public meetings (#22): capacity, waiting list, cancel and
promote, retention, and an audit log without personal data."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from maillage.actor import CLI
from maillage.crm import inhabitants
from maillage.crm.inhabitants import RegistrationForm
from maillage.crm.registry import SERVICES
from maillage.crm.schemas import MeetingIn, WorkingGroupIn
from maillage.errors import Conflict, InvalidData, NotFound
from maillage.tables import AuditEvent, InhabitantRegistration, Meeting, WorkingGroup
from tests.support import run_command

NOW = dt.datetime.now(dt.UTC)


async def public_meeting(
    capacity: int | None = None,
    *,
    days: int = 10,
    public: bool = True,
    open_: bool = True,
    retention: int = 365,
) -> int:
    group = await WorkingGroup.select(WorkingGroup.id).first()
    if group is None:
        group = await SERVICES["groups"].create(
            CLI, WorkingGroupIn(name="Atelier parentalité", kind="reseau")
        )
    group_id = group["id"]
    starts = (NOW + dt.timedelta(days=days)).replace(microsecond=0)
    meeting = await SERVICES["meetings"].create(
        CLI,
        MeetingIn(
            working_group=group_id,
            title="Réunion publique sur l'accueil du jeune enfant",
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=2),
            location="Salle des fêtes",
            is_public=public,
            registration_open=open_ and public,
            capacity=capacity,
            retention_days=retention,
        ),
    )
    return meeting["id"]


def form(name: str = "Hélène", commune: str = "Ardoise", email: str = "") -> RegistrationForm:
    return RegistrationForm(name=name, commune=commune, email=email, consent=True)


async def test_capacity_then_waiting_list(database):
    meeting = await public_meeting(capacity=2)
    first = await inhabitants.register(meeting, form("Hélène"))
    second = await inhabitants.register(meeting, form("Marc"))
    third = await inhabitants.register(meeting, form("Zoé"))
    fourth = await inhabitants.register(meeting, form("Ali"))
    assert [first.status, second.status] == ["inscrit", "inscrit"]
    assert (third.status, third.waiting_rank) == ("attente", 1)
    assert (fourth.status, fourth.waiting_rank) == ("attente", 2)
    listing = await inhabitants.meeting_registrations(meeting)
    assert (listing["registered"], listing["waiting"], listing["places_left"]) == (2, 2, 0)

    with pytest.raises(Conflict, match="complète"):
        await inhabitants.promote(CLI, third.id)
    await inhabitants.cancel(CLI, first.id)
    await inhabitants.promote(CLI, third.id)
    listing = await inhabitants.meeting_registrations(meeting)
    assert [r["status"] for r in listing["items"]] == ["annule", "inscrit", "inscrit", "attente"]
    with pytest.raises(Conflict):
        await inhabitants.cancel(CLI, first.id)


async def test_concurrent_registrations_never_exceed_capacity(database):
    meeting = await public_meeting(capacity=5)
    results = await asyncio.gather(
        *(inhabitants.register(meeting, form(f"Personne {n}")) for n in range(20))
    )
    statuses = [r.status for r in results]
    assert statuses.count("inscrit") == 5
    assert statuses.count("attente") == 15
    assert sorted(r.waiting_rank for r in results if r.waiting_rank) == list(range(1, 16))
    assert await InhabitantRegistration.count() == 20


async def test_closed_private_and_unknown_meetings_take_no_registration(database):
    private = await public_meeting(public=False)
    closed = await public_meeting(open_=False)
    past = await public_meeting(days=-3)
    for meeting_id in (private, closed, past, 999_999, 0, -1, 2**40):
        assert await inhabitants.open_meeting(meeting_id) is None
        with pytest.raises(NotFound):
            await inhabitants.register(meeting_id, form())


async def test_registration_opens_only_on_public_meetings(database):
    group = await SERVICES["groups"].create(CLI, WorkingGroupIn(name="COPIL", kind="copil"))
    with pytest.raises(InvalidData) as caught:
        await SERVICES["meetings"].create(
            CLI,
            MeetingIn(
                working_group=group["id"],
                title="COPIL",
                starts_at=NOW + dt.timedelta(days=3),
                ends_at=NOW + dt.timedelta(days=3, hours=1),
                registration_open=True,
            ),
        )
    assert caught.value.errors[0].field == "registration_open"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "  "}, "nom"),
        ({"name": "x" * 101}, "nom"),
        ({"commune": "\x00\u200b"}, "commune"),
        ({"email": "pas-une-adresse"}, "courriel"),
        ({"email": "a@" + "b" * 300 + ".fr"}, "courriel"),
        ({"consent": False}, "consentement"),
    ],
)
async def test_bad_input_names_the_field_in_french(database, fields, field):
    meeting = await public_meeting()
    values = {"name": "Hélène", "commune": "Ardoise", "email": "", "consent": True, **fields}
    with pytest.raises(InvalidData) as caught:
        await inhabitants.register(meeting, RegistrationForm(**values))
    assert [e.field for e in caught.value.errors] == [field]
    assert await InhabitantRegistration.count() == 0


async def test_consent_and_cleaned_values_are_stored(database):
    meeting = await public_meeting()
    done = await inhabitants.register(
        meeting, form(" Hélène\t Lefèvre\n", "Ardoise", "Helene@Exemple.FR")
    )
    row = await InhabitantRegistration.select().where(InhabitantRegistration.id == done.id).first()
    assert row["name"] == "Hélène Lefèvre"
    assert row["email"] == "Helene@exemple.fr"
    assert row["consent_text"] == inhabitants.CONSENT_VERSION
    assert row["consent_at"] is not None


async def test_expired_registrations_are_purged_and_logged_without_personal_data(database):
    kept = await public_meeting(retention=365)
    expired = await public_meeting(retention=30)
    for meeting in (kept, expired):
        await inhabitants.register(meeting, form("Hélène Lefèvre", "Ardoise", "h@exemple.fr"))
        await inhabitants.register(meeting, form("Marc", "Bourg"))
    later = NOW + dt.timedelta(days=60)
    assert await inhabitants.purge_expired(CLI, later) == {expired: 2}
    remaining = await InhabitantRegistration.select(InhabitantRegistration.meeting)
    assert {r["meeting"] for r in remaining} == {kept}
    assert await inhabitants.purge_expired(CLI, later) == {}
    events = await AuditEvent.select().where(AuditEvent.entity == inhabitants.ENTITY)
    text = repr(events)
    for personal in ("Hélène", "Lefèvre", "Ardoise", "Bourg", "exemple.fr", "Marc"):
        assert personal not in text
    purge = [e for e in events if e["action"] == "purge"]
    changes = purge[0]["changes"]
    assert (json.loads(changes) if isinstance(changes, str) else changes)["deleted"] == 2


async def test_the_command_names_only_the_counts_that_are_not_zero(database, settings, monkeypatch):
    meeting = await public_meeting(capacity=3)
    listed = await run_command(settings, monkeypatch, "inhabitants", "list", str(meeting))
    assert listed.exit_code == 0, listed.output
    assert "Aucune inscription pour l'instant (3 places) ; effacement le" in listed.stderr
    assert " 0 " not in listed.stderr


async def test_the_command_lists_and_purges(database, settings, monkeypatch):
    meeting = await public_meeting(capacity=1)
    await inhabitants.register(meeting, form("Hélène", "Ardoise", "h@exemple.fr"))
    await inhabitants.register(meeting, form("Marc", "Bourg"))
    listed = await run_command(settings, monkeypatch, "inhabitants", "list", str(meeting))
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert [line.split("\t")[1:5] for line in lines] == [
        ["Inscrit", "Hélène", "Ardoise", "h@exemple.fr"],
        ["Liste d'attente", "Marc", "Bourg", ""],
    ]
    assert "1 personne inscrite sur 1 place, 1 personne en liste d'attente ;" in listed.stderr
    missing = await run_command(settings, monkeypatch, "inhabitants", "list", "999999")
    assert missing.exit_code != 0 and "Réunion n° 999999 introuvable" in missing.output
    purged = await run_command(settings, monkeypatch, "inhabitants", "purge")
    assert purged.exit_code == 0, purged.output
    assert "Aucune inscription à effacer" in purged.output
    await Meeting.update({Meeting.retention_days: 1}).where(Meeting.id == meeting)
    await Meeting.update(
        {
            Meeting.starts_at: NOW - dt.timedelta(days=5),
            Meeting.ends_at: NOW - dt.timedelta(days=5) + dt.timedelta(hours=2),
        }
    ).where(Meeting.id == meeting)
    purged = await run_command(settings, monkeypatch, "inhabitants", "purge")
    assert "2 inscriptions effacées (1 réunion)." in purged.output
    assert await InhabitantRegistration.count() == 0
