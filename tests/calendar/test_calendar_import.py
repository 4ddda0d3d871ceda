"""Importing .ics files: idempotent by UID, dry run by default, all or nothing."""

from __future__ import annotations

import pytest

from maillage.tables import Meeting
from tests.calendar.calendar_helpers import ics, vevent


async def upload(client, group_id: int, data: str | bytes, dry_run: bool = False):
    return await client.post(
        "/api/v1/calendar/import",
        params={"group": group_id, "dry_run": str(dry_run).lower()},
        files={"data": ("calendrier.ics", data, "text/calendar")},
    )


FILE = ics(
    vevent("a@ailleurs", SUMMARY="Commission\\, séance 1"),
    vevent(
        "b@ailleurs",
        **{
            "DTSTART;TZID=Europe/Paris": "20270302T090000",
            "DTEND;TZID=Europe/Paris": "20270302T110000",
        },
        DESCRIPTION="Ordre du jour :\\n1. Budget",
    ),
)


async def test_a_dry_run_lists_changes_and_writes_nothing(coordinator, body):
    response = await upload(coordinator.client, body["group"]["id"], FILE, dry_run=True)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["dry_run"] is True
    assert report["summary"] == "2 réunions seraient créées, 0 modifiée, 0 inchangée."
    assert [line["action"] for line in report["lines"]] == ["creee", "creee"]
    assert await Meeting.count() == 0
    default = await coordinator.client.post(
        "/api/v1/calendar/import",
        params={"group": body["group"]["id"]},
        files={"data": ("calendrier.ics", FILE, "text/calendar")},
    )
    assert default.json()["dry_run"] is True
    assert await Meeting.count() == 0


async def test_reimporting_updates_and_never_duplicates(coordinator, body):
    c, group_id = coordinator.client, body["group"]["id"]
    first = (await upload(c, group_id, FILE)).json()
    assert first["summary"] == "2 réunions ont été créées, 0 modifiée, 0 inchangée."
    rows = await Meeting.select().order_by(Meeting.starts_at)
    assert [r["ical_uid"] for r in rows] == ["a@ailleurs", "b@ailleurs"]
    assert rows[0]["title"] == "Commission, séance 1"
    assert rows[1]["agenda"] == "Ordre du jour :\n1. Budget"
    again = (await upload(c, group_id, FILE)).json()
    assert again["summary"] == "0 réunion a été créée, 0 modifiée, 2 inchangées."
    assert await Meeting.count() == 2
    moved = FILE.replace("20270112T140000", "20270119T140000").replace(
        "20270112T160000", "20270119T160000"
    )
    report = (await upload(c, group_id, moved)).json()
    assert [(x["action"], x["changed"]) for x in report["lines"]] == [
        ("modifiee", ["starts_at", "ends_at"]),
        ("inchangee", []),
    ]
    row = await Meeting.select().where(Meeting.ical_uid == "a@ailleurs").first()
    assert row["ical_sequence"] == 1
    assert row["starts_at"].day == 19


async def test_our_own_export_comes_back_unchanged(coordinator, body):
    c, group_id = coordinator.client, body["group"]["id"]
    await upload(c, group_id, FILE)
    exported = (await c.get(f"/calendar/groups/{group_id}.ics")).content
    report = (await upload(c, group_id, exported, dry_run=True)).json()
    assert [line["title"] for line in report["lines"]] == [
        "Commission, séance 1",
        "Commission petite enfance",
    ]
    assert "title" not in report["lines"][0]["changed"]


