"""Decisions on the pages (#22): recorded on the meeting's page, followed as « suites à
donner » on the body's next meeting, on the body's page and, when late, on the dashboard."""

from __future__ import annotations

import datetime as dt
import re

from maillage.tables import Decision, Meeting
from tests.web.helpers import create, html_text, small_network


async def test_a_decision_is_recorded_then_followed_until_done(coordinator_web, admin):
    net = await small_network(admin.client)
    meeting, group = net["meeting"], net["group"]
    page = await coordinator_web.get(f"/reunions/{meeting['id']}")
    assert "Aucune décision enregistrée pour cette réunion." in html_text(page)
    response = await coordinator_web.post(
        f"/reunions/{meeting['id']}/decisions",
        {
            "summary": "Recenser les places en crèche par commune.",
            "carrier_contact": net["contact"]["id"],
            "carrier_organisation": net["organisation"]["id"],
            "due_on": "2020-01-31",
        },
    )
    assert response.status_code == 303
    text = html_text(await coordinator_web.get(f"/reunions/{meeting['id']}"))
    assert "Décision enregistrée." in text
    assert "Recenser les places en crèche par commune." in text
    assert "31 janvier 2020 (en retard)" in text and "À faire" in text
    row = await Decision.select().first()
    assert row["working_group"] == group["id"]  # the meeting's body
    # The body's next meeting shows it as a follow-up; the dashboard as late.
    day = dt.date.today() + dt.timedelta(days=40)
    later = await create(
        admin.client,
        "meetings",
        {
            "working_group": group["id"],
            "title": "Séance suivante",
            "starts_at": f"{day}T14:00:00+01:00",
            "ends_at": f"{day}T16:00:00+01:00",
        },
    )
    following = html_text(await coordinator_web.get(f"/reunions/{later['id']}"))
    assert "Suites à donner aux réunions précédentes (1)" in following
    assert "Recenser les places en crèche" in following
    assert "Recenser les places en crèche" in html_text(await coordinator_web.get("/"))
    assert "Recenser les places en crèche" in html_text(
        await coordinator_web.get(f"/instances/{group['id']}")
    )
    done = await coordinator_web.post(
        f"/decisions/{row['id']}/statut",
        {"status": "faite", "version": row["version"], "retour": "reunion", "cible": later["id"]},
    )
    assert done.headers["location"] == f"/reunions/{later['id']}#decisions"
    following = html_text(await coordinator_web.get(f"/reunions/{later['id']}"))
    assert "Décision marquée « faite »." in following and "Suites à donner" not in following
    stored = await Decision.select().first()
    assert stored["status"] == "faite" and stored["done_on"] == dt.date.today()


async def test_odd_decision_forms_are_refused_in_french(coordinator_web, reader_web, admin):
    net = await small_network(admin.client)
    url = f"/reunions/{net['meeting']['id']}/decisions"
    for form, message in (
        ({"summary": "  "}, "écrivez ce qui a été décidé"),
        ({"summary": "x", "due_on": "31/02/2027"}, "échéance « 31/02/2027 » illisible"),
        ({"summary": "x" * 3000}, "2 000 caractères au plus"),
        ({"summary": "x", "carrier_contact": "999999"}, "Décision non enregistrée"),
    ):
        await coordinator_web.post(url, form)
        assert message in html_text(await coordinator_web.get(f"/reunions/{net['meeting']['id']}"))
    assert await Decision.count() == 0
    assert (await reader_web.post(url, {"summary": "x"})).status_code == 403
    back = await coordinator_web.post(
        "/decisions/1/statut",
        {"status": "faite", "retour": "https://ailleurs.example", "cible": "1"},
    )
    assert back.headers["location"] == "/"
    assert await Meeting.count() == 1
    assert not re.search(r"Traceback|Exception", html_text(await coordinator_web.get("/")))
