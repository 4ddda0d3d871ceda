"""The pack of a meeting (« dossier de séance », #22): DOCX read back with python-docx, the
printable HTML's sections, French dates, and the figures the database gives."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from docx import Document

from maillage.actor import CLI
from maillage.errors import InvalidData, NotFound
from maillage.reports import service
from maillage.reports.pack import build_pack
from maillage.tables import Action, AuditEvent, Decision, Meeting
from tests.reports.world import PARIS, TODAY, docx_text, insert

SECTIONS = [
    "1. Ordre du jour",
    "2. Points appelant un arbitrage",
    "3. Suites données aux décisions précédentes",
    "4. Fiches action et indicateurs",
    "5. Évolution du réseau depuis la réunion précédente",
    "6. Présence aux instances",
    "7. Chiffres clés du territoire",
]


async def _meeting(world, group: str, day: dt.date) -> int:
    start = dt.datetime(day.year, day.month, day.day, 14, tzinfo=PARIS)
    row = (
        await Meeting.select(Meeting.id)
        .where((Meeting.working_group == world.groups[group]) & (Meeting.starts_at == start))
        .first()
    )
    return row["id"]


@pytest.fixture
async def copil(world) -> dict:
    """The COPIL of 17 November 2026 with an agenda, and decisions of the body around it."""
    march = await _meeting(world, "copil", dt.date(2026, 3, 10))
    november = await _meeting(world, "copil", dt.date(2026, 11, 17))
    march_2025 = await _meeting(world, "copil", dt.date(2025, 3, 11))
    await Meeting.update(
        {
            Meeting.agenda: "1. Suites données\n2. Bilan du relais petite enfance\n\n"
            "- Questions diverses",
            Meeting.location: "Salle du conseil, mairie d'Ardoise",
        }
    ).where(Meeting.id == november)
    group = world.groups["copil"]

    async def decision(summary, meeting, status, due=None, done=None, contact=None, org=None):
        return await insert(
            Decision(
                summary=summary,
                working_group=group,
                meeting=meeting,
                status=status,
                due_on=due,
                done_on=done,
                carrier_contact=world.contacts.get(contact),
                carrier_organisation=world.organisations.get(org),
                action=world.actions["rpe"] if contact == "mairie" else None,
                search=summary.lower(),
            )
        )

    # This year's measure below its target: a point to arbitrate.
    await Action.update(
        {
            Action.indicators: [
                {
                    "name": "Familles accompagnées",
                    "unit": "familles",
                    "targets": {"2025": 40, "2026": 60},
                    "values": {"2025": 32, "2026": 45},
                }
            ],
            Action.evaluations: [
                {
                    "year": 2025,
                    "done": "Deux tournées par semaine.",
                    "results": "",
                    "partners": "",
                    "decision": "ajuster",
                    "budget": [],
                }
            ],
        }
    ).where(Action.id == world.actions["rpe"])
    await decision("Recruter une animatrice RPE", march, "en_cours", dt.date(2026, 6, 30),
                   contact="mairie", org="mairie")  # fmt: skip
    await decision("Écrire la charte des partenaires", march, "a_faire", dt.date(2027, 3, 1))
    await decision("Publier le diagnostic", march, "faite", dt.date(2026, 5, 1),
                   dt.date(2026, 4, 20), org="caf")  # fmt: skip
    await decision("Valider le calendrier 2025", march_2025, "faite", None, dt.date(2025, 4, 1))
    await decision("Lancer l'appel à projets jeunesse", november, "a_faire", dt.date(2027, 2, 1),
                   org="ccas")  # fmt: skip
    return {"id": november, "march": march}


def _docx(content: bytes) -> Document:
    return Document(io.BytesIO(content))


def _headings(document: Document) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]


def _table(document: Document, header: str) -> list[list[str]]:
    for table in document.tables:
        rows = [[cell.text.replace("\u202f", " ") for cell in row.cells] for row in table.rows]
        if rows[0][0] == header:
            return rows
    raise AssertionError(f"no table starting with {header}")


async def test_the_docx_holds_every_section_in_order_with_french_dates(world, copil):
    pack = await build_pack(copil["id"], TODAY)
    document = _docx(service.render_pack(pack.report, "docx"))
    headings = _headings(document)
    assert document.paragraphs[0].text == "Dossier de séance"
    assert [h for h in headings if h[:2] in {f"{n}." for n in range(1, 10)}] == SECTIONS
    text = docx_text(service.render_pack(pack.report, "docx"))
    assert "Séance du mardi 17 novembre 2026 de 14 h 00 à 16 h 00." in text
    assert "Lieu : Salle du conseil, mairie d'Ardoise." in text
    assert "Réunion précédente de l'instance : le mardi 10 mars 2026" in text  # not the cancelled
    assert "Document établi le mardi 12 janvier 2027." in text
    assert document.core_properties.title == "Dossier de séance"
    agenda = [p for p in document.paragraphs if p.style.name == "List Number"]
    assert [p.text for p in agenda] == [
        "Suites données",
        "Bilan du relais petite enfance",
        "Questions diverses",
    ]
    assert pack.stem == f"dossier-de-seance-2026-11-17-{copil['id']}"


async def test_previous_decisions_come_with_their_status(world, copil):
    pack = await build_pack(copil["id"], TODAY)
    document = _docx(service.render_pack(pack.report, "docx"))
    rows = _table(document, "Décision")
    assert rows[0] == ["Décision", "Prise le", "Porteur", "Échéance", "État", "Fiche action"]
    assert rows[1:] == [
        ["Recruter une animatrice RPE", "10/03/2026", "Agent Mairie d'Ardoise (Mairie d'Ardoise)",
         "30/06/2026", "En cours, en retard", "Ouvrir un relais petite enfance itinérant"],
        ["Écrire la charte des partenaires", "10/03/2026", "à désigner", "01/03/2027", "À faire",
         "—"],
        ["Publier le diagnostic", "10/03/2026", "Caf d'Ille-et-Vilaine", "01/05/2026",
         "Faite le 20/04/2026", "—"],
    ]  # fmt: skip
    # Closed before the previous meeting: not in the pack; taken at this one: its own table.
    text = docx_text(service.render_pack(pack.report, "docx"))
    assert "Valider le calendrier 2025" not in text
    assert "Lancer l'appel à projets jeunesse | 17/11/2026 | CCAS de Bréhal" in text
    assert (
        "2 décisions toujours en suivi, dont 1 en retard ; 1 décision faite ou abandonnée "
        "depuis la réunion du 10 mars 2026." in text
    )
    assert pack.people == 1  # the one person carrying a decision


async def test_the_points_to_arbitrate_name_late_decisions_and_indicators(world, copil):
    pack = await build_pack(copil["id"], TODAY)
    text = docx_text(service.render_pack(pack.report, "docx"))
    assert "4 points demandent une décision de l'instance." in text
    assert (
        "« Ouvrir un relais petite enfance itinérant » : l'évaluation 2025 propose d'ajuster "
        "la fiche action." in text
    )
    assert (
        "« Recruter une animatrice RPE », portée par Agent Mairie d'Ardoise (Mairie d'Ardoise) : "
        "échéance du 30 juin 2026 dépassée de 140 jours." in text
    )
    assert "« Écrire la charte des partenaires » : aucun porteur désigné." in text
    assert (
        "« Familles accompagnées » (fiche « Ouvrir un relais petite enfance itinérant ») : "
        "45 en 2026 pour une cible de 60 familles, soit 75 % de la cible." in text
    )
    figures = pack.report.section("arbitrages").figures
    assert figures == {
        "late_decisions": 1,
        "unassigned_decisions": 1,
        "indicators_below_target": 1,
        "actions_to_review": 1,
        "overdue_actions": 0,
    }


async def test_the_fiches_action_show_indicators_against_targets(world, copil):
    pack = await build_pack(copil["id"], TODAY)
    text = docx_text(service.render_pack(pack.report, "docx"))
    # No evaluation written for 2026 yet: last year's is shown.
    assert "1 fiche action évaluée sur 2 pour 2025 : 1 à ajuster." in text
    assert "Deux tournées par semaine." in text
    rows = _table(_docx(service.render_pack(pack.report, "docx")), "Fiche action")
    first = rows[1][:3]
    assert first == ["Ouvrir un relais petite enfance itinérant", "Petite enfance", "En cours"]
    indicators = [r for r in _table_all(pack) if r[1] == "Familles accompagnées"]
    assert indicators == [
        ["Ouvrir un relais petite enfance itinérant", "Familles accompagnées", "familles",
         "40", "32", "60", "45", "75 %"]
    ]  # fmt: skip


def _table_all(pack) -> list[list[str]]:
    document = _docx(service.render_pack(pack.report, "docx"))
    return [
        [cell.text.replace("\u202f", " ") for cell in row.cells]
        for table in document.tables
        for row in table.rows
    ]


async def test_the_network_since_the_previous_meeting_one_sentence_each(world, copil):
    pack = await build_pack(copil["id"], TODAY)
    section = pack.report.section("reseau")
    assert section.title == "Évolution du réseau depuis la réunion précédente"
    assert section.figures["new"] == ["Club de foot de Carnoët"]
    assert section.figures["lost"] == []
    assert "Habitat de la Vallée" in section.figures["under_connected"]
    text = docx_text(service.render_pack(pack.report, "docx"))
    assert (
        "Club de foot de Carnoët rejoint le réseau avec 1 lien : Centre social des Landes." in text
    )
    assert "Aucun partenaire n'a perdu tous ses liens." in text
    assert "Habitat de la Vallée — isolé : aucun lien." in text
    assert "Du 10 mars 2026 au 17 novembre 2026, le réseau des douze derniers mois" in text


async def test_a_partner_archived_since_the_previous_meeting_is_lost(world, copil):
    from maillage.tables import Organisation

    archived_on = dt.datetime(2026, 10, 1, 9, tzinfo=PARIS)
    await Organisation.update(
        {Organisation.archived: True, Organisation.updated_at: archived_on}
    ).where(Organisation.id == world.organisations["ccas"])
    pack = await build_pack(copil["id"], TODAY)
    assert pack.report.section("reseau").figures["lost"] == ["CCAS de Bréhal"]
    text = docx_text(service.render_pack(pack.report, "docx"))
    assert "Fiche archivée : CCAS de Bréhal, qui comptait 3 liens au 10 mars 2026." in text


async def test_attendance_of_the_body_and_of_every_body(world, copil):
    pack = await build_pack(copil["id"], TODAY)
    rows = _table_all(pack)
    assert ["17/11/2026", "copil du 17/11", "Tenue", "4", "3", "1", "0", "75 %"] in rows
    assert ["02/06/2026", "copil du 2/6", "Annulée", "—", "—", "—", "—", "—"] in rows
    assert ["COPIL CTG", "2", "7", "1", "0", "88 %", "75 %"] in rows
    text = docx_text(service.render_pack(pack.report, "docx"))
    assert "COPIL CTG : 2 réunions tenues en 2026, taux de présence 88 % (75 % en 2025)." in text


async def test_the_territory_key_figures(world, copil):
    pack = await build_pack(copil["id"], TODAY)
    text = docx_text(service.render_pack(pack.report, "docx"))
    assert "Communauté de communes du Val d'Ardoise : 3 communes, 6 650 habitants" in text
    assert "Convention territoriale globale du 1er janvier 2025 au 31 décembre 2028." in text
    assert "Ardoise | 4 200 | Accès aux droits" in text


async def test_the_html_is_a_printable_a4_document_with_every_section(world, copil):
    pack = await build_pack(copil["id"], TODAY)
    html = service.render_pack(pack.report, "html").decode()
    assert html.startswith("<!doctype html>") and '<html lang="fr">' in html
    assert "@page { size: A4;" in html  # the print CSS, inlined: the file opens anywhere
    for key in ("ordre_du_jour", "arbitrages", "decisions", "plan_action", "reseau",
                "presence", "territoire"):  # fmt: skip
        assert f'<section id="{key}"' in html
    for title in SECTIONS:
        assert title in html
    assert "<ol><li>Suites données</li><li>Bilan du relais petite enfance</li>" in html
    assert "mardi 17 novembre 2026 de 14 h 00 à 16 h 00" in html


async def test_a_first_meeting_without_agenda_or_decisions(world):
    meeting = await _meeting(world, "pe", dt.date(2025, 5, 20))
    pack = await build_pack(meeting, TODAY)
    text = docx_text(service.render_pack(pack.report, "docx"))
    assert "Première réunion enregistrée de cette instance." in text
    assert "L'ordre du jour n'est pas encore saisi sur la fiche de la réunion." in text
    assert "Aucune décision antérieure de l'instance n'est à suivre." in text
    assert "5. Évolution du réseau sur les douze derniers mois" in text
    # A commission's pack shows the fiches it follows.
    assert "Les fiches action suivies par Commission petite enfance." in text
    assert "Permanences numériques en mairie" not in text


async def test_a_missing_meeting_or_format_is_a_french_error(world):
    with pytest.raises(NotFound, match=r"Réunion n° 999999 introuvable\."):
        await build_pack(999_999, TODAY)
    with pytest.raises(InvalidData) as error:
        await service.pack_download(CLI, 1, "pdf", TODAY)
    assert error.value.errors[0].message == "Format « pdf » inconnu : choisissez docx, html."


async def test_the_export_is_journaled(world, copil):
    content, name = await service.pack_download(CLI, copil["id"], "docx", TODAY)
    assert name.endswith(".docx") and content[:2] == b"PK"
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "export")
        .first()
        .output(load_json=True)
    )
    assert event["entity"] == "meeting" and event["entity_id"] == copil["id"]
    assert event["changes"] == {"document": "dossier de séance", "format": "docx", "personnes": 1}


def test_indicator_sentences_never_put_a_plural_unit_after_one():
    from maillage.reports.pack import _measure

    assert _measure(1, 3, "documents") == ("1", "3 documents")
    assert _measure(74, 78, "%") == ("74 %", "78 %")
    assert _measure(0.5, 1, "poste") == ("0,5", "1")
    assert _measure(3, 5, "") == ("3", "5")


def test_long_lists_end_with_how_many_more():
    from maillage.reports.pack import LISTED, _capped

    sentences = [f"Partenaire {n} — isolé : aucun lien." for n in range(LISTED + 24)]
    capped = _capped(sentences)
    assert capped[-1] == "Et 24 autres partenaires : voir la page « Réseau »."
    assert (
        _capped(sentences[: LISTED + 1])[-1] == "Et 1 autre partenaire : voir la page « Réseau »."
    )


async def test_the_territory_map_is_in_the_pack_when_communes_have_outlines(world, copil):
    from html import unescape

    from maillage.tables import CommuneOutline
    from tests.geo.test_maps import SQUARE, _polygon_wkb

    pack = await build_pack(copil["id"], TODAY)
    assert "<svg" not in service.render_pack(pack.report, "html").decode()  # no outline yet
    for offset, commune in enumerate(world.communes.values()):
        ring = [(x + offset * 0.1, y) for x, y in SQUARE]
        await CommuneOutline.insert(CommuneOutline(commune=commune, wkb=_polygon_wkb([ring]).hex()))
    pack = await build_pack(copil["id"], TODAY)
    html = service.render_pack(pack.report, "html").decode()
    section = html[html.index('<section id="territoire"') :]
    assert section.count("<path d=") == 3 and "<title>Ardoise (35901)" in section
    caption = "Carte des communes du territoire Communauté de communes du Val d'Ardoise."
    assert caption in unescape(section)
    document = _docx(service.render_pack(pack.report, "docx"))
    [picture] = document.inline_shapes
    assert picture.width > 0
    assert "Carte des communes du territoire Communauté de communes du Val d'Ardoise." in "\n".join(
        p.text for p in document.paragraphs
    )
