"""Droit à l'effacement from the contact's page (#23): admins only, typed confirmation, and the
answer lists the backups that still hold the person with the day each one expires."""

from __future__ import annotations

import datetime as dt
import os

from maillage.tables import Contact
from tests.web.helpers import html_text, small_network


def _backup(app, name: str, made: dt.datetime):
    folder = app.state.settings.data_dir / "sauvegardes"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.bak"):
        old.unlink()
    path = folder / name
    path.write_bytes(b"une sauvegarde qui la contient")
    os.utime(path, (made.timestamp(), made.timestamp()))
    return path


async def test_an_admin_erases_and_sees_the_backups_that_still_hold_her(app, admin, admin_web):
    net = await small_network(admin.client)
    contact_id = net["contact"]["id"]
    held = _backup(app, "maillage-2026-11-20-023000.bak", dt.datetime(2026, 11, 20, 2, 30))
    page = await admin_web.get(f"/contacts/{contact_id}")
    assert "Droit à l'effacement (RGPD)" in html_text(page)

    refused = await admin_web.post(f"/contacts/{contact_id}/effacer", {"confirmation": "oui"})
    assert refused.status_code == 303
    assert (await Contact.select(Contact.first_name).first())["first_name"] == "Hélène"

    response = await admin_web.post(f"/contacts/{contact_id}/effacer", {"confirmation": "effacer"})
    assert response.status_code == 200, response.text
    text = html_text(response)
    assert "Effacement de « Hélène Durand »" in text
    assert "maillage-2026-11-20-023000.bak 20/11/2026 20/12/2026" in text
    assert "30 jours de conservation" in text
    assert (await Contact.select(Contact.first_name).first())["first_name"] == "Anonyme"
    held.unlink()


async def test_without_backups_the_page_says_where_it_looked(app, admin, admin_web):
    net = await small_network(admin.client)
    folder = app.state.settings.data_dir / "sauvegardes"
    for old in folder.glob("*.bak") if folder.is_dir() else []:
        old.unlink()
    response = await admin_web.post(
        f"/contacts/{net['contact']['id']}/effacer", {"confirmation": "EFFACER"}
    )
    assert f"Aucune sauvegarde antérieure dans {folder}" in html_text(response)


async def test_a_coordinator_neither_sees_nor_uses_it(admin, coordinator_web):
    net = await small_network(admin.client)
    page = await coordinator_web.get(f"/contacts/{net['contact']['id']}")
    assert "Droit à l'effacement" not in html_text(page)
    response = await coordinator_web.post(
        f"/contacts/{net['contact']['id']}/effacer", {"confirmation": "EFFACER"}
    )
    assert response.status_code == 403
