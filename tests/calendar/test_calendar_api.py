"""Scheduling, moving and cancelling through the API: UID, SEQUENCE, warnings, iCalendar view."""

from __future__ import annotations

from tests.calendar.calendar_helpers import post, slot, strict


async def schedule(client, group_id: int, **extra) -> dict:
    payload = {"working_group": group_id, "title": "Bilan 2026", **slot("2027-01-12"), **extra}
    return await post(client, "/api/v1/calendar/meetings", payload)


async def test_it_schedules_a_meeting_with_a_stable_uid(coordinator, body):
    result = await schedule(coordinator.client, body["group"]["id"], location="Salle du conseil")
    meeting = result["meeting"]
    assert meeting["ical_uid"].endswith("@maillage")
    assert meeting["ical_sequence"] == 0
    assert meeting["links"] == {
        "https": f"http://testserver/calendar/meetings/{meeting['id']}.ics",
        "webcal": f"webcal://testserver/calendar/meetings/{meeting['id']}.ics",
    }
    assert result["warnings"] == []
    response = await coordinator.client.get(meeting["links"]["https"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    event = strict(response.text).events[0]
    assert event.uid == meeting["ical_uid"]
    assert event.summary == "COPIL CTG — Bilan 2026"
    assert event.location == "Salle du conseil"
    assert event.categories == ["Comité de pilotage", "Petite enfance", "Jeunesse"]
    assert event.organizer.uri == "mailto:ctg@maillage.example"


async def test_moving_and_cancelling_raise_the_sequence(coordinator, body):
    c = coordinator.client
    meeting = (await schedule(c, body["group"]["id"]))["meeting"]
    moved = await post(
        c,
        f"/api/v1/calendar/meetings/{meeting['id']}/move",
        {"version": meeting["version"], **slot("2027-01-19", "10:00", "12:00")},
        status=200,
    )
    assert moved["meeting"]["ical_sequence"] == 1
    assert moved["meeting"]["ical_uid"] == meeting["ical_uid"]
    cancelled = await post(
        c,
        f"/api/v1/calendar/meetings/{meeting['id']}/cancel",
        {"version": moved["meeting"]["version"]},
        status=200,
    )
    assert cancelled["status"] == "annulee"
    assert cancelled["ical_sequence"] == 2
    event = strict((await c.get(f"/calendar/meetings/{meeting['id']}.ics")).text).events[0]
    assert event.sequence == 2
    assert event.status.value == "CANCELLED"
    assert event.dtstart.hour == 10
    # Renaming a cancelled meeting changes nothing in calendars that dropped it: SEQUENCE stays.
    response = await c.patch(
        f"/api/v1/meetings/{meeting['id']}", json={"version": cancelled["version"], "title": "X"}
    )
    assert response.json()["ical_sequence"] == 2
    # Restored, then renamed: the title is in the invitees' calendars, SEQUENCE rises (#21).
    restored = await c.patch(
        f"/api/v1/meetings/{meeting['id']}",
        json={"version": response.json()["version"], "status": "planifiee"},
    )
    assert restored.json()["ical_sequence"] == 3
    response = await c.patch(
        f"/api/v1/meetings/{meeting['id']}",
        json={"version": restored.json()["version"], "title": "Y"},
    )
    assert response.json()["ical_sequence"] == 4


async def test_a_stale_version_is_refused(coordinator, body):
    c = coordinator.client
    meeting = (await schedule(c, body["group"]["id"]))["meeting"]
    await post(c, f"/api/v1/calendar/meetings/{meeting['id']}/cancel", {"version": 1}, status=200)
    response = await c.post(
        f"/api/v1/calendar/meetings/{meeting['id']}/move", json={"version": 1, **slot("2027-02-02")}
    )
    assert response.status_code == 409
    assert "une autre modification" in response.json()["detail"]


async def test_warnings_name_holidays_and_double_booked_members(coordinator, body):
    c = coordinator.client
    group_id, helene = body["group"]["id"], body["helene"]
    cotech = await post(c, "/api/v1/groups", {"name": "Comité technique", "kind": "cotech"})
    other = await schedule(
        c, cotech["id"], title="Budget", **slot("2027-05-17", "15:00", "17:00", "+02:00")
    )
    await post(
        c, "/api/v1/invitations", {"meeting": other["meeting"]["id"], "contact": helene["id"]}
    )
    result = await schedule(c, group_id, **slot("2027-05-17", "14:00", "16:00", "+02:00"))
    messages = {w["kind"]: w["message"] for w in result["warnings"]}
    assert messages["jour_ferie"] == "Le lundi 17 mai 2027 est un jour férié (Lundi de Pentecôte)."
    assert messages["double_reservation"] == (
        "Hélène Lefèvre a déjà une invitation à « Budget » au même moment "
        "(lundi 17 mai 2027 de 15 h 00 à 17 h 00)."
    )
    # Zone B is on holiday on 22 December 2026 (Noël): said, not refused.
    result = await schedule(c, group_id, **slot("2026-12-22"))
    assert [w["kind"] for w in result["warnings"]] == ["vacances_scolaires"]


async def test_the_list_gives_each_meeting_its_icalendar_view(reader, coordinator, body):
    await schedule(coordinator.client, body["group"]["id"])
    response = await reader.client.get(
        "/api/v1/calendar/meetings", params={"group": body["group"]["id"]}
    )
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 1
    event = strict(page["items"][0]["ical"]).events[0]
    assert event.uid == page["items"][0]["ical_uid"]


async def test_a_reader_cannot_schedule_move_or_cancel(reader, coordinator, body):
    meeting = (await schedule(coordinator.client, body["group"]["id"]))["meeting"]
    payload = {"working_group": body["group"]["id"], "title": "X", **slot("2027-01-12")}
    assert (await reader.client.post("/api/v1/calendar/meetings", json=payload)).status_code == 403
    response = await reader.client.post(
        f"/api/v1/calendar/meetings/{meeting['id']}/cancel", json={"version": 1}
    )
    assert response.status_code == 403


async def test_naive_times_get_a_french_error(coordinator, body):
    response = await coordinator.client.post(
        "/api/v1/calendar/meetings",
        json={
            "working_group": body["group"]["id"],
            "title": "X",
            "starts_at": "2027-01-12T14:00:00",
            "ends_at": "2027-01-12T16:00:00",
        },
    )
    assert response.status_code == 400
    assert "fuseau horaire" in response.text


async def test_every_calendar_operation_is_documented_in_french(anonymous):
    schema = (await anonymous.get("/schema/openapi.json")).json()
    paths = {p: ops for p, ops in schema["paths"].items() if "calendar" in p}
    assert len(paths) == 15
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert operation["summary"][0].isupper(), (path, method)
            codes = set(operation["responses"])
            assert "404" in codes or "400" in codes or "401" in codes, (path, method)
            if path.startswith("/api/"):
                assert {"401", "403"} <= codes, (path, method)
    assert "304" in paths["/calendar/groups/{filename}"]["get"]["responses"]
    assert "304" in paths["/calendar/feeds/{filename}"]["get"]["responses"]


async def test_hostile_text_typed_in_the_api_stays_text_in_the_feed(coordinator, body):
    c = coordinator.client
    title = "Bilan; budget, suite : « élus » 🎉 " + "très long " * 25
    agenda = "1. Point\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:pirate\r\nSUMMARY:pirate"
    result = await schedule(
        c, body["group"]["id"], title=title.strip(), agenda=agenda, location="Salle A; B, C"
    )
    data = (await c.get(f"/calendar/groups/{body['group']['id']}.ics")).content
    (event,) = strict(data).events
    assert event.uid == result["meeting"]["ical_uid"]
    assert event.summary == "COPIL CTG — " + title.strip()
    assert event.location == "Salle A; B, C"
    assert "END:VEVENT\nBEGIN:VEVENT\nUID:pirate" in event.description
    assert not any(line.startswith(b"UID:pirate") for line in data.split(b"\r\n"))
    response = await c.post(
        "/api/v1/calendar/meetings",
        json={
            "working_group": body["group"]["id"],
            "title": "A\nBEGIN:VEVENT",
            **slot("2027-01-12"),
        },
    )
    assert response.status_code == 400  # a title is one line: refused before any calendar
    assert "Caractère de contrôle" in response.text
