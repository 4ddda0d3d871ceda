"""The tableau de bord as a to-do (#21): each task of the week with its one-click action, and
two small charts drawn as inline SVG with a text alternative."""

from __future__ import annotations

import datetime as dt

from maillage.crm.dashboard import dashboard
from maillage.tables import Contact, Invitation, Meeting
from tests.web.helpers import create, html_text, small_network


async def _meeting_held(meeting_id: int, days_ago: int = 3) -> None:
    row = (
        await Meeting.select(Meeting.starts_at, Meeting.ends_at)
        .where(Meeting.id == meeting_id)
        .first()
    )
    shift = (row["starts_at"] - dt.datetime.now(dt.UTC)) + dt.timedelta(days=days_ago)
    await Meeting.update(
        {Meeting.starts_at: row["starts_at"] - shift, Meeting.ends_at: row["ends_at"] - shift}
    ).where(Meeting.id == meeting_id)


async def _today() -> dict:
    now = dt.datetime.now(dt.UTC)
    return await dashboard(now, now.date())


async def test_each_task_appears_when_it_is_due_and_leaves_when_done(admin):
    network = await small_network(admin.client)
    meeting, contact = network["meeting"], network["contact"]
    await create(admin.client, "invitations", {"meeting": meeting["id"], "contact": contact["id"]})
    todo = (await _today())["todo"]
    assert [m["id"] for m in todo["remind"]] == [meeting["id"]]
    assert todo["attendance"] == todo["minutes"] == todo["late_actions"] == []

    await _meeting_held(meeting["id"])
    todo = (await _today())["todo"]
    assert todo["remind"] == []
    assert [m["id"] for m in todo["attendance"]] == [meeting["id"]]

    await Invitation.update({Invitation.attendance: "present"}).where(
        Invitation.meeting == meeting["id"]
    )
    todo = (await _today())["todo"]
    assert todo["attendance"] == []
    assert [m["id"] for m in todo["minutes"]] == [meeting["id"]]

    late = await create(
        admin.client,
        "actions",
        {"title": "Guide des parents", "status": "en_cours",
         "end_date": str(dt.date.today() - dt.timedelta(days=2))},
    )  # fmt: skip
    await create(
        admin.client,
        "actions",
        {"title": "Forum", "status": "realisee",
         "end_date": str(dt.date.today() - dt.timedelta(days=2))},
    )  # fmt: skip
    todo = (await _today())["todo"]
    assert [a["id"] for a in todo["late_actions"]] == [late["id"]]


async def test_the_charts_count_attendance_and_partners_by_axis(admin):
    network = await small_network(admin.client)
    meeting, contact = network["meeting"], network["contact"]
    await create(admin.client, "invitations", {"meeting": meeting["id"], "contact": contact["id"]})
    await _meeting_held(meeting["id"], days_ago=1)
    await Invitation.update({Invitation.attendance: "present"}).where(
        Invitation.meeting == meeting["id"]
    )
    data = await _today()
    months = data["attendance_chart"]["rows"]
    assert len(months) == 12 and months[-1]["rate"] == 100 and months[-1]["noted"] == 1
    assert all(row["rate"] is None for row in months[:-1])
    by_axis = {row["axis"]: row["partners"] for row in data["axis_chart"]["rows"]}
    assert sum(by_axis.values()) == 1
    assert "100 %" in data["attendance_chart"]["description"]


async def test_the_page_shows_tasks_with_their_actions_and_accessible_charts(
    admin, coordinator_web
):
    network = await small_network(admin.client)
    meeting, contact = network["meeting"], network["contact"]
    await create(admin.client, "invitations", {"meeting": meeting["id"], "contact": contact["id"]})
    page = await coordinator_web.get("/")
    text = html_text(page)
    assert "À faire cette semaine" in text
    assert "1 personne n'a pas répondu" in text
    assert f'href="/reunions/{meeting["id"]}#invitations"' in page.text
    assert "Aucune présence notée sur les douze derniers mois." in text
    assert "(s)" not in text

    await _meeting_held(meeting["id"], days_ago=1)
    await Invitation.update({Invitation.attendance: "present"}).where(
        Invitation.meeting == meeting["id"]
    )
    page = await coordinator_web.get("/")
    text = html_text(page)
    assert f'href="/reunions/{meeting["id"]}#compte-rendu"' in page.text
    assert page.text.count('role="img"') == 2
    assert "<desc" in page.text and "Voir les chiffres" in text
    assert "100 %" in text


async def test_an_address_refused_for_good_is_a_task_until_corrected(admin, coordinator_web):
    """#19: a hard bounce marks the address; the dashboard lists it with the server's words."""
    contact = (await small_network(admin.client))["contact"]
    bounced_at = dt.datetime(2026, 12, 8, 13, 0, tzinfo=dt.UTC)
    await Contact.update(
        {
            Contact.email_bounced_at: bounced_at,
            Contact.email_bounce_reason: "5.1.1 boîte inconnue",
        }
    ).where(Contact.id == contact["id"])
    assert [c["id"] for c in (await _today())["todo"]["bounced"]] == [contact["id"]]
    text = html_text(await coordinator_web.get("/"))
    assert "Adresse en échec" in text
    assert "refusée le 8 décembre 2026 : 5.1.1 boîte inconnue." in text
    assert "Corriger l'adresse" in text

    await Contact.update({Contact.email_bounced_at: None, Contact.email_bounce_reason: None}).where(
        Contact.id == contact["id"]
    )
    assert (await _today())["todo"]["bounced"] == []


