"""Exports, imports with a preview, and duplicates, as the coordinator sees them."""

from __future__ import annotations

import io
import os
import time

import openpyxl

from maillage.web.pages.exchange import PENDING_DIR, purge_stale_imports_at_startup
from tests.web.helpers import HOSTILE, create, html_text, small_network

CSV = (
    "Prénom;Nom;Email\nAnne;Lefèvre;anne.lefevre@example.fr\nPaul;Girard;pas-une-adresse\n"
).encode()


async def _upload(browser, content: bytes = CSV, kind: str = "contacts", csrf: bool = True):
    await browser.get("/imports")
    data = {"type": kind}
    if csrf:
        data["_csrf_token"] = browser.client.cookies["maillage_csrf"]
    files = {"fichier": ("contacts.csv", content, "text/csv")}
    return await browser.client.post("/imports", data=data, files=files)


async def test_it_puts_the_caf_export_first_and_downloads_it(coordinator_web, admin):
    await small_network(admin.client)
    page = html_text(await coordinator_web.get("/exports"))
    assert page.index("Export Caf") < page.index("Autres exports")
    response = await coordinator_web.get(
        "/exports/telecharger?entite=contacts&format=xlsx&modele=caf"
    )
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert any("Durand" in str(c.value) for row in sheet.iter_rows() for c in row)


async def test_it_explains_an_export_it_cannot_make(coordinator_web):
    response = await coordinator_web.get("/exports/telecharger?entite=organisations&format=vcf")
    assert response.status_code == 400
    assert "vCard" in html_text(response)


async def test_it_previews_an_import_with_errors_per_line_then_imports_valid_lines(
    coordinator_web,
):
    response = await _upload(coordinator_web)
    assert response.status_code == 200, response.text
    page = html_text(response)
    assert "Simulation (rien n'a été écrit)" in page
    assert "1 rejetée sur 2" in page
    assert "3 rejetée colonne C (« Email ») : Adresse électronique invalide" in page
    assert "Anne" not in html_text(await coordinator_web.get("/contacts"))
    refused = await coordinator_web.post("/imports/confirmer", {})
    assert refused.status_code == 400
    assert "Import non effectué" in html_text(refused)
    done = await coordinator_web.post("/imports/confirmer", {"lignes_valides": "on"})
    assert done.status_code == 303
    assert "Import effectué" in html_text(await coordinator_web.get("/imports"))
    contacts = html_text(await coordinator_web.get("/contacts"))
    assert "Lefèvre" in contacts and "Girard" not in contacts


async def test_the_preview_shows_quotes_inside_a_cell_as_french_second_level_quotes(
    coordinator_web,
):
    """(#21) A cell holding quotes or guillemets never reads « … « … » … » in the preview."""
    content = (
        "Nom;Type;Date de fin de convention\n"
        '"Centre social ""La Passerelle""";Association;\n'
        "Amicale « Les « petits » loups »;Association;\n"
        '"Club ""Le « Phare »""";Autre;\n'
        '"Foyer ""Ailleurs""";Banque « privée »;\n'
    ).encode()
    response = await _upload(coordinator_web, content, kind="organisations")
    assert response.status_code == 200, response.text
    page = html_text(response)
    assert "Organisation « Centre social “La Passerelle” » : création" in page
    assert "Organisation « Amicale “Les “petits” loups” » : création" in page
    assert "Organisation « Club “Le “Phare”” » : création" in page
    assert "colonne B (« Type ») : valeur inconnue « Banque “privée” » pour le champ « type" in page
    # Between the outer guillemets of one value, none opens again.
    for line in page.split(" Ligne ")[-1].split("création"):
        assert line.count("«") <= line.count("»") + 1
    assert "« C (" not in page and '""' not in page
    await coordinator_web.get("/imports")
    named = await coordinator_web.client.post(
        "/imports",
        data={
            "type": "organisations",
            "_csrf_token": coordinator_web.client.cookies["maillage_csrf"],
        },
        files={"fichier": ("Liste « écoles ».csv", content, "text/csv")},
    )
    assert "Aperçu de « Liste “écoles”.csv » (Organisations)" in html_text(named)


async def test_it_forgets_an_abandoned_import(coordinator_web):
    await _upload(coordinator_web)
    await coordinator_web.post("/imports/abandonner", {})
    response = await coordinator_web.post("/imports/confirmer", {"lignes_valides": "on"})
    assert "Aucun import en attente" in html_text(
        await coordinator_web.get(response.headers["location"])
    )
    assert "Lefèvre" not in html_text(await coordinator_web.get("/contacts"))