async def test_a_bad_file_is_refused_in_french_and_nothing_is_imported(coordinator, body):
    c, group_id = coordinator.client, body["group"]["id"]
    broken = ics(vevent("ok@x"), vevent(None, SUMMARY="Sans UID"))
    response = await upload(c, group_id, broken)
    assert response.status_code == 400
    messages = [e["message"] for e in response.json()["errors"]]
    assert "rien n'a été importé" in messages[0]
    assert "pas d'identifiant UID" in messages[1]
    assert await Meeting.count() == 0
    for data, words in (
        ("Bonjour", "n'est pas un calendrier"),
        (FILE[:-30], "tronqué"),
        (
            ics(
                vevent(
                    **{
                        "DTSTART;TZID=Europe/Paris": None,
                        "DTSTART;TZID=Lune/Base": "20270112T140000",
                    }
                )
            ),
            "fuseau horaire inconnu",
        ),
    ):
        response = await upload(c, group_id, data)
        assert response.status_code == 400
        assert words in response.text
    assert await Meeting.count() == 0


async def test_a_huge_file_is_refused_with_its_limit(coordinator, body):
    small = "BEGIN:VEVENT\r\nUID:r{n}@x\r\nDTSTAMP:20261101T090000Z\r\nDTSTART:20270112T130000Z\r\nEND:VEVENT"
    data = ics(*(small.format(n=n) for n in range(10_000)))
    response = await upload(coordinator.client, body["group"]["id"], data)
    assert response.status_code == 400
    assert "en accepte 500 au plus" in response.text
    assert await Meeting.count() == 0


async def test_a_uid_of_another_body_is_not_stolen(coordinator, body):
    c = coordinator.client
    await upload(c, body["group"]["id"], FILE)
    other = (await c.post("/api/v1/groups", json={"name": "Autre", "kind": "reseau"})).json()
    response = await upload(c, other["id"], FILE)
    assert response.status_code == 400
    assert "autre instance" in response.text
    assert await Meeting.count().where(Meeting.working_group == other["id"]) == 0


async def test_a_reader_cannot_import(reader, body):
    response = await upload(reader.client, body["group"]["id"], FILE, dry_run=True)
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("start", "duration"),
    [
        ("20270112T140000", "P999999999W"),
        ("20270112T140000", "P99999999D"),
        ("20270112T140000", "PT9999999999999H"),
        ("99991231T233000", "PT1H"),
    ],
)
async def test_a_duration_past_the_calendar_is_refused_not_a_crash(
    coordinator, body, start, duration
):
    """DURATION added to DTSTART overflowed Python's dates: 500 (#23)."""
    data = ics(
        vevent(
            "long@ailleurs",
            DURATION=duration,
            **{"DTSTART;TZID=Europe/Paris": start, "DTEND;TZID=Europe/Paris": None},
        )
    )
    response = await upload(coordinator.client, body["group"]["id"], data, dry_run=True)
    assert response.status_code == 400, response.text
    assert "DURATION" in response.text
    assert await Meeting.count() == 0


async def test_a_reimport_that_moves_a_sent_meeting_sends_the_update(coordinator, body):
    """The file is the coordinator's edit: those who received the invitation get the update,
    as after an edit on the page (#21)."""
    from maillage.tables import OutboxMessage

    c, group_id = coordinator.client, body["group"]["id"]
    await upload(c, group_id, FILE)
    meeting = await Meeting.select().where(Meeting.ical_uid == "a@ailleurs").first()
    invited = await c.post(
        f"/api/v1/meetings/{meeting['id']}/invitations", json={"group_members": True}
    )
    assert invited.status_code == 201, invited.text
    sent = await c.post(f"/api/v1/meetings/{meeting['id']}/invitations/send")
    assert sent.json()["invitation"] == 1
    moved = FILE.replace("20270112T140000", "20270119T140000").replace(
        "20270112T160000", "20270119T160000"
    )
    await upload(c, group_id, moved, dry_run=True)
    assert await OutboxMessage.count().where(OutboxMessage.kind == "modification") == 0
    await upload(c, group_id, moved)
    updates = await OutboxMessage.select().where(OutboxMessage.kind == "modification")
    assert [u["recipient"] for u in updates] == ["helene@caf.example"]
