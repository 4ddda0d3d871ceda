"""A recurring body's meetings: created from its rule, and left alone when the horizon grows."""

from __future__ import annotations

from maillage.tables import Meeting
from tests.calendar.calendar_helpers import post, strict

RULE = "DTSTART;TZID=Europe/Paris:20270105T140000 RRULE:FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=1TU"


async def rule_body(client, rule: str = RULE) -> dict:
    return await post(
        client,
        "/api/v1/groups",
        {
            "name": "Commission petite enfance",
            "kind": "commission_thematique",
            "rrule": rule,
            "default_location": "Maison de l'enfance",
            "axes": [1],
        },
    )


async def materialise(client, group_id: int, until: str, status: int = 200, **extra) -> dict:
    return await post(
        client,
        f"/api/v1/calendar/groups/{group_id}/materialise",
        {"until": until, **extra},
        status,
    )


async def test_it_creates_the_meetings_of_the_rule(coordinator):
    c = coordinator.client
    group = await rule_body(c)
    preview = await materialise(c, group["id"], "2027-12-31", dry_run=True)
    assert len(preview["planned"]) == 4 and preview["created"] == []
    assert await Meeting.count() == 0
    result = await materialise(c, group["id"], "2027-12-31", duration_minutes=90)
    starts = [item["meeting"]["starts_at"] for item in result["created"]]
    assert starts == [
        "2027-01-05T13:00:00Z",
        "2027-04-06T12:00:00Z",
        "2027-07-06T12:00:00Z",
        "2027-10-05T12:00:00Z",
    ]
    first = result["created"][0]["meeting"]
    assert first["title"] == "Commission petite enfance"
    assert first["location"] == "Maison de l'enfance"
    assert first["recurrence_id"] == first["starts_at"]
    assert len({item["meeting"]["ical_uid"] for item in result["created"]}) == 4
    feed = strict((await c.get(f"/calendar/groups/{group['id']}.ics")).text)
    assert sorted((e.dtstart.hour, e.dtend.minute) for e in feed.events) == [(14, 30)] * 4


async def test_moved_cancelled_and_deleted_occurrences_stay_so(coordinator):
    c = coordinator.client
    group = await rule_body(c)
    created = (await materialise(c, group["id"], "2027-12-31"))["created"]
    january, april, july, _october = (item["meeting"] for item in created)
    await post(
        c,
        f"/api/v1/calendar/meetings/{january['id']}/move",
        {
            "version": 1,
            "starts_at": "2027-01-12T14:00:00+01:00",
            "ends_at": "2027-01-12T16:00:00+01:00",
        },
        200,
    )
    await post(c, f"/api/v1/calendar/meetings/{april['id']}/cancel", {"version": 1}, 200)
    assert (await c.delete(f"/api/v1/meetings/{july['id']}")).status_code == 204
    extended = await materialise(c, group["id"], "2028-12-31")
    assert [item["meeting"]["starts_at"][:10] for item in extended["created"]] == [
        "2028-01-04",
        "2028-04-04",
        "2028-07-04",
        "2028-10-03",
    ]
    rows = (
        await Meeting.select(Meeting.starts_at, Meeting.status)
        .where(Meeting.working_group == group["id"])
        .order_by(Meeting.starts_at)
    )
    assert len(rows) == 7
    assert rows[0]["starts_at"].day == 12  # still moved
    assert rows[1]["status"] == "annulee"  # still cancelled
    again = await materialise(c, group["id"], "2028-12-31")
    assert again["created"] == []


async def test_rule_problems_are_said_in_french(coordinator):
    c = coordinator.client
    without = await post(c, "/api/v1/groups", {"name": "Réseau", "kind": "reseau"})
    response = await c.post(
        f"/api/v1/calendar/groups/{without['id']}/materialise", json={"until": "2027-12-31"}
    )
    assert response.status_code == 400
    assert "pas de règle de récurrence" in response.text
    unanchored = await rule_body(c, "FREQ=MONTHLY;BYDAY=1TU")
    response = await c.post(
        f"/api/v1/calendar/groups/{unanchored['id']}/materialise", json={"until": "2027-12-31"}
    )
    assert response.status_code == 400
    assert "première réunion" in response.json()["errors"][0]["message"]
    result = await materialise(
        c, unanchored["id"], "2027-03-31", first_start="2027-01-05T14:00:00+01:00"
    )
    assert len(result["created"]) == 3
    response = await c.post(
        f"/api/v1/calendar/groups/{unanchored['id']}/materialise", json={"until": "2099-12-31"}
    )
    assert response.status_code == 400
    assert "cinq ans" in response.text