async def test_it_refuses_exchange_pages_to_a_reader_and_uploads_without_csrf(
    reader_web, coordinator_web
):
    for url in ("/exports", "/imports", "/doublons", "/exports/telecharger?entite=contacts"):
        assert (await reader_web.get(url)).status_code == 403, url
    assert (
        await reader_web.post("/doublons/fusionner", {"a": 1, "b": 2, "garder": "a"})
    ).status_code == 403
    assert (await _upload(coordinator_web, csrf=False)).status_code == 403


async def test_it_reviews_and_merges_duplicates(coordinator_web, admin):
    first = await create(
        admin.client, "contacts", {"first_name": "Hélène", "last_name": "Durand", "email": "h@x.fr"}
    )
    second = await create(
        admin.client, "contacts", {"first_name": "Helene", "last_name": "Durand", "email": "h@x.fr"}
    )
    page = html_text(await coordinator_web.get("/doublons"))
    assert "Hélène Durand (h@x.fr)" in page and "même" in page
    response = await coordinator_web.post(
        "/doublons/fusionner",
        {"type": "contacts", "a": first["id"], "b": second["id"], "garder": "a"},
    )
    assert response.status_code == 303
    page = html_text(await coordinator_web.get("/doublons"))
    assert "Fiches fusionnées" in page and "Aucun doublon probable" in page


async def test_it_escapes_a_hostile_name_in_duplicates_and_imports(coordinator_web, admin):
    for _ in range(2):
        await create(admin.client, "organisations", {"name": HOSTILE, "kind": "association"})
    page = await coordinator_web.get("/doublons?type=organisations")
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    hostile_csv = f"Prénom;Nom\n{HOSTILE};X\n".encode()
    page = await _upload(coordinator_web, hostile_csv)
    assert "<script>alert" not in page.text


def _pending_files(app) -> list:
    directory = app.state.settings.data_dir / PENDING_DIR
    return sorted(directory.iterdir()) if directory.is_dir() else []


def _age(path, hours: float) -> None:
    moment = time.time() - hours * 3600
    os.utime(path, (moment, moment))


async def test_an_upload_deletes_previews_left_unconfirmed_for_a_day(
    app, coordinator_web, admin_web
):
    for stale in _pending_files(app):
        stale.unlink()  # the data directory is shared by the session's tests
    await _upload(coordinator_web)
    [forgotten] = _pending_files(app)
    _age(forgotten, 25)
    await _upload(admin_web)
    [fresh] = _pending_files(app)
    assert fresh != forgotten and not forgotten.exists()
    response = await coordinator_web.post("/imports/confirmer", {"lignes_valides": "on"})
    assert "Aucun import en attente : déposez à nouveau le fichier." in html_text(
        await coordinator_web.get(response.headers["location"])
    )
    assert "Lefèvre" not in html_text(await coordinator_web.get("/contacts"))


async def test_a_recent_preview_of_another_person_is_kept(app, coordinator_web, admin_web):
    for stale in _pending_files(app):
        stale.unlink()
    await _upload(coordinator_web)
    [recent] = _pending_files(app)
    _age(recent, 23)
    await _upload(admin_web)
    assert recent in _pending_files(app) and len(_pending_files(app)) == 2
    response = await coordinator_web.post("/imports/confirmer", {"lignes_valides": "on"})
    assert response.status_code == 303
    assert "Lefèvre" in html_text(await coordinator_web.get("/contacts"))


def test_start_up_deletes_old_previews(app):
    directory = app.state.settings.data_dir / PENDING_DIR
    directory.mkdir(parents=True, exist_ok=True)
    old, new = directory / "ancien", directory / "recent"
    old.write_bytes(b"Nom\nDurand\n")
    new.write_bytes(b"Nom\nMartin\n")
    _age(old, 48)
    assert purge_stale_imports_at_startup in app.on_startup
    purge_stale_imports_at_startup(app)
    assert not old.exists() and new.exists()
    new.unlink()


async def test_the_export_form_offers_the_service_filters(coordinator_web, admin):
    await small_network(admin.client)
    page = await coordinator_web.get("/exports")
    for name in ("q", "axe", "territoire", "commune", "type_organisation", "instance"):
        assert f'<label for="f-{name}">' in page.text, name
    for name in ("type_instance", "role", "statut", "du", "au", "archives", "envoi"):
        assert f'for="f-{name}"' in page.text, name


