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
from maillage.tables import AuditEvent, Decision, Meeting
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
    row = await Meeting.select(Meeting.id).where(
        (Meeting.working_group == world.groups[group]) & (Meeting.starts_at == start)
    ).first()
    return row["id"]


@pytest.fixture
async def copil(world) -> dict:
    """The COPIL of 17 November 2026 with an agenda, and decisions of the body around it."""
    march = await _meeting(world, "copil", dt.date(2026, 3, 10))
    november = await _meeting(world, "copil", dt.date(2026, 11, 17))
    march_2025 = await _meeting(world, "copil", dt.date(2025, 3, 11))
    await Meeting.update(
        {Meeting.agenda: "1. Suites données\n2. Bilan du relais petite enfance\n\n- Questions diverses",
         Meeting.location: "Salle du conseil, mairie d'Ardoise"}  # fmt: skip
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

    await decision("Recruter une animatrice RPE", march, "en_cours", dt.date(2026, 6, 30),
                   contact="mairie", org="mairie")  # fmt: skip
    await decision("Écrire la charte des partenaires", march, "a_faire", dt.date(2027, 3, 1))
    await decision("Publier le diagnostic", march, "faite", dt.date(2026, 5, 1),
                   dt.date(2026, 4, 20), org="caf")  # fmt: skip
    await decision("Valider le calendrier 2025", march_2025, "faite", None, dt.date(2025, 4, 1))
    await decision("Lancer l'appel à projets jeunesse", november, "a_faire", dt.date(2027, 2, 1),
                   org="ccas")  # fmt: skip
    return {"id": november, "march": march}


async def test_debug(world, copil):
    pack = await build_pack(copil["id"], TODAY)
    html = service.render_pack(pack.report, "html").decode()
    open("/tmp/packdbg/pack.html", "w").write(html)
    text = docx_text(service.render_pack(pack.report, "docx"))
    open("/tmp/packdbg/pack.txt", "w").write(text)
