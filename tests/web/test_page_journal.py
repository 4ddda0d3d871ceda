"""The journal reads as plain French: verbs, field labels, values by name, no code (#21)."""

from __future__ import annotations

import re

from maillage.web.pages.journal_text import change_lines, value_text
from tests.web.helpers import html_text, small_network


async def test_it_shows_a_membership_with_labels_not_codes(admin_web, admin):
    net = await small_network(admin.client)
    page = html_text(await admin_web.get("/journal?objet=membership"))
    assert "a créé" in page
    assert "rôle : Titulaire" in page
    assert "instance : n° " in page
    for code in ("working_group", "titulaire", "create", "null", "end_date"):
        assert code not in page, code
    assert net["meeting"]


async def test_it_leaves_out_bookkeeping_fields(admin_web, admin):
    await small_network(admin.client)
    page = html_text(await admin_web.get("/journal?objet=meeting"))
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", page)  # the iCalendar UID
    assert "autre donnée" not in page


async def test_it_shows_an_update_as_before_and_after(admin_web, admin):
    net = await small_network(admin.client)
    meeting = net["meeting"]
    response = await admin.client.patch(
        f"/api/v1/meetings/{meeting['id']}",
        json={"version": meeting["version"], "location": "Médiathèque", "video_url": None},
    )
    assert response.status_code == 200, response.text
    page = html_text(await admin_web.get("/journal?objet=meeting"))
    assert "a modifié" in page
    assert "lieu : Salle du conseil → Médiathèque" in page
    assert "update" not in page and "location" not in page


def test_it_words_empty_values_booleans_and_dates():
    event = {
        "action": "update",
        "entity": "affiliation",
        "changes": {"end_date": [None, "2027-06-30"], "is_primary": [True, False]},
    }
    assert change_lines(event) == [
        "date de fin : vide → 30/06/2027",
        "rattachement principal : oui → non",
    ]
    assert value_text("invitation", "response", "en_attente") == "En attente"
    assert value_text("meeting", "starts_at", "2027-05-08T12:00:00+00:00") == "08/05/2027 à 14 h 00"