async def test_an_export_keeps_only_what_the_filters_select(coordinator_web, admin):
    net = await small_network(admin.client)
    await create(
        admin.client,
        "contacts",
        {"first_name": "Anne", "last_name": "Rennaise", "commune": net["commune"]["id"]},
    )
    await create(admin.client, "contacts", {"first_name": "Paul", "last_name": "Ailleurs"})
    url = "/exports/telecharger?entite=contacts&format=csv"
    everyone = (await coordinator_web.get(url)).text
    assert "Rennaise" in everyone and "Ailleurs" in everyone
    by_commune = await coordinator_web.get(f"{url}&commune={net['commune']['id']}")
    assert by_commune.status_code == 200
    assert "Rennaise" in by_commune.text and "Ailleurs" not in by_commune.text
    members = (await coordinator_web.get(f"{url}&instance={net['group']['id']}")).text
    assert "Durand" in members and "Rennaise" not in members
    searched = (await coordinator_web.get(f"{url}&q=rennaise")).text
    assert "Rennaise" in searched and "Ailleurs" not in searched
    meetings = "/exports/telecharger?entite=meetings&format=csv"
    assert "Réunion Centre social" in (await coordinator_web.get(meetings)).text
    cancelled = (await coordinator_web.get(f"{meetings}&statut=annulee")).text
    assert "Réunion Centre social" not in cancelled


async def test_a_filter_that_does_not_fit_the_export_is_explained(coordinator_web):
    response = await coordinator_web.get(
        "/exports/telecharger?entite=contacts&format=csv&type_instance=copil"
    )
    assert response.status_code == 400
    assert 'id="f-type_instance-erreur"' in response.text
    assert "« Type d'instance » ne s'applique pas à cet export" in html_text(response)
    assert 'id="f-entite-contacts" name="entite" value="contacts" checked' in response.text
    response = await coordinator_web.get(
        "/exports/telecharger?entite=meetings&format=csv&du=2026-06-01&au=2026-01-01"
    )
    assert response.status_code == 400 and 'id="f-du-erreur"' in response.text
    response = await coordinator_web.get("/exports/telecharger?entite=contacts&du=2026-02-30")
    assert "Date invalide" in html_text(response)


async def test_an_upload_with_a_bearer_token_writes_nothing(app, coordinator):
    """No session to remember the file: refused before anything reaches the disk (#23)."""
    for stale in _pending_files(app):
        stale.unlink()
    files = {"fichier": ("contacts.csv", CSV, "text/csv")}
    response = await coordinator.client.post("/imports", data={"type": "contacts"}, files=files)
    assert response.status_code == 400
    assert "/api/v1/imports" in html_text(response)
    assert _pending_files(app) == []


async def test_uploads_whose_session_is_not_kept_do_not_pile_up(app, coordinator_web):
    """A client that drops the updated cookie leaves at most one file per account (#23)."""
    for stale in _pending_files(app):
        stale.unlink()
    await coordinator_web.get("/imports")
    cookies = dict(coordinator_web.client.cookies)
    for _ in range(3):
        coordinator_web.client.cookies.clear()
        coordinator_web.client.cookies.update(cookies)
        assert (await _upload(coordinator_web)).status_code == 200
    assert len(_pending_files(app)) == 1


async def test_the_preview_shows_fifty_warnings_says_how_many_more_and_downloads_them(
    coordinator_web,
):
    """(#18) Every warning is kept: 50 on the page, the count of the others, all as CSV."""
    header = "Mairie;Commune;Code INSEE;Civilité;Nom;Prénom;Fonction;Axes"
    lines = [f"Mairie X;Xville;{99000 + n};M.;Nom{n};Prénom;Maire;Axe inconnu" for n in range(362)]
    content = ("\n".join([header, *lines]) + "\n").encode()

    response = await _upload(coordinator_web, content)

    assert response.status_code == 200, response.text
    page = html_text(response)
    assert "362 avertissements" in page
    assert "Ligne 2, colonne H (« Axes ») : axe inconnu « Axe inconnu » ignoré" in page
    assert "Ligne 51, colonne H" in page and "Ligne 52, colonne H" not in page
    assert "… et 312 autres avertissements." in page
    download = await coordinator_web.get("/imports/avertissements")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert 'filename="avertissements-contacts.csv"' in download.headers["content-disposition"]
    rows = download.content.decode("utf-8-sig").splitlines()
    assert rows[0] == "Ligne;Colonne;Avertissement" and len(rows) == 363


async def test_the_warnings_of_a_file_named_in_french_download(coordinator_web):
    await coordinator_web.get("/imports")
    await coordinator_web.client.post(
        "/imports",
        data={"type": "contacts", "_csrf_token": coordinator_web.client.cookies["maillage_csrf"]},
        files={
            "fichier": (
                "Élus d’œuvre.csv",
                "Prénom;Nom;Axes\nAnne;Roux;Rien\n".encode(),
                "text/csv",
            )
        },
    )

    download = await coordinator_web.get("/imports/avertissements")

    assert download.status_code == 200
    assert 'filename="avertissements--lus-d--uvre.csv"' in download.headers["content-disposition"]
