"""The pack of a meeting from its page and from the API (#22): the link on /reunions/{id}, the
printable page, the DOCX download, the API contract and the journal."""

from __future__ import annotations

import io
import re

from docx import Document

from maillage.tables import AuditEvent
from tests.web.helpers import create, html_text, small_network


async def test_the_meeting_page_links_to_its_pack(reader_web, admin):
    net = await small_network(admin.client)
    meeting = net["meeting"]
    page = await reader_web.get(f"/reunions/{meeting['id']}")
    assert f'href="/reunions/{meeting["id"]}/dossier">Dossier de séance</a>' in page.text
    assert (
        f'href="/reunions/{meeting["id"]}/dossier?format=docx">Dossier de séance (DOCX)</a>'
        in page.text
    )


async def test_the_pack_page_is_a_printable_document(reader_web, admin):
    net = await small_network(admin.client)
    meeting = net["meeting"]
    await create(
        admin.client,
        "decisions",
        {
            "meeting": meeting["id"],
            "summary": "Recenser les places en crèche par commune.",
            "carrier_contact": net["contact"]["id"],
            "due_on": "2020-01-31",
        },
    )
    response = await reader_web.get(f"/reunions/{meeting['id']}/dossier")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Menu principal" not in response.text  # a document of its own, to print
    assert 'href="/static/reports.css"' in response.text and "<style>" not in response.text
    assert response.text.count("<h1") == 1
    text = html_text(response)
    assert "Dossier de séance" in text and "Séance du " in text and " de 14 h 00 à 16 h 00." in text
    for title in ("1. Ordre du jour", "2. Points appelant un arbitrage", "7. Chiffres clés"):
        assert title in text
    assert "Recenser les places en crèche par commune." in text
    assert "Hélène Durand" in text and "Décisions prises lors de cette séance" in text
    assert '<table>\n      <thead><tr><th scope="col">' in response.text  # the sheets' macro
    assert f'href="/reunions/{meeting["id"]}/dossier?format=docx"' in response.text


async def test_the_docx_download_from_the_page(reader_web, admin):
    net = await small_network(admin.client)
    meeting = net["meeting"]
    response = await reader_web.get(f"/reunions/{meeting['id']}/dossier?format=docx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(
        rf'attachment; filename="dossier-de-seance-\d{{4}}-\d\d-\d\d-{meeting["id"]}\.docx"',
        disposition,
    )
    document = Document(io.BytesIO(response.content))
    assert document.paragraphs[0].text == "Dossier de séance"
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "export")
        .first()
        .output(load_json=True)
    )
    assert event["entity"] == "meeting" and event["entity_id"] == meeting["id"]
    assert event["actor"] == reader_web.email
    journal = html_text(await admin.client.get(f"/reunions/{meeting['id']}"))
    assert "Export dossier de séance (DOCX)" in journal


async def test_the_api_contract(reader, admin):
    net = await small_network(admin.client)
    meeting = net["meeting"]
    url = f"/api/v1/meetings/{meeting['id']}/pack"
    docx = await reader.client.get(url, params={"format": "docx"})
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    html = await reader.client.get(url, params={"format": "html"})
    assert html.status_code == 200 and html.text.startswith("<!doctype html>")
    assert "@page { size: A4;" in html.text  # inlined: the file opens from anywhere
    bad = await reader.client.get(url, params={"format": "pdf"})
    assert bad.status_code == 400
    assert "Format « pdf » inconnu : choisissez docx, html." in bad.text
    missing = await reader.client.get("/api/v1/meetings/999999/pack?format=docx")
    assert missing.status_code == 404 and "Réunion n° 999999 introuvable." in missing.text


async def test_a_bad_format_on_the_page_is_a_french_error_not_a_500(reader_web, admin):
    net = await small_network(admin.client)
    response = await reader_web.get(f"/reunions/{net['meeting']['id']}/dossier?format=pdf")
    assert response.status_code == 400
    assert "Format « pdf » inconnu" in html_text(response)