async def test_attendance_falls_in_the_month_of_paris_counted_by_the_database(admin):
    """Counted per start time and answer by the database (#16), a meeting starting at 00:30
    on 1 December in Paris (23:30 UTC on 30 November) is December's; absents count as noted."""
    network = await small_network(admin.client)
    meeting = network["meeting"]
    other = await create(admin.client, "contacts", {"first_name": "Inès", "last_name": "Roux"})
    for contact in (network["contact"], other):
        await create(
            admin.client, "invitations", {"meeting": meeting["id"], "contact": contact["id"]}
        )
    starts = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)
    await Meeting.update(
        {Meeting.starts_at: starts, Meeting.ends_at: starts + dt.timedelta(hours=1)}
    ).where(Meeting.id == meeting["id"])
    await Invitation.update({Invitation.attendance: "present"}).where(
        Invitation.contact == network["contact"]["id"]
    )
    await Invitation.update({Invitation.attendance: "absent"}).where(
        Invitation.contact == other["id"]
    )
    now = dt.datetime(2026, 12, 11, 12, tzinfo=dt.UTC)
    months = (await dashboard(now, now.date()))["attendance_chart"]["rows"]
    assert [(m["name"], m["noted"], m["rate"]) for m in months[-2:]] == [
        ("novembre 2026", 0, None),
        ("décembre 2026", 2, 50),
    ]


async def test_partners_mobilised_count_each_partner_once_per_axis(admin):
    """#16: for a user who sees every row the chart is one statement; it counts, per axis, the
    partners with someone present at a meeting of the last twelve months, each once."""
    network = await small_network(admin.client)
    meeting, contact = network["meeting"], network["contact"]
    lilas = network["organisation"]
    # A second person of the same partner, present too: the partner still counts once.
    other = await create(admin.client, "contacts", {"first_name": "Paul", "last_name": "Roux"})
    await create(
        admin.client, "affiliations", {"contact": other["id"], "organisation": lilas["id"]}
    )
    # A partner on two axes whose person was present: counted on both.
    both = await create(
        admin.client, "organisations", {"name": "Mairie", "kind": "collectivite", "axes": [1, 4]}
    )
    mayor = await create(admin.client, "contacts", {"first_name": "Anne", "last_name": "Maire"})
    await create(admin.client, "affiliations", {"contact": mayor["id"], "organisation": both["id"]})
    # A partner whose person was invited but absent, and one whose person was present more than
    # a year ago: neither counts.
    absent = await create(
        admin.client, "organisations", {"name": "Crèche", "kind": "association", "axes": [1]}
    )
    away = await create(admin.client, "contacts", {"first_name": "Léa", "last_name": "Absente"})
    await create(
        admin.client, "affiliations", {"contact": away["id"], "organisation": absent["id"]}
    )
    old = await create(
        admin.client, "organisations", {"name": "Ludothèque", "kind": "association", "axes": [2]}
    )
    former = await create(admin.client, "contacts", {"first_name": "Jo", "last_name": "Ancien"})
    await create(admin.client, "affiliations", {"contact": former["id"], "organisation": old["id"]})
    long_ago = await create(
        admin.client,
        "meetings",
        {
            "working_group": meeting["working_group"],
            "title": "Réunion de l'an dernier",
            "starts_at": "2020-03-02T14:00:00+01:00",
            "ends_at": "2020-03-02T16:00:00+01:00",
        },
    )
    for person in (contact, other, mayor, away):
        if person is not contact:
            await create(
                admin.client, "invitations", {"meeting": meeting["id"], "contact": person["id"]}
            )
    await create(admin.client, "invitations", {"meeting": meeting["id"], "contact": contact["id"]})
    await create(admin.client, "invitations", {"meeting": long_ago["id"], "contact": former["id"]})
    await _meeting_held(meeting["id"], days_ago=2)
    await Invitation.update({Invitation.attendance: "present"}).where(
        Invitation.contact.is_in([contact["id"], other["id"], mayor["id"], former["id"]])
    )
    await Invitation.update({Invitation.attendance: "absent"}).where(
        Invitation.contact == away["id"]
    )
    data = await _today()
    by_axis = {row["axis"]: row["partners"] for row in data["axis_chart"]["rows"]}
    assert by_axis["Petite enfance"] == 1  # the town hall, not the absent person's crèche
    assert by_axis["Parentalité"] == 2  # the Lilas once for two people, and the town hall
    assert by_axis["Enfance"] == 0  # present in 2020 only
    assert sum(by_axis.values()) == 3
    assert [row["axis"] for row in data["axis_chart"]["rows"]][:2] == ["Petite enfance", "Enfance"]
