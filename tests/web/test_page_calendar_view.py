"""The month and week calendar of meetings (#21)."""

from __future__ import annotations

import datetime as dt
import re

from tests.web.helpers import create, html_text, small_network


async def _meeting_at(client, group: int, title: str, starts: str, ends: str) -> dict:
    return await create(
        client,
        "meetings",
        {"working_group": group, "title": title, "starts_at": starts, "ends_at": ends},
    )


async def test_a_late_evening_meeting_sits_on_its_paris_day(coordinator_web, admin):
    net = await small_network(admin.client)
    # 23 h 30 UTC on 31 January is 0 h 30 on 1 February in Paris.
    await _meeting_at(
        admin.client,
        net["group"]["id"],
        "Veillée tardive",
        "2027-01-31T23:30:00+00:00",
        "2027-02-01T01:00:00+00:00",
    )
    february = await coordinator_web.get("/reunions/calendrier?date=2027-02-10")
    assert february.status_code == 200
    text = html_text(february)
    assert "Février 2027" in text
    cell = re.search(r"lundi 1er février 2027.*?</td>", february.text, flags=re.S)
    assert cell and "Veillée tardive" in cell.group(0) and "0 h 30" in cell.group(0)
    january = html_text(await coordinator_web.get("/reunions/calendrier?date=2027-01-15"))
    assert "Veillée tardive" not in january.split("Janvier 2027", 1)[1].split("1er février")[0]


async def test_week_view_lists_each_day_with_holidays_and_cancelled_meetings(
    coordinator_web, admin
):
    net = await small_network(admin.client)
    cancelled = await _meeting_at(
        admin.client,
        net["group"]["id"],
        "Commission annulée",
        "2027-05-06T12:00:00+00:00",
        "2027-05-06T14:00:00+00:00",
    )
    await admin.client.patch(
        f"/api/v1/meetings/{cancelled['id']}",
        json={"version": cancelled["version"], "status": "annulee"},
    )
    page = await coordinator_web.get("/reunions/calendrier?vue=semaine&date=2027-05-06")
    text = html_text(page)
    assert "Semaine 18 : du lundi 3 au dimanche 9 mai 2027" in text
    assert "Samedi 8 mai 2027" in text and "Jour férié : Fête de la Victoire" in text
    assert "Commission annulée" in text and "annulée" in text
    assert 'class="cal-meeting cal-cancelled"' in page.text
    for name in ("Lundi 3 mai 2027", "Dimanche 9 mai 2027"):
        assert name in text
    nxt = re.search(r'href="([^"]+)" rel="next"', page.text)
    assert nxt and "date=2027-05-10" in nxt.group(1).replace("&amp;", "&")


async def test_the_body_filter_and_the_links_from_the_body_and_the_list(coordinator_web, admin):
    net = await small_network(admin.client)
    other = await create(
        admin.client, "groups", {"name": "Commission jeunesse", "kind": "commission_thematique"}
    )
    day = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    await _meeting_at(
        admin.client,
        other["id"],
        "Jeunesse de rentrée",
        f"{day}T08:00:00+00:00",
        f"{day}T09:00:00+00:00",
    )
    group = net["group"]["id"]
    body_page = (await coordinator_web.get(f"/instances/{group}")).text
    assert f'href="/reunions/calendrier?instance={group}"' in body_page
    assert 'href="/reunions/calendrier"' in (await coordinator_web.get("/reunions")).text
    both = html_text(await coordinator_web.get(f"/reunions/calendrier?vue=semaine&date={day}"))
    assert net["meeting"]["title"] in both and "Jeunesse de rentrée" in both
    only = html_text(
        await coordinator_web.get(f"/reunions/calendrier?vue=semaine&date={day}&instance={group}")
    )
    assert net["meeting"]["title"] in only and "Jeunesse de rentrée" not in only


async def test_odd_values_fall_back_to_this_month(coordinator_web, visitor):
    this_month = dt.date.today()
    for query in (
        "?vue=annee",
        "?date=2027-02-30",
        "?date=%00",
        "?instance=abc",
        "?date=" + "9" * 10,
    ):
        response = await coordinator_web.get("/reunions/calendrier" + query)
        assert response.status_code in (200, 400), query
        if response.status_code == 200:
            assert str(this_month.year) in html_text(response)
    assert (await visitor.get("/reunions/calendrier")).status_code in (302, 303, 401)
